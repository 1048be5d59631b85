"""Email ownership: the verification link (/verify-email/<token>), and on /account changing
the address, sending the link again, or cancelling a change.

A new address replaces the old one only once its link is used; until then the old address
keeps getting mail, and it is told about the change (so its owner can stop it by resetting the
password, which cancels the change). Using a link takes two steps, a page and a button: mail
scanners open links in mails, and opening a page must change nothing.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from skillswap.domain.users import User, address_to_verify, email_identity
from skillswap.mail import BadToken, ExpiredToken, StaleToken
from skillswap.web.account.forms import ChangeEmailForm
from skillswap.web.account.routes import logins_ended_meanwhile, password_confirmed, render_account
from skillswap.web.common import repo, safe_next, validates_own_csrf
from skillswap.web.forms import ActionForm
from skillswap.web.mails import (
    VerifyLimit,
    read_verification,
    send_change_notice,
    send_verification,
)

bp = Blueprint("addresses", __name__)

EXPIRED_PAGE = "That page had expired, so nothing changed. Press the button again."


def _me() -> User:
    return current_user.record


def _link_problem(message: str, status: int) -> tuple[str, int]:
    action = (
        (url_for("account.show") + "#email", "Go to your account")
        if current_user.is_authenticated
        else (url_for("auth.login"), "Log in")
    )
    page = render_template(
        "link_problem.html",
        heading="This confirmation link cannot be used",
        problem=message,
        action=action,
    )
    return page, status


@bp.route("/verify-email/<token>", methods=["GET", "POST"])
@validates_own_csrf
def verify(token: str) -> Response | tuple[str, int]:
    try:
        found, address = read_verification(token)
    except BadToken as problem:
        expired_or_used = isinstance(problem, ExpiredToken | StaleToken)
        return _link_problem(str(problem), 410 if expired_or_used else 400)
    form = ActionForm()
    if form.validate_on_submit():
        outcome, previous = repo().confirm_email(found.subject, address)
        if outcome == "taken":
            return _link_problem(
                f"Another account uses {address} now, so it cannot be confirmed for this one. "
                "Choose another address on your account page.",
                409,
            )
        if outcome == "stale":
            return _link_problem("This link has already been used or is no longer valid.", 410)
        changed = previous != address
        flash(
            f"Thank you: {address} is confirmed"
            + (f" and is now your account's address instead of {previous}." if changed else "."),
            "success",
        )
        return redirect(
            url_for("profile.show") if current_user.is_authenticated else url_for("auth.login")
        )
    user = repo().get_user(found.subject)
    status = 400 if form.csrf_failed() else 200
    page = render_template(
        "addresses/verify.html",
        form=form,
        address=address,
        username=user.username if user else "",
        csrf_expired=form.csrf_failed(),
    )
    return page, status


@bp.get("/account/email")
def form_reopened() -> Response:
    """Its form, with mistakes, came back at this address (account/routes.py form_reopened)."""
    return redirect(url_for("account.show") + "#email")


@bp.post("/account/email")
@login_required
@validates_own_csrf
def change() -> Response | tuple[str, int]:
    user = _me()
    form = ChangeEmailForm()
    if form.validate_on_submit():
        address = email_identity(form.new_email.data or "")
        if address == user.email:
            form.new_email.errors.append("That is your address already")
        # The password before anything else: "an account has this address" is no answer for
        # a stolen session to collect.
        elif password_confirmed(user, form.email_password, form.email_password.data or ""):
            limit = VerifyLimit(user.id)
            if not repo().email_available(address, user.id):
                form.new_email.errors.append("An account with this email exists already")
            elif not limit.allowed():
                form.new_email.errors.append(limit.wait_message())
            else:
                updated = repo().ask_email_change(user.id, address, if_version=user.session_version)
                if updated is None:
                    return logins_ended_meanwhile()
                send_verification(updated)
                send_change_notice(user, address)  # only if the old one is confirmed
                flash(
                    f"We have mailed a link to {address}. Your address changes to it once you "
                    f"open that link; until then we keep using {user.email}.",
                    "success",
                )
                return redirect(url_for("account.show") + "#email")
    return render_account(user, email_form=form, status=400)


@bp.post("/account/email/resend")
@login_required
@validates_own_csrf
def resend() -> Response:
    """Send the confirmation link again (from the profile's banner or /account)."""
    back = safe_next(request.form.get("next"), "account.show")
    if not ActionForm().validate_on_submit():
        flash(EXPIRED_PAGE, "error")
        return redirect(back)
    user = _me()
    address = address_to_verify(user)
    limit = VerifyLimit(user.id)
    if address is None:
        flash("Your email address is confirmed already.", "info")
    elif not user.pending_email and not repo().owns_email_claim(address, user.id):
        # Unconfirmed for so long that another account took the address (users.py).
        flash(
            f"Another account uses {address} now. Change your address on your account page.",
            "error",
        )
    elif not limit.allowed():
        flash(limit.wait_message(), "error")
    else:
        send_verification(user)
        flash(f"We have mailed a new link to {address}. Earlier links still work.", "success")
    return redirect(back)


@bp.post("/account/email/cancel")
@login_required
@validates_own_csrf
def cancel() -> Response:
    if not ActionForm().validate_on_submit():
        flash(EXPIRED_PAGE, "error")
        return redirect(url_for("account.show") + "#email")
    user = _me()
    if user.pending_email:
        repo().drop_email_change(user.id)
        flash(f"The change to {user.pending_email} is cancelled; its link no longer works.", "info")
    return redirect(url_for("account.show") + "#email")

""" "Forgot password?": ask for a reset link by email, then use it to choose a new password.

The answer to the request is the same whether or not an account has the address (and so are
its rate limits' refusals, web/auth/throttle.py: ResetRequest), so the form cannot be used to
find out who has an account. The link works once, for an hour, and only while the password,
the logins and the address stay as they were (domain/users.py: reset_fingerprint). Using it
ends every login and tells the owner by mail.
"""

from __future__ import annotations

import logging

from flask import Blueprint, flash, redirect, render_template, session, url_for
from werkzeug.exceptions import TooManyRequests
from werkzeug.wrappers import Response

from skillswap.domain.users import email_identity
from skillswap.mail import BadToken, ExpiredToken, StaleToken
from skillswap.web.auth import throttle
from skillswap.web.common import repo, validates_own_csrf
from skillswap.web.mails import read_reset, send_password_changed, send_reset
from skillswap.web.passwords import hash_password
from skillswap.web.recovery.forms import ForgotPasswordForm, ResetPasswordForm

bp = Blueprint("recovery", __name__)
log = logging.getLogger(__name__)


def _mail_reset_link(address: str) -> None:
    """Mail a reset link to `address` if an account has it and neither the address nor the
    account has had too many lately. Nothing the caller may show depends on which."""
    limits = throttle.ResetRequest(address)
    if not limits.address_allowed():
        log.info("reset link not sent: too many asked for one address lately")
        return
    user = repo().find_user(address)
    if user is None:
        return
    if not limits.account_allowed(user.id):
        log.info("reset link not sent: too many asked for account %s lately", user.id)
        return
    # To the address even when it is unconfirmed: it is the way back in.
    send_reset(user)


@bp.route("/forgot-password", methods=["GET", "POST"])
@validates_own_csrf
def forgot() -> Response | tuple[str, int]:
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        client = throttle.ClientAttempt("reset", "RESET_RATE_LIMIT")
        if not client.allowed():
            raise TooManyRequests(retry_after=client.retry_after())
        _mail_reset_link(email_identity(form.email.data or ""))
        return redirect(url_for("recovery.sent"))
    status = 400 if form.errors else 200
    page = render_template("recovery/forgot.html", form=form, csrf_expired=form.csrf_failed())
    return page, status


@bp.get("/forgot-password/sent")
def sent() -> str:
    return render_template("recovery/sent.html")


def _link_problem(problem: BadToken) -> tuple[str, int]:
    # Expired or used: the link was ours and is over (410); anything else was never valid.
    status = 410 if isinstance(problem, ExpiredToken | StaleToken) else 400
    page = render_template(
        "link_problem.html",
        heading="This password reset link cannot be used",
        problem=str(problem),
        action=(url_for("recovery.forgot"), "Ask for a new link"),
    )
    return page, status


@bp.route("/reset-password/<token>", methods=["GET", "POST"])
@validates_own_csrf
def reset(token: str) -> Response | tuple[str, int]:
    try:
        user, fingerprint = read_reset(token)
    except BadToken as problem:
        return _link_problem(problem)
    form = ResetPasswordForm(username=user.username, email=user.email)
    if form.validate_on_submit():
        new_hash = hash_password(form.new_password.data or "")
        updated = repo().set_password(user.id, new_hash, if_fingerprint=fingerprint)
        if updated is None:  # used a moment ago, in another tab or by another request
            return _link_problem(StaleToken("This link has already been used."))
        throttle.forgive_failed_logins(user.username, user.email)
        send_password_changed(updated)
        # Every login has ended, this browser's too if it had one: a fresh start.
        session.clear()
        flash(
            "Your password is changed, and every device that was logged in to your account is "
            "logged out. Log in with your new password.",
            "success",
        )
        return redirect(url_for("auth.login"))
    status = 400 if form.errors else 200
    page = render_template(
        "recovery/reset.html", form=form, user=user, csrf_expired=form.csrf_failed()
    )
    return page, status

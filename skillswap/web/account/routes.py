"""Your account (/account): change the password, log out everywhere, delete the account; the
email section's views are web/addresses/routes.py.

Every change here asks for the current password (except logging out), and wrong passwords are
throttled like failed logins (web/auth/throttle.py), so a stolen session cannot be used to
guess the password or to delete the account.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required, logout_user
from werkzeug.wrappers import Response
from wtforms import Field

from skillswap import services
from skillswap.domain.logins import LOGIN_ID, MAX_LOGINS, find_login
from skillswap.domain.users import User
from skillswap.web.account.forms import (
    ChangeEmailForm,
    ChangePasswordForm,
    DeleteAccountForm,
    MailSettingsForm,
)
from skillswap.web.auth import throttle
from skillswap.web.auth.routes import end_session, start_session
from skillswap.web.common import notifier, repo, validates_own_csrf
from skillswap.web.forms import ActionForm
from skillswap.web.mails import send_password_changed
from skillswap.web.passwords import hash_password, verify_password

bp = Blueprint("account", __name__)


def _me() -> User:
    """The record Flask-Login loaded for this request (fresh: read when the request began)."""
    return current_user.record


def _password_form(user: User) -> ChangePasswordForm:
    return ChangePasswordForm(username=user.username, email=user.email)


def render_account(
    user: User,
    password_form: ChangePasswordForm | None = None,
    delete_form: DeleteAccountForm | None = None,
    email_form: ChangeEmailForm | None = None,
    status: int = 200,
    mail_form: MailSettingsForm | None = None,
) -> tuple[str, int]:
    """/account, with the form that was sent (errors and what was typed kept) in its place."""
    password_form = password_form or _password_form(user)
    delete_form = delete_form or DeleteAccountForm(formdata=None)
    email_form = email_form or ChangeEmailForm(formdata=None)
    mail_form = mail_form or MailSettingsForm.of(user)
    page = render_template(
        "account/show.html",
        user=user,
        password_form=password_form,
        delete_form=delete_form,
        email_form=email_form,
        mail_form=mail_form,
        mail_csrf_expired=mail_form.csrf_failed(),
        logout_form=ActionForm(formdata=None),
        logins=user.logins,
        this_login=current_user.login_id,
        max_logins=MAX_LOGINS,
        password_csrf_expired=password_form.csrf_failed(),
        delete_csrf_expired=delete_form.csrf_failed(),
        email_csrf_expired=email_form.csrf_failed(),
    )
    return page, status


def logins_ended_meanwhile() -> Response:
    """A change refused because this request's login ended while it was under way (a
    password change or "log out everywhere" from another device, landing first): nothing
    was changed, and this browser's session is over too."""
    logout_user()
    session.clear()
    flash(
        "Nothing was changed: your password was changed, or you were logged out everywhere, "
        "from another device a moment ago. Log in again to continue.",
        "error",
    )
    return redirect(url_for("auth.login"))


def password_confirmed(user: User, field: Field, typed: str) -> bool:
    """Check the password typed to confirm an action; put the reason on `field` when not."""
    check = throttle.PasswordCheck(user.id)
    if not check.allowed():
        field.errors.append(check.wait_message())
        return False
    if not verify_password(user.password_hash, typed):
        field.errors.append("That is not your current password")
        return False
    check.succeeded()
    return True


@bp.get("/account")
@login_required
def show() -> tuple[str, int]:
    user = _me()
    return render_account(user)


@bp.get("/account/password")
@bp.get("/account/mail")
@bp.get("/account/delete")
def form_reopened() -> Response:
    """A form with mistakes comes back at the address it was posted to. Reloaded, or opened
    from the history, that address shows the page holding the form, at the form."""
    return redirect(url_for("account.show") + "#" + request.path.rsplit("/", 1)[-1])


@bp.post("/account/password")
@login_required
@validates_own_csrf
def change_password() -> Response | tuple[str, int]:
    user = _me()
    form = _password_form(user)
    if form.validate_on_submit():
        new = form.new_password.data or ""
        if password_confirmed(user, form.current_password, form.current_password.data or ""):
            if verify_password(user.password_hash, new):
                form.new_password.errors.append("Choose a password different from the current one")
            else:
                updated = repo().set_password(
                    user.id, hash_password(new), if_version=user.session_version
                )
                if updated is None:
                    return logins_ended_meanwhile()
                # Every login ended with the change; this browser starts a new one.
                start_session(updated)
                send_password_changed(updated)  # only to a confirmed address
                flash(
                    "Your password is changed. Every other device where you were logged in "
                    "is now logged out.",
                    "success",
                )
                return redirect(url_for("account.show"))
    return render_account(user, password_form=form, status=400)


@bp.post("/account/mail")
@login_required
@validates_own_csrf
def mail_settings() -> Response | tuple[str, int]:
    """Which optional mail to get; no password needed (turning mail on or off gives nothing
    away and the owner may undo it at once)."""
    user = _me()
    form = MailSettingsForm()
    if not form.validate_on_submit():
        return render_account(user, mail_form=form, status=400)
    for choice, on in form.choices().items():
        if (choice not in user.mail_off) != on:
            repo().set_mail_choice(user.id, choice, on)
    flash("Your mail settings are saved.", "success")
    return redirect(url_for("account.show") + "#mail")


@bp.post("/account/logout-everywhere")
@login_required
@validates_own_csrf
def logout_everywhere() -> Response:
    form = ActionForm()
    if not form.validate_on_submit():
        flash("That page had expired, so nothing changed. Press the button again.", "error")
        return redirect(url_for("account.show"))
    repo().bump_session_version(current_user.id)
    logout_user()
    session.clear()
    flash("You are logged out everywhere, on this device and every other.", "info")
    return redirect(url_for("pages.home"))


@bp.post("/account/logins/<login_id>/logout")
@login_required
@validates_own_csrf
def end_login(login_id: str) -> Response:
    """Log out one device from the list on /account (this one too, if that is the one)."""
    form = ActionForm()
    if not form.validate_on_submit():
        flash("That page had expired, so nothing changed. Press the button again.", "error")
        return redirect(url_for("account.show") + "#sessions")
    if not LOGIN_ID.fullmatch(login_id):
        abort(404)
    if login_id == current_user.login_id:
        end_session()
        flash("You are logged out.", "info")
        return redirect(url_for("pages.home"))
    ended = find_login(_me().logins, login_id)
    repo().end_login(current_user.id, login_id)
    if ended is not None:
        flash(f"{ended['device']} is logged out.", "success")
    return redirect(url_for("account.show") + "#sessions")


@bp.post("/account/delete")
@login_required
@validates_own_csrf
def delete() -> Response | tuple[str, int]:
    user = _me()
    form = DeleteAccountForm()
    if form.validate_on_submit():
        typed = (form.confirm_username.data or "").strip().lower()
        if typed != user.username:
            form.confirm_username.errors.append(
                f"Type your username, {user.username}, exactly as shown"
            )
        elif password_confirmed(user, form.delete_password, form.delete_password.data or ""):
            mailer = notifier()
            services.accounts.delete_account(
                repo(),
                user.id,
                # Mail to the other person only (this account is going); never fails.
                lambda booking: mailer.booking_cancelled(booking, only=booking.other(user.id)),
            )
            logout_user()
            session.clear()
            flash(
                "Your account is deleted. Your upcoming sessions were cancelled and the people "
                "in them were told. Goodbye, and thank you for sharing what you know.",
                "info",
            )
            return redirect(url_for("pages.home"))
    return render_account(user, delete_form=form, status=400)

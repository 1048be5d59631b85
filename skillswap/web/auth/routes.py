"""Sign up, log in, log out. Sessions are Flask's signed cookies via Flask-Login."""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from flask import (
    Blueprint,
    Flask,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import UserMixin, current_user, login_user, logout_user
from flask_wtf.csrf import generate_csrf
from werkzeug.exceptions import TooManyRequests
from werkzeug.wrappers import Response

from skillswap.domain import logins
from skillswap.domain.users import User
from skillswap.domain.zones import current_zone_name, is_valid_zone
from skillswap.extensions import login_manager
from skillswap.repo import EmailTaken, UsernameTaken
from skillswap.store import StoreError, StoreUnavailable
from skillswap.web import mails
from skillswap.web.auth import limit_storage, throttle  # noqa: F401 (registers skillswap-sqlite://)
from skillswap.web.auth.forms import LoginForm, SignupForm
from skillswap.web.common import now, repo, safe_next, validates_own_csrf
from skillswap.web.forms import ActionForm
from skillswap.web.passwords import hash_password, needs_rehash, verify_password

bp = Blueprint("auth", __name__)
log = logging.getLogger(__name__)


class SessionUser(UserMixin):
    """The logged-in person as Flask-Login sees them; attributes come from the User record."""

    def __init__(self, record: User, login_id: str) -> None:
        self.record = record
        self.login_id = login_id

    def __getattr__(self, name: str) -> Any:
        return getattr(self.record, name)

    def get_id(self) -> str:
        # The session cookie names the login (checked against the record's active logins on
        # every request: logout ends it, however many copies of the cookie exist) and the
        # session version (bumped by password change and "log out everywhere").
        return f"{self.record.id}.{self.record.session_version}.{self.login_id}"


@login_manager.user_loader
def load_user(session_id: str) -> SessionUser | None:
    uid, version, login_id = [*session_id.split("."), "", ""][:3]
    try:
        user = repo().get_user(uid)
    except StoreUnavailable:
        # Treat the request as anonymous so error pages can still render; a private page
        # answers 503 (below), not a misleading "please log in".
        g.store_down = True
        return None
    if user is None or str(user.session_version) != version:
        return None
    # The record is read on every request anyway: checking the login here costs nothing, and
    active = logins.find_login(user.logins, login_id) if login_id else None
    if active is None:
        return None
    if logins.needs_seen_update(active, now()):
        with contextlib.suppress(StoreError):  # "last seen" is a courtesy, never a failure
            repo().login_seen(user.id, login_id)
    return SessionUser(user, login_id)


@login_manager.unauthorized_handler
def unauthorized() -> Response:
    if g.get("store_down"):
        raise StoreUnavailable("could not load the session user")
    flash(login_manager.login_message, login_manager.login_message_category)
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def renew_session() -> None:
    """A login lasts PERMANENT_SESSION_LIFETIME from the last day it was used: the cookie is
    re-sent (with a new expiry) on the first request of each UTC day, not on every response.
    Who the cookie belongs to is still checked on every request."""
    today = now().date().isoformat()
    if session.get("renewed") != today:
        session["renewed"] = today


def start_session(user: User) -> None:
    """Log `user` in on this browser as a new login, in a new session."""
    if current_user.is_authenticated:
        # A browser holds one login: logging in again (a second tab's form) ends the one it
        # had, or every copy of that cookie would live on.
        repo().end_login(current_user.id, current_user.login_id)
    # A fresh session at login: nothing planted before login survives it (session fixation).
    session.clear()
    session.permanent = True
    # The day's renewal rides in the cookie the login answer sets, as the CSRF token below
    # does: else the first page after login sends a new cookie, and so does every page opened
    # with the login's cookie before the browser stores that one.
    renew_session()
    login_id = repo().add_login(user.id, logins.device_summary(request.user_agent.string))
    login_user(SessionUser(user, login_id))
    # The new session's CSRF token, made now so it rides in the cookie the login response sets
    # anyway. Made later, each page opened right after login (two tabs, say) would make its
    # own, each response re-sending the cookie, and the last one sent would win.
    g.pop(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"), None)  # the old one
    generate_csrf()


def end_session() -> None:
    """End this login everywhere its cookie was copied, then this browser's session."""
    repo().end_login(current_user.id, current_user.login_id)
    logout_user()
    session.clear()


def apply_rate_limits(app: Flask) -> Limiter:
    """The Limiter whose storage holds every count (RATELIMIT_STORAGE_URI) and whose switch
    turns them all on or off (RATELIMIT_ENABLED). One per app, not per process: its counters
    and on/off switch are per app.

    The views count for themselves (throttle.ClientAttempt): Flask-Limiter's decorators check
    before the view and count after the response (deduct_when), so parallel requests all pass
    the check before any of them is counted.
    """
    throttle.check_settings(app)
    return Limiter(get_remote_address, app=app)


def _too_many(attempt: throttle.ClientAttempt) -> TooManyRequests:
    return TooManyRequests(retry_after=attempt.retry_after())


@bp.route("/signup", methods=["GET", "POST"])
@validates_own_csrf
def signup() -> Response | str | tuple[str, int]:
    if current_user.is_authenticated:
        return redirect(url_for("profile.show"))
    form = SignupForm()
    if form.validate_on_submit() and (full := repo().capacity_problem("new members")):
        form.form_errors.append(full)
        return render_template("auth/signup.html", form=form, csrf_expired=False), 409
    if form.validate_on_submit():
        # Every complete sign-up counts, refused ones too: "this email has an account" must
        # not answer an unlimited number of probes.
        attempt = throttle.ClientAttempt("signup", "SIGNUP_RATE_LIMIT")
        if not attempt.allowed():
            raise _too_many(attempt)
        typed = form.timezone.data or ""
        zone = current_zone_name(typed) if is_valid_zone(typed) else "UTC"
        try:
            user = repo().create_user(
                form.username.data, form.email.data, hash_password(form.password.data), zone
            )
        except UsernameTaken:
            form.username.errors.append("That username is taken; try another")
        except EmailTaken:
            form.email.errors.append("An account with this email exists already; log in instead")
        else:
            start_session(user)
            if mails.VerifyLimit(user.id).allowed():
                mails.send_verification(user)
            flash(
                f"Welcome to SkillSwap, {user.username}! We have mailed a link to {user.email}: "
                "open it to confirm that the address is yours.",
                "success",
            )
            if not is_valid_zone(typed):
                flash(
                    "Your time zone is set to UTC: your browser did not say its own. If you "
                    "are elsewhere, set yours with “Edit your profile”: the times you offer and "
                    "see are in it.",
                    "info",
                )
            response = redirect(url_for("profile.show"))
            throttle.remember_device(response, user.id)  # the owner's browser (throttle.py)
            return response
    status = 400 if form.errors else 200
    return render_template("auth/signup.html", form=form, csrf_expired=form.csrf_failed()), status


@bp.route("/login", methods=["GET", "POST"])
@validates_own_csrf
def login() -> Response | str | tuple[str, int]:
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    if current_user.is_authenticated and request.method == "GET":
        return redirect(safe_next(form.next.data))
    if form.validate_on_submit():
        client = throttle.ClientAttempt("login", "LOGIN_RATE_LIMIT")
        if not client.allowed():
            raise _too_many(client)
        user = repo().find_user(form.login.data)
        # Per account, on top of the per-client limit; the same for names nobody has.
        attempt = throttle.LoginAttempt(form.login.data, user.id if user else None)
        if not attempt.allowed():
            form.form_errors.append(attempt.wait_message())
            return render_template("auth/login.html", form=form), 429
        if user and verify_password(user.password_hash, form.password.data):
            if needs_rehash(user.password_hash):
                user.password_hash = hash_password(form.password.data)
                repo().save_user(user)
            start_session(user)
            response = redirect(safe_next(form.next.data))
            attempt.succeeded(response, user.id)
            client.refund()  # only failures count against the address
            return response
        if user is None:
            verify_password(None, form.password.data)  # same time whether or not the name exists
        form.form_errors.append("Invalid username or password")
        return render_template("auth/login.html", form=form), 401
    status = 400 if form.errors else 200
    return render_template("auth/login.html", form=form, csrf_expired=form.csrf_failed()), status


@bp.route("/logout", methods=["GET", "POST"])
@validates_own_csrf
def logout() -> Response | tuple[str, int]:
    """The nav's "Log out" opens this page, whose button logs out: a button in the nav would
    carry a signed CSRF token on every page, for a click made once a visit. Opening the page
    changes nothing, so a link to it from elsewhere cannot log anyone out."""
    if not current_user.is_authenticated:
        if request.method == "GET":  # already out (a tab left open): nothing to ask
            return redirect(url_for("pages.home"))
        return login_manager.unauthorized()
    form = ActionForm()
    if form.validate_on_submit():
        end_session()
        flash("You are logged out.", "info")
        return redirect(url_for("pages.home"))
    if form.is_submitted():
        form.form_errors.append(
            "That page had expired, so you are still logged in. Press Log out again."
        )
    status = 400 if form.is_submitted() else 200
    return render_template("auth/logout.html", form=form), status

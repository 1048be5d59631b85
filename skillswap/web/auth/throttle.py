"""Failed-login throttling per account, with an exemption for browsers the account has used.

The per-client limit (auth.apply_rate_limits) stops one address guessing many passwords; an
attacker with many addresses is stopped here, by counting failed logins per account
(LOGIN_ACCOUNT_RATE_LIMIT). A per-account count alone would let anyone lock the owner out by
failing on purpose, so a browser holding a device cookie from an earlier successful login (or
the signup) of that account skips the account's count and is counted on its own instead
(OWASP's "device cookies"). The cookie is signed and HttpOnly; it vouches for a browser, it
never logs anyone in.

What is counted is the name as typed (normalised), whether or not an account has it: an unknown
name is throttled exactly like a real one, so the throttle never tells who has an account. The
price is that a username and its email are two counts, so an attacker gets at most twice the
limit per account, still well under DESIGN.md's 100 failures an hour with the default.

Counts live in Flask-Limiter's storage (RATELIMIT_STORAGE_URI; by default a SQLite file shared by
every worker, skillswap/limit_storage.py), so Redis or memcached shared by several instances
covers them too, and RATELIMIT_ENABLED=false turns them off with the rest. The per-client
limits on logging in and signing up (ClientAttempt) are counted the same way.
Every attempt is counted before its password is checked and the count is cleared after a
success: parallel guesses cannot all slip past a check made before any of them is counted.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import secrets
import time
from datetime import timedelta
from functools import cache

from flask import Flask, current_app, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from itsdangerous import BadSignature, URLSafeTimedSerializer
from limits import RateLimitItem, parse
from werkzeug.wrappers import Response

from skillswap.domain.users import email_identity

log = logging.getLogger(__name__)

DEVICE_COOKIE = "skillswap_device"
DEVICE_COOKIE_PATH = "/"  # read at login and at signup (which adds to it)
DEVICE_COOKIE_LIFETIME = timedelta(days=365)
DEVICE_ACCOUNTS = 5  # a shared family computer: a few accounts per browser


@cache
def _limit(text: str) -> RateLimitItem:
    return parse(text)


LIMIT_SETTINGS = (
    "LOGIN_ACCOUNT_RATE_LIMIT",
    "LOGIN_RATE_LIMIT",
    "SIGNUP_RATE_LIMIT",
    "RESET_RATE_LIMIT",
    "RESET_ACCOUNT_RATE_LIMIT",
    "VERIFY_RATE_LIMIT",
)


def check_settings(app: Flask) -> None:
    """Refuse to start with a limit that cannot be read, rather than fail at the first login."""
    for setting in LIMIT_SETTINGS:
        try:
            _limit(app.config[setting])
        except ValueError as exc:
            raise ValueError(
                f"{setting}={app.config[setting]!r} is not a rate limit; write it like "
                "'10 per 15 minutes'"
            ) from exc


def _limiter() -> Limiter | None:
    limiter: Limiter | None = current_app.extensions.get("skillswap.limiter")
    return limiter if limiter is not None and limiter.enabled else None


def _digest(text: str) -> str:
    """Storage keys carry a keyed digest, so shared limiter storage holds no emails."""
    secret = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(secret, text.encode(), hashlib.sha256).hexdigest()[:32]


class Counter:
    """One throttled thing (an account name, a device, a person confirming their password, a
    client address), limited by the setting `limit_setting` names."""

    def __init__(self, *identifiers: str, limit_setting: str = "LOGIN_ACCOUNT_RATE_LIMIT") -> None:
        self.identifiers = ("skillswap", *identifiers)
        self.item = _limit(current_app.config[limit_setting])

    def attempt(self) -> bool:
        """Count an attempt; False when the limit is used up (the attempt must be refused)."""
        limiter = _limiter()
        return limiter is None or limiter.limiter.hit(self.item, *self.identifiers)

    def clear(self) -> None:
        """After a success: the right password ends the run of failures."""
        limiter = _limiter()
        if limiter is not None:
            limiter.limiter.clear(self.item, *self.identifiers)

    def refund(self) -> None:
        """Take back one counted attempt (it turned out not to be one that counts)."""
        limiter = _limiter()
        if limiter is None:
            return
        key = self.item.key_for(*self.identifiers)
        try:
            limiter.limiter.storage.incr(key, self.item.get_expiry(), amount=-1)
        except Exception as exc:  # e.g. memcached, whose counters cannot be decremented:
            # a refund is a courtesy to the owner, never worth failing a login over
            log.warning("could not refund a rate-limit hit (%s): %s", type(exc).__name__, exc)

    def wait_minutes(self) -> int:
        limiter = _limiter()
        if limiter is None:
            return 1
        reset_at = limiter.limiter.get_window_stats(self.item, *self.identifiers).reset_time
        return max(1, math.ceil((reset_at - time.time()) / 60))


def _minutes(n: int) -> str:
    return f"{n} minute{'s' if n != 1 else ''}"


class ClientAttempt:
    """One attempt from one client address at something limited per client (logging in,
    signing up: LOGIN_RATE_LIMIT, SIGNUP_RATE_LIMIT). Counted before it is checked, so
    parallel requests cannot all pass a check made before any of them was counted."""

    def __init__(self, action: str, limit_setting: str) -> None:
        self.counter = Counter(
            f"{action}-client", get_remote_address(), limit_setting=limit_setting
        )

    def allowed(self) -> bool:
        return self.counter.attempt()

    def retry_after(self) -> int:
        """Seconds until the limit resets (for the Retry-After header)."""
        return self.counter.wait_minutes() * 60

    def refund(self) -> None:
        """A successful login is not a failure: it gives back the count it took."""
        self.counter.refund()


# --- the device cookie ---------------------------------------------------------------------


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="skillswap.device")


def read_device() -> dict | None:
    """The signed device cookie ({"id": random, "accounts": [user ids]}), or None."""
    raw = request.cookies.get(DEVICE_COOKIE)
    if not raw:
        return None
    try:
        data = _serializer().loads(raw, max_age=int(DEVICE_COOKIE_LIFETIME.total_seconds()))
    except BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("accounts"), list):
        return None
    return data


def remember_device(response: Response, uid: str) -> None:
    """Mark this browser as one `uid` has logged in from (the newest account first)."""
    device = read_device() or {}
    accounts = [uid, *(a for a in device.get("accounts", []) if a != uid)][:DEVICE_ACCOUNTS]
    value = _serializer().dumps(
        {"id": device.get("id") or secrets.token_hex(16), "accounts": accounts}
    )
    config = current_app.config
    response.set_cookie(
        DEVICE_COOKIE,
        value,
        max_age=int(DEVICE_COOKIE_LIFETIME.total_seconds()),
        path=DEVICE_COOKIE_PATH,
        secure=bool(config.get("SESSION_COOKIE_SECURE")),
        httponly=True,
        samesite=config.get("SESSION_COOKIE_SAMESITE") or "Lax",
        partitioned=bool(config.get("SESSION_COOKIE_PARTITIONED")),
    )


# --- login ---------------------------------------------------------------------------------


class LoginAttempt:
    """One login attempt as the throttle sees it.

    `uid` is the id of the account the typed name belongs to, or None. It only decides whether
    this browser's device cookie vouches for it; the count itself is by the typed name.
    """

    def __init__(self, login: str, uid: str | None) -> None:
        device = read_device() if uid else None
        self.trusted = bool(device and uid in device["accounts"])
        if self.trusted and device:
            self.counter = Counter("login-device", _digest(f"{device['id']}/{uid}"))
        else:
            self.counter = Counter("login-account", _digest(email_identity(login)))

    def allowed(self) -> bool:
        """Count the attempt; False when this account (or this device) must wait."""
        return self.counter.attempt()

    def wait_message(self) -> str:
        return (
            "There have been too many failed attempts to log in to this account, so logging "
            f"in to it is paused for now. Please wait {_minutes(self.counter.wait_minutes())} "
            "and try again. A browser you have logged in with before is not held up."
        )

    def succeeded(self, response: Response, uid: str) -> None:
        self.counter.clear()
        remember_device(response, uid)


def forgive_failed_logins(*names: str) -> None:
    """A password reset proves the person reads the account's mail: the failed logins counted
    against its names (perhaps someone else's, to lock it) no longer hold them up."""
    for name in names:
        Counter("login-account", _digest(email_identity(name))).clear()


# --- "Forgot password?" ---------------------------------------------------------------------


class ResetRequest:
    """One "Forgot password?" for a typed address, counted per address (whether or not an
    account has it, so counting tells nothing) and then per account: RESET_ACCOUNT_RATE_LIMIT
    each, so nobody can fill an inbox with reset mail. Both refuse silently: the page answers
    the same either way, or the answer would tell who has an account."""

    def __init__(self, address: str) -> None:
        self.address = Counter(
            "reset-address",
            _digest(email_identity(address)),
            limit_setting="RESET_ACCOUNT_RATE_LIMIT",
        )

    def address_allowed(self) -> bool:
        return self.address.attempt()

    def account_allowed(self, uid: str) -> bool:
        return Counter("reset-account", uid, limit_setting="RESET_ACCOUNT_RATE_LIMIT").attempt()


# --- confirming the password of a logged-in person (password change, account deletion) -----


class PasswordCheck:
    """Wrong current passwords typed on /account count too: a stolen session must not become
    a way to guess the password at leisure."""

    def __init__(self, uid: str) -> None:
        self.counter = Counter("password-check", uid)

    def allowed(self) -> bool:
        return self.counter.attempt()

    def succeeded(self) -> None:
        self.counter.clear()

    def wait_message(self) -> str:
        return (
            "That was too many wrong passwords. Please wait "
            f"{_minutes(self.counter.wait_minutes())} and try again."
        )

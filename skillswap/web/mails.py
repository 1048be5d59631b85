"""The mails pages send about an account, with their signed links: confirm an address, reset a
password, "your password was changed", "your address is being changed". Each goes through
common.send_mail, so none of them can fail a page, and only confirmation and reset mail goes
to an address nobody has confirmed (domain/users.py: may_mail)."""

from __future__ import annotations

from collections.abc import Callable

from flask import current_app

from skillswap.domain.users import User, address_to_verify, reset_fingerprint
from skillswap.mail import MAX_AGE, Outcome, Token, make_token, read_token
from skillswap.web.auth.throttle import Counter
from skillswap.web.common import now, public_link, repo, send_mail

RESET = "reset-password"
VERIFY = "verify-email"


def _secret() -> str:
    return str(current_app.config["SECRET_KEY"])


def _user_fingerprint(fingerprint: Callable[[User], str | None]) -> Callable[[str], str | None]:
    def of(uid: str) -> str | None:
        user = repo().get_user(uid)
        return fingerprint(user) if user is not None else None

    return of


# --- confirming an address -----------------------------------------------------------------


class VerifyLimit:
    """Verification mails per account (VERIFY_RATE_LIMIT): each one goes to an address the
    person typed, so without a limit a logged-in person could make SkillSwap mail anyone."""

    def __init__(self, uid: str) -> None:
        self.counter = Counter("verify-mail", uid, limit_setting="VERIFY_RATE_LIMIT")

    def allowed(self) -> bool:
        return self.counter.attempt()

    def wait_message(self) -> str:
        minutes = self.counter.wait_minutes()
        return (
            "We have sent several confirmation links in the last hour, so no more go out for "
            f"now. Please wait {minutes} minute{'s' if minutes != 1 else ''} and try again, "
            "or use the newest link you have."
        )


def send_verification(user: User) -> Outcome | None:
    """Mail the address this person has to confirm (their new pending one, else their own
    unconfirmed one) a link that confirms it. The caller checks VerifyLimit first."""
    address = address_to_verify(user)
    if address is None:
        return None
    moment = now()
    token = make_token(_secret(), VERIFY, user.id, address, moment)
    context = {
        "address": address,
        "link": public_link("addresses.verify", token=token),
        "expires_at": moment + MAX_AGE[VERIFY],
    }
    return send_mail(user, "verify_email", context, address=address)


def read_verification(token: str) -> tuple[Token, str]:
    """The token of a verification link and the address it confirms; raises BadToken (or its
    kinds ExpiredToken, StaleToken: used already, or another address asked for since)."""
    found: list[str] = []

    def address_of(user: User) -> str | None:
        address = address_to_verify(user)
        found[:] = [address or ""]
        return address

    read = read_token(
        _secret(), VERIFY, token, fingerprint_of=_user_fingerprint(address_of), now=now()
    )
    return read, found[0]


def send_change_notice(user: User, new_address: str) -> Outcome | None:
    """Tell the old address that someone logged in asked to move the account to another
    one: if that was not its owner, they can reset the password, which cancels the move."""
    context = {
        "new_address": new_address,
        "requested_at": now(),
        "reset_url": public_link("recovery.forgot"),
    }
    return send_mail(user, "email_change_notice", context)


# --- resetting a password -------------------------------------------------------------------


def send_reset(user: User) -> Outcome | None:
    """A link that sets a new password, once, within the hour, while nothing about the
    account's password, logins or address changes (domain/users.py: reset_fingerprint)."""
    moment = now()
    token = make_token(_secret(), RESET, user.id, reset_fingerprint(user), moment)
    context = {
        "link": public_link("recovery.reset", token=token),
        "expires_at": moment + MAX_AGE[RESET],
    }
    return send_mail(user, "password_reset", context)


def read_reset(token: str) -> tuple[User, str]:
    """The person a reset link is for and the fingerprint it was checked against (for the
    write that must still find it: single use under parallel requests); raises BadToken."""
    seen: list[User] = []

    def fingerprint(user: User) -> str:
        seen[:] = [user]
        return reset_fingerprint(user)

    read_token(_secret(), RESET, token, fingerprint_of=_user_fingerprint(fingerprint), now=now())
    return seen[0], reset_fingerprint(seen[0])


def send_password_changed(user: User) -> Outcome | None:
    context = {"changed_at": now(), "reset_url": public_link("recovery.forgot")}
    return send_mail(user, "password_changed", context)

"""The User record and the rules about names, passwords and links. Pure: no Flask, no I/O."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from email_validator import EmailNotValidError, validate_email

from skillswap.domain.records import from_fields
from skillswap.domain.text import is_visible, text_problem
from skillswap.domain.times import parse_iso_utc

USERNAME_RE = re.compile(r"[a-z0-9_-]{3,30}")
PASSWORD_MIN, PASSWORD_MAX = 8, 128
MAX_BIO = 1000


def username_problem(name: str) -> str | None:
    if not 3 <= len(name) <= 30:
        return "Use 3 to 30 characters"
    if not USERNAME_RE.fullmatch(name.lower()):
        return "Use only letters a–z, digits, _ and -"
    return None


FULL_ADDRESS = "Enter a full address, like https://github.com/you"


def link_problem(url: str) -> str | None:
    """Only absolute http/https links: javascript:, data: and friends would run in the viewer."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:  # "https://[": an unclosed IPv6 bracket
        return FULL_ADDRESS
    if parts.scheme.lower() not in {"http", "https"}:
        return "Links must start with http:// or https://"
    if not parts.netloc or " " in url.strip():
        return FULL_ADDRESS
    return text_problem(url)


def split_tags(text: str) -> list[str]:
    """Tags as typed, split on commas or new lines, blanks and case-insensitive repeats dropped."""
    seen: set[str] = set()
    tags: list[str] = []
    for raw in re.split(r"[,\n]", text):
        tag = " ".join(raw.split())
        if tag and tag.casefold() not in seen:
            seen.add(tag.casefold())
            tags.append(tag)
    return tags


@dataclass
class User:
    id: str
    username: str
    email: str
    password_hash: str
    timezone: str = "UTC"
    display_name: str = ""
    bio: str = ""
    teach: list[str] = field(default_factory=list)
    learn: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    created: str = ""
    # Bumped by password change and "log out everywhere": old session cookies stop working.
    session_version: int = 1
    # Active logins, newest first, bounded (skillswap/domain/logins.py): a session cookie
    # names one, and opens nothing once it is gone from here.
    logins: list[dict] = field(default_factory=list)
    unread: int = 0  # notifications not yet seen (the list lives in the schedule document)
    # Calendar feed: the secret's SHA-256 and the random nonce it is derived from (see ics.py).
    feed_token_hash: str = ""
    feed_nonce: str = ""
    # Whether the person has shown they read mail at `email`. Records from before mail have no
    # such field and count as verified (True); new accounts store False until the link is used.
    email_verified: bool = True
    # An address asked for on /account, waiting for its link to be used before it replaces
    # `email` (one at a time: asking for another replaces it), and since when (ISO UTC).
    pending_email: str = ""
    pending_since: str = ""
    # Kinds of optional mail this person turned off (MAIL_CHOICES keys), on /account or with
    # a mail's unsubscribe link; empty: all on.
    mail_off: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        # A display name that shows nothing (saved before the form refused one) is none.
        name = self.display_name
        return name if is_visible(name) else self.username

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> User:
        # Read on every request (the session's login is checked against it): a record with
        # exactly this version's fields is taken as it is; one written by another version has
        # the fields this one does not know dropped and the missing ones defaulted.
        return from_fields(cls, data)


# --- email ownership -----------------------------------------------------------------------


def email_identity(text: str) -> str:
    """The one form an address is stored, keyed and compared in, whatever form it was typed in:
    "Zoë@Bücher.de" composed or decomposed, or with its domain in IDNA ("xn--bcher-kva.de") or
    full-width letters, is "zoë@bücher.de". Otherwise one person could hold two accounts on one
    inbox, and guess a password three times in each form. The local part is compared without
    case, as every common mail provider does. Text that is no address (a username typed to log
    in) is only trimmed and lower-cased."""
    typed = unicodedata.normalize("NFC", text.strip())
    try:
        valid = validate_email(typed, check_deliverability=False)
    except EmailNotValidError:
        return typed.lower()
    return f"{valid.local_part.lower()}@{valid.domain}"


#: Mail that may go to an address nobody has confirmed: the confirmation itself, and the reset
#: that is the only way back into an account (it goes to the account's address as it stands).
UNVERIFIED_MAIL = frozenset({"verify_email", "password_reset"})

#: How long an unconfirmed address keeps its claim (email/<address>) against a new sign-up or a
#: change of address to it. Without a bound, anyone could sign up with someone else's address
#: and keep its owner from ever using it. The owner can also take such an account over at once
#: with "Forgot password?" (the reset goes to the address), so the bound is a second way out.
UNVERIFIED_HOLD = timedelta(days=7)


def may_mail(user: User, kind: str, address: str) -> bool:
    """Whether a mail of `kind` may go to `address` on `user`'s behalf: their confirmed
    address, or any address for the kinds that exist to confirm one."""
    if kind in UNVERIFIED_MAIL:
        return True
    return address == user.email and user.email_verified


#: The kinds of optional mail a person can turn off, as /account words them. Every other mail
#: (confirming an address, resetting or changing a password, a change of address) is about the
#: account itself and always goes out.
MAIL_CHOICES = {
    "bookings": "Sessions booked or moved, with a calendar invite, and times held for you "
    "from a waitlist",
    "cancellations": "Sessions cancelled, with a calendar update that removes them",
    "reminders": "Reminders before a session, and to rate it afterwards",
    "reviews": "Reviews you receive",
}
#: Which choice each optional kind of mail belongs to.
MAIL_CHOICE_OF = {
    "booking_confirmed": "bookings",
    "booking_changed": "bookings",
    "waitlist_hold": "bookings",
    "booking_cancelled": "cancellations",
    "session_reminder": "reminders",
    "review_reminder": "reminders",
    "review_received": "reviews",
}


def wants_mail(user: User, kind: str) -> bool:
    """Whether `user` left this kind of mail on (mail about the account always goes)."""
    choice = MAIL_CHOICE_OF.get(kind)
    return choice is None or choice not in user.mail_off


def mail_off_after(current: list[str], choice: str, on: bool) -> list[str]:
    """`current` with one choice turned on or off; unknown names are dropped, so the list is
    bounded by MAIL_CHOICES whatever was stored or sent."""
    off = {name for name in current if name in MAIL_CHOICES}
    off = off - {choice} if on else off | {choice}
    return [name for name in MAIL_CHOICES if name in off]


def address_to_verify(user: User) -> str | None:
    """The address a verification link of this person's can confirm now: the pending one, else
    their own while unconfirmed. None once there is nothing to confirm, which makes every
    earlier link stale (single use)."""
    if user.pending_email:
        return user.pending_email
    return None if user.email_verified else user.email


def session_version(record: dict[str, Any]) -> int:
    """A stored user record's session version (records from before it existed: 1). Every
    login carries the version it began under; bumping it ends them all."""
    return int(record.get("session_version", 1))


def reset_fingerprint(user: User) -> str:
    """What a password-reset link is bound to: the password hash (a reset or change makes the
    link stale, so it works once), the session version ("log out everywhere" ends it too) and
    the address the link was mailed to."""
    return f"{user.password_hash}\n{user.session_version}\n{user.email}"


def email_claim_holds(
    claim: dict[str, Any], owner: User | None, address: str, now: datetime
) -> bool:
    """Whether `claim` (the value at email/<address>, naming `owner`, who may be gone) still
    keeps the address from another account.

    It holds for the owner's confirmed address, for an unconfirmed one within UNVERIFIED_HOLD,
    and for an address the owner is confirming right now (the claim is written just before the
    record). A claim for no account, an account deleted or one that moved to another address
    holds only while a sign-up or a confirmation may still be finishing (UNVERIFIED_HOLD), so no
    crash between two writes blocks an address for good."""
    if "deleted" in claim:
        return False

    def recent(stamp: str) -> bool:
        return bool(stamp) and now - parse_iso_utc(stamp) < UNVERIFIED_HOLD

    claimed = str(claim.get("claimed", ""))
    if owner is None:
        return recent(claimed)
    if owner.email == address:
        return owner.email_verified or recent(claimed or owner.created)
    if owner.pending_email == address:
        return recent(owner.pending_since)
    return False

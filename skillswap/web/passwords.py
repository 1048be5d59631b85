"""argon2id password hashing: its defaults exceed OWASP's minimum (werkzeug's scrypt does not)."""

from __future__ import annotations

from functools import cache
from importlib import resources

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from zxcvbn import zxcvbn

from skillswap.domain.users import PASSWORD_MAX

# Tests sign up hundreds of users; production strength there would cost minutes.
_FAST_FOR_TESTS = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
_PRODUCTION = PasswordHasher()


@cache
def _dummy_hash() -> str:
    """Verified when the account does not exist, so both answers take the same time."""
    return _hasher().hash("not a real password")


def _hasher() -> PasswordHasher:
    return _FAST_FOR_TESTS if current_app.config.get("TESTING") else _PRODUCTION


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher().verify(password_hash or _dummy_hash(), password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher().check_needs_rehash(password_hash)


COMMON_PASSWORD = "This password is too common: pick one that is hard to guess"
PASSWORD_IS_NAME = (
    "Your password must not be your username or email: pick one that is hard to guess"
)
EASY_TO_GUESS = "This password is easy to guess"
# zxcvbn's scale: 2 means at least a million guesses, beyond an online attack under our limits.
MIN_STRENGTH = 2


@cache
def common_passwords() -> frozenset[str]:
    """The shipped list (skillswap/data/common-passwords.txt), lower case, read once."""
    text = resources.files("skillswap").joinpath("data/common-passwords.txt").read_text("utf-8")
    return frozenset(
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


def password_problem(password: str, username: str = "", email: str = "") -> str | None:
    """Why a new password is easy to guess, or None. Case does not make a password safer."""
    folded = password.casefold()
    if folded in {name.strip().casefold() for name in (username, email) if name and name.strip()}:
        return PASSWORD_IS_NAME
    if folded in common_passwords():
        return COMMON_PASSWORD
    # zxcvbn (Dropbox's estimator) knows repeats, sequences, keyboard walks, dates and words,
    # which hand-written rules would keep missing (eight spaces, eight zero-width spaces).
    names = [name for name in (username, email) if name]
    # Longer ones are refused by the length rule; zxcvbn refuses to look at them at all.
    estimate = zxcvbn(password[:PASSWORD_MAX], user_inputs=names, max_length=PASSWORD_MAX)
    if estimate["score"] < MIN_STRENGTH:
        feedback = estimate["feedback"]
        why = " ".join([feedback["warning"], *feedback["suggestions"]]).strip()
        return f"{EASY_TO_GUESS}. {why}" if why else f"{EASY_TO_GUESS}: make it longer"
    return None

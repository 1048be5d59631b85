"""Signed link tokens: they expire (on an injected clock), serve one purpose, die when what
they are bound to changes, and refuse any tampering."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest

from skillswap.mail import (
    MAX_AGE,
    BadToken,
    ExpiredToken,
    StaleToken,
    make_token,
    read_token,
)

KEY = "test-secret"
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
PASSWORD_HASH = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2g"


class Accounts:
    """What the caller binds a reset token to: the password hash and the session version."""

    def __init__(self) -> None:
        self.fingerprints = {"u1": f"{PASSWORD_HASH}:1"}

    def fingerprint_of(self, subject: str) -> str | None:
        return self.fingerprints.get(subject)


@pytest.fixture
def accounts() -> Accounts:
    return Accounts()


def reset_token(accounts: Accounts, now: datetime = NOW) -> str:
    return make_token(KEY, "reset-password", "u1", accounts.fingerprints["u1"], now)


def read(accounts: Accounts, token: str, purpose: str = "reset-password", **options: object):
    options.setdefault("now", NOW)
    return read_token(KEY, purpose, token, fingerprint_of=accounts.fingerprint_of, **options)


def test_a_fresh_token_names_its_subject(accounts: Accounts) -> None:
    token = reset_token(accounts)
    read_back = read(accounts, token)
    assert read_back.subject == "u1"
    assert read_back.issued == NOW
    assert token.isascii() and all(c.isalnum() or c in "-_." for c in token), "URL-safe"


def test_a_token_expires_on_the_injected_clock(accounts: Accounts) -> None:
    token = reset_token(accounts)
    assert MAX_AGE["reset-password"] == timedelta(hours=1)
    assert read(accounts, token, now=NOW + timedelta(hours=1)).subject == "u1"
    with pytest.raises(ExpiredToken, match="expired"):
        read(accounts, token, now=NOW + timedelta(hours=1, seconds=1))
    with pytest.raises(ExpiredToken):
        read(accounts, token, now=NOW + timedelta(minutes=11), max_age=timedelta(minutes=10))


def test_a_token_serves_only_its_own_purpose(accounts: Accounts) -> None:
    token = reset_token(accounts)
    for other in ("verify-email", "unsubscribe"):
        with pytest.raises(BadToken, match="not valid"):
            read(accounts, token, purpose=other)


def test_a_changed_fingerprint_kills_the_token(accounts: Accounts) -> None:
    token = reset_token(accounts)
    accounts.fingerprints["u1"] = f"{PASSWORD_HASH}:2"  # another login ended every session
    with pytest.raises(StaleToken, match="already been used"):
        read(accounts, token)


def test_a_used_reset_token_is_dead_because_the_password_changed(accounts: Accounts) -> None:
    token = reset_token(accounts)
    read(accounts, token)
    accounts.fingerprints["u1"] = "$argon2id$...new-hash:1"  # what using it does
    with pytest.raises(StaleToken):
        read(accounts, token)


def test_a_token_for_a_deleted_account_is_refused(accounts: Accounts) -> None:
    token = reset_token(accounts)
    del accounts.fingerprints["u1"]
    with pytest.raises(StaleToken):
        read(accounts, token)


def test_tampering_is_refused(accounts: Accounts) -> None:
    token = reset_token(accounts)
    payload, timestamp, signature = token.split(".")
    forged_payload = base64.urlsafe_b64encode(b'{"s":"u2","f":"x","n":"y"}').decode()
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    for forged in (
        f"{forged_payload.rstrip('=')}.{timestamp}.{signature}",
        f"{payload}.{timestamp}.{flipped}",
        f"{payload}.{timestamp[:-1]}.{signature}",
        token[:-1],
        "",
        "not-a-token",
    ):
        with pytest.raises(BadToken):
            read(accounts, forged)
    with pytest.raises(BadToken):
        read_token("another-key", "reset-password", token, fingerprint_of=lambda s: "", now=NOW)


def test_the_token_reveals_nothing_of_the_fingerprint(accounts: Accounts) -> None:
    token = reset_token(accounts)
    payload = token.split(".")[0]
    decoded = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    assert b"argon2" not in decoded and b"c2FsdHNhbHQ" not in decoded


def test_every_token_has_its_own_id_for_callers_that_remember_used_ones(
    accounts: Accounts,
) -> None:
    first, second = reset_token(accounts), reset_token(accounts)
    assert first != second
    assert read(accounts, first).id != read(accounts, second).id


def test_programming_errors_are_not_bad_links(accounts: Accounts) -> None:
    with pytest.raises(ValueError, match="unknown token purpose"):
        make_token(KEY, "reset", "u1", "f", NOW)
    with pytest.raises(ValueError, match="timezone-aware"):
        make_token(KEY, "reset-password", "u1", "f", NOW.replace(tzinfo=None))

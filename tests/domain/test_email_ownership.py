"""Unit tests for the email-ownership rules in skillswap.domain.users: who may be mailed, what a
verification or reset link is bound to, and when a claim on an address still holds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from skillswap.domain.times import iso_utc
from skillswap.domain.users import (
    UNVERIFIED_HOLD,
    User,
    address_to_verify,
    email_claim_holds,
    may_mail,
    reset_fingerprint,
)

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
ADDRESS = "ada@example.com"


def person(**fields: object) -> User:
    values: dict[str, object] = {
        "id": "u1",
        "username": "ada",
        "email": ADDRESS,
        "password_hash": "$argon2id$hash",
        "created": iso_utc(NOW - timedelta(days=1)),
    }
    values.update(fields)
    return User(**values)  # type: ignore[arg-type]


def ago(delta: timedelta) -> str:
    return iso_utc(NOW - delta)


# --- who may be mailed --------------------------------------------------------------------


def test_a_record_from_before_mail_counts_as_confirmed() -> None:
    stored = person().to_dict()
    for name in ("email_verified", "pending_email", "pending_since"):
        del stored[name]
    assert User.from_dict(stored).email_verified is True


@pytest.mark.parametrize(
    ("kind", "verified", "allowed"),
    [
        ("verify_email", False, True),
        ("password_reset", False, True),
        ("password_changed", False, False),
        ("email_change_notice", False, False),
        ("booking_confirmed", False, False),
        ("password_changed", True, True),
        ("booking_confirmed", True, True),
    ],
)
def test_an_unconfirmed_address_gets_only_confirmation_and_reset_mail(
    kind: str, verified: bool, allowed: bool
) -> None:
    assert may_mail(person(email_verified=verified), kind, ADDRESS) is allowed


def test_only_confirmation_mail_goes_to_an_address_other_than_the_accounts() -> None:
    waiting = person(pending_email="new@example.com")
    assert may_mail(waiting, "verify_email", "new@example.com")
    assert not may_mail(waiting, "booking_confirmed", "new@example.com")


# --- what links are bound to ----------------------------------------------------------------


def test_the_address_to_verify_is_the_pending_one_then_an_unconfirmed_own_one() -> None:
    assert address_to_verify(person(email_verified=False)) == ADDRESS
    assert address_to_verify(person(email_verified=True)) is None
    pending = person(email_verified=False, pending_email="new@example.com")
    assert address_to_verify(pending) == "new@example.com"


@pytest.mark.parametrize(
    "change",
    [
        {"password_hash": "$argon2id$other"},
        {"session_version": 2},
        {"email": "new@example.com"},
    ],
)
def test_a_reset_link_is_bound_to_the_password_the_logins_and_the_address(
    change: dict[str, object],
) -> None:
    assert reset_fingerprint(person()) != reset_fingerprint(person(**change))
    assert reset_fingerprint(person()) == reset_fingerprint(person(display_name="Ada"))


# --- claims on an address ---------------------------------------------------------------------


def test_a_confirmed_address_is_held_however_old() -> None:
    claim = {"uid": "u1", "claimed": ago(timedelta(days=3000))}
    assert email_claim_holds(claim, person(email_verified=True), ADDRESS, NOW)


def test_a_claim_from_before_this_change_is_held() -> None:
    assert email_claim_holds({"uid": "u1"}, person(), ADDRESS, NOW)


@pytest.mark.parametrize(
    ("age", "holds"),
    [
        (timedelta(0), True),
        (UNVERIFIED_HOLD - timedelta(minutes=1), True),
        (UNVERIFIED_HOLD, False),
        (UNVERIFIED_HOLD * 10, False),
    ],
)
def test_an_unconfirmed_address_is_held_for_a_while_only(age: timedelta, holds: bool) -> None:
    claim = {"uid": "u1", "claimed": ago(age)}
    assert email_claim_holds(claim, person(email_verified=False), ADDRESS, NOW) is holds


def test_a_claim_for_an_account_that_moved_on_does_not_hold() -> None:
    moved = person(email="other@example.com", email_verified=True)
    assert not email_claim_holds({"uid": "u1", "claimed": ago(timedelta(0))}, moved, ADDRESS, NOW)


def test_a_claim_being_confirmed_holds_while_the_change_is_recent() -> None:
    """confirm_email claims the address just before it writes the record."""
    claim = {"uid": "u1", "claimed": ago(timedelta(0))}
    confirming = person(
        email="old@example.com", pending_email=ADDRESS, pending_since=ago(timedelta(hours=1))
    )
    stuck = person(
        email="old@example.com", pending_email=ADDRESS, pending_since=ago(UNVERIFIED_HOLD)
    )
    assert email_claim_holds(claim, confirming, ADDRESS, NOW)
    assert not email_claim_holds(claim, stuck, ADDRESS, NOW)


def test_a_claim_for_no_account_holds_only_while_a_sign_up_may_be_finishing() -> None:
    assert email_claim_holds(
        {"uid": "u9", "claimed": ago(timedelta(seconds=1))}, None, ADDRESS, NOW
    )
    assert not email_claim_holds({"uid": "u9", "claimed": ago(UNVERIFIED_HOLD)}, None, ADDRESS, NOW)
    assert not email_claim_holds({"uid": "u9"}, None, ADDRESS, NOW)


def test_a_deleted_accounts_tombstone_does_not_hold() -> None:
    assert not email_claim_holds({"uid": "u1", "deleted": ago(timedelta(0))}, None, ADDRESS, NOW)

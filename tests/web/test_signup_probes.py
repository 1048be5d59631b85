"""Sign-up does not reveal emails without limit: every complete sign-up counts against the
per-address limit (refused ones too), and a deleted account's email is kept only as a keyed
hash, free to open a new account (the username stays retired)."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from skillswap.domain.times import iso_utc
from skillswap.domain.users import UNVERIFIED_HOLD
from tests.support.app_fixtures import AuthActions, Clock, csrf_token, make_app
from tests.web.test_auth import PASSWORD, page, store, user_records

TAKEN = "An account with this email exists already; log in instead"


@pytest.fixture
def limited(tmp_path, clock: Clock) -> Iterator[Flask]:
    app = make_app(tmp_path, clock, RATELIMIT_ENABLED=True, SIGNUP_RATE_LIMIT="3 per hour")
    yield app
    store(app).close()


def delete_account(client: FlaskClient, username: str = "ada"):
    return client.post(
        "/account/delete",
        data={
            "delete_password": PASSWORD,
            "confirm_username": username,
            "csrf_token": csrf_token(client, "/account"),
        },
    )


def test_refused_signups_count_against_the_address(limited: Flask) -> None:
    assert AuthActions(limited.test_client()).signup("ada").status_code == 302
    probes = [
        AuthActions(limited.test_client()).signup(f"probe{n}", email="ada@example.com")
        for n in range(4)
    ]
    statuses = [response.status_code for response in probes]
    assert statuses == [400, 400, 429, 429]  # ada's own sign-up was the first of three
    assert TAKEN in page(probes[0]).main_text
    assert TAKEN not in page(probes[2]).main_text
    # The limit is the address's, whatever it tries next.
    assert AuthActions(limited.test_client()).signup("grace").status_code == 429
    assert [r["username"] for r in user_records(limited)] == ["ada"]


def test_forms_with_mistakes_do_not_count(limited: Flask) -> None:
    auth = AuthActions(limited.test_client())
    for _ in range(4):
        assert auth.signup("x", password="short").status_code == 400
    assert auth.signup("ada").status_code == 302


def test_a_deleted_accounts_email_can_sign_up_again(app: Flask, client: FlaskClient) -> None:
    AuthActions(client).signup("ada")
    assert delete_account(client).status_code == 302

    again = AuthActions(app.test_client())
    retired = again.signup("ada", email="ada@example.com")
    assert retired.status_code == 400
    assert "That username is taken" in page(retired).main_text
    assert again.signup("ada2", email="ADA@example.com").status_code == 302
    assert [r["email"] for r in user_records(app)] == ["ada@example.com"]


def test_the_store_keeps_no_deleted_email_in_clear(app: Flask, client: FlaskClient) -> None:
    AuthActions(client).signup("ada")
    uid = user_records(app)[0]["id"]
    delete_account(client)
    s = store(app)
    everything = json.dumps({key: s.get(key) for key in s.keys("")})
    assert "ada@example.com" not in everything
    digest = hmac.new(b"test-secret", b"ada@example.com", hashlib.sha256).hexdigest()
    assert s.get(f"deleted-email/{digest}")["uid"] == uid


def test_an_email_tombstone_written_in_clear_frees_the_address(
    app: Flask, client: FlaskClient
) -> None:
    """Accounts deleted before this change left email/<address> = {"uid", "deleted"}."""
    store(app).put("email/ada@example.com", {"uid": "0123456789abcdef", "deleted": "2026-01-01"})
    assert AuthActions(client).signup("ada").status_code == 302
    uid = user_records(app)[0]["id"]
    assert store(app).get("email/ada@example.com")["uid"] == uid


def test_a_claim_without_an_account_says_the_same_as_a_live_one(
    app: Flask, client: FlaskClient, clock: Clock
) -> None:
    """A sign-up that crashed between its claims and its profile leaves a bare claim: the
    answer is the one a live account gets, so nothing tells the two apart (until the claim
    lapses, domain/users.py: email_claim_holds; then it is a free address like any other)."""
    AuthActions(app.test_client()).signup("ada")
    claimed = iso_utc(clock())
    store(app).put("email/grace@example.com", {"uid": "0123456789abcdef", "claimed": claimed})
    live = AuthActions(client).signup("probe1", email="ada@example.com")
    orphan = AuthActions(client).signup("probe2", email="grace@example.com")
    assert live.status_code == orphan.status_code == 400
    assert TAKEN in page(live).main_text
    assert TAKEN in page(orphan).main_text

    clock.advance(days=UNVERIFIED_HOLD.days)
    assert AuthActions(client).signup("grace", email="grace@example.com").status_code == 302


def test_a_bare_claim_from_before_claims_were_dated_blocks_nothing(
    app: Flask, client: FlaskClient
) -> None:
    """Claims written before they carried a time name accounts made before then; one naming no
    account is what a crash left, long ago."""
    store(app).put("email/grace@example.com", {"uid": "0123456789abcdef"})
    assert AuthActions(client).signup("grace", email="grace@example.com").status_code == 302

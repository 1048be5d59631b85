"""Failed logins counted per account, on top of the per-client limit, and the device cookie that
keeps the owner's own browser out of an attacker's lockout.

The per-client limit is set high here so that only the per-account one can answer 429; every
"attacker" request comes from a different address, as from a botnet.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from skillswap import create_app, settings
from skillswap.web.auth.throttle import DEVICE_COOKIE
from tests.support.app_fixtures import AuthActions, Clock, csrf_token, make_app
from tests.web.test_auth import PASSWORD, logged_in_as, page, store

WRONG = "wrong password!"
ADDRESSES = (f"198.51.100.{n}" for n in itertools.count(1))


@pytest.fixture
def limited(tmp_path, clock: Clock) -> Iterator[Flask]:
    app = make_app(
        tmp_path,
        clock,
        RATELIMIT_ENABLED=True,
        LOGIN_RATE_LIMIT="1000 per 15 minutes",
        LOGIN_ACCOUNT_RATE_LIMIT="3 per 15 minutes",
    )
    yield app
    store(app).close()


def browser(app: Flask, address: str | None = None) -> FlaskClient:
    """A new browser, from a new address unless told."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address or next(ADDRESSES)
    return client


def attempt(client: FlaskClient, login: str = "ada", password: str = WRONG, next: str = ""):
    return client.post(
        "/login",
        data={
            "login": login,
            "password": password,
            "next": next,
            "csrf_token": csrf_token(client, "/login"),
        },
    )


@pytest.fixture
def ada(limited: Flask) -> FlaskClient:
    """Ada logged in from her own browser, then logged out: it holds a device cookie."""
    assert AuthActions(browser(limited)).signup().status_code == 302  # on another computer
    client = browser(limited)
    assert AuthActions(client).login().status_code == 302
    AuthActions(client).logout()
    return client


def attack(app: Flask, login: str = "ada", times: int = 3) -> None:
    for _ in range(times):
        assert attempt(browser(app), login).status_code == 401


def wait_text(response) -> str:
    """The wait message as read, its number of minutes blanked."""
    return re.sub(r"\d+ minutes?", "N minutes", page(response).all("div", role="alert")[0].text)


def test_failures_from_many_addresses_pause_the_account(limited: Flask, ada: FlaskClient) -> None:
    attack(limited)
    newcomer = browser(limited)
    response = attempt(newcomer, "ada", PASSWORD, next="/dashboard")
    assert response.status_code == 429
    p = page(response)
    message = p.all("div", role="alert")[0].text
    assert "too many failed attempts to log in to this account" in message
    assert "Please wait 15 minutes and try again" in message
    assert "A browser you have logged in with before is not held up" in message
    # The form is still there, with what was typed (never the password).
    assert p.value("login") == "ada"
    assert p.value("next") == "/dashboard"
    assert p.value("password") == ""
    assert PASSWORD not in p.html
    assert logged_in_as(newcomer) is None


def test_the_owners_browser_is_not_locked_out(limited: Flask, ada: FlaskClient) -> None:
    attack(limited)
    for _ in range(3):
        assert attempt(browser(limited), "ada", PASSWORD).status_code == 429
    response = attempt(ada, "ada", PASSWORD)
    assert response.status_code == 302
    assert logged_in_as(ada) == "ada"


def test_the_owners_browser_may_log_in_by_email_too(limited: Flask, ada: FlaskClient) -> None:
    attack(limited, "ada@example.com")
    assert attempt(ada, "ADA@example.com", PASSWORD).status_code == 302


def test_the_owners_browser_has_its_own_count(limited: Flask, ada: FlaskClient) -> None:
    """Typos in a trusted browser do not touch the account's count, and are limited too."""
    for _ in range(3):
        assert attempt(ada, "ada", WRONG).status_code == 401
    assert attempt(ada, "ada", PASSWORD).status_code == 429
    # The account itself was never counted: another browser may still try.
    assert attempt(browser(limited), "ada", PASSWORD).status_code == 302


def test_unknown_names_are_counted_exactly_like_real_ones(limited: Flask, ada: FlaskClient) -> None:
    answers = {}
    for login in ("ada", "nobody", "nobody@example.com"):
        statuses = [attempt(browser(limited), login).status_code for _ in range(4)]
        answers[login] = (statuses, wait_text(attempt(browser(limited), login)))
    assert answers["ada"][0] == [401, 401, 401, 429]
    assert answers["nobody"] == answers["ada"]
    assert answers["nobody@example.com"] == answers["ada"]


def test_the_count_ignores_case_and_spaces(limited: Flask, ada: FlaskClient) -> None:
    for login in ("ADA", " ada ", "Ada"):
        assert attempt(browser(limited), login).status_code == 401
    assert attempt(browser(limited), "ada", PASSWORD).status_code == 429


def test_a_paused_username_says_nothing_about_its_email(limited: Flask, ada: FlaskClient) -> None:
    """Counting by account id would pause the email as well, telling an attacker whose email
    it is; counting by the name typed keeps the two unlinked."""
    attack(limited, "ada")
    assert attempt(browser(limited), "ada").status_code == 429
    assert attempt(browser(limited), "ada@example.com").status_code == 401


def test_other_accounts_are_not_affected(limited: Flask, ada: FlaskClient) -> None:
    grace = browser(limited)
    AuthActions(grace).signup("grace")
    AuthActions(grace).logout()
    attack(limited)
    assert attempt(browser(limited), "grace", PASSWORD).status_code == 302


def test_a_device_cookie_of_another_account_does_not_help(limited: Flask, ada: FlaskClient) -> None:
    grace = browser(limited)
    AuthActions(grace).signup("grace")
    AuthActions(grace).logout()
    AuthActions(grace).login("grace")  # grace's browser now vouches for grace only
    AuthActions(grace).logout()
    attack(limited)
    assert attempt(grace, "ada", PASSWORD).status_code == 429


def test_a_forged_device_cookie_does_not_help(limited: Flask, ada: FlaskClient) -> None:
    genuine = ada.get_cookie(DEVICE_COOKIE, path="/")
    assert genuine is not None
    attack(limited)
    forger = browser(limited)
    forged = genuine.value[:-3] + ("AAA" if not genuine.value.endswith("AAA") else "BBB")
    forger.set_cookie(DEVICE_COOKIE, forged, path="/")
    assert attempt(forger, "ada", PASSWORD).status_code == 429
    # A copy of the genuine cookie is what the design trusts (it never leaves the browser).
    copier = browser(limited)
    copier.set_cookie(DEVICE_COOKIE, genuine.value, path="/")
    assert attempt(copier, "ada", PASSWORD).status_code == 302


def test_one_browser_remembers_several_accounts(limited: Flask, ada: FlaskClient) -> None:
    AuthActions(ada).signup("grace")  # signing up marks the browser as logging in does
    AuthActions(ada).logout()
    attack(limited, "ada")
    attack(limited, "grace")
    assert attempt(ada, "ada", PASSWORD).status_code == 302
    AuthActions(ada).logout()
    assert attempt(ada, "grace", PASSWORD).status_code == 302


def test_signing_up_marks_the_browser(limited: Flask) -> None:
    owner = browser(limited)
    AuthActions(owner).signup()
    AuthActions(owner).logout()
    attack(limited)
    assert attempt(browser(limited), "ada", PASSWORD).status_code == 429
    assert attempt(owner, "ada", PASSWORD).status_code == 302


@pytest.mark.parametrize("how", ["signup", "login"])
def test_the_device_cookie_is_signed_and_httponly(limited: Flask, how: str) -> None:
    client = browser(limited)
    response = AuthActions(client).signup()
    if how == "login":
        AuthActions(client).logout()
        response = attempt(client, "ada", PASSWORD)
    cookie = next(
        c for c in response.headers.getlist("Set-Cookie") if c.startswith(f"{DEVICE_COOKIE}=")
    )
    attributes = [a.strip().lower() for a in cookie.split(";")]
    assert "httponly" in attributes
    assert "samesite=lax" in attributes
    assert "path=/" in attributes
    assert "max-age=31536000" in attributes
    value = cookie.split(";")[0].split("=", 1)[1]
    assert "ada" not in value
    assert "." in value  # payload.timestamp.signature


def test_a_successful_login_clears_the_count(limited: Flask, ada: FlaskClient) -> None:
    attack(limited, times=2)
    newcomer = browser(limited)
    assert attempt(newcomer, "ada", PASSWORD).status_code == 302
    AuthActions(newcomer).logout()
    attack(limited, times=3)  # three more failures allowed again
    assert attempt(browser(limited), "ada", PASSWORD).status_code == 429


def test_counts_live_in_the_limiter_storage_without_names(limited: Flask, ada: FlaskClient) -> None:
    attack(limited, "ada@example.com", times=1)
    limiter = limited.extensions["skillswap.limiter"]
    keys = list(limiter.storage.storage)  # memory:// storage: a dict of counters
    ours = [k for k in keys if "skillswap/login-account" in k]
    assert len(ours) == 1
    assert not any("example.com" in k or "/ada/" in k for k in keys)


def test_with_limits_off_nothing_is_counted(app: Flask, client: FlaskClient) -> None:
    AuthActions(client).signup()
    AuthActions(client).logout()
    for _ in range(15):
        assert attempt(app.test_client(), "ada").status_code == 401
    assert attempt(app.test_client(), "ada", PASSWORD).status_code == 302


def test_the_per_client_limit_still_applies(tmp_path, clock: Clock) -> None:
    app = make_app(
        tmp_path,
        clock,
        RATELIMIT_ENABLED=True,
        LOGIN_RATE_LIMIT="2 per 15 minutes",
        LOGIN_ACCOUNT_RATE_LIMIT="100 per 15 minutes",
    )
    try:
        client = browser(app)
        statuses = [attempt(client, f"user{n}").status_code for n in range(3)]
        assert statuses == [401, 401, 429]
    finally:
        store(app).close()


# --- the setting ---------------------------------------------------------------------------


def test_the_limit_is_read_from_the_environment(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("SECRET_KEY", "x")
    monkeypatch.delenv("LOGIN_ACCOUNT_RATE_LIMIT", raising=False)
    assert settings.from_environment(str(tmp_path))["LOGIN_ACCOUNT_RATE_LIMIT"] == (
        "10 per 15 minutes"
    )
    monkeypatch.setenv("LOGIN_ACCOUNT_RATE_LIMIT", "20 per hour")
    assert settings.from_environment(str(tmp_path))["LOGIN_ACCOUNT_RATE_LIMIT"] == "20 per hour"


def test_an_unreadable_limit_stops_the_app_at_start(tmp_path, clock: Clock) -> None:
    with pytest.raises(ValueError, match="LOGIN_ACCOUNT_RATE_LIMIT='often'"):
        create_app(
            {
                "TESTING": True,
                "SECRET_KEY": "x",
                "STORE_URL": f"sqlite:///{tmp_path / 'test.db'}",
                "INSTANCE_PATH": str(tmp_path / "instance"),
                "CLOCK": clock,
                "LOGIN_ACCOUNT_RATE_LIMIT": "often",
            }
        )

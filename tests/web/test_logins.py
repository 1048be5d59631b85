"""Each login has its own identity: logging out ends it wherever its cookie was copied, other
devices stay logged in, and /account lists the active logins with a "Log out" on each."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from skillswap.domain.logins import MAX_LOGINS, device_summary
from tests.support.app_fixtures import AuthActions, Clock, csrf_token
from tests.web.test_auth import location, logged_in_as, only_user, page, repo, store

FIREFOX_WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"
SAFARI_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)


def browser(app: Flask, user_agent: str = FIREFOX_WINDOWS) -> FlaskClient:
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = user_agent
    return client


def copy_of(client: FlaskClient, app: Flask) -> FlaskClient:
    """Another browser holding a copy of `client`'s session cookie (stolen, or synced)."""
    cookie = client.get_cookie("session")
    assert cookie is not None
    thief = app.test_client()
    thief.set_cookie("session", cookie.value)
    return thief


def logins(app: Flask) -> list[dict]:
    return only_user(app)["logins"]


def test_a_copied_cookie_dies_with_the_logout(app: Flask, client: FlaskClient) -> None:
    AuthActions(client).signup()
    thief = copy_of(client, app)
    assert thief.get("/profile").status_code == 200  # the copy works while the login lasts

    assert AuthActions(client).logout().status_code == 302

    for path in ("/profile", "/dashboard", "/account"):
        response = thief.get(path)
        assert response.status_code == 302, path
        assert location(response).startswith("/login"), path
    assert logged_in_as(thief) is None


def test_logging_in_again_ends_the_login_this_browser_had(app: Flask, client: FlaskClient) -> None:
    """A browser holds one login. Logging in again (the login form posted while logged in,
    say from a second tab) gives it a new one; the old one must end, or every copy of its
    cookie lives on, listed on /account, until the owner ends it by hand."""
    AuthActions(client).signup()
    thief = copy_of(client, app)
    token = csrf_token(client, "/account")  # the login page itself sends a logged-in visitor on

    response = client.post(
        "/login", data={"login": "ada", "password": "correct horse battery", "csrf_token": token}
    )

    assert response.status_code == 302
    assert logged_in_as(client) == "ada"
    assert thief.get("/account").status_code == 302
    assert logged_in_as(thief) is None
    assert len(logins(app)) == 1


def test_logging_out_one_device_keeps_the_others(app: Flask) -> None:
    laptop, phone = browser(app), browser(app, SAFARI_IPHONE)
    AuthActions(laptop).signup()
    AuthActions(phone).login()
    AuthActions(laptop).logout()
    assert logged_in_as(laptop) is None
    assert logged_in_as(phone) == "ada"
    assert [login["device"] for login in logins(app)] == ["Safari on iPhone"]


def test_the_account_page_lists_logins_and_logs_out_one(app: Flask, clock: Clock) -> None:
    laptop = browser(app)
    AuthActions(laptop).signup()
    clock.advance(hours=3)
    phone = browser(app, SAFARI_IPHONE)
    AuthActions(phone).login()
    phone_copy = copy_of(phone, app)

    p = page(laptop.get("/account"))
    entries = [li.text for li in p.all("li", class_="login")]
    assert len(entries) == 2
    assert entries[0].startswith("Safari on iPhone")
    assert "Firefox on Windows (this browser)" in entries[1]
    assert "last seen" in entries[0]

    phone_id = logins(app)[0]["id"]
    response = laptop.post(
        f"/account/logins/{phone_id}/logout", data={"csrf_token": csrf_token(laptop, "/account")}
    )
    assert response.status_code == 302
    assert "Safari on iPhone is logged out." in page(laptop.get("/account")).main_text
    assert logged_in_as(phone) is None
    assert logged_in_as(phone_copy) is None
    assert logged_in_as(laptop) == "ada"


def test_logging_out_this_browser_from_the_list(app: Flask) -> None:
    laptop = browser(app)
    AuthActions(laptop).signup()
    mine = logins(app)[0]["id"]
    token = csrf_token(laptop, "/account")
    response = laptop.post(f"/account/logins/{mine}/logout", data={"csrf_token": token})
    assert location(response) == "/"
    assert logged_in_as(laptop) is None
    assert logins(app) == []


def test_a_login_of_someone_else_cannot_be_ended(app: Flask) -> None:
    ada, grace = browser(app), browser(app)
    AuthActions(ada).signup("ada")
    AuthActions(grace).signup("grace")
    users = {u["username"]: u for u in (store(app).get(k) for k in store(app).keys("user/"))}
    grace_login = users["grace"]["logins"][0]["id"]
    ada.post(
        f"/account/logins/{grace_login}/logout", data={"csrf_token": csrf_token(ada, "/account")}
    )
    assert logged_in_as(grace) == "grace"


def test_the_list_is_bounded_and_drops_the_least_recently_seen(app: Flask, clock: Clock) -> None:
    first = browser(app)
    AuthActions(first).signup()
    others = []
    for _ in range(MAX_LOGINS):
        clock.advance(minutes=5)
        other = browser(app)
        AuthActions(other).login()
        others.append(other)
    assert len(logins(app)) == MAX_LOGINS
    assert logged_in_as(first) is None  # the oldest, seen least recently
    assert all(logged_in_as(other) == "ada" for other in others)


def test_last_seen_is_written_at_most_hourly(app: Flask, client: FlaskClient, clock: Clock) -> None:
    AuthActions(client).signup()
    signed_up = logins(app)[0]["seen"]
    clock.advance(minutes=59)
    client.get("/profile")
    assert logins(app)[0]["seen"] == signed_up
    clock.advance(minutes=2)
    client.get("/profile")
    assert logins(app)[0]["seen"] == "2026-11-23T13:01:00Z"


def test_password_change_ends_other_logins_and_keeps_this_one(app: Flask) -> None:
    laptop, phone = browser(app), browser(app, SAFARI_IPHONE)
    AuthActions(laptop).signup()
    AuthActions(phone).login()
    response = laptop.post(
        "/account/password",
        data={
            "current_password": "correct horse battery",
            "new_password": "a brand new passphrase 9",
            "new_password_again": "a brand new passphrase 9",
            "csrf_token": csrf_token(laptop, "/account"),
        },
    )
    assert response.status_code == 302
    assert logged_in_as(laptop) == "ada"
    assert logged_in_as(phone) is None
    assert [login["device"] for login in logins(app)] == ["Firefox on Windows"]


def test_log_out_everywhere_ends_every_login(app: Flask) -> None:
    laptop, phone = browser(app), browser(app, SAFARI_IPHONE)
    AuthActions(laptop).signup()
    AuthActions(phone).login()
    laptop_copy = copy_of(laptop, app)
    laptop.post("/account/logout-everywhere", data={"csrf_token": csrf_token(laptop, "/account")})
    for client in (laptop, phone, laptop_copy):
        assert logged_in_as(client) is None
    assert logins(app) == []


def test_a_cookie_from_before_login_ids_logs_in_again(app: Flask, client: FlaskClient) -> None:
    """Cookies of the previous format (no login id) cannot be ended one by one: they open
    nothing, and the person logs in once more."""
    AuthActions(client).signup()
    user = only_user(app)
    with client.session_transaction() as sess:
        sess["_user_id"] = f"{user['id']}.{user['session_version']}"
    assert logged_in_as(client) is None
    assert repo(app).get_user(user["id"]) is not None


@pytest.mark.parametrize(
    ("agent", "label"),
    [
        (FIREFOX_WINDOWS, "Firefox on Windows"),
        (SAFARI_IPHONE, "Safari on iPhone"),
        (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like "
            "Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0",
            "Edge on Mac",
        ),
        (
            "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/126.0.0.0 Mobile Safari/537.36",
            "Chrome on Android",
        ),
        ("curl/8.5.0", "An unknown browser"),
        ("<script>alert(1)</script>", "An unknown browser"),
        ("", "An unknown browser"),
    ],
)
def test_device_labels(agent: str, label: str) -> None:
    assert device_summary(agent) == label


def session_cookie_sent(client: FlaskClient, path: str = "/dashboard") -> bool:
    response = client.get(path)
    assert response.status_code == 200
    return any(h.startswith("session=") for h in response.headers.getlist("Set-Cookie"))


def test_the_login_answer_already_carries_the_days_renewal(
    client: FlaskClient, auth: AuthActions
) -> None:
    """The cookie the login answer sets is the day's: a browser (or a second tab, or a copy of
    the cookie) opening pages with it is not sent a new one on each of them."""
    auth.signup()
    auth.logout()
    response = auth.login()
    cookie = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("session="))
    for _ in range(2):
        copy = client.application.test_client()
        copy.set_cookie("session", cookie.split(";", 1)[0].split("=", 1)[1])
        assert not session_cookie_sent(copy)


def test_a_login_is_renewed_once_a_day_not_on_every_page(
    client: FlaskClient, auth: AuthActions, clock: Clock
) -> None:
    auth.signup()
    session_cookie_sent(client)  # shows the welcome message, which leaves the session
    assert not session_cookie_sent(client)  # the same day: nothing to re-sign
    assert not session_cookie_sent(client, "/")
    clock.advance(days=1)
    assert session_cookie_sent(client)  # a new day: a fresh expiry
    assert not session_cookie_sent(client)
    clock.advance(days=13, hours=23)
    assert session_cookie_sent(client)  # used within the lifetime: still logged in

"""What every request relies on: the session cookie is signed with the current key, the CSRF
token is made at login and lasts the session, nav links follow the script root, the security
headers are fixed at start-up, and templates compile before the first request."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask, request
from flask.sessions import SecureCookieSessionInterface
from flask.testing import FlaskClient
from itsdangerous import TimestampSigner

from skillswap import compile_templates
from skillswap.mail.message import template_environment
from skillswap.web import common as web
from skillswap.web import forms
from skillswap.web.session_cookie import SignedCookieSessions
from tests.support.app_fixtures import AuthActions, Clock, csrf_token, make_app

# Pages with a form of their own, each carrying the session's CSRF token.
FORM_PAGES = ("/logout", "/profile/edit", "/account", "/offer", "/request")


def session_cookies(response) -> list[str]:
    return [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]


@contextmanager
def signed_ago(delta: timedelta) -> Iterator[None]:
    """Cookies and tokens signed meanwhile carry a time `delta` in the past."""
    with pytest.MonkeyPatch.context() as patch:
        real = TimestampSigner.get_timestamp
        patch.setattr(
            TimestampSigner, "get_timestamp", lambda self: real(self) - int(delta.total_seconds())
        )
        yield


# --- the session cookie ----------------------------------------------------------------------


def test_a_cookie_signed_with_another_key_is_not_trusted(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    auth.signup()
    assert client.get("/dashboard").status_code == 200
    app.secret_key = "a rotated key"
    assert client.get("/dashboard").status_code == 302


def test_a_page_changing_the_session_sends_it(client: FlaskClient, auth: AuthActions) -> None:
    auth.signup()
    response = client.post("/logout", data={"csrf_token": csrf_token(client, "/logout")})
    assert response.status_code == 302
    assert session_cookies(response)


def test_the_session_cookie_is_flasks_own_byte_for_byte(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Cookies handed out before the faster signing still open, and a cookie signed now opens
    # under Flask's stock interface: the same HMAC-SHA1 over the same payload.
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: int(time.time()))
    ours = app.session_interface
    assert isinstance(ours, SignedCookieSessions)
    stock = SecureCookieSessionInterface()
    data = {"_user_id": "someone.1.login", "csrf_token": "f" * 40, "renewed": "2026-11-23"}
    signed = ours.get_signing_serializer(app).dumps(data)  # type: ignore[union-attr]
    assert signed == stock.get_signing_serializer(app).dumps(data)  # type: ignore[union-attr]
    with app.test_request_context(headers={"Cookie": f"session={signed}"}):
        assert dict(ours.open_session(app, request) or {}) == data
        assert dict(stock.open_session(app, request) or {}) == data


def test_one_signing_serializer_serves_until_the_key_changes(app: Flask) -> None:
    sessions = app.session_interface
    first = sessions.get_signing_serializer(app)
    assert sessions.get_signing_serializer(app) is first
    app.secret_key = "a rotated key"
    rotated = sessions.get_signing_serializer(app)
    assert rotated is not first
    app.config["SECRET_KEY_FALLBACKS"] = ["the old key"]
    assert sessions.get_signing_serializer(app) is not rotated


# --- the CSRF token ----------------------------------------------------------------------------


def test_a_session_keeps_one_csrf_token_and_it_works(
    client: FlaskClient, auth: AuthActions
) -> None:
    auth.signup()
    tokens = {csrf_token(client, path) for path in FORM_PAGES}
    # One session value, signed per page with the second it was signed at: pages rendered
    # across a second's turn differ in the stamp alone (a loaded run saw two).
    assert len({token.rsplit(".", 2)[0] for token in tokens}) == 1, tokens
    response = client.post("/logout", data={"csrf_token": tokens.pop()})
    assert response.status_code == 302
    assert client.get("/dashboard").status_code == 302  # logged out


def test_login_gives_the_new_session_a_new_csrf_token(
    client: FlaskClient, auth: AuthActions
) -> None:
    auth.signup()
    auth.logout()
    before = csrf_token(client, "/login")
    response = auth.login()
    assert response.status_code == 302
    with client.session_transaction() as session:
        assert session.get("csrf_token")  # made with the session, sent with the login
    after = csrf_token(client, "/logout")
    assert after != before
    # The token from before login no longer works.
    refused = client.post("/logout", data={"csrf_token": before})
    assert refused.status_code == 400
    assert client.get("/dashboard").status_code == 200  # still logged in


def test_a_sessions_pages_show_the_token_signed_once(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    # The token lives as long as the session, so it is signed once: a page opened an hour
    # later shows the very same token (it was re-signed, with a new stamp, for every page).
    auth.signup()
    first = csrf_token(client, "/profile")
    with signed_ago(-timedelta(hours=1)):  # an hour later
        assert csrf_token(client, "/profile") == first
    response = client.post("/calendar/feed", data={"csrf_token": first})
    assert response.status_code == 302
    # A new key signs it anew, and the new token is the one that works.
    app.config["WTF_CSRF_SECRET_KEY"] = "another key for forms"
    new = csrf_token(client, "/profile")
    assert new != first
    assert client.post("/calendar/feed", data={"csrf_token": first}).status_code == 400
    assert client.post("/calendar/feed", data={"csrf_token": new}).status_code == 302


def test_tokens_that_expire_are_signed_for_every_page(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    app.config["WTF_CSRF_TIME_LIMIT"] = 3600
    auth.signup()
    first = csrf_token(client, "/profile")
    with signed_ago(-timedelta(minutes=30)):  # half an hour later
        assert csrf_token(client, "/profile") != first


def test_the_signed_tokens_kept_are_bounded(
    client: FlaskClient, auth: AuthActions, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(forms, "SIGNED_TOKENS_KEPT", 1)
    monkeypatch.setattr(forms, "_signed_tokens", {})
    auth.signup()
    csrf_token(client, "/profile")
    with client.session_transaction() as session:
        session["csrf_token"] = "f" * 40  # another session's token, on the same worker
    token = csrf_token(client, "/profile")
    assert len(forms._signed_tokens) == 1
    assert client.post("/calendar/feed", data={"csrf_token": token}).status_code == 302


def test_the_csrf_token_follows_a_new_secret_key(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    auth.signup()
    old = csrf_token(client, "/logout")
    app.config["WTF_CSRF_SECRET_KEY"] = "another key for forms"
    new = csrf_token(client, "/logout")
    assert new != old
    assert client.post("/logout", data={"csrf_token": new}).status_code == 302
    assert client.get("/dashboard").status_code == 302


# --- links ------------------------------------------------------------------------------------


def test_nav_links_follow_the_script_root(app: Flask) -> None:
    with app.test_request_context("/", base_url="http://localhost/"):
        plain = {label: path for _, label, path in web.nav_links()}
    with app.test_request_context("/", base_url="http://localhost/app/"):
        rooted = {label: path for _, label, path in web.nav_links()}
    assert plain["Dashboard"] == "/dashboard"
    assert rooted["Dashboard"] == "/app/dashboard"


def test_the_nav_is_rendered_once_per_section_and_mount(app: Flask) -> None:
    with app.test_request_context("/", base_url="http://localhost/"):
        on_dashboard = web.nav_items("dashboard.show", "dashboard.show")
        assert web.nav_items("dashboard.show", "dashboard.show") is on_dashboard  # kept
        assert '<a href="/dashboard" aria-current="page">Dashboard</a>' in on_dashboard
        # A dashboard tab marks its section, not itself as the page.
        on_tab = web.nav_items("dashboard.show", "dashboard.past")
        assert '<a href="/dashboard" aria-current="true">Dashboard</a>' in on_tab
        assert "aria-current" not in web.nav_items("pages.home", "pages.home")
    with app.test_request_context("/", base_url="http://localhost/app/"):
        rooted = web.nav_items("dashboard.show", "dashboard.show")
        assert '<a href="/app/dashboard" aria-current="page">Dashboard</a>' in rooted


def test_every_pages_frame_links_follow_its_own_mount(app: Flask) -> None:
    # The frame's links are kept per mount point: a page served under /app/ after one at /
    # (and the other way round) links within its own mount, stylesheets included.
    for first, second in (("/", "/app/"), ("/app/", "/")):
        app.extensions.pop("skillswap.frame_links", None)
        for root in (first, second):
            page = app.test_client().get("/login", base_url=f"http://localhost{root}").text
            for path in ("static/style.css", "static/app.js", "signup", "skills"):
                assert f'"{root}{path}"' in page
            if root == "/":
                assert '"/app/' not in page


# --- security headers --------------------------------------------------------------------------


def test_a_views_own_security_header_is_kept(tmp_path: Path, clock: Clock) -> None:
    app = make_app(tmp_path, clock)

    @app.get("/own-header")
    def own_header() -> tuple[str, int, dict[str, str]]:
        return "ok", 200, {"referrer-policy": "no-referrer"}

    response = app.test_client().get("/own-header")
    assert response.headers.getlist("Referrer-Policy") == ["no-referrer"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'self'" in response.headers["Content-Security-Policy"]
    app.extensions["skillswap.store"].close()


# --- templates ---------------------------------------------------------------------------------


def test_every_template_can_be_compiled_before_the_first_request(app: Flask) -> None:
    names = app.jinja_env.list_templates(extensions=["html"])
    assert "base.html" in names and "bookings/book.html" in names
    compile_templates(app)  # what gunicorn workers and main.py do before serving
    assert app.jinja_env.cache is not None
    loaded = {name for (_, name) in app.jinja_env.cache}
    assert loaded >= {name for name in names if not name.startswith("mail/")}
    # Mail has its own environment: its templates are compiled too, or the first booking in
    # each worker waits for them.
    mail = template_environment()
    assert mail.cache is not None
    assert {name for (_, name) in mail.cache} >= set(mail.list_templates())


# --- the time zone list -------------------------------------------------------------------------


def zone_picker(client: FlaskClient) -> tuple[str, str]:
    """The time-zone box and its list on /profile/edit."""
    page = client.get("/profile/edit").get_data(as_text=True)
    box = re.search(r'<input[^>]*name="timezone"[^>]*>', page)
    found = re.search(r'<datalist id="zone-names">.*?</datalist>', page, flags=re.S)
    assert box and found, "no time zone picker on /profile/edit"
    return box.group(0), found.group(0)


def test_the_zone_picker_shows_each_persons_own_zone_and_one_list(
    app: Flask, client: FlaskClient
) -> None:
    AuthActions(client).signup("ada", timezone="US/Eastern")  # an alias some browsers report
    bob = app.test_client()
    AuthActions(bob).signup("bob", timezone="Europe/Berlin")
    assert "zone-names" not in client.get("/profile").get_data(as_text=True)  # only to edit
    for _ in range(2):  # the list is made once, then reused: each box still its own
        (ada_box, ada_list), (bob_box, bob_list) = zone_picker(client), zone_picker(bob)
        assert 'value="US/Eastern"' in ada_box and 'list="zone-names"' in ada_box
        assert 'value="Europe/Berlin"' in bob_box
        assert ada_list == bob_list
        names = re.findall(r"<option>([^<]+)</option>", ada_list)
        assert names[:2] == ["UTC", "Europe/London"]  # the common zones first
        assert len(names) == len(set(names)) > 400  # then every other canonical zone, once
        assert "US/Eastern" not in names  # aliases are kept, not offered

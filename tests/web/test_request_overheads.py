"""What every page does less of without changing what it does: the session cookie is sent again
only when it changed or is an hour old, the CSRF token is made at login and signed once, links
are built once per route, and the security headers are fixed at start-up."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest
from flask import Flask, url_for
from flask.testing import FlaskClient
from itsdangerous import TimestampSigner
from jinja2 import Template

from skillswap import compile_templates, web
from skillswap.domain.schedule import Stats
from tests.support.app_fixtures import AuthActions, Clock, csrf_token, make_app

PAGES = ("/", "/dashboard", "/profile", "/user/ada", "/notifications")


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


def test_pages_do_not_send_an_unchanged_session_cookie_again(
    client: FlaskClient, auth: AuthActions
) -> None:
    assert session_cookies(auth.signup())
    welcome = client.get("/")  # shows the welcome message: the session changes, and is sent
    assert "Welcome to SkillSwap" in welcome.get_data(as_text=True)
    assert session_cookies(welcome)
    for path in PAGES:
        response = client.get(path)
        assert response.status_code == 200, path
        assert session_cookies(response) == [], path
        assert "Cookie" in response.headers["Vary"]


def test_an_hour_old_session_cookie_is_sent_again_with_a_new_lifetime(
    client: FlaskClient, auth: AuthActions
) -> None:
    with signed_ago(timedelta(hours=2)):
        auth.signup()
        client.get("/")  # the welcome message, shown and gone
    response = client.get("/dashboard")
    assert response.status_code == 200
    [cookie] = session_cookies(response)
    expires = next(a for a in cookie.split(";") if a.strip().lower().startswith("expires="))
    lifetime = parsedate_to_datetime(expires.split("=", 1)[1]) - datetime.now(UTC)
    assert timedelta(days=13, hours=23) < lifetime <= timedelta(days=14)
    assert session_cookies(client.get("/dashboard")) == []  # fresh again


def test_a_cookie_verified_before_still_expires(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    with signed_ago(timedelta(minutes=30)):
        auth.signup()
        client.get("/")  # the welcome message, shown and gone
    verified = client.get("/dashboard")  # verified, and remembered as such
    assert verified.status_code == 200
    assert session_cookies(verified) == []
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(minutes=10)
    response = client.get("/dashboard")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_a_cookie_signed_with_another_key_is_not_trusted(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    auth.signup()
    assert client.get("/dashboard").status_code == 200
    app.secret_key = "a rotated key"
    assert client.get("/dashboard").status_code == 302


def test_a_page_changing_the_session_sends_it(client: FlaskClient, auth: AuthActions) -> None:
    auth.signup()
    response = client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    assert response.status_code == 302
    assert session_cookies(response)


# --- the CSRF token ----------------------------------------------------------------------------


def test_a_session_keeps_one_csrf_token_and_it_works(
    client: FlaskClient, auth: AuthActions
) -> None:
    auth.signup()
    tokens = {csrf_token(client, path) for path in PAGES}
    assert len(tokens) == 1
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
    first_page = client.get("/dashboard")
    assert session_cookies(first_page) == []
    after = csrf_token(client, "/dashboard")
    assert after != before
    # The token from before login no longer works.
    refused = client.post("/logout", data={"csrf_token": before})
    assert refused.status_code == 302
    assert client.get("/dashboard").status_code == 200  # still logged in


def test_the_csrf_token_follows_a_new_secret_key(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    auth.signup()
    old = csrf_token(client, "/")
    app.config["WTF_CSRF_SECRET_KEY"] = "another key for forms"
    new = csrf_token(client, "/")
    assert new != old
    assert client.post("/logout", data={"csrf_token": new}).status_code == 302
    assert client.get("/dashboard").status_code == 302


# --- links ------------------------------------------------------------------------------------

LINKS = [
    ("pages.home", {}),
    ("dashboard.show", {}),
    ("profile.public", {"username": "ada"}),
    ("profile.public", {"username": "a b/é?#%&+"}),
    ("profile.public", {"username": "plain~name.with-all_safe0"}),
    ("profile.public", {"username": 42}),
    ("bookings.cancel", {"booking_id": "0123abcd"}),
    ("ics.booking", {"booking_id": "x y.z"}),
    ("static", {"filename": "style.css"}),
    ("static", {"filename": "sub dir/ä.css"}),
    ("bookings.show", {"username": "ada", "skill": "data science"}),  # two values
    ("pages.home", {"q": "a b&c"}),  # a query argument, not a path value
]


@pytest.mark.parametrize("root", ["", "/skillswap"])
def test_path_for_builds_what_url_for_builds(app: Flask, root: str) -> None:
    for _ in range(2):  # built, then from what was kept
        with app.test_request_context("/", base_url=f"http://localhost{root}/"):
            for endpoint, values in LINKS:
                assert web.path_for(endpoint, **values) == url_for(endpoint, **values)
                if len(values) == 1:
                    [(name, value)] = values.items()
                    make = web.path_maker(endpoint, name)
                    assert make(value) == url_for(endpoint, **values)


def test_nav_links_follow_the_script_root(app: Flask) -> None:
    with app.test_request_context("/", base_url="http://localhost/"):
        plain = {label: path for _, label, path in web.nav_links()}
    with app.test_request_context("/", base_url="http://localhost/app/"):
        rooted = {label: path for _, label, path in web.nav_links()}
    assert plain["Dashboard"] == "/dashboard"
    assert rooted["Dashboard"] == "/app/dashboard"


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
    assert loaded >= set(names)


# --- the time zone list -------------------------------------------------------------------------


def zone_select(client: FlaskClient) -> str:
    page = client.get("/profile").get_data(as_text=True)
    found = re.search(r'<select[^>]*name="timezone".*?</select>', page, flags=re.S)
    assert found, "no time zone list on /profile"
    return found.group(0)


def test_the_zone_list_selects_each_persons_own_zone(app: Flask, client: FlaskClient) -> None:
    AuthActions(client).signup("ada", timezone="US/Eastern")  # an alias some browsers report
    bob = app.test_client()
    AuthActions(bob).signup("bob", timezone="Europe/Berlin")
    for _ in range(2):  # the options are made once, then reused: each page still its own
        ada_list, bob_list = zone_select(client), zone_select(bob)
        assert '<option selected value="US/Eastern">US/Eastern</option>' in ada_list
        assert '<option selected value="Europe/Berlin">Europe/Berlin</option>' in bob_list
        assert ada_list.count("selected") == bob_list.count("selected") == 1
        assert '<option value="Europe/Berlin">Europe/Berlin</option>' in ada_list
        assert "US/Eastern" not in bob_list  # aliases are offered only to who has one
        values = re.findall(r'value="([^"]+)"', ada_list)
        assert values == sorted(set(values))


@pytest.mark.parametrize("page_globals", [None, {"extra": "from the page", "when": "page wins"}])
def test_pages_render_as_with_jinjas_own_templates(app: Flask, page_globals: dict | None) -> None:
    source = (
        "{% from '_macros.html' import tag_list, rating_text %}"
        "{{ tag_list(['Python', '<b>'], 'Teaches') }}|{{ rating_text(stats) }}|"
        "{{ extra | default('no extra') }}|{{ when if when is string else 'app when' }}|{{ x }}"
    )
    stats = Stats(taught=1, attended=2, rating_count=3, rating_average=7.25)
    with app.test_request_context("/"):
        ours = app.jinja_env.from_string(source, globals=page_globals)
        theirs = app.jinja_env.from_string(source, globals=page_globals, template_class=Template)
        assert type(ours) is not Template
        for _ in range(2):  # the macros module: built, then reused
            assert ours.render(stats=stats, x=1) == theirs.render(stats=stats, x=1)

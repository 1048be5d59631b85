"""HTTP as clients and proxies expect it: bodies only in the encodings forms send, the headers
an error carries, hosts the operator trusts, what caches may keep, what the Server header says.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import urllib.request

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.serving import make_server

from skillswap import settings
from skillswap.web.logs import RedactFeedTokens, redact
from tests.support.app_fixtures import AuthActions, Clock, csrf_token, make_app

# Every POST route, with real-looking values for its parameters: the body is refused before
# any of them is looked up.
POST_PATHS = [
    "/signup",
    "/login",
    "/logout",
    "/forgot-password",
    "/reset-password/0123456789abcdef",
    "/verify-email/0123456789abcdef",
    "/account/email",
    "/account/email/resend",
    "/account/email/cancel",
    "/account/password",
    "/account/mail",
    "/account/logout-everywhere",
    "/account/logins/0123456789abcdef/logout",
    "/account/delete",
    "/profile",
    "/profile/edit",
    "/profile/booking-rules",
    "/offer",
    "/offer/0123456789abcdef/edit",
    "/offer/0123456789abcdef/delete",
    "/request",
    "/request/0123456789abcdef/delete",
    "/book/grace",
    "/booking/0123456789abcdef/cancel",
    "/booking/0123456789abcdef/review",
    "/booking/0123456789abcdef/reschedule",
    "/booking/0123456789abcdef/attendance",
    "/notifications/read",
    "/learners/invite",
    "/invitations/0123456789abcdef/decline",
    "/calendar/feed",
    "/calendar/feed/revoke",
    "/unsubscribe/0123456789abcdef",
    "/waitlist/join",
    "/waitlist/leave",
]
JSON_BODIES = [7, [1, 2], "text", {"username": 7, "password": ["x"], "csrf_token": 1}, None]


def test_every_post_route_is_listed(app: Flask) -> None:
    routes = {rule.rule for rule in app.url_map.iter_rules() if "POST" in (rule.methods or ())}
    listed = {
        path.replace("0123456789abcdef", "<x>").replace("/book/grace", "/book/<x>")
        for path in POST_PATHS
    }
    normalised = {
        r.replace("<offer_id>", "<x>")
        .replace("<request_id>", "<x>")
        .replace("<booking_id>", "<x>")
        .replace("<username>", "<x>")
        .replace("<login_id>", "<x>")
        .replace("<token>", "<x>")
        .replace("<notification_id>", "<x>")
        for r in routes
    }
    assert normalised == listed


@pytest.mark.parametrize("logged_in", [False, True], ids=["anonymous", "logged-in"])
def test_json_bodies_get_415_on_every_post_route(
    client: FlaskClient, auth: AuthActions, logged_in: bool
) -> None:
    if logged_in:
        auth.signup()
    token = csrf_token(client, "/signup" if not logged_in else "/profile")
    for path in POST_PATHS:
        for body in JSON_BODIES:
            response = client.post(
                path,
                data=json.dumps(body),
                content_type="application/json",
                headers={"X-CSRFToken": token},
            )
            assert response.status_code == 415, (path, body, response.status_code)
            assert "form" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/xml", "application/octet-stream"]
)
def test_other_body_types_get_415(client: FlaskClient, content_type: str) -> None:
    response = client.post("/login", data=b"login=ada&password=x", content_type=content_type)
    assert response.status_code == 415


def test_form_bodies_and_empty_posts_still_work(client: FlaskClient, auth: AuthActions) -> None:
    assert auth.signup().status_code == 302  # application/x-www-form-urlencoded
    token = csrf_token(client, "/profile")
    multipart = client.post(
        "/notifications/read", data={"csrf_token": token}, content_type="multipart/form-data"
    )
    assert multipart.status_code == 302
    # No body at all (a button in a form with no fields, as some clients send it): the
    # logout page answers it (no token, so it asks again), rather than refusing the body.
    assert client.post("/logout").status_code == 400


def test_method_not_allowed_names_the_allowed_methods(client: FlaskClient) -> None:
    response = client.post("/skills")
    assert response.status_code == 405
    assert set(response.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "HEAD"}
    assert "Not allowed" in response.get_data(as_text=True)
    assert response.headers["Content-Type"].startswith("text/html")


@pytest.mark.parametrize(
    ("path", "home"),
    [
        ("/account/password", "/account#password"),
        ("/account/email", "/account#email"),
        ("/account/mail", "/account#mail"),
        ("/account/delete", "/account#delete"),
        ("/profile/booking-rules", "/profile/edit#booking-rules"),
        ("/booking/0123456789abcdef/attendance", "/dashboard/past#booking-0123456789abcdef"),
        ("/invitations/0123456789abcdef/decline", "/notifications"),
        ("/waitlist/join", "/dashboard#waitlists"),
        ("/booking/x%0D%0ASet-Cookie:%20a=b/attendance", "/dashboard/past"),  # no 500
    ],
)
def test_a_forms_address_opened_again_goes_to_the_page_holding_the_form(
    client: FlaskClient, auth: AuthActions, path: str, home: str
) -> None:
    """A form with mistakes comes back at the address it was posted to: reloading it, or
    opening it from the history, was a 405 "Not allowed" page."""
    auth.signup()
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"] == home
    assert client.get(home.split("#")[0]).status_code == 200


# --- trusted hosts, caches, logs, the Server header ----------------------------------------

FEED_RE = re.compile(r'id="feed-url" value="([^"]+)"')


def with_feed(client: FlaskClient, auth: AuthActions) -> None:
    auth.signup()
    client.post("/calendar/feed", data={"csrf_token": csrf_token(client, "/profile")})


def test_a_made_up_host_never_reaches_the_feed_address(
    tmp_path, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRUSTED_HOSTS", "skillswap.example, localhost")
    app = make_app(tmp_path, clock)
    try:
        client = app.test_client()
        with_feed(client, AuthActions(client))
        feed = FEED_RE.search(client.get("/profile").get_data(as_text=True))
        assert feed and feed.group(1).startswith("http://localhost/calendar/")

        forged = client.get("/profile", headers={"Host": "evil.example"})
        assert forged.status_code == 400
        assert "evil.example" not in forged.get_data(as_text=True)
    finally:
        app.extensions["skillswap.store"].close()


def test_trusted_hosts_on_replit_are_the_deployments_domains(
    tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TRUSTED_HOSTS", raising=False)
    monkeypatch.setenv("SECRET_KEY", "x")
    monkeypatch.setenv("REPL_ID", "abc")
    monkeypatch.setenv("REPLIT_DOMAINS", "skillswap.replit.app,skills.example.org")
    monkeypatch.setenv("REPLIT_DEV_DOMAIN", "abc-00.picard.replit.dev")
    config = settings.from_environment(str(tmp_path))
    assert config["TRUSTED_HOSTS"] == [
        "skillswap.replit.app",
        "skills.example.org",
        "abc-00.picard.replit.dev",
    ]
    monkeypatch.delenv("REPL_ID")
    monkeypatch.delenv("REPLIT_DOMAINS")
    monkeypatch.delenv("REPLIT_DEV_DOMAIN")
    assert settings.from_environment(str(tmp_path))["TRUSTED_HOSTS"] is None


def test_signed_in_pages_are_not_stored(client: FlaskClient, auth: AuthActions) -> None:
    assert "no-store" not in client.get("/login").headers.get("Cache-Control", "")
    auth.signup()
    for path in ("/profile", "/dashboard", "/account", "/"):
        assert client.get(path).headers["Cache-Control"] == "no-store", path
    static = client.get("/static/style.css")
    assert "no-store" not in static.headers.get("Cache-Control", "")
    static.close()


def test_feed_secrets_are_redacted_from_logged_request_lines() -> None:
    token = "A" * 43
    line = f'127.0.0.1 - - "GET /calendar/{token}.ics HTTP/1.1" 200 -'
    assert redact(line) == '127.0.0.1 - - "GET /calendar/[redacted].ics HTTP/1.1" 200 -'
    record = logging.LogRecord("werkzeug", logging.INFO, "", 0, '"%s" %s %s', (line, 200, 5), None)
    RedactFeedTokens().filter(record)
    assert token not in record.getMessage()
    assert "/calendar/[redacted].ics" in record.getMessage()


@pytest.mark.parametrize("path", ["/reset-password", "/verify-email", "/unsubscribe"])
def test_mailed_link_tokens_are_redacted_from_logged_request_lines(path: str) -> None:
    # A reset link is a password for an hour; the others act for the person without a login.
    token = "eyJ1IjoiYWJjIn0.Zx9k" + "B" * 30
    line = f'127.0.0.1 - - "POST {path}/{token}?x=1 HTTP/1.1" 302 -'
    assert redact(line) == f'127.0.0.1 - - "POST {path}/[redacted]?x=1 HTTP/1.1" 302 -'


def test_the_development_server_names_no_versions(app: Flask) -> None:
    from main import QuietRequestHandler

    server = make_server("127.0.0.1", 0, app, request_handler=QuietRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/login") as response:
            assert response.headers["Server"] == "SkillSwap"
    finally:
        server.shutdown()
        server.server_close()

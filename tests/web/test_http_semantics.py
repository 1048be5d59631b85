"""HTTP as clients and proxies expect it: bodies only in the encodings forms send, the headers
an error carries, hosts the operator trusts, what caches may keep, what the Server header says.
"""

from __future__ import annotations

import json

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.support.app_fixtures import AuthActions, csrf_token

# Every POST route, with real-looking values for its parameters: the body is refused before
# any of them is looked up.
POST_PATHS = [
    "/signup",
    "/login",
    "/logout",
    "/account/password",
    "/account/logout-everywhere",
    "/account/logins/0123456789abcdef/logout",
    "/account/delete",
    "/profile",
    "/offer",
    "/offer/0123456789abcdef/edit",
    "/offer/0123456789abcdef/delete",
    "/request",
    "/request/0123456789abcdef/delete",
    "/book/grace",
    "/booking/0123456789abcdef/cancel",
    "/booking/0123456789abcdef/review",
    "/notifications/read",
    "/learners/invite",
    "/calendar/feed",
    "/calendar/feed/revoke",
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
    # No body at all (a button in a form with no fields, as some clients send it).
    assert client.post("/logout").status_code == 302


def test_method_not_allowed_names_the_allowed_methods(client: FlaskClient) -> None:
    response = client.post("/skills")
    assert response.status_code == 405
    assert set(response.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "HEAD"}
    assert "Not allowed" in response.get_data(as_text=True)
    assert response.headers["Content-Type"].startswith("text/html")

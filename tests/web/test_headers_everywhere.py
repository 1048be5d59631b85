"""Security headers on every route the app has, logged out and logged in, found from the URL map
(so a new page cannot be added without them)."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.support.app_fixtures import close_app, make_app
from tests.web.test_bookings import book, booked_id, free_slots

SAMPLE_ARGS = {
    "username": "tess",
    "offer_id": "nope",
    "request_id": "nope",
    "booking_id": "nope",
    "token": "nope",
    "filename": "style.css",
}


def every_get_url(app: Flask) -> list[str]:
    urls = []
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            if "GET" not in rule.methods:
                continue
            args = {name: SAMPLE_ARGS.get(name, "x") for name in rule.arguments}
            urls.append(app.url_for(rule.endpoint, **args))
    return sorted(set(urls))


def assert_secure_headers(response, url: str) -> None:
    csp = response.headers.get("Content-Security-Policy", "")
    for directive in (
        "default-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'self'",
    ):
        assert directive in csp, (url, csp)
    assert "unsafe-inline" not in csp, url
    assert response.headers.get("X-Content-Type-Options") == "nosniff", url
    assert response.headers.get("Referrer-Policy") == "strict-origin-when-cross-origin", url
    for cookie in response.headers.getlist("Set-Cookie"):
        if cookie.startswith("session="):
            assert "HttpOnly" in cookie and "SameSite=Lax" in cookie, (url, cookie)


def test_the_route_list_covers_the_app(app: Flask) -> None:
    urls = every_get_url(app)
    for page in (
        "/",
        "/signup",
        "/login",
        "/profile",
        "/offer",
        "/request",
        "/dashboard",
        "/calendar",
        "/skills",
        "/notifications",
        "/learners",
        "/account",
    ):
        assert page in urls


@pytest.mark.parametrize("logged_in", [False, True], ids=["logged-out", "logged-in"])
def test_every_get_route_sends_the_security_headers(
    app: Flask, client: FlaskClient, tess: FlaskClient, leo: FlaskClient, logged_in: bool
) -> None:
    booking_id = booked_id(book(leo, "tess", free_slots(leo, "tess")[0]))
    browser = leo if logged_in else client
    for url in every_get_url(app):
        url = url.replace("/booking/nope", f"/booking/{booking_id}")
        with browser.get(url) as response:  # static files stream: close them
            assert response.status_code < 500, url
            assert_secure_headers(response, url)


def test_posts_and_errors_send_them_too(client: FlaskClient, leo: FlaskClient) -> None:
    for response, url in (
        (client.post("/login", data={}), "POST /login"),
        (leo.post("/logout"), "POST /logout without a token"),
        (client.get("/no-such-page"), "404"),
        (client.put("/"), "405"),
    ):
        assert_secure_headers(response, url)


def test_hsts_behind_a_tls_proxy_that_public_url_names(tmp_path, clock) -> None:
    """A TLS proxy forwards plain HTTP, and without PROXY_FIX_HOPS the app cannot tell it
    came over HTTPS: PUBLIC_URL says so, and browsers heed HSTS only over HTTPS anyway."""
    app = make_app(tmp_path, clock, PUBLIC_URL="https://skillswap.example")
    response = app.test_client().get("/login", base_url="http://skillswap.example")
    assert response.headers.get("Strict-Transport-Security", "").startswith("max-age=")
    close_app(app)


def test_hsts_and_secure_cookie_under_https(app: Flask) -> None:
    app.config["SESSION_COOKIE_SECURE"] = True
    client = app.test_client()
    response = client.get("/login", base_url="https://skillswap.example")
    assert response.headers.get("Strict-Transport-Security", "").startswith("max-age=")
    plain = app.test_client().get("/login")
    assert "Strict-Transport-Security" not in plain.headers
    signup = client.get("/signup", base_url="https://skillswap.example")
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', signup.text).group(1)
    response = client.post(
        "/signup",
        base_url="https://skillswap.example",
        data={
            "username": "sec",
            "email": "sec@example.com",
            "password": "a long passphrase 42",
            "csrf_token": token,
        },
    )
    assert response.status_code == 302
    session_cookie = next(
        c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")
    )
    assert "Secure" in session_cookie and "HttpOnly" in session_cookie

"""Fixtures in the style of Flask's tutorial: `app`, `client`, `auth`, and a settable `clock`."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from skillswap import create_app

START = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


class Clock:
    """A clock tests set and advance, so nothing sleeps to let time pass."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)

    def set(self, when: datetime) -> None:
        self.now = when


@pytest.fixture
def clock() -> Clock:
    return Clock()


def make_app(tmp_path: Path, clock: Clock, **overrides: object) -> Flask:
    config = {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "STORE_URL": f"sqlite:///{tmp_path / 'test.db'}",
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "CLOCK": clock,
        "RATELIMIT_ENABLED": False,
        "RATELIMIT_STORAGE_URI": "memory://",
    }
    config.update(overrides)
    return create_app(config)


@pytest.fixture
def app(tmp_path: Path, clock: Clock) -> Iterator[Flask]:
    app = make_app(tmp_path, clock)
    yield app
    app.extensions["skillswap.store"].close()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


def csrf_token(client: FlaskClient, path: str) -> str:
    """The token a person's browser would get by opening `path`."""
    html = client.get(path).get_data(as_text=True)
    match = CSRF_RE.search(html)
    assert match, f"no CSRF token on {path}"
    return match.group(1) or match.group(2)


class AuthActions:
    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def signup(
        self,
        username: str = "ada",
        email: str | None = None,
        password: str = "correct horse battery",
        timezone: str = "UTC",
    ):
        return self.client.post(
            "/signup",
            data={
                "username": username,
                "email": email or f"{username}@example.com",
                "password": password,
                "timezone": timezone,
                "csrf_token": csrf_token(self.client, "/signup"),
            },
        )

    def login(self, login: str = "ada", password: str = "correct horse battery", next: str = ""):
        return self.client.post(
            "/login",
            data={
                "login": login,
                "password": password,
                "next": next,
                "csrf_token": csrf_token(self.client, "/login"),
            },
        )

    def logout(self):
        token = csrf_token(self.client, "/profile")
        return self.client.post("/logout", data={"csrf_token": token})


@pytest.fixture
def auth(client: FlaskClient) -> AuthActions:
    return AuthActions(client)

"""Fixtures in the style of Flask's tutorial: `app`, `client`, `auth`, and a settable `clock`."""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from jinja2 import BytecodeCache
from jinja2.bccache import Bucket

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
        # Mail goes to the instance's outbox folder and is sent while the request waits: never
        # to a server the environment may name, never from a thread a test would race.
        "MAIL_SERVER": "",
        "MAIL_SENDER_THREAD": False,
    }
    config.update(overrides)
    return create_app(config)


def close_app(app: Flask) -> None:
    """What an app holds open: its store, the retry queue's file, the mail sender thread."""
    sender = app.extensions.get("skillswap.mail_sender")
    if sender is not None:
        sender.stop()
    app.extensions["skillswap.mailer"].queue.close()
    app.extensions["skillswap.store"].close()


class SharedTemplateCode(BytecodeCache):
    """Compiled templates kept for the whole run: compiling them again for every test's new
    app would take most of each test's time. Keys include the template's source checksum, so
    only speed changes, never what is rendered."""

    def __init__(self) -> None:
        self.code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        if bucket.key in self.code:
            bucket.bytecode_from_string(self.code[bucket.key])

    def dump_bytecode(self, bucket: Bucket) -> None:
        self.code[bucket.key] = bucket.bytecode_to_string()


TEMPLATE_CODE = SharedTemplateCode()


@pytest.fixture
def app(clock: Clock) -> Iterator[Flask]:
    """The app on SQLite in memory-backed /dev/shm where there is one: synchronous=FULL costs
    an fsync per write, which is right in production and only slow in tests."""
    shm = Path("/dev/shm")
    folder = Path(tempfile.mkdtemp(prefix="skillswap-", dir=shm if shm.is_dir() else None))
    app = make_app(folder, clock)
    app.jinja_env.bytecode_cache = TEMPLATE_CODE
    try:
        yield app
    finally:
        close_app(app)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


CSRF_RE = re.compile(
    r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"'
)


def csrf_token(client: FlaskClient, path: str, **request: Any) -> str:
    """The token a person's browser would get by opening `path` (`request`: more for
    `client.get`, such as headers)."""
    html = client.get(path, **request).get_data(as_text=True)
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
        token = csrf_token(self.client, "/logout")
        return self.client.post("/logout", data={"csrf_token": token})


@pytest.fixture
def auth(client: FlaskClient) -> AuthActions:
    return AuthActions(client)

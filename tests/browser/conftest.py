"""Browser fixtures: Playwright driving Debian's chromium against the app served from a thread.

One chromium per test session; a fresh context (cookies, storage) per test. The app runs in a
daemon thread of this process, so a test moves the app's time with the `clock` fixture.

Fixtures:
- `live_app`: `.url`, `.app`, `.clock`, `.repo` of the app being served.
- `page` (1280x800) and `phone_page` (390x844, touch): both in Europe/Berlin.
- `new_page(**context_options)`: any other context, e.g. `new_page(java_script_enabled=False)`.
- `nojs_page`: desktop with JavaScript off, for no-JS form submits.

Helpers: `screenshot(page, name)`, `signup(page, base_url, username, ...)`, `login(...)` and
`assert_fits_width(page)`.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, expect, sync_playwright
from werkzeug.serving import BaseWSGIServer, make_server

from skillswap.domain.users import User
from skillswap.repo import Repository
from skillswap.web.passwords import hash_password
from tests.support.app_fixtures import Clock, close_app, make_app

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
DEFAULT_TIMEOUT_MS = 10_000
TIMEZONE = "Europe/Berlin"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
PASSWORD = "correct horse battery"

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"

BROWSER_DIR = Path(__file__).resolve().parent

expect.set_options(timeout=DEFAULT_TIMEOUT_MS)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test under tests/browser is a browser test (`-m "not browser"` skips them all)."""
    for item in items:
        if BROWSER_DIR in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.browser)


# --- the browser ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def _playwright() -> Iterator[Playwright]:
    if not os.path.exists(CHROMIUM):
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    playwright = sync_playwright().start()
    yield playwright
    playwright.stop()


@pytest.fixture(scope="session")
def browser(_playwright: Playwright) -> Iterator[Browser]:
    browser = _playwright.chromium.launch(
        executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
    )
    yield browser
    browser.close()


# --- the app, served from a thread ---------------------------------------------------------


@dataclass
class LiveApp:
    url: str
    app: Flask
    clock: Clock

    @property
    def repo(self) -> Repository:
        return self.app.extensions["skillswap.repo"]

    def add_user(
        self,
        username: str,
        password: str = PASSWORD,
        email: str | None = None,
        timezone: str = "UTC",
    ) -> User:
        """An account that exists before the test starts, without a trip through the browser."""
        with self.app.app_context():
            return self.repo.create_user(
                username, email or f"{username}@example.com", hash_password(password), timezone
            )


@pytest.fixture
def live_app(tmp_path: Path, clock: Clock) -> Iterator[LiveApp]:
    # TRUSTED_HOSTS, as a deployment sets it: mail links then use the address the browser
    # asked for (this server's port), not LOCAL_URL (web/links.py). "localhost": the Flask
    # test client some tests set people up with.
    hosts = ["127.0.0.1", "localhost"]
    app = make_app(tmp_path, clock, RATELIMIT_ENABLED=False, TRUSTED_HOSTS=hosts)
    server: BaseWSGIServer = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield LiveApp(url=f"http://127.0.0.1:{server.server_port}", app=app, clock=clock)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        close_app(app)


# --- pages ---------------------------------------------------------------------------------


@pytest.fixture
def new_page(browser: Browser) -> Iterator[Callable[..., Page]]:
    """A page in a fresh context; keyword arguments go to `browser.new_context`."""
    contexts: list[BrowserContext] = []

    def open_page(**options: Any) -> Page:
        settings: dict[str, Any] = {"viewport": DESKTOP, "timezone_id": TIMEZONE, "locale": "en-GB"}
        settings.update(options)
        context = browser.new_context(**settings)
        context.set_default_timeout(DEFAULT_TIMEOUT_MS)
        context.set_default_navigation_timeout(DEFAULT_TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page: Callable[..., Page]) -> Page:
    return new_page()


@pytest.fixture
def phone_page(new_page: Callable[..., Page]) -> Page:
    return new_page(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)


@pytest.fixture
def nojs_page(new_page: Callable[..., Page]) -> Page:
    return new_page(java_script_enabled=False)


# --- helpers -------------------------------------------------------------------------------


def screenshot(page: Page, name: str) -> Path:
    """A full-page PNG in test-artifacts/screenshots/ (git-ignored), for a person to look at."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '-', name)}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def assert_fits_width(page: Page) -> None:
    """Nothing sticks out sideways: a person never has to scroll the page left and right."""
    # After a click, the URL changes when the new document commits, before its stylesheets
    # have loaded; measured then, an unstyled table is wider than the screen (seen once in CI).
    page.wait_for_load_state("load")
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"{page.url} is {overflow}px wider than the {page.viewport_size} screen"


def signup(
    page: Page,
    base_url: str,
    username: str,
    password: str = PASSWORD,
    email: str | None = None,
    submit: bool = True,
) -> None:
    """Open /signup and fill it in by label as a person would; press "Sign up" unless told not."""
    page.goto(f"{base_url}/signup")
    page.get_by_label("Username", exact=True).fill(username)
    page.get_by_label("Email", exact=True).fill(email or f"{username}@example.com")
    page.get_by_label("Password", exact=True).fill(password)
    if submit:
        with page.expect_navigation():
            page.get_by_role("button", name="Sign up").click()


def login(page: Page, base_url: str, login: str, password: str = PASSWORD) -> None:
    """Open /login, fill it in by label and press "Log in"."""
    page.goto(f"{base_url}/login")
    page.get_by_label("Username or email", exact=True).fill(login)
    page.get_by_label("Password", exact=True).fill(password)
    with page.expect_navigation():
        page.get_by_role("button", name="Log in").click()

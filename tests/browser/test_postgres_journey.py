"""Sign up, offer and book in a real browser against PostgreSQL (issue 6 acceptance).

The same app the other browser tests serve from a thread, but its store is a fresh PostgreSQL
schema instead of SQLite.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from werkzeug.serving import BaseWSGIServer, make_server

from tests.browser.conftest import LiveApp, screenshot, signup
from tests.browser.test_booking_journey import TEN, go, nav, session
from tests.support.app_fixtures import Clock, make_app

pytestmark = pytest.mark.postgres


@pytest.fixture
def postgres_live_app(tmp_path: Path, clock: Clock, fresh_postgres_url: str) -> Iterator[LiveApp]:
    app = make_app(tmp_path, clock, RATELIMIT_ENABLED=False, STORE_URL=fresh_postgres_url)
    assert app.extensions["skillswap.store"].name.startswith("postgres")
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
        app.extensions["skillswap.store"].close()


def test_signup_offer_and_book_on_postgres(
    postgres_live_app: LiveApp, new_page: Callable[..., Page]
) -> None:
    live_app = postgres_live_app
    teacher, learner = new_page(), new_page()

    # tess signs up and offers Python on 1 Dec, 10:00-13:00 in one-hour sessions.
    signup(teacher, live_app.url, "tess")
    go(teacher, "Offer")
    teacher.get_by_label("Title", exact=True).fill("Python for beginners")
    teacher.get_by_label("Skill", exact=True).fill("Python")
    teacher.get_by_label("Date 1", exact=True).fill("2026-12-01")
    first_range = teacher.get_by_role("group", name="Time range 1", exact=True)
    first_range.get_by_label("From", exact=True).fill("10:00")
    first_range.get_by_label("To", exact=True).fill("13:00")
    teacher.get_by_label("Session length", exact=True).select_option(label="1 hour")
    teacher.get_by_role("button", name="Publish offer").last.click()
    expect(teacher.get_by_role("status")).to_contain_text("published with 3 bookable sessions")

    # leo signs up and books the first session from tess's booking page.
    signup(learner, live_app.url, "leo")
    learner.goto(f"{live_app.url}/book/tess")
    expect(learner.get_by_role("heading", level=1)).to_have_text("Book a session with tess")
    expect(learner.get_by_role("radio")).to_have_count(3)
    expect(learner.get_by_role("radio", name=TEN)).to_be_checked()
    learner.get_by_role("button", name="Book Session").click()
    expect(learner).to_have_url(re.compile(rf"{live_app.url}/dashboard#booking-\w+$"))
    expect(learner.get_by_role("status")).to_have_text(
        "Booked: Python with tess. It is on your dashboard."
    )
    attending = learner.get_by_role("region", name="Sessions I attend")
    expect(session(attending, "Python with tess")).to_contain_text(TEN)
    screenshot(learner, "postgres-journey-learner-dashboard-desktop")

    # tess sees it on her dashboard, and a notification.
    teacher.reload()
    expect(nav(teacher).get_by_role("link", name="Notifications 1 unread")).to_be_visible()
    go(teacher, "Dashboard")
    teaching = teacher.get_by_role("region", name="Sessions I teach")
    expect(session(teaching, "Python with leo")).to_contain_text(TEN)
    screenshot(teacher, "postgres-journey-teacher-dashboard-desktop")

    # The booking is in PostgreSQL, the taken slot is no longer offered.
    tess = live_app.repo.find_user("tess")
    assert tess is not None
    assert [b.status for b in live_app.repo.schedule(tess.id).bookings.values()] == ["confirmed"]
    learner.goto(f"{live_app.url}/book/tess")
    expect(learner.get_by_role("radio")).to_have_count(2)
    expect(learner.get_by_role("radio", name=TEN)).to_have_count(0)

"""Rescheduling in a real browser (issue 20): the learner moves a session at desktop width, the
teacher moves it again on a phone, each told of the other's move in their notifications, and
both dashboards agree. Everyone is in Berlin; the clock stands at Mon 23 Nov 2026 12:00 UTC and
the sessions are on Tue 1 Dec 2026 (Berlin is UTC+1).
"""

from __future__ import annotations

import re

from playwright.sync_api import Locator, Page, expect

from tests.browser.conftest import LiveApp, assert_fits_width, login, screenshot
from tests.web.test_bookings import book, booked_id, free_slots, person, publish, schedule

TEN = "Tue 1 Dec 2026, 10:00–11:00 (Europe/Berlin)"
ELEVEN = "Tue 1 Dec 2026, 11:00–12:00 (Europe/Berlin)"
NOON = "Tue 1 Dec 2026, 12:00–13:00 (Europe/Berlin)"


def session(page: Page, text: str) -> Locator:
    """One session on the dashboard, found by what it says ("Python with tess")."""
    return page.get_by_role("listitem").filter(has_text=text)


def reschedule(page: Page, base: str, who: str, new_time: str, message: str = "") -> None:
    """From the dashboard: Reschedule…, pick the time, write a message, confirm."""
    page.goto(f"{base}/dashboard")
    session(page, f"Python with {who}").get_by_role("link", name="Reschedule…").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Move this session to another time")
    assert_fits_width(page)
    page.get_by_role("radio", name=new_time).check()
    if message:
        page.get_by_label("Message (optional)", exact=True).fill(message)
    with page.expect_navigation():
        page.get_by_role("button", name="Confirm new time").click()


def test_the_learner_and_then_the_teacher_move_a_session(
    live_app: LiveApp, page: Page, phone_page: Page
) -> None:
    app = live_app.app
    tess = person(app, "tess", "Europe/Berlin")
    publish(tess, start="10:00", end="13:00")  # 10:00, 11:00 and 12:00 in Berlin
    leo = person(app, "leo", "Europe/Berlin")
    booking_id = booked_id(book(leo, "tess", free_slots(leo, "tess")[0]))

    # leo, at a desktop, moves 10:00 to 11:00 with a message.
    login(page, live_app.url, "leo")
    page.goto(f"{live_app.url}/dashboard")
    session(page, "Python with tess").get_by_role("link", name="Reschedule…").click()
    expect(page.get_by_text(f"Now: {TEN}")).to_be_visible()
    options = page.get_by_role("radio")
    expect(options).to_have_count(2)  # 11:00 and 12:00: its own time is not offered
    screenshot(page, "reschedule-desktop")
    reschedule(page, live_app.url, "tess", ELEVEN, "Can we start an hour later?")
    expect(page).to_have_url(re.compile(rf"/dashboard#booking-{booking_id}$"))
    expect(page.get_by_role("status").first).to_contain_text(
        f"Moved: Python with tess is now {ELEVEN}. tess has been told."
    )
    mine = session(page, "Python with tess")
    expect(mine).to_contain_text(ELEVEN)
    expect(mine).to_contain_text(f"Moved by you from {TEN}")

    # tess, on a phone, reads the notice and moves it on to noon.
    login(phone_page, live_app.url, "tess")
    phone_page.goto(f"{live_app.url}/notifications")
    expect(phone_page.get_by_role("main")).to_contain_text(
        f"leo moved “Intro to Python” (Python) from {TEN} to {ELEVEN}: "
        "“Can we start an hour later?”"
    )
    assert_fits_width(phone_page)
    reschedule(phone_page, live_app.url, "leo", NOON)
    expect(phone_page.get_by_role("status").first).to_contain_text(
        f"Moved: Python with leo is now {NOON}. leo has been told."
    )
    expect(phone_page.get_by_role("status").first).to_be_in_viewport()
    theirs = session(phone_page, "Python with leo")
    expect(theirs).to_contain_text(NOON)
    expect(theirs).to_contain_text(f"Moved by you from {ELEVEN}")
    assert_fits_width(phone_page)
    screenshot(phone_page, "reschedule-phone")

    # leo's dashboard and notifications agree with tess's.
    page.goto(f"{live_app.url}/dashboard")
    expect(session(page, "Python with tess")).to_contain_text(NOON)
    expect(session(page, "Python with tess")).to_contain_text(f"Moved by tess from {ELEVEN}")
    page.goto(f"{live_app.url}/notifications")
    expect(page.get_by_role("main")).to_contain_text(
        f"tess moved “Intro to Python” (Python) from {ELEVEN} to {NOON}."
    )

    # One session, the same id in both documents, moved twice.
    for name in ("tess", "leo"):
        [copy] = schedule(app, name).bookings.values()
        assert (copy.id, copy.sequence, copy.status) == (booking_id, 2, "confirmed")
        assert copy.start == "2026-12-01T11:00:00Z"

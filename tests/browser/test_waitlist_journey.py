"""The waitlist in a real browser (issue 21): ann finds tess's times all taken and joins her
waitlist from the matches page; bob cancels; ann sees the time held for her (notification,
booking page) and books it at desktop width, while eve, on a phone, finds nothing free and is
refused when she tries the held time directly. Everyone is in Berlin (UTC+1); the clock
stands at Mon 23 Nov 2026 12:00 UTC and the sessions are on Tue 1 Dec 2026.
"""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from skillswap.domain.waitlist import HELD
from tests.browser.conftest import LiveApp, assert_fits_width, login, screenshot
from tests.web.test_bookings import (
    book,
    booked_id,
    cancel,
    free_slots,
    person,
    publish,
    schedule,
    text,
)
from tests.web.test_waitlist import ask

TWO = "Tue 1 Dec 2026, 14:00–15:00 (Europe/Berlin)"


def test_a_learner_joins_a_waitlist_gets_the_freed_time_and_books_it(
    live_app: LiveApp, page: Page, phone_page: Page
) -> None:
    app = live_app.app
    tess = person(app, "tess", "Europe/Berlin")
    publish(tess, start="14:00", end="16:00")  # 14:00 and 15:00 in Berlin
    bob, cyd = person(app, "bob", "Europe/Berlin"), person(app, "cyd", "Europe/Berlin")
    first, second = free_slots(bob, "tess")
    bob_booking = booked_id(book(bob, "tess", first))
    booked_id(book(cyd, "tess", second))
    ann = person(app, "ann", "Europe/Berlin")
    request_id = ask(ann)  # Python, 1 Dec 13:00-18:00 in her zone
    eve = person(app, "eve", "Europe/Berlin")

    # ann, at a desktop: everything is taken, so she joins tess's waitlist.
    login(page, live_app.url, "ann")
    page.goto(f"{live_app.url}/request/{request_id}")
    taken = page.get_by_role("region", name="All taken in your window")
    expect(taken).to_contain_text("tess")
    with page.expect_navigation():
        taken.get_by_role("button", name="Join waitlist of tess").click()
    expect(page.get_by_role("status").first).to_contain_text(
        "You are on tess's waitlist for Python."
    )
    expect(taken).to_contain_text("You are on tess's waitlist.")
    page.goto(f"{live_app.url}/dashboard")
    expect(page.get_by_role("region", name="My waitlists")).to_contain_text("Python with tess")

    # bob cancels: the time is held for ann in that same step.
    assert cancel(bob, bob_booking).status_code == 302

    # eve, on a phone, sees nothing free, and the held time is refused to her.
    login(phone_page, live_app.url, "eve")
    phone_page.goto(f"{live_app.url}/book/tess?skill=python")
    expect(phone_page.get_by_role("main")).to_contain_text("tess has no free times for Python")
    assert_fits_width(phone_page)
    refused = book(eve, "tess", first)
    assert refused.status_code == 409 and HELD in text(refused)

    # ann reads the notice, follows it, and books the time held for her.
    page.goto(f"{live_app.url}/notifications")
    main = page.get_by_role("main")
    expect(main).to_contain_text(f"{TWO} is held for you until Mon 23 Nov 2026, 15:00")
    with page.expect_navigation():
        main.get_by_role("link", name="Book it").click()
    held = page.get_by_role("radio", name=re.compile(r"held for you until Mon 23 Nov 2026, 15:00"))
    expect(held).to_be_checked()
    assert_fits_width(page)
    screenshot(page, "waitlist-held-desktop")
    with page.expect_navigation():
        page.get_by_role("button", name="Book Session").click()
    expect(page).to_have_url(re.compile(r"/dashboard#booking-[0-9a-f]+$"))
    expect(page.get_by_role("status").first).to_contain_text("Booked: Python with tess")
    expect(page.get_by_role("region", name="Sessions I attend")).to_contain_text(TWO)

    # One session at that time, ann's; no hold left, and ann's wait is over.
    at_two = [b for b in schedule(app, "tess").bookings.values() if b.active and b.slot_id]
    assert sorted(b.learner_name for b in at_two) == ["ann", "cyd"]
    assert schedule(app, "tess").holds == [] and schedule(app, "ann").waiting == []

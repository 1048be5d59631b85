"""Request, match, book, rate and cancel in a real browser (issue 5), each person in their own
browser context, all in Berlin.

The clock stands at Mon 23 Nov 2026 12:00 UTC; the sessions are on Tue 1 Dec 2026, when
Berlin is UTC+1.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime

from playwright.sync_api import Locator, Page, expect

from tests.browser.conftest import (
    DESKTOP,
    PHONE,
    LiveApp,
    assert_fits_width,
    login,
    screenshot,
    signup,
)
from tests.web.test_bookings import book, booked_id, free_slots, person, publish

TEN = "Tue 1 Dec 2026, 10:00–11:00 (Europe/Berlin)"
ELEVEN = "Tue 1 Dec 2026, 11:00–12:00 (Europe/Berlin)"
NOON = "Tue 1 Dec 2026, 12:00–13:00 (Europe/Berlin)"


def nav(page: Page) -> Locator:
    return page.get_by_role("navigation", name="Main")


def go(page: Page, link: str) -> None:
    """Follow a link of the main navigation."""
    nav(page).get_by_role("link", name=link, exact=True).click()


def slot_labels(scope: Locator) -> list[str]:
    """The free times offered as radio buttons, as read (whitespace collapsed)."""
    return [" ".join(text.split()) for text in scope.locator(".slot-list label").all_inner_texts()]


def session(region: Locator, text: str) -> Locator:
    """One session on the dashboard, found by what it says ("Python with tess")."""
    return region.get_by_role("listitem").filter(has_text=text)


def tab(page: Page, name: str) -> None:
    """Opens a dashboard tab by its link's name ("Past two weeks 1 waiting for you")."""
    tabs = page.get_by_role("navigation", name="Dashboard")
    tabs.get_by_role("link", name=name).click()
    expect(tabs.locator("[aria-current=page]")).to_have_text(name)


def stats(page: Page) -> Locator:
    return page.locator(".stats")


def at_phone_width(page: Page, name: str) -> None:
    """The same page at 390 px: it fits, and a screenshot for a person to look at."""
    page.set_viewport_size(PHONE)
    assert_fits_width(page)
    screenshot(page, f"{name}-phone")
    page.set_viewport_size(DESKTOP)


def test_request_match_book_race_notify_and_rate(
    live_app: LiveApp, new_page: Callable[..., Page]
) -> None:
    teacher, learner, third = new_page(), new_page(), new_page()

    # tess offers Python on 1 Dec, 10:00-13:00 in one-hour sessions.
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

    # leo asks for " PYTHON " from 09:00 to 12:00: the 10:00 and 11:00 sessions fit.
    signup(learner, live_app.url, "leo")
    go(learner, "Request")
    learner.get_by_label("Skill you want to learn", exact=True).fill(" PYTHON ")
    learner.get_by_label("Date 1", exact=True).fill("2026-12-01")
    window = learner.get_by_role("group", name="Time range 1", exact=True)
    window.get_by_label("From", exact=True).fill("09:00")
    window.get_by_label("To", exact=True).fill("12:00")
    learner.get_by_role("button", name="Find teachers").last.click()

    expect(learner.get_by_role("heading", level=1)).to_have_text("Teachers for “PYTHON”")
    expect(learner.get_by_role("status").last).to_have_text("1 teacher free when you are.")
    card = learner.get_by_role("article").filter(
        has=learner.get_by_role("heading", name="tess", exact=True)
    )
    expect(card).to_contain_text("@tess · No ratings yet · 0 taught")
    expect(card.get_by_role("list", name="Teaches").get_by_role("listitem")).to_have_text(
        ["Python"]
    )
    expect(card.get_by_role("link", name="View profile")).to_have_attribute("href", "/user/tess")
    assert slot_labels(card) == [f"{TEN} · Online", f"{ELEVEN} · Online"]
    expect(card.get_by_role("radio", name=TEN)).to_be_checked()
    screenshot(learner, "journey-matches-desktop")
    at_phone_width(learner, "journey-matches")

    # max opens tess's booking page now and presses Book Session only after leo has booked.
    signup(third, live_app.url, "max")
    third.goto(f"{live_app.url}/book/tess")
    expect(third.get_by_role("heading", level=1)).to_have_text("Book a session with tess")
    expect(third.get_by_role("radio", name=TEN)).to_be_checked()

    card.get_by_role("button", name="Book").click()
    expect(learner).to_have_url(re.compile(rf"{live_app.url}/dashboard#booking-\w+$"))
    expect(learner.get_by_role("status")).to_have_text(
        "Booked: Python with tess. It is on your dashboard."
    )
    attending = learner.get_by_role("region", name="Sessions I attend")
    booked = session(attending, "Python with tess")
    expect(booked).to_contain_text(f"{TEN} · Online")
    expect(booked.get_by_role("link", name="tess", exact=True)).to_be_visible()
    expect(booked.get_by_role("link", name="Cancel…")).to_be_visible()
    screenshot(learner, "journey-learner-dashboard-desktop")
    at_phone_width(learner, "journey-learner-dashboard")

    # The stale page: the 10:00 slot was just taken.
    third.get_by_role("button", name="Book Session").click()
    expect(third.get_by_role("alert")).to_have_text(
        "That slot was just booked by someone else. Here are the times still free."
    )
    assert slot_labels(third.locator("main")) == [
        f"{ELEVEN} · Online · Python for beginners",
        f"{NOON} · Online · Python for beginners",
    ]
    screenshot(third, "journey-slot-taken-desktop")
    third.goto(f"{live_app.url}/book/tess")
    expect(third.get_by_role("radio")).to_have_count(2)
    expect(third.get_by_role("radio", name=TEN)).to_have_count(0)
    expect(third.get_by_role("alert")).to_have_count(0)

    # tess: a notification, and the session with leo's name on her dashboard.
    teacher.reload()
    expect(nav(teacher).get_by_role("link", name="Notifications 1 unread")).to_be_visible()
    go(teacher, "Dashboard")
    teaching = teacher.get_by_role("region", name="Sessions I teach")
    expect(session(teaching, "Python with leo")).to_contain_text(TEN)
    screenshot(teacher, "journey-teacher-dashboard-desktop")
    nav(teacher).get_by_role("link", name="Notifications").click()
    expect(teacher.get_by_role("main")).to_contain_text(
        f"New leo booked “Python for beginners” (Python) with you: {TEN}."
    )

    # After the session (10:00 UTC) both rate each other from their dashboards: it has left
    # the upcoming tab, and the past one counts it as waiting for a rating.
    live_app.clock.set(datetime(2026, 12, 1, 10, 30, tzinfo=UTC))
    # Reloaded, its address (/dashboard#booking-…) finds the past tab, which counts it.
    learner.reload()
    expect(learner).to_have_url(re.compile(rf"{live_app.url}/dashboard/past#booking-\w+$"))
    tabs = learner.get_by_role("navigation", name="Dashboard")
    expect(tabs.locator("[aria-current=page]")).to_have_text("Past two weeks 1 waiting for you")
    attending = learner.get_by_role("region", name="Sessions I attended")
    attended = session(attending, "Python with tess")
    attended.get_by_role("link", name="Rate tess").click()
    expect(learner.get_by_role("heading", level=1)).to_have_text("Rate tess")
    learner.get_by_label("9", exact=True).check()
    learner.get_by_label("Feedback (optional)").fill("Clear and patient.")
    screenshot(learner, "journey-rate-desktop")
    learner.get_by_role("button", name="Save rating").click()
    expect(learner.get_by_role("status")).to_have_text("Thank you: your rating of tess is saved.")
    expect(session(attending, "Python with tess")).to_contain_text("You rated this 9/10.")
    # Not counted until someone says it happened (or 7 days pass): leo says so.
    expect(stats(learner)).to_contain_text("0 sessions attended")
    attended = session(attending, "Python with tess")
    attended.get_by_role("button", name="It happened").click()
    expect(learner.get_by_role("status")).to_have_text("Thank you: the session is marked as held.")
    attended = session(attending, "Python with tess")
    expect(attended).to_contain_text("You said: “It happened”.")
    expect(attended.get_by_role("button", name="It happened")).to_have_attribute(
        "aria-pressed", "true"
    )
    expect(stats(learner)).to_contain_text("1 session attended")

    go(teacher, "Dashboard")
    # leo's rating waits, hidden, until tess rates too.
    tab(teacher, "Reviews")
    expect(teacher.get_by_role("region", name="Reviews I received")).to_contain_text(
        "1 review waiting: rate the session too to see it"
    )
    tab(teacher, "Past two weeks 1 waiting for you")
    taught = teacher.get_by_role("region", name="Sessions I taught")
    session(taught, "Python with leo").get_by_role("link", name="Rate leo").click()
    teacher.get_by_label("8", exact=True).check()
    teacher.get_by_role("button", name="Save rating").click()
    expect(teacher.get_by_role("status")).to_have_text("Thank you: your rating of leo is saved.")
    tab(teacher, "Reviews")
    expect(teacher.get_by_role("region", name="Reviews I received")).to_contain_text(
        "9/10 from leo · Python"
    )

    # The public profiles, as max sees them.
    third.goto(f"{live_app.url}/user/tess")
    expect(stats(third)).to_contain_text("1 session taught")
    expect(stats(third)).to_contain_text("9.0/10 average from 1 rating")
    expect(third.get_by_role("region", name="Reviews")).to_contain_text(
        "9/10 · Python, as a teacher Clear and patient.", use_inner_text=True
    )
    screenshot(third, "journey-teacher-profile-rated-desktop")
    third.goto(f"{live_app.url}/user/leo")
    expect(stats(third)).to_contain_text("1 session attended")
    expect(stats(third)).to_contain_text("8.0/10 average from 1 rating")


def test_learner_cancels_with_a_reason_and_the_teacher_sees_it(
    live_app: LiveApp, page: Page, new_page: Callable[..., Page]
) -> None:
    tess = person(live_app.app, "tess", "Europe/Berlin")
    publish(tess, start="10:00", end="12:00", minutes="60")
    leo = person(live_app.app, "leo", "Europe/Berlin")
    booked_id(book(leo, "tess", free_slots(leo, "tess")[0]))
    booked_id(book(leo, "tess", free_slots(leo, "tess")[0]))

    login(page, live_app.url, "leo")
    go(page, "Dashboard")
    attending = page.get_by_role("region", name="Sessions I attend")
    first = session(attending, TEN)
    first.get_by_role("link", name="Cancel…").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Cancel this session?")
    expect(page.get_by_role("main")).to_contain_text(f"Python with tess {TEN}", use_inner_text=True)
    page.get_by_label("Reason (optional)").fill("I caught a cold, sorry!")
    screenshot(page, "journey-cancel-desktop")
    page.get_by_role("button", name="Yes, cancel the session").click()

    expect(page).to_have_url(f"{live_app.url}/dashboard")
    expect(page.get_by_role("status")).to_have_text("Cancelled: Python with tess.")
    expect(first).to_contain_text("Cancelled")
    expect(first).to_contain_text("Cancelled by you: “I caught a cold, sorry!”")
    expect(first.get_by_role("link", name="Cancel…")).to_have_count(0)
    expect(session(attending, ELEVEN).get_by_role("link", name="Cancel…")).to_be_visible()

    teacher = new_page()
    login(teacher, live_app.url, "tess")
    expect(nav(teacher).get_by_role("link", name="Notifications 3 unread")).to_be_visible()
    go(teacher, "Dashboard")
    cancelled = session(teacher.get_by_role("region", name="Sessions I teach"), TEN)
    expect(cancelled).to_contain_text("Python with leo Cancelled")
    expect(cancelled).to_contain_text("Cancelled by leo: “I caught a cold, sorry!”")
    screenshot(teacher, "journey-teacher-sees-cancel-desktop")
    nav(teacher).get_by_role("link", name="Notifications").click()
    expect(teacher.get_by_role("main")).to_contain_text(
        f"leo cancelled “Intro to Python” (Python) on {TEN}: “I caught a cold, sorry!”"
    )

    # The cancelled hour is free to book again.
    page.goto(f"{live_app.url}/book/tess")
    expect(page.get_by_role("radio", name=TEN)).to_be_visible()

"""Beyond booking, in a real browser (issue 9): calendar files and the feed, teachers inviting
learners, notifications, fair reviews, the skills directory and the living demo.

The people, offers, requests and bookings are made through the app's own forms with the test
client (same app, same store); the browser then does what each person would, by label and role.

The clock stands at Mon 23 Nov 2026 12:00 UTC. tess teaches Python from New York on Tue 1 Dec
09:00-11:00 her time (14:00-16:00 UTC) in one-hour sessions; leo is in Berlin (UTC+1 then).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from flask.testing import FlaskClient
from icalendar import Calendar
from playwright.sync_api import Locator, Page, expect

from skillswap.demo import demo_people
from tests.browser.conftest import (
    DESKTOP,
    PHONE,
    LiveApp,
    assert_fits_width,
    login,
    screenshot,
)
from tests.browser.test_calendar import request_skill
from tests.support.app_fixtures import csrf_token
from tests.web.test_attendance import mark
from tests.web.test_bookings import book, booked_id, cancel, free_slots, person, publish, rate
from tests.web.test_profile import post_profile

TEN_BERLIN = "Tue 1 Dec 2026, 15:00–16:00 (Europe/Berlin)"
FIRST_START = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)
FIRST_END = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)


def nav(page: Page) -> Locator:
    return page.get_by_role("navigation", name="Main")


def go(page: Page, link: str) -> None:
    nav(page).get_by_role("link", name=link, exact=True).click()


def at_both_widths(page: Page, name: str) -> None:
    """Screenshots at desktop and 390 px; at 390 px nothing sticks out sideways."""
    screenshot(page, f"{name}-desktop")
    page.set_viewport_size(PHONE)
    assert_fits_width(page)
    screenshot(page, f"{name}-phone")
    page.set_viewport_size(DESKTOP)


def teacher_and_booked_learner(live_app: LiveApp) -> tuple[FlaskClient, FlaskClient, str]:
    """tess's offer, and leo booked into its first hour (14:00-15:00 UTC)."""
    tess = person(live_app.app, "tess", "America/New_York")
    publish(tess)
    leo = person(live_app.app, "leo", "Europe/Berlin")
    booking = booked_id(book(leo, "tess", free_slots(leo, "tess")[0]))
    return tess, leo, booking


def only_event(body: bytes):
    """The one VEVENT in an .ics body, after icalendar has parsed it back."""
    calendar = Calendar.from_ical(body)
    events = calendar.walk("VEVENT")
    assert len(events) == 1, body.decode()
    return events[0]


def assert_first_session(event, summary: str) -> None:
    assert str(event["SUMMARY"]) == summary
    start, end = event.decoded("DTSTART"), event.decoded("DTEND")
    assert (start, end) == (FIRST_START, FIRST_END)
    assert start.utcoffset().total_seconds() == 0 and end.utcoffset().total_seconds() == 0
    assert event["DTSTART"].to_ical() == b"20261201T140000Z"
    assert event["DTEND"].to_ical() == b"20261201T150000Z"
    assert str(event["STATUS"]) == "CONFIRMED"


# --- 1. calendar ---------------------------------------------------------------------------


def test_ics_download_and_the_feed_from_create_to_off(
    live_app: LiveApp, page: Page, new_page: Callable[..., Page]
) -> None:
    _, _, booking = teacher_and_booked_learner(live_app)

    login(page, live_app.url, "leo")
    go(page, "Dashboard")
    attending = page.get_by_role("region", name="Sessions I attend")
    session = attending.get_by_role("listitem").filter(has_text="Python with tess")
    expect(session).to_contain_text(TEN_BERLIN)
    with page.expect_download() as info:
        session.get_by_role("link", name="Add to calendar (.ics)").click()
    download = info.value
    assert download.suggested_filename == f"skillswap-2026-12-01-{booking}.ics"
    event = only_event(Path(download.path()).read_bytes())
    assert_first_session(event, "Python with tess")
    assert str(event["UID"]) == f"booking-{booking}@skillswap"

    # The feed: created on the profile, fetched as a calendar app would (no login).
    go(page, "Profile")
    feed_section = page.get_by_role("region", name="Calendar feed")
    expect(feed_section.get_by_label("Your feed address")).to_have_count(0)
    feed_section.get_by_role("button", name="Create my calendar feed").click()
    expect(page.get_by_role("status").first).to_contain_text("Your calendar feed is ready")
    address = feed_section.get_by_label("Your feed address")
    expect(address).to_have_value(re.compile(rf"^{live_app.url}/calendar/[\w-]{{43}}\.ics$"))
    feed_url = address.input_value()
    expect(feed_section.get_by_role("link", name="open it in your calendar app")).to_have_attribute(
        "href", feed_url.replace("http://", "webcal://")
    )

    app_fetch = new_page().request  # a fresh context: no session cookie, like a calendar app
    response = app_fetch.get(feed_url)
    assert response.status == 200
    assert response.headers["content-type"].startswith("text/calendar")
    feed = Calendar.from_ical(response.body())
    assert str(feed["X-WR-CALNAME"]) == "SkillSwap · leo"
    (event,) = feed.walk("VEVENT")
    assert_first_session(event, "Python with tess")
    assert page.request.get(feed_url).status == 200

    feed_section.get_by_role("button", name="Turn off the feed").click()
    expect(page.get_by_role("status").first).to_contain_text("Your calendar feed is switched off")
    expect(feed_section.get_by_label("Your feed address")).to_have_count(0)
    expect(feed_section.get_by_role("button", name="Create my calendar feed")).to_be_visible()
    assert app_fetch.get(feed_url).status == 404


# --- 2. teachers find learners -------------------------------------------------------------


def test_teacher_invites_a_learner_who_books_from_the_notification(
    live_app: LiveApp, page: Page, new_page: Callable[..., Page]
) -> None:
    tess = person(live_app.app, "tess", "America/New_York")
    publish(tess)
    leo = person(live_app.app, "leo", "Europe/Berlin")
    # 14:00-18:00 in Berlin is 13:00-17:00 UTC: both of tess's hours fit.
    request_skill(leo, "2026-12-01", "14:00", "18:00", "Python")

    teacher = new_page(timezone_id="America/New_York")
    login(teacher, live_app.url, "tess")
    go(teacher, "Dashboard")
    teacher.get_by_role("link", name="Learners looking for your skills").click()
    expect(teacher.get_by_role("heading", level=1)).to_have_text("Learners looking for your skills")
    card = teacher.get_by_role("article").filter(
        has=teacher.get_by_role("heading", name="leo", exact=True)
    )
    expect(card).to_contain_text("Wants to learn Python")
    expect(card).to_contain_text("Your free times that fit (2)")
    expect(card.get_by_role("listitem")).to_have_text(
        [
            "Tue 1 Dec 2026, 09:00–10:00 (America/New_York)",
            "Tue 1 Dec 2026, 10:00–11:00 (America/New_York)",
        ]
    )
    at_both_widths(teacher, "learners-before-invite")
    card.get_by_role("button", name="Invite to book").click()
    expect(teacher.get_by_role("status").first).to_have_text(
        "leo is invited: they see your matching times and can book."
    )
    expect(card.get_by_role("status")).to_have_text("Invited")
    expect(card.get_by_role("button", name="Invite to book")).to_have_count(0)
    at_both_widths(teacher, "learners-invited")

    # leo: the badge, the invitation and its link to tess's fitting times.
    login(page, live_app.url, "leo")
    badge = nav(page).get_by_role("link", name="Notifications 1 unread")
    expect(badge).to_be_visible()
    badge.click()
    item = page.get_by_role("main").get_by_role("listitem").filter(has_text="tess")
    expect(item).to_contain_text(
        "New tess can teach you Python when you are free (2 times fit, the first Tue 1 Dec 2026"
    )
    at_both_widths(page, "notifications-invitation")
    item.get_by_role("link", name="Book a time").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Book a session with tess")
    expect(page.get_by_role("radio")).to_have_count(2)
    expect(page.get_by_role("radio", name=TEN_BERLIN, exact=False)).to_be_checked()
    page.get_by_role("button", name="Book Session").click()
    expect(page.get_by_role("status").first).to_have_text(
        "Booked: Python with tess. It is on your dashboard."
    )
    expect(
        page.get_by_role("region", name="Sessions I attend")
        .get_by_role("listitem")
        .filter(has_text="Python with tess")
    ).to_contain_text(TEN_BERLIN)

    # tess hears of it; leo's request no longer waits on her learners page for that hour.
    teacher.reload()
    expect(nav(teacher).get_by_role("link", name="Notifications 1 unread")).to_be_visible()


def test_the_invitation_shows_the_first_time_in_the_learners_zone(
    live_app: LiveApp, page: Page
) -> None:
    tess = person(live_app.app, "tess", "America/New_York")
    publish(tess)
    leo = person(live_app.app, "leo", "Europe/Berlin")
    request_skill(leo, "2026-12-01", "14:00", "18:00", "Python")
    (learn,) = live_app.repo.schedule(live_app.repo.find_user("leo").id).requests
    token = csrf_token(tess, "/learners")
    invited = tess.post("/learners/invite", data={"csrf_token": token, "request_id": learn})
    assert invited.status_code == 302

    login(page, live_app.url, "leo")
    nav(page).get_by_role("link", name="Notifications").click()
    expect(page.get_by_role("main").get_by_role("listitem")).to_contain_text(
        ["(2 times fit, the first Tue 1 Dec 2026, 15:00 (Europe/Berlin))."], timeout=2_000
    )


# --- 3. notifications ----------------------------------------------------------------------


def test_booking_cancel_and_review_notifications_then_mark_all_read(
    live_app: LiveApp, page: Page
) -> None:
    _, leo, first = teacher_and_booked_learner(live_app)
    second = booked_id(book(leo, "tess", free_slots(leo, "tess")[0]))
    assert cancel(leo, second, "I'm ill this week.").status_code == 302
    live_app.clock.set(datetime(2026, 12, 1, 15, 30, tzinfo=UTC))
    assert rate(leo, first, "9", "Clear and patient.").status_code == 302

    login(page, live_app.url, "tess")
    badge = nav(page).get_by_role("link", name="Notifications 4 unread")
    expect(badge).to_be_visible()
    badge.click()
    items = page.get_by_role("main").get_by_role("listitem")
    expect(items).to_have_count(4)
    main = page.get_by_role("main")
    # In tess's own zone, newest first.
    expect(items).to_contain_text(
        [
            "New leo rated your “Intro to Python” (Python) session. Rate them too to see it",
            "New leo cancelled “Intro to Python” (Python) on Tue 1 Dec 2026, 10:00–11:00"
            " (America/New_York): “I'm ill this week.”",
            "New leo booked “Intro to Python” (Python) with you: Tue 1 Dec 2026, 10:00–11:00"
            " (America/New_York).",
            "New leo booked “Intro to Python” (Python) with you: Tue 1 Dec 2026, 09:00–10:00"
            " (America/New_York).",
        ]
    )
    expect(main).to_contain_text(
        "New leo rated your “Intro to Python” (Python) session. Rate them too to see it"
    )
    expect(main).not_to_contain_text("Clear and patient.")  # the review itself stays hidden
    at_both_widths(page, "notifications")

    page.get_by_role("button", name="Mark all as read").click()
    expect(page.get_by_role("status").first).to_have_text("All notifications are marked as read.")
    expect(nav(page).get_by_role("link", name="Notifications", exact=True)).to_be_visible()
    expect(nav(page).get_by_text("unread")).to_have_count(0)
    expect(page.get_by_role("button", name="Mark all as read")).to_have_count(0)
    expect(items).to_have_count(4)
    expect(main.locator(".badge")).to_have_count(0)
    at_both_widths(page, "notifications-read")


# --- 4. fair reviews -----------------------------------------------------------------------


def test_a_review_waits_for_the_other_side_or_fourteen_days(
    live_app: LiveApp, page: Page, new_page: Callable[..., Page]
) -> None:
    _, leo, booking = teacher_and_booked_learner(live_app)
    live_app.clock.set(datetime(2026, 12, 1, 15, 30, tzinfo=UTC))
    assert rate(leo, booking, "9", "Clear and patient.").status_code == 302
    assert mark(leo, booking, "happened").status_code == 302  # held: it counts at once

    visitor = new_page()  # anyone, not logged in
    visitor.goto(f"{live_app.url}/user/tess")
    reviews = visitor.get_by_role("region", name="Reviews")
    stats = visitor.locator(".stats")
    expect(reviews).to_contain_text("No reviews yet.")
    expect(stats).to_contain_text("1 session taught")
    expect(stats).not_to_contain_text("average")

    login(page, live_app.url, "tess")
    go(page, "Dashboard")
    page.get_by_role("navigation", name="Dashboard").get_by_role("link", name="Reviews").click()
    received = page.get_by_role("region", name="Reviews I received")
    expect(received).to_contain_text("No reviews in the last month.")
    expect(received).to_contain_text("1 review waiting: rate the session too to see it")

    # A minute short of 14 days after the session ended: still hidden.
    live_app.clock.set(datetime(2026, 12, 15, 14, 59, tzinfo=UTC))
    visitor.reload()
    expect(reviews).to_contain_text("No reviews yet.")
    # 14 days after: it shows, with the average and the count, though tess never rated.
    live_app.clock.set(datetime(2026, 12, 15, 15, 0, tzinfo=UTC))
    visitor.reload()
    expect(reviews).to_contain_text(
        "9/10 · Python, as a teacher Clear and patient.", use_inner_text=True
    )
    expect(stats).to_contain_text("9.0/10 average from 1 rating")
    page.reload()
    expect(received).to_contain_text("9/10 from leo · Python")
    expect(received).not_to_contain_text("waiting")

    # The month's reviews, all of them, a page at a time (the dashboard shows the newest few).
    page.goto(f"{live_app.url}/reviews/received")
    expect(page.get_by_role("heading", level=1)).to_have_text("Reviews I received")
    expect(page.get_by_role("main")).to_contain_text(
        "9/10 from leo · Python Clear and patient.", use_inner_text=True
    )
    at_both_widths(page, "reviews-received")
    page.get_by_role("link", name="Reviews I gave").click()
    expect(page.get_by_role("main")).to_contain_text("You have not rated anyone in the last month.")


# --- 5. the skills directory ---------------------------------------------------------------


def test_skills_directory_most_active_first_and_into_the_search(
    live_app: LiveApp, page: Page
) -> None:
    app = live_app.app
    publish(person(app, "tess", "America/New_York"))
    publish(person(app, "nia", "Europe/London"), start="12:00", end="13:00")
    publish(person(app, "max", "Asia/Tokyo"), skill="Cooking", title="Ramen at home")
    leo = person(app, "leo", "Europe/Berlin")
    request_skill(leo, "2026-12-01", "14:00", "18:00", "Python")
    request_skill(leo, "2026-12-02", "14:00", "18:00", "Gardening")

    login(page, live_app.url, "leo")
    go(page, "Skills")
    expect(page.get_by_role("heading", level=1)).to_have_text("Skills on SkillSwap")
    expect(page.get_by_role("status")).to_have_text("3 skills.")
    expect(page.get_by_role("main").get_by_role("listitem")).to_have_text(
        [
            re.compile(r"^\s*Python\s+2 teachers · 1 learner\s*$"),
            re.compile(r"^\s*Cooking\s+1 teacher · 0 learners\s*$"),
            re.compile(r"^\s*Gardening\s+0 teachers · 1 learner\s*$"),
        ]
    )
    at_both_widths(page, "skills")

    page.get_by_role("link", name="Python", exact=True).click()
    expect(page).to_have_url(f"{live_app.url}/?q=Python")
    expect(page.get_by_label("Skill", exact=True)).to_have_value("Python")
    result = page.locator(".result-skill").filter(
        has=page.get_by_role("heading", name="Python", exact=True)
    )
    expect(result.get_by_role("listitem")).to_have_count(2)
    expect(result.get_by_role("link", name="tess", exact=True)).to_be_visible()
    expect(result.get_by_role("link", name="nia", exact=True)).to_be_visible()
    expect(result.get_by_role("link", name="Book")).to_have_count(2)


def test_one_long_word_from_the_other_person_never_widens_a_phone_page(
    live_app: LiveApp, page: Page
) -> None:
    """A cancel reason or a bio is typed by the other person: one unbroken word of it (a
    pasted link) made the dashboard, the notifications and the profile scroll sideways."""
    tess, _, booking = teacher_and_booked_learner(live_app)
    word = "https://docs.example.com/" + "x" * 300
    assert post_profile(tess, {"bio": word}).status_code == 302
    assert cancel(tess, booking, word).status_code == 302
    login(page, live_app.url, "leo")
    page.set_viewport_size(PHONE)
    for path in ("/dashboard", "/notifications", "/user/tess", "/calendar"):
        page.goto(live_app.url + path)
        assert_fits_width(page)
    screenshot(page, "long-word-phone")
    page.set_viewport_size(DESKTOP)


def test_a_visitor_not_logged_in_sees_times_in_their_browsers_zone(
    live_app: LiveApp, page: Page
) -> None:
    """app.js keeps the browser's zone in a cookie, percent-encoded ("Europe%2FBerlin"): read
    as it came, it named no zone and every time showed in UTC."""
    publish(person(live_app.app, "tess", "America/New_York"))
    page.goto(live_app.url + "/")  # the first page sets the cookie
    page.goto(live_app.url + "/?q=Python")
    result = page.locator(".result-skill")
    expect(result).to_contain_text("(Europe/Berlin)")
    expect(result).not_to_contain_text("(UTC)")


# --- 6. the living demo --------------------------------------------------------------------


def test_seed_demo_fills_the_search_and_the_directory(live_app: LiveApp, page: Page) -> None:
    result = live_app.app.test_cli_runner().invoke(args=["seed-demo", "--seed", "3"])
    assert result.exit_code == 0, result.output
    assert "Done: 30 people" in result.output

    page.goto(f"{live_app.url}/skills")
    skills = page.get_by_role("main").get_by_role("listitem")
    expect(skills.first).to_contain_text("teacher")
    counts = [
        tuple(int(n) for n in re.findall(r"(\d+) (?:teachers?|learners?)", text))
        for text in skills.all_inner_texts()
    ]
    assert len(counts) >= 10, counts
    activity = [t + lr for t, lr in counts]
    assert activity == sorted(activity, reverse=True), counts
    busiest = skills.first.get_by_role("link").inner_text().strip()
    assert counts[0][0] >= 1
    screenshot(page, "demo-skills-desktop")

    # A visitor types the busiest skill into the home search, as a person would.
    page.goto(live_app.url)
    page.get_by_label("Skill", exact=True).fill(busiest)
    page.get_by_role("button", name="Search").click()
    expect(page).to_have_url(re.compile(r"/\?q="))
    found = page.locator(".result-skill").filter(
        has=page.get_by_role("heading", name=busiest, exact=True)
    )
    teachers = found.get_by_role("listitem")
    expect(teachers.first).to_be_visible()
    assert teachers.count() >= 1
    expect(teachers.first).to_contain_text("Next free:")
    expect(teachers.first.get_by_role("link", name="Book")).to_be_visible()
    # They are demo people, with ratings from the past sessions somewhere among them.
    first_name = teachers.first.get_by_role("link").first.inner_text().strip()
    demo_names = {p["name"] for p in demo_people()}
    assert first_name in demo_names, first_name
    screenshot(page, "demo-search-desktop")

"""A session's entry on the dashboard through its life: upcoming, in progress, to rate, rated,
and cancelled, with the links each state offers."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient

from skillswap.web.dashboard import routes as dashboard_routes
from tests.support.app_fixtures import Clock, csrf_token
from tests.web.test_auth import page
from tests.web.test_bookings import (
    book,
    booked_id,
    cancel,
    free_slots,
    person,
    publish,
    rate,
    text,
)

SESSION_TABS = ("/dashboard", "/dashboard/past")


def entry(client: FlaskClient, booking_id: str, tabs: tuple[str, ...] = SESSION_TABS) -> str:
    """The session's entry on the dashboard's tab that lists it: the upcoming one until it
    ends, then the past one, never both."""
    found = {}
    for tab in tabs:
        page = client.get(tab).get_data(as_text=True)
        match = re.search(rf'<li id="booking-{booking_id}".*?</li>', page, flags=re.S)
        if match:
            found[tab] = match.group(0)
    assert len(found) == 1, f"booking {booking_id} is on {list(found) or 'no tab'}"
    return found.popitem()[1]


def words(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_a_session_from_booked_to_rated(
    clock: Clock, tess: FlaskClient, leo: FlaskClient, session: str
) -> None:
    # 1 Dec 09:00-10:00 in New York is 14:00-15:00 UTC.
    upcoming = entry(leo, session)
    assert 'href="/user/tess"' in upcoming
    assert f'href="/booking/{session}/cancel"' in upcoming
    assert f'href="/booking/{session}.ics"' in upcoming
    assert "Python with tess" in words(upcoming)
    assert 'class="session"' in upcoming

    clock.set(datetime(2026, 12, 1, 14, 30, tzinfo=UTC))
    started = entry(leo, session)
    assert "In progress" in started
    assert "/cancel" not in started and "/review" not in started

    clock.set(datetime(2026, 12, 1, 15, 0, tzinfo=UTC))
    ended = entry(leo, session)
    assert f'<a class="button small" href="/booking/{session}/review">Rate tess<' in ended
    assert f'href="/booking/{session}/review">Rate leo<' in entry(tess, session)
    assert ".ics" not in ended  # over: no longer something to add to a calendar

    assert rate(leo, session, "9").status_code == 302
    assert "You rated this 9/10." in words(entry(leo, session))
    assert "Rate leo" in entry(tess, session)


def test_a_cancelled_session_says_who_cancelled(
    tess: FlaskClient, leo: FlaskClient, session: str
) -> None:
    assert cancel(tess, session, "Ill <today>").status_code == 302
    for client, who in ((leo, "tess"), (tess, "you")):
        cancelled = entry(client, session)
        assert 'class="session cancelled"' in cancelled
        assert "Cancelled" in cancelled
        assert f"Cancelled by {who}: “Ill &lt;today&gt;”" in cancelled
        assert "/cancel" not in cancelled and "/review" not in cancelled


def test_upcoming_sessions_are_listed_soonest_first(
    tess: FlaskClient, leo: FlaskClient, session: str
) -> None:
    [later_slot] = free_slots(leo, "tess")  # 10:00-11:00, after the booked 09:00-10:00
    later = booked_id(book(leo, "tess", later_slot))
    for client, heading in ((leo, "Sessions I attend"), (tess, "Sessions I teach")):
        page = client.get("/dashboard").get_data(as_text=True)
        section = page.split(heading, 1)[1]
        order = re.findall(r'<li id="booking-([0-9a-f]+)"', section)
        assert order[:2] == [session, later]
    assert "No upcoming sessions to teach." in text(leo.get("/dashboard"))
    # An empty list says what to do next: leo teaches nothing yet, and attends.
    learner_page = leo.get("/dashboard").get_data(as_text=True)
    assert '<a class="button small" href="/offer">Offer a skill</a>' in learner_page
    assert "Find a teacher" not in learner_page


def test_the_dashboard_lists_the_soonest_upcoming_sessions_and_sends_the_rest_to_the_calendar(
    tess: FlaskClient, leo: FlaskClient, session: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dashboard_routes, "UPCOMING_SHOWN", 1)
    [later_slot] = free_slots(leo, "tess")
    booked_id(book(leo, "tess", later_slot))
    for client, heading in ((leo, "Sessions I attend"), (tess, "Sessions I teach")):
        page = client.get("/dashboard").get_data(as_text=True)
        section = page.split(heading, 1)[1].split("</section>", 1)[0]
        assert re.findall(r'<li id="booking-([0-9a-f]+)"', section) == [session]
        assert "And 1 later: see them on your calendar ." in words(section)
        assert 'href="/calendar"' in section
    monkeypatch.setattr(dashboard_routes, "UPCOMING_SHOWN", 2)
    assert "later: see them" not in text(leo.get("/dashboard"))


def test_the_dashboard_lists_past_sessions_while_they_can_be_rated_and_marked(
    clock: Clock, tess: FlaskClient, leo: FlaskClient, session: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past sessions stay on the dashboard's past tab while something can still be done about
    them (the two weeks marks and ratings are open), the newest PAST_SHOWN a role; the rest are
    counted and linked to the history page, which lists them all."""
    [later_slot] = free_slots(leo, "tess")
    later = booked_id(book(leo, "tess", later_slot))
    monkeypatch.setattr(dashboard_routes, "PAST_SHOWN", 1)
    clock.set(datetime(2026, 12, 10, 12, 0, tzinfo=UTC))  # both ended on 1 Dec
    for client, heading in ((leo, "Sessions I attended"), (tess, "Sessions I taught")):
        assert "booking-" not in client.get("/dashboard").get_data(as_text=True)  # upcoming
        page = client.get("/dashboard/past").get_data(as_text=True)
        section = words(page).split(heading, 1)[1].split("Sessions I", 1)[0]
        assert re.findall(r'<li id="booking-([0-9a-f]+)"', page) == [later]  # the newest
        assert "And 1 earlier: see them in your history ." in section
        assert 'href="/history"' in page
    clock.set(datetime(2026, 12, 15, 16, 1, tzinfo=UTC))  # 14 days after both ended
    page = leo.get("/dashboard/past").get_data(as_text=True)
    assert "booking-" not in page
    assert "None to rate or mark." in words(page)
    assert "And 2 earlier: see them in your history ." in words(page)
    history = leo.get("/history").get_data(as_text=True)
    assert f"booking-{session}" in history and f"booking-{later}" in history


def test_the_dashboard_lists_the_newest_reviews_and_counts_them_all(
    clock: Clock, tess: FlaskClient, leo: FlaskClient, session: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    [later_slot] = free_slots(leo, "tess")
    later = booked_id(book(leo, "tess", later_slot))
    for minute, booking_id, rating in ((0, session, "7"), (5, later, "9")):
        clock.set(datetime(2026, 12, 1, 17, minute, tzinfo=UTC))  # both sessions are over
        assert rate(leo, booking_id, rating).status_code == 302
        assert rate(tess, booking_id, rating).status_code == 302
    monkeypatch.setattr(dashboard_routes, "REVIEWS_SHOWN", 1)
    for client, heading, other in (
        (leo, "Reviews I gave", "tess"),
        (tess, "Reviews I received", "leo"),
    ):
        tab = text(client.get("/dashboard/reviews"))
        section = tab.split(heading, 1)[1].split("Reviews I", 1)[0]
        assert section.count("/10 ") == 1
        assert f"9/10 {'to' if client is leo else 'from'} {other}" in section  # the newest
        assert "The 1 newest of 2 from the last month: see them all ." in section
        assert "/10 " not in text(client.get("/dashboard")).split("average", 1)[1]  # not there
    assert 'href="/reviews/given"' in leo.get("/dashboard/reviews").get_data(as_text=True)
    assert 'href="/reviews/received"' in tess.get("/dashboard/reviews").get_data(as_text=True)
    assert "8.0/10 average from 2 ratings" in text(tess.get("/dashboard"))  # all still count


def test_the_review_pages_list_every_review_of_the_month_a_page_at_a_time(
    app: Flask,
    clock: Clock,
    tess: FlaskClient,
    leo: FlaskClient,
    session: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The dashboard shows the newest few; /reviews/received and /reviews/given list them
    all, newest first, REVIEWS_PAGE a page, with a review still hidden counted, not shown."""
    [later_slot] = free_slots(leo, "tess")
    later = booked_id(book(leo, "tess", later_slot))
    clock.set(datetime(2026, 12, 1, 17, 0, tzinfo=UTC))  # both sessions are over
    assert rate(leo, session, "7", "Kind and clear").status_code == 302
    assert rate(tess, session, "6").status_code == 302
    clock.set(datetime(2026, 12, 1, 17, 5, tzinfo=UTC))
    assert rate(leo, later, "9").status_code == 302  # tess has not rated it: hidden from her
    monkeypatch.setattr(dashboard_routes, "REVIEWS_PAGE", 1)

    received = text(tess.get("/reviews/received"))
    assert "7/10 from leo · Python Kind and clear" in received
    assert "9/10" not in received
    assert "1 review waiting: rate the session too to see it" in received
    assert "Page" not in received  # one page: no pager

    first = leo.get("/reviews/given").get_data(as_text=True)
    assert "9/10 to tess" in words(first) and "7/10" not in words(first)  # the newest
    assert "Page 1 of 2" in words(first)
    assert 'href="/reviews/given?page=2" rel="next">Older' in first
    assert 'rel="prev"' not in first
    second = leo.get("/reviews/given?page=2").get_data(as_text=True)
    assert "7/10 to tess" in words(second) and "9/10" not in words(second)
    assert 'href="/reviews/given?page=1" rel="prev">Newer' in second
    assert 'rel="next"' not in second
    # Hand-edited pages land on the nearest page there is.
    assert "7/10 to tess" in text(leo.get("/reviews/given?page=99"))
    for odd in ("0", "-3", "two", ""):
        assert "9/10 to tess" in text(leo.get(f"/reviews/given?page={odd}"))
    assert leo.get("/reviews/everyone").status_code == 404
    assert "6/10 to leo" in text(tess.get("/reviews/given"))
    assert "/login" in app.test_client().get("/reviews/given").headers["Location"]


# --- what a session is called (issue 20, part 2) ---------------------------------------------


def test_every_session_row_shows_its_title_with_the_skill_beside_it(
    app: Flask, tess: FlaskClient, leo: FlaskClient, session: str
) -> None:
    """tess's offer is titled "Intro to Python": her dashboard, leo's, both calendars, the
    cancel page and the notification say so, with the skill beside the title."""
    for client, other in ((leo, "tess"), (tess, "leo")):
        assert words(entry(client, session)).startswith(f"Intro to Python · Python with {other}")
    month = page(leo.get("/calendar?month=2026-12"))
    assert "Attending: 15:00–16:00 Intro to Python · Python with tess" in month.main_text
    assert "Intro to Python · Python with tess" in text(leo.get(f"/booking/{session}/cancel"))
    assert "Your next session: Intro to Python · Python with tess" in text(leo.get("/"))
    assert "leo booked “Intro to Python” (Python) with you" in text(tess.get("/notifications"))


def test_a_title_that_is_only_the_skills_name_is_not_said_twice(
    app: Flask, leo: FlaskClient
) -> None:
    nia = person(app, "nia", "America/New_York")
    publish(nia, title="python")
    booking = booked_id(book(leo, "nia", free_slots(leo, "nia")[0]))
    row = words(entry(leo, booking))
    assert row.startswith("Python with nia Tue 1 Dec 2026")  # the skill's name, once
    assert "leo booked Python with you" in text(nia.get("/notifications"))


def test_a_notice_from_before_titles_were_kept_finds_the_title_in_the_booking(
    app: Flask, tess: FlaskClient, session: str
) -> None:
    """Notices written by an earlier version have no title; the booking they point at has."""
    repo = app.extensions["skillswap.repo"]
    tess_id = repo.find_user("tess").id
    raw = repo.store.get(f"schedule/{tess_id}")
    for notice in raw["notifications"]:
        notice.pop("title", None)
    repo.store.put(f"schedule/{tess_id}", raw)
    assert "leo booked “Intro to Python” (Python) with you" in text(tess.get("/notifications"))


def test_the_review_pages_list_only_the_last_months_reviews_even_before_any_upkeep(
    clock: Clock, tess: FlaskClient, leo: FlaskClient, session: str
) -> None:
    """Sessions over a month ago move to the archive when the person's document is next read
    for a page that keeps it (the dashboard, the history). The review pages are such a page:
    opened first, six weeks on, they must not list what the dashboard no longer does."""
    clock.set(datetime(2026, 12, 1, 17, 0, tzinfo=UTC))
    assert rate(leo, session, "7").status_code == 302
    assert rate(tess, session, "8").status_code == 302
    clock.set(datetime(2027, 1, 15, 12, 0, tzinfo=UTC))
    given = text(leo.get("/reviews/given"))
    assert "7/10" not in given
    assert "You have not rated anyone in the last month." in given
    received = text(tess.get("/reviews/received"))
    assert "7/10" not in received
    assert "No reviews in the last month." in received
    # The average still counts them: the wording must not say there are none at all.
    assert "7.0/10 average from 1 rating" in text(tess.get("/dashboard"))
    assert "No reviews in the last month." in text(tess.get("/dashboard/reviews"))


def dashboard_tabs(client: FlaskClient, path: str) -> tuple[str, str]:
    """The words of the dashboard's tab list on `path`, and the tab marked as shown."""
    html = client.get(path).get_data(as_text=True)
    nav = re.search(r'<nav aria-label="Dashboard">.*?</nav>', html, flags=re.S)
    assert nav, f"no dashboard tabs on {path}"
    current = re.search(r'<strong aria-current="page">(.*?)</strong>', nav.group(0), re.S)
    assert current
    return words(nav.group(0)), words(current.group(1))


def test_the_tabs_mark_the_one_shown_and_count_the_sessions_to_rate(
    clock: Clock, tess: FlaskClient, leo: FlaskClient, session: str
) -> None:
    for path, label in (
        ("/dashboard", "Upcoming"),
        ("/dashboard/past", "Past two weeks"),
        ("/dashboard/reviews", "Reviews"),
    ):
        tabs, current = dashboard_tabs(leo, path)
        assert tabs == "Upcoming Past two weeks Reviews"  # nothing to rate yet
        assert current == label
        # The nav's Dashboard entry is marked on every tab, not only on the first.
        html = leo.get(path).get_data(as_text=True)
        # "page" on the dashboard itself; on its other tabs the entry leads elsewhere: "true".
        marked = "page" if path == "/dashboard" else "true"
        assert f'<a href="/dashboard" aria-current="{marked}">Dashboard</a>' in html
    clock.set(datetime(2026, 12, 1, 15, 0, tzinfo=UTC))  # the session has ended
    for client in (leo, tess):
        tabs = dashboard_tabs(client, "/dashboard")[0]
        assert tabs == "Upcoming Past two weeks 1 waiting for you Reviews"
    assert rate(leo, session, "8").status_code == 302
    assert dashboard_tabs(leo, "/dashboard/reviews")[0] == "Upcoming Past two weeks Reviews"
    assert "1 waiting for you" in dashboard_tabs(tess, "/dashboard/past")[0]  # not rated yet
    # tess says leo did not come: he has rated, but the report waits for his answer, and she
    # (who may no longer rate it) has nothing left to do.
    token = csrf_token(tess, "/logout")
    marked = tess.post(
        f"/booking/{session}/attendance", data={"csrf_token": token, "mark": "they_missed"}
    )
    assert marked.status_code == 302
    assert "1 waiting for you" in dashboard_tabs(leo, "/dashboard")[0]
    assert dashboard_tabs(tess, "/dashboard")[0] == "Upcoming Past two weeks Reviews"


def goes_to(response) -> str:
    """Where a redirect goes, the fragment included."""
    assert response.status_code == 302
    return response.headers["Location"]


def test_a_sessions_lasting_link_finds_the_tab_that_lists_it(
    clock: Clock, tess: FlaskClient, leo: FlaskClient, xia: FlaskClient, session: str
) -> None:
    """Mail and calendar events link a session by /dashboard/session/<id>: read long after
    they were sent, the link still lands where the session is listed."""
    link = f"/dashboard/session/{session}"
    assert goes_to(leo.get(link)) == f"/dashboard#booking-{session}"  # upcoming
    clock.set(datetime(2026, 12, 1, 15, 0, tzinfo=UTC))  # it has ended
    assert goes_to(leo.get(link)) == f"/dashboard/past#booking-{session}"
    assert goes_to(tess.get(link)) == f"/dashboard/past#booking-{session}"
    clock.set(datetime(2026, 12, 15, 15, 1, tzinfo=UTC))  # rating and marks have closed
    assert goes_to(leo.get(link)) == f"/history#booking-{session}"
    # Someone else's session, or none: the history, which says nothing of it.
    assert goes_to(xia.get(link)) == "/history"
    assert goes_to(leo.get("/dashboard/session/0123456789abcdef")) == "/history"
    assert goes_to(leo.get("/dashboard/session/%0D%0ASet-Cookie:x")) == "/history"

"""/calendar through the test client: what each person sees on which day and at which hour, in
their own zone, and how the page moves between months and weeks.

tess teaches from New York, leo learns in Berlin. The clock starts on Mon 23 Nov 2026, 12:00 UTC.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.support.app_fixtures import Clock, csrf_token
from tests.web.test_auth import Node, Page, location, page
from tests.web.test_bookings import book, booked_id, cancel, free_slots, person, publish
from tests.web.test_round_trips import LARGE, SMALL, Community, _community


def day_cell(p: Page, day: str) -> Node:
    """A day of the month grid."""
    return p.by_id(f"day-{day}")


def hour_cell(p: Page, day: str, hour: str) -> Node:
    """One hour of one day in the week table."""
    (cell,) = p.all("td", data_day=day, data_hour=hour)
    return cell


def items(node: Node) -> list[str]:
    """The calendar items inside an element, as read."""
    return [n.text for n in node.walk() if "cal-item" in n.attrs.get("class", "").split()]


def links(node: Node) -> list[str]:
    return [n.attrs["href"] for n in node.walk() if n.tag == "a"]


def set_zone(app: Flask, username: str, zone: str) -> None:
    repo = app.extensions["skillswap.repo"]
    user = repo.find_user(username)
    user.timezone = zone
    repo.save_profile(user)


def request_skill(client: FlaskClient, day: str, start: str, end: str, skill: str = "Cooking"):
    response = client.post(
        "/request",
        data={
            "csrf_token": csrf_token(client, "/request"),
            "skill": skill,
            "mode": "either",
            "dates-0": day,
            "ranges-0-start": start,
            "ranges-0-end": end,
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)[-2000:]
    return location(response).rsplit("/", 1)[-1]


@pytest.fixture
def tess(app: Flask) -> FlaskClient:
    """New York. Offers 1 Dec 09:00-11:00 in 60-minute sessions (14:00-16:00 UTC)."""
    client = person(app, "tess", "America/New_York")
    publish(client)
    return client


@pytest.fixture
def leo(app: Flask) -> FlaskClient:
    return person(app, "leo", "Europe/Berlin")


@pytest.fixture
def booked(tess: FlaskClient, leo: FlaskClient) -> str:
    """leo booked tess's first session: 1 Dec 14:00-15:00 UTC."""
    return booked_id(book(leo, "tess", free_slots(leo, "tess")[0]))


def offer_id(app: Flask, username: str) -> str:
    repo = app.extensions["skillswap.repo"]
    (found,) = repo.schedule(repo.find_user(username).id).offers
    return found


# --- access and defaults -------------------------------------------------------------------


def test_calendar_needs_login(client: FlaskClient) -> None:
    response = client.get("/calendar?month=2026-12")
    assert response.status_code == 302
    assert location(response).startswith("/login")
    assert "next=" in location(response)


def test_calendar_opens_on_this_month_in_the_viewers_zone(app: Flask, clock: Clock) -> None:
    tokyo = person(app, "kei", "Asia/Tokyo")
    p = page(tokyo.get("/calendar"))
    assert "November 2026" in p.by_id("month-heading").text
    assert "Times are in Asia/Tokyo" in p.main_text
    (today,) = p.all("td", aria_current="date")
    assert today.attrs["id"] == "day-2026-11-23"
    clock.set(clock.now.replace(hour=16))  # 01:00 on 24 November in Tokyo
    (today,) = page(tokyo.get("/calendar")).all("td", aria_current="date")
    assert today.attrs["id"] == "day-2026-11-24"


def test_week_view_opens_on_this_week(leo: FlaskClient) -> None:
    p = page(leo.get("/calendar?view=week"))
    assert p.by_id("week-heading").text == "Week 48: 23–29 November 2026"


def test_calendar_is_in_the_nav_and_linked_from_dashboard_and_profile(leo: FlaskClient) -> None:
    nav = page(leo.get("/dashboard")).all("nav", aria_label="Main")[0]
    assert "/calendar" in links(nav)
    assert "/calendar" in links(page(leo.get("/dashboard")).all("main")[0])
    profile = page(leo.get("/profile"))
    assert "/calendar" in links(profile.by_id("this-week"))
    assert "/calendar?week=2026-W48" in links(profile.by_id("this-week"))


# --- what shows where ----------------------------------------------------------------------


def test_month_shows_each_kind_on_its_day_for_each_viewer(
    app: Flask, tess: FlaskClient, leo: FlaskClient, booked: str
) -> None:
    request_id = request_skill(leo, "2026-12-03", "14:00", "18:00")

    teacher = page(tess.get("/calendar?month=2026-12"))
    assert "Times are in America/New_York" in teacher.main_text
    assert items(day_cell(teacher, "2026-12-01")) == [
        "Teaching: 09:00–10:00 Intro to Python · Python with leo",
        "Free slot: 10:00–11:00 Intro to Python",
    ]
    assert links(day_cell(teacher, "2026-12-01")) == [
        f"/dashboard/session/{booked}",
        f"/offer/{offer_id(app, 'tess')}/edit",
    ]

    learner = page(leo.get("/calendar?month=2026-12"))
    assert items(day_cell(learner, "2026-12-01")) == [
        "Attending: 15:00–16:00 Intro to Python · Python with tess"
    ]
    assert items(day_cell(learner, "2026-12-03")) == ["Request: 14:00–18:00 Cooking"]
    assert links(day_cell(learner, "2026-12-03")) == [f"/request/{request_id}"]
    assert sum(len(items(day_cell(learner, f"2026-12-{d:02d}"))) for d in range(1, 32)) == 2

    # The same things for tess in Tokyo (UTC+9): her sessions move to the evening and the
    # free slot past midnight, onto the next day.
    set_zone(app, "tess", "Asia/Tokyo")
    tokyo = page(tess.get("/calendar?month=2026-12"))
    assert "Times are in Asia/Tokyo" in tokyo.main_text
    assert items(day_cell(tokyo, "2026-12-01")) == [
        "Teaching: 23:00–00:00 Intro to Python · Python with leo"
    ]
    assert items(day_cell(tokyo, "2026-12-02")) == ["Free slot: 00:00–01:00 Intro to Python"]


def test_week_shows_each_item_at_its_hour_for_each_viewer(
    app: Flask, tess: FlaskClient, leo: FlaskClient, booked: str
) -> None:
    request_skill(leo, "2026-12-03", "14:00", "18:00")

    teacher = page(tess.get("/calendar?week=2026-W49"))
    assert teacher.by_id("week-heading").text == "Week 49: 30 November – 6 December 2026"
    assert items(hour_cell(teacher, "2026-12-01", "09:00")) == [
        "Teaching: 09:00–10:00 Intro to Python · Python with leo"
    ]
    assert items(hour_cell(teacher, "2026-12-01", "10:00")) == [
        "Free slot: 10:00–11:00 Intro to Python"
    ]

    learner = page(leo.get("/calendar?week=2026-W49"))
    assert items(hour_cell(learner, "2026-12-01", "15:00")) == [
        "Attending: 15:00–16:00 Intro to Python · Python with tess"
    ]
    assert items(hour_cell(learner, "2026-12-03", "14:00")) == ["Request: 14:00–18:00 Cooking"]
    assert items(hour_cell(learner, "2026-12-03", "15:00")) == []

    set_zone(app, "leo", "America/Los_Angeles")
    pacific = page(leo.get("/calendar?week=2026-W49"))
    assert items(hour_cell(pacific, "2026-12-01", "06:00")) == [
        "Attending: 06:00–07:00 Intro to Python · Python with tess"
    ]
    assert items(hour_cell(pacific, "2026-12-03", "05:00")) == ["Request: 05:00–09:00 Cooking"]


def test_a_session_across_midnight_shows_on_both_days(app: Flask, leo: FlaskClient) -> None:
    teacher = person(app, "nia", "America/New_York")
    publish(teacher, start="17:30", end="18:30", minutes="60")  # 23:30-00:30 in Berlin
    booked_id(book(leo, "nia", free_slots(leo, "nia")[0]))

    month = page(leo.get("/calendar?month=2026-12"))
    assert items(day_cell(month, "2026-12-01")) == [
        "Attending: 23:30–Wed 00:30 Intro to Python · Python with nia"
    ]
    assert items(day_cell(month, "2026-12-02")) == [
        "Attending: Tue 23:30–00:30 Intro to Python · Python with nia"
    ]

    week = page(leo.get("/calendar?week=2026-W49"))
    assert items(hour_cell(week, "2026-12-01", "23:00")) == [
        "Attending: 23:30–Wed 00:30 Intro to Python · Python with nia"
    ]
    assert items(hour_cell(week, "2026-12-02", "00:00")) == [
        "Attending: Tue 23:30–00:30 Intro to Python · Python with nia"
    ]
    # In New York it is one evening session.
    ny = page(teacher.get("/calendar?month=2026-12"))
    assert items(day_cell(ny, "2026-12-01")) == [
        "Teaching: 17:30–18:30 Intro to Python · Python with leo"
    ]
    assert items(day_cell(ny, "2026-12-02")) == []


def test_cancelled_sessions_are_struck_through_and_the_slot_is_free_again(
    tess: FlaskClient, leo: FlaskClient, booked: str
) -> None:
    assert cancel(leo, booked, "Ill").status_code == 302

    teacher = day_cell(page(tess.get("/calendar?month=2026-12")), "2026-12-01")
    assert items(teacher) == [
        "Teaching, cancelled: 09:00–10:00 Intro to Python · Python with leo",
        "Free slot: 09:00–10:00 Intro to Python",
        "Free slot: 10:00–11:00 Intro to Python",
    ]
    (struck,) = [n for n in teacher.walk() if "is-cancelled" in n.attrs.get("class", "")]
    assert "Python with leo" in struck.text
    learner = day_cell(page(leo.get("/calendar?month=2026-12")), "2026-12-01")
    assert items(learner) == [
        "Attending, cancelled: 15:00–16:00 Intro to Python · Python with tess"
    ]


def test_past_sessions_are_marked_and_past_slots_are_gone(
    clock: Clock, tess: FlaskClient, booked: str
) -> None:
    clock.set(clock.now.replace(month=12, day=2))
    p = page(tess.get("/calendar?month=2026-12"))
    assert items(day_cell(p, "2026-12-01")) == [
        "Teaching, past: 09:00–10:00 Intro to Python · Python with leo"
    ]
    (muted,) = [
        n for n in day_cell(p, "2026-12-01").walk() if "is-past" in n.attrs.get("class", "")
    ]
    assert "Python with leo" in muted.text
    # Its lasting link finds where it is listed now: the dashboard's past tab.
    assert links(day_cell(p, "2026-12-01")) == [f"/dashboard/session/{booked}"]
    assert (
        tess.get(f"/dashboard/session/{booked}")
        .headers["Location"]
        .endswith(f"/dashboard/past#booking-{booked}")
    )


def test_a_crowded_day_collapses_to_more_linking_to_its_week(app: Flask) -> None:
    busy = person(app, "busy", "UTC")
    publish(busy, start="08:00", end="14:00", minutes="60")
    cell = day_cell(page(busy.get("/calendar?month=2026-12")), "2026-12-01")
    assert len(items(cell)) == 3
    (more,) = [n for n in cell.walk() if n.tag == "a" and "more" in n.text]
    assert more.text == "+3 more on Tuesday 1 December 2026"
    assert more.attrs["href"] == "/calendar?week=2026-W49"
    week = page(busy.get(more.attrs["href"]))
    for hour in range(8, 14):
        assert len(items(hour_cell(week, "2026-12-01", f"{hour:02d}:00"))) == 1


def test_user_text_is_escaped(app: Flask) -> None:
    mallory = person(app, "mallory", "UTC")
    publish(mallory, title="<script>alert(1)</script>")
    body = mallory.get("/calendar?month=2026-12").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body


# --- the grid itself -----------------------------------------------------------------------


def test_month_grid_is_a_table_with_headers_and_a_heading_per_day(leo: FlaskClient) -> None:
    p = page(leo.get("/calendar?month=2026-12"))
    (table,) = p.all("table")
    headers = [n.text for n in table.walk() if n.tag == "th" and n.attrs.get("scope") == "col"]
    assert headers == ["Wk", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    first = day_cell(p, "2026-11-30")  # the grid starts on the Monday before 1 December
    assert "other-month" in first.attrs["class"]
    heading = next(n for n in day_cell(p, "2026-12-01").walk() if n.tag == "h3")
    assert "Tuesday 1 December 2026" in heading.text
    rows = [n for n in table.walk() if n.tag == "th" and n.attrs.get("scope") == "row"]
    assert [links(r)[0] for r in rows] == [f"/calendar?week=2026-W{w}" for w in range(49, 54)]


def test_month_navigation_links(leo: FlaskClient) -> None:
    nav = page(leo.get("/calendar?month=2026-12")).all("nav", aria_label="Months")[0]
    assert links(nav) == [
        "/calendar?month=2026-11",
        "/calendar?month=2026-11",  # "This month" (the clock says November)
        "/calendar?month=2027-01",
        "/calendar?month=2026-12",
        "/calendar?week=2026-W49",
    ]
    jan = page(leo.get("/calendar?month=2027-01")).all("nav", aria_label="Months")[0]
    assert links(jan)[0] == "/calendar?month=2026-12" and links(jan)[2] == "/calendar?month=2027-02"


def test_week_navigation_links(leo: FlaskClient) -> None:
    nav = page(leo.get("/calendar?week=2026-W53")).all("nav", aria_label="Weeks")[0]
    assert links(nav) == [
        "/calendar?week=2026-W52",
        "/calendar?week=2026-W48",  # "This week"
        "/calendar?week=2027-W01",
        "/calendar?month=2026-12",
        "/calendar?week=2026-W53",
    ]


def hours_per_day(p: Page, days: list[str]) -> list[int]:
    return [len(p.all("td", data_day=day)) for day in days]


def test_week_rows_follow_the_clock_change(leo: FlaskClient) -> None:
    spring = page(leo.get("/calendar?week=2026-W13"))  # Berlin: clocks go forward on Sun 29 Mar
    days = [f"2026-03-{d}" for d in range(23, 30)]
    assert hours_per_day(spring, days) == [24] * 6 + [23]
    assert not spring.all("td", data_day="2026-03-29", data_hour="02:00")
    assert "23 hours: clocks go forward" in spring.main_text

    autumn = page(leo.get("/calendar?week=2026-W43"))  # clocks go back on Sun 25 Oct
    days = [f"2026-10-{d}" for d in range(19, 26)]
    assert hours_per_day(autumn, days) == [24] * 6 + [25]
    assert autumn.all("td", data_day="2026-10-25", data_hour="02:00 CEST")
    assert autumn.all("td", data_day="2026-10-25", data_hour="02:00 CET")
    assert "25 hours: clocks go back" in autumn.main_text


def test_slots_in_the_repeated_hour_land_in_their_own_rows(app: Flask, clock: Clock) -> None:
    clock.set(clock.now.replace(month=10, day=1))
    bea = person(app, "bea", "UTC")
    # 00:00 and 01:00 UTC on 25 Oct are 02:00 CEST and then 02:00 CET in Berlin.
    publish(bea, start="00:00", end="02:00", minutes="60", day="2026-10-25")
    set_zone(app, "bea", "Europe/Berlin")

    week = page(bea.get("/calendar?week=2026-W43"))

    first = items(hour_cell(week, "2026-10-25", "02:00 CEST"))
    second = items(hour_cell(week, "2026-10-25", "02:00 CET"))
    assert first == ["Free slot: 02:00 CEST–02:00 CET Intro to Python"]
    assert second == ["Free slot: 02:00 CET–03:00 Intro to Python"]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("month=2026-13", "months run from 01 to 12"),
        ("month=soon", "YYYY-MM"),
        ("week=2027-W53", "2027 has no week 53"),
        ("week=1999-W01", "2000 to 2100"),
    ],
)
def test_a_bad_period_is_a_clear_400(leo: FlaskClient, query: str, message: str) -> None:
    response = leo.get(f"/calendar?{query}")
    assert response.status_code == 400
    assert message in page(response).main_text


# --- the profile's week --------------------------------------------------------------------


def test_profile_shows_this_week(app: Flask, leo: FlaskClient) -> None:
    busy = person(app, "sam", "UTC")
    publish(busy, start="10:00", end="11:00", day="2026-11-25")
    block = page(busy.get("/profile")).by_id("this-week")
    assert "Week 48: 23–29 November 2026" in block.text
    assert items(block) == ["Free slot: 10:00–11:00 Intro to Python"]
    assert "Wednesday 25 November 2026" in block.text
    assert "Nothing planned this week." in page(leo.get("/profile")).by_id("this-week").text


# --- store round trips ---------------------------------------------------------------------

CALENDAR_PAGES = ["/calendar", "/calendar?month=2026-11", "/calendar?week=2026-W48"]


@pytest.fixture(scope="module")
def communities(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[int, Community]]:
    """The communities of test_round_trips: 10 or 1,000 members around one viewer."""
    built: dict[int, Community] = {}
    try:
        for size in (SMALL, LARGE):
            folder: Path = tmp_path_factory.mktemp(f"calendar-community-{size}")
            built[size] = _community(folder, size)
        yield built
    finally:
        for community in built.values():
            community.store.close()


@pytest.mark.timeout(180)
def test_calendar_round_trips_do_not_grow_with_the_community(
    communities: dict[int, Community],
) -> None:
    for path in CALENDAR_PAGES:
        seen = {}
        for size, community in communities.items():
            community.store.reset()
            response = community.client.get(path)
            assert response.status_code == 200
            store = community.store
            seen[size] = (store.total, store.keys_read, store.summary())
            assert set(store.calls) <= {"get", "get_many"}, store.summary()  # reads only
            shown = page(response).main_text
            # The viewer's own sessions are there, by title and skill: teaching cookfan,
            # attending pyteacher1.
            if "2026-11" in path or path == "/calendar":
                assert "Cooking with viewer · Cooking with cookfan" in shown
                assert "Python with pyteacher1 · Python with pyteacher1" in shown
        assert seen[SMALL][:2] == seen[LARGE][:2], (path, seen)
        assert seen[LARGE][0] <= 3, (path, seen[LARGE][2])

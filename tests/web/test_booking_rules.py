"""A teacher's booking rules through the test client: the form on /profile (every message, what
was typed kept), every refusal a learner can meet when booking, matching and the booking page
never listing what the rules refuse, and late cancels marked on both dashboards and counted.

tess teaches Python from New York on Tue 1 Dec 2026, 09:00-11:00 local in one-hour sessions
(14:00 and 15:00 UTC); the clock stands at Mon 23 Nov 2026 12:00 UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient

from skillswap import services
from skillswap.domain.teacher_rules import TeacherRules
from skillswap.domain.times import parse_iso_utc
from tests.support.app_fixtures import Clock, csrf_token
from tests.web.test_bookings import (
    SLOT_RE,
    book,
    booked_id,
    cancel,
    free_slots,
    schedule,
    set_rules,
    text,
    uid,
)


def rules_of(app: Flask, username: str):
    return schedule(app, username).teacher_rules


def post_rules(client: FlaskClient, **fields: str):
    data = {
        "notice_hours": "2",
        "buffer_minutes": "0",
        "daily_cap": "",
        "cancel_hours": "24",
        "csrf_token": csrf_token(client, "/profile"),
    }
    data.update(fields)
    return client.post("/profile/booking-rules", data=data)


# --- the form ------------------------------------------------------------------------------


def test_the_profile_editing_page_shows_the_default_rules(tess: FlaskClient) -> None:
    html = tess.get("/profile/edit").get_data(as_text=True)
    page = text(tess.get("/profile/edit"))
    assert "Your booking rules" in page
    assert 'name="notice_hours" type="text" value="2"' in html
    assert 'name="buffer_minutes" type="text" value="0"' in html
    assert 'name="daily_cap" type="text" value=""' in html
    assert 'name="cancel_hours" type="text" value="24"' in html
    assert "Days in your time zone (America/New_York). Leave empty for no limit" in page


def test_saving_rules_keeps_them_in_the_teachers_schedule(app: Flask, tess: FlaskClient) -> None:
    response = post_rules(tess, notice_hours="12", buffer_minutes="15", daily_cap="3")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/profile/edit#booking-rules")
    assert "Your booking rules are saved." in text(tess.get("/profile/edit"))
    rules = rules_of(app, "tess")
    assert (rules.notice_hours, rules.buffer_minutes, rules.daily_cap, rules.cancel_hours) == (
        12,
        15,
        3,
        24,
    )
    assert rules.zone == "America/New_York"
    html = tess.get("/profile/edit").get_data(as_text=True)
    assert 'name="daily_cap" type="text" value="3"' in html


@pytest.mark.parametrize(
    ("field", "typed", "message"),
    [
        ("notice_hours", "two", "Enter whole hours from 0 to 720 (30 days)"),
        ("notice_hours", "721", "Enter whole hours from 0 to 720 (30 days)"),
        ("notice_hours", "", "Enter whole hours from 0 to 720 (30 days)"),
        ("buffer_minutes", "-5", "Enter whole minutes from 0 to 240 (4 hours)"),
        ("buffer_minutes", "241", "Enter whole minutes from 0 to 240 (4 hours)"),
        ("buffer_minutes", "1.5", "Enter whole minutes from 0 to 240 (4 hours)"),
        ("daily_cap", "25", "Enter a number of sessions from 1 to 24, or leave it empty"),
        ("daily_cap", "٣", "Enter a number of sessions from 1 to 24, or leave it empty"),
        ("cancel_hours", "1000", "Enter whole hours from 0 to 720 (30 days)"),
    ],
)
def test_each_bad_value_is_refused_next_to_its_field_and_kept(
    app: Flask, tess: FlaskClient, field: str, typed: str, message: str
) -> None:
    others = {"notice_hours": "5", "buffer_minutes": "10", "daily_cap": "4", "cancel_hours": "6"}
    others[field] = typed
    response = post_rules(tess, **others)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert f'<p class="error" id="{field}-error">{message}' in html
    for name, value in others.items():
        assert f'name="{name}" type="text" value="{value}"' in html
    assert "Please fix this problem" in text(response)
    assert "<title>Error: " in html
    assert rules_of(app, "tess") == TeacherRules()  # nothing saved


def test_rules_without_a_csrf_token_are_not_saved_and_the_values_kept(
    app: Flask, tess: FlaskClient
) -> None:
    response = tess.post(
        "/profile/booking-rules",
        data={"notice_hours": "9", "buffer_minutes": "0", "daily_cap": "", "cancel_hours": "1"},
    )
    assert response.status_code == 400
    assert "This form had expired, so nothing was saved." in text(response)
    assert 'name="notice_hours" type="text" value="9"' in response.get_data(as_text=True)
    assert rules_of(app, "tess").notice_hours == 2


def test_a_new_profile_zone_moves_the_daily_cap_to_it(app: Flask, tess: FlaskClient) -> None:
    set_rules(tess, cap="2")
    response = tess.post(
        "/profile",
        data={
            "csrf_token": csrf_token(tess, "/profile"),
            "display_name": "",
            "bio": "",
            "teach": "Python",
            "learn": "",
            "links": "",
            "timezone": "Asia/Tokyo",
        },
    )
    assert response.status_code == 302
    assert rules_of(app, "tess").zone == "Asia/Tokyo"


# --- refusals when booking -----------------------------------------------------------------


def test_minimum_notice_refuses_a_booking_and_hides_the_slot(
    app: Flask, clock: Clock, tess: FlaskClient, leo: FlaskClient
) -> None:
    first = free_slots(leo, "tess")[0]  # leo opens the page, then tess asks for more notice
    set_rules(tess, notice="200")
    response = book(leo, "tess", first)
    assert response.status_code == 409
    page = text(response)
    assert "This teacher takes bookings at least 200 hours ahead: pick a later time." in page
    assert "tess has no free times for Python right now." in page
    assert schedule(app, "tess").bookings == {} and schedule(app, "leo").bookings == {}
    assert "No free times right now." in text(leo.get("/user/tess"))


def test_the_default_notice_is_two_hours(
    app: Flask, clock: Clock, tess: FlaskClient, leo: FlaskClient
) -> None:
    first, second = free_slots(leo, "tess")
    clock.set(datetime(2026, 12, 1, 12, 1, tzinfo=UTC))  # 1 h 59 before the first
    assert free_slots(leo, "tess") == [second]
    response = book(leo, "tess", first)
    assert response.status_code == 409
    assert "This teacher takes bookings at least 2 hours ahead: pick a later time." in text(
        response
    )
    clock.set(datetime(2026, 12, 1, 12, 0, tzinfo=UTC))  # exactly two hours before
    assert free_slots(leo, "tess") == [first, second]
    booked_id(book(leo, "tess", first))


def test_the_buffer_refuses_a_session_right_after_another(
    app: Flask, tess: FlaskClient, leo: FlaskClient, xia: FlaskClient
) -> None:
    first, second = free_slots(leo, "tess")
    booked_id(book(leo, "tess", first))
    set_rules(tess, buffer="30")
    assert free_slots(xia, "tess") == []
    response = book(xia, "tess", second)
    assert response.status_code == 409
    assert (
        "This teacher keeps 30 minutes free before and after each session, and that time is "
        "too close to another one." in text(response)
    )
    assert schedule(app, "xia").bookings == {}


def test_the_daily_cap_refuses_a_session_once_the_day_is_full(
    app: Flask, tess: FlaskClient, leo: FlaskClient, xia: FlaskClient
) -> None:
    first, second = free_slots(leo, "tess")
    booked_id(book(leo, "tess", first))
    set_rules(tess, cap="1")
    response = book(xia, "tess", second)
    assert response.status_code == 409
    assert (
        "This teacher teaches at most 1 session a day, and that day is full: pick another day."
        in text(response)
    )
    assert SLOT_RE.findall(response.get_data(as_text=True)) == []
    assert schedule(app, "xia").bookings == {}


def test_matching_never_lists_a_slot_the_rules_refuse(
    app: Flask, tess: FlaskClient, leo: FlaskClient
) -> None:
    repo = app.extensions["skillswap.repo"]
    window = [(parse_iso_utc("2026-12-01T13:00:00Z"), parse_iso_utc("2026-12-01T17:00:00Z"))]

    def found() -> list[str]:
        matches = services.matching.find_teachers(repo, "python", window, "either", uid(app, "leo"))
        return [slot.id for match in matches for _, slot in match.slots]

    assert len(found()) == 2
    set_rules(tess, cap="1")
    assert len(found()) == 2  # nothing booked yet: the cap is not reached
    booked_id(book(leo, "tess", free_slots(leo, "tess")[0]))
    assert found() == []
    set_rules(tess, notice="2", cap="")
    assert len(found()) == 1
    set_rules(tess, notice="300")
    assert found() == []


# --- late cancels --------------------------------------------------------------------------


@pytest.mark.parametrize("canceller", ["leo", "tess"])
def test_a_late_cancel_is_allowed_marked_on_both_dashboards_and_counted(
    app: Flask,
    clock: Clock,
    tess: FlaskClient,
    leo: FlaskClient,
    xia: FlaskClient,
    session: str,
    canceller: str,
) -> None:
    clients = {"tess": tess, "leo": leo}
    other = "leo" if canceller == "tess" else "tess"
    clock.set(datetime(2026, 12, 1, 14, tzinfo=UTC) - timedelta(hours=3))
    # Warned first, as a move is (an outside probe found the cancel page said nothing).
    warning = "past its cancel deadline: a cancel now is marked late on both dashboards"
    assert warning in text(clients[canceller].get(f"/booking/{session}/cancel"))
    assert cancel(clients[canceller], session, "flat tyre").status_code == 302
    assert "Cancelled late by you: “flat tyre”" in text(clients[canceller].get("/dashboard"))
    seen = text(clients[other].get("/dashboard"))
    assert f"Cancelled late by {canceller}: “flat tyre”" in seen
    assert "Late" in seen
    assert "after its cancel deadline" in text(clients[other].get("/notifications"))
    assert "1 late cancellation in the last 90 days" in text(xia.get(f"/user/{canceller}"))
    assert "1 late cancellation in the last 90 days" in text(clients[canceller].get("/profile"))
    assert "in the last 90 days" not in text(xia.get(f"/user/{other}"))
    # Shown for 90 days (by whole weeks), then no more.
    clock.advance(days=97)
    assert "in the last 90 days" not in text(xia.get(f"/user/{canceller}"))


def test_a_cancel_before_the_deadline_is_not_late(
    app: Flask, clock: Clock, tess: FlaskClient, leo: FlaskClient, xia: FlaskClient, session: str
) -> None:
    clock.set(datetime(2026, 12, 1, 14, tzinfo=UTC) - timedelta(hours=24))
    assert "cancel deadline" not in text(leo.get(f"/booking/{session}/cancel"))
    assert cancel(leo, session).status_code == 302
    assert "Cancelled by you" in text(leo.get("/dashboard"))
    seen = text(tess.get("/dashboard"))
    assert "Cancelled by leo" in seen and "Cancelled late" not in seen
    assert "in the last 90 days" not in text(xia.get("/user/leo"))


def test_the_deadline_agreed_at_booking_holds_after_the_rule_changes(
    app: Flask, clock: Clock, tess: FlaskClient, leo: FlaskClient, session: str
) -> None:
    set_rules(tess, deadline="0")  # after leo booked with the 24-hour deadline
    assert [b.cancel_hours for b in schedule(app, "leo").bookings.values()] == [24]
    clock.set(datetime(2026, 12, 1, 12, tzinfo=UTC))
    assert cancel(leo, session).status_code == 302
    assert "Cancelled late by you" in text(leo.get("/dashboard"))

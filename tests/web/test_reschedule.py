"""Rescheduling through the test client: moving a session to another free time of the same
teacher and skill, as the learner and as the teacher, every refusal with what was typed kept,
a form sent twice, lateness, the calendar's SEQUENCE, and crashes between the steps.

tess teaches Python from New York on Tue 1 Dec 2026: 09:00-11:00 and 12:00-14:00 local in
one-hour sessions (14:00, 15:00, 17:00 and 18:00 UTC); leo (Berlin) booked 09:00 New York.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient
from icalendar import Calendar

from skillswap.domain.reschedule import CHANGED, SAME_TIME
from tests.support.app_fixtures import Clock, csrf_token
from tests.support.faulty_store import Crash, FaultyStore
from tests.web.test_bookings import (
    SLOT_RE,
    book,
    booked_id,
    cancel,
    free_slots,
    location,
    person,
    publish,
    schedule,
    set_rules,
    text,
)
from tests.web.test_faults import assert_consistent, past_grace

SEQUENCE_RE = re.compile(r'name="sequence" type="hidden" value="(\d+)"')
FIRST = "2026-12-01T14:00:00Z"
NOON_NY = "2026-12-01T17:00:00Z"  # 12:00 in New York, 18:00 in Berlin


def path(booking_id: str) -> str:
    return f"/booking/{booking_id}/reschedule"


def offered(client: FlaskClient, booking_id: str) -> list[str]:
    """The new times the reschedule page offers, as radio values."""
    response = client.get(path(booking_id))
    assert response.status_code == 200, text(response)[-1500:]
    return SLOT_RE.findall(response.get_data(as_text=True))


def form_of(client: FlaskClient, booking_id: str) -> dict[str, str]:
    """The hidden fields of the reschedule form, as a browser would send them back."""
    html = client.get(path(booking_id)).get_data(as_text=True)
    match = SEQUENCE_RE.search(html)
    assert match, "no sequence on the reschedule page"
    return {"csrf_token": csrf_token(client, path(booking_id)), "sequence": match.group(1)}


def move(client: FlaskClient, booking_id: str, slot: str, message: str = "", form=None):
    data = dict(form or form_of(client, booking_id))
    data.update(slot=slot, message=message)
    return client.post(path(booking_id), data=data)


def slot_at(app: Flask, start: str) -> str:
    """The "offer:slot" value of tess's slot starting at `start` (UTC)."""
    for offer in schedule(app, "tess").offers.values():
        for s in offer.slots:
            if s.start == start:
                return f"{offer.id}:{s.id}"
    raise AssertionError(start)


def copies(app: Flask, booking_id: str) -> list:
    return [schedule(app, name).bookings[booking_id] for name in ("tess", "leo")]


@pytest.fixture
def session(tess: FlaskClient, leo: FlaskClient) -> str:
    """leo booked 14:00-15:00 UTC; tess also offers 12:00-14:00 New York."""
    publish(tess, "12:00", "14:00", title="Python afternoon")
    return booked_id(book(leo, "tess", free_slots(leo, "tess")[0]))


# --- the page and a move -------------------------------------------------------------------


def test_the_dashboard_offers_a_reschedule_for_upcoming_sessions(
    leo: FlaskClient, tess: FlaskClient, session: str
) -> None:
    for client in (leo, tess):
        assert f'href="{path(session)}"' in client.get("/dashboard").get_data(as_text=True)
    page = text(leo.get(path(session)))
    assert "Move this session to another time" in page
    assert "Now: Tue 1 Dec 2026, 15:00–16:00 (Europe/Berlin)" in page
    assert "New time (in Europe/Berlin)" in page
    assert "Tue 1 Dec 2026, 16:00–17:00 (Europe/Berlin) · Online · Intro to Python" in page
    # A time of another offer says so (its length may differ: an outside walkthrough).
    assert "Tue 1 Dec 2026, 18:00–19:00 (Europe/Berlin) · Online · Python afternoon" in page
    # Its own time is not offered as a new one.
    assert len(offered(leo, session)) == 3


def test_a_busy_teachers_times_come_a_page_at_a_time(
    app: Flask, leo: FlaskClient, tess: FlaskClient, session: str
) -> None:
    """The page listed every free time of the teacher's at once: hundreds of radio buttons
    for a busy one (an outside probe saw 77)."""
    publish(tess, "00:00", "23:30", "30", day="2026-12-02")  # 47 more: 50 in all
    first = leo.get(path(session)).get_data(as_text=True)
    first_times = offered(leo, session)
    assert len(first_times) == 40
    later = re.search(r'href="([^"]*after=[^"]*)">Later times', first)
    assert later and "First times" not in first
    second = leo.get(later.group(1).replace("&amp;", "&"))
    second_times = SLOT_RE.findall(second.get_data(as_text=True))
    assert len(second_times) == 10 and "First times" in text(second)
    every = first_times + second_times
    assert len(set(every)) == 50 and slot_at(app, FIRST) not in every  # its own time is not
    assert move(leo, session, second_times[-1]).status_code == 302


def test_the_learner_moves_the_session_and_the_teacher_is_told_in_their_zone(
    app: Flask, leo: FlaskClient, tess: FlaskClient, session: str
) -> None:
    response = move(leo, session, slot_at(app, NOON_NY), "Work ran late, sorry")
    assert response.status_code == 302
    assert location(response) == f"/dashboard#booking-{session}"
    page = text(leo.get("/dashboard"))
    assert (
        "Moved: Python with tess is now Tue 1 Dec 2026, 18:00–19:00 (Europe/Berlin). "
        "tess has been told." in page
    )
    assert "Moved by you from Tue 1 Dec 2026, 15:00–16:00 (Europe/Berlin)" in page

    # One session, the same id, in both documents: the new time and a higher sequence.
    for copy in copies(app, session):
        assert (copy.start, copy.end, copy.sequence, copy.status) == (
            NOON_NY,
            "2026-12-01T18:00:00Z",
            1,
            "confirmed",
        )
        assert not copy.moving
    assert len(schedule(app, "leo").bookings) == len(schedule(app, "tess").bookings) == 1

    teacher_page = text(tess.get("/dashboard"))
    assert "Tue 1 Dec 2026, 12:00–13:00 (America/New_York)" in teacher_page
    assert "Moved by leo from Tue 1 Dec 2026, 09:00–10:00 (America/New_York)" in teacher_page
    assert (
        "leo moved “Intro to Python” (Python) from "
        "Tue 1 Dec 2026, 09:00–10:00 (America/New_York) to "
        "Tue 1 Dec 2026, 12:00–13:00 (America/New_York): “Work ran late, sorry”"
    ) in text(tess.get("/notifications"))
    # The old time is free again; the new one is taken.
    free = free_slots(leo, "tess")
    assert slot_at(app, FIRST) in free and slot_at(app, NOON_NY) not in free


def test_the_teacher_moves_it_and_the_learner_is_told_in_theirs(
    app: Flask, leo: FlaskClient, tess: FlaskClient, session: str
) -> None:
    assert move(tess, session, slot_at(app, NOON_NY)).status_code == 302
    assert "Moved: Python with leo is now Tue 1 Dec 2026, 12:00–13:00 (America/New_York)" in (
        text(tess.get("/dashboard"))
    )
    assert (
        "tess moved “Intro to Python” (Python) from "
        "Tue 1 Dec 2026, 15:00–16:00 (Europe/Berlin) to "
        "Tue 1 Dec 2026, 18:00–19:00 (Europe/Berlin)."
    ) in text(leo.get("/notifications"))
    assert "Moved by tess from" in text(leo.get("/dashboard"))
    assert [c.start for c in copies(app, session)] == [NOON_NY, NOON_NY]


def test_a_move_to_an_overlapping_time_works(
    app: Flask, leo: FlaskClient, tess: FlaskClient, session: str
) -> None:
    # A second offer 09:30-10:30 New York overlaps the session's own 09:00-10:00.
    publish(tess, "09:30", "10:30", minutes="", title="Python Q&A")
    shifted = slot_at(app, "2026-12-01T14:30:00Z")
    assert shifted in offered(leo, session)
    assert move(leo, session, shifted).status_code == 302
    assert [c.start for c in copies(app, session)] == ["2026-12-01T14:30:00Z"] * 2


def test_the_calendar_keeps_the_uid_and_raises_the_sequence(
    app: Flask, leo: FlaskClient, session: str
) -> None:
    assert move(leo, session, slot_at(app, NOON_NY)).status_code == 302
    [event] = Calendar.from_ical(leo.get(f"/booking/{session}.ics").get_data()).walk("VEVENT")
    assert event.uid == f"booking-{session}@skillswap"
    assert event.sequence == 1
    assert event.start == datetime(2026, 12, 1, 17, tzinfo=UTC)
    assert cancel(leo, session).status_code == 302
    [event] = Calendar.from_ical(leo.get(f"/booking/{session}.ics").get_data()).walk("VEVENT")
    assert (event.status, event.sequence) == ("CANCELLED", 2)


# --- sending the same form twice -----------------------------------------------------------


def test_sending_the_form_twice_moves_once(
    app: Flask, leo: FlaskClient, tess: FlaskClient, session: str
) -> None:
    form = form_of(leo, session)
    target = slot_at(app, NOON_NY)
    assert move(leo, session, target, form=form).status_code == 302
    again = move(leo, session, target, form=form)  # the back button, or a double click
    assert again.status_code == 302
    assert [(c.start, c.sequence) for c in copies(app, session)] == [(NOON_NY, 1)] * 2
    assert len(schedule(app, "tess").bookings) == 1
    # The teacher was told once.
    assert text(tess.get("/notifications")).count("leo moved “Intro to Python”") == 1


def test_an_old_form_to_another_time_is_refused_and_shows_the_session_as_it_is(
    app: Flask, leo: FlaskClient, tess: FlaskClient, session: str
) -> None:
    stale = form_of(leo, session)
    assert move(tess, session, slot_at(app, NOON_NY)).status_code == 302  # tess moved it
    response = move(leo, session, slot_at(app, "2026-12-01T15:00:00Z"), "see you", form=stale)
    assert response.status_code == 409
    page = text(response)
    assert CHANGED in page
    assert "Now: Tue 1 Dec 2026, 18:00–19:00 (Europe/Berlin)" in page
    assert "see you" in page
    assert SEQUENCE_RE.search(response.get_data(as_text=True)).group(1) == "1"
    assert [c.start for c in copies(app, session)] == [NOON_NY, NOON_NY]


# --- refusals, with what was typed kept ----------------------------------------------------


def test_no_time_picked_or_a_long_message_is_refused_with_the_message_kept(
    app: Flask, leo: FlaskClient, session: str
) -> None:
    response = move(leo, session, "", "Kept & <escaped>")
    assert response.status_code == 400
    assert "New time: Pick a new time" in text(response)
    assert "Kept &amp; &lt;escaped&gt;" in response.get_data(as_text=True)

    target = slot_at(app, NOON_NY)
    response = move(leo, session, target, "x" * 501)
    assert response.status_code == 400
    assert "Keep the message to 500 characters" in text(response)
    assert f'value="{target}" checked' in response.get_data(as_text=True)
    assert [c.start for c in copies(app, session)] == [FIRST, FIRST]


def test_without_a_csrf_token_nothing_moves_and_the_choice_is_kept(
    app: Flask, leo: FlaskClient, session: str
) -> None:
    target = slot_at(app, NOON_NY)
    response = leo.post(path(session), data={"slot": target, "message": "hi", "sequence": "0"})
    assert response.status_code == 400
    assert "This form had expired, so nothing was saved." in text(response)
    assert f'value="{target}" checked' in response.get_data(as_text=True)
    assert [c.start for c in copies(app, session)] == [FIRST, FIRST]


def test_a_time_taken_meanwhile_is_refused_and_the_session_stays(
    app: Flask, leo: FlaskClient, xia: FlaskClient, session: str
) -> None:
    target = slot_at(app, NOON_NY)
    form = form_of(leo, session)
    booked_id(book(xia, "tess", target))  # while leo has the page open
    response = move(leo, session, target, "later?", form=form)
    assert response.status_code == 409
    assert "That time was just booked by someone else." in text(response)
    assert target not in SLOT_RE.findall(response.get_data(as_text=True))
    assert "later?" in text(response)
    assert [c.start for c in copies(app, session)] == [FIRST, FIRST]
    assert not schedule(app, "leo").bookings[session].moving


def test_the_learner_busy_then_is_refused_in_their_words(
    app: Flask, leo: FlaskClient, tess: FlaskClient, session: str
) -> None:
    ola = person(app, "ola", "UTC")
    publish(ola, "16:30", "17:30", minutes="", skill="Chess", title="Chess")
    target = slot_at(app, NOON_NY)
    form, tess_form = form_of(leo, session), form_of(tess, session)
    booked_id(book(leo, "ola", free_slots(leo, "ola", "chess")[0], "chess"))
    assert target not in offered(leo, session)  # leo is busy then: not offered to leo
    response = move(leo, session, target, form=form)
    assert response.status_code == 409
    assert "At that time you are already in a session (Chess with ola)." in text(response)
    # The teacher is told without the learner's other session being given away.
    response = move(tess, session, target, form=tess_form)
    assert response.status_code == 409
    assert "At that time leo is already in another session: pick another time." in text(response)
    assert "Chess" not in text(response)
    assert [c.start for c in copies(app, session)] == [FIRST, FIRST]


def test_the_teacher_busy_through_another_offer_is_refused(
    app: Flask, leo: FlaskClient, xia: FlaskClient, tess: FlaskClient, session: str
) -> None:
    publish(tess, "12:30", "13:30", minutes="", title="Python Q&A")
    target = slot_at(app, "2026-12-01T17:30:00Z")
    form = form_of(leo, session)
    booked_id(book(xia, "tess", slot_at(app, NOON_NY)))
    response = move(leo, session, target, form=form)
    assert response.status_code == 409
    assert "At that time the teacher is already in a session" in text(response)
    assert [c.start for c in copies(app, session)] == [FIRST, FIRST]


def test_the_teachers_rules_refuse_a_move_and_the_page_never_offers_it(
    app: Flask, clock: Clock, leo: FlaskClient, tess: FlaskClient, session: str
) -> None:
    target = slot_at(app, NOON_NY)
    form, tess_form = form_of(leo, session), form_of(tess, session)
    set_rules(tess, notice="200")  # 200 hours: nothing on 1 Dec can be booked from 23 Nov
    assert offered(leo, session) == []
    assert "tess has no other free time for Python right now." in text(leo.get(path(session)))
    response = move(leo, session, target, form=form)
    assert response.status_code == 409
    assert "This teacher takes bookings at least 200 hours ahead: pick a later time." in text(
        response
    )
    response = move(tess, session, target, form=tess_form)
    assert "Your booking rules take bookings at least 200 hours ahead" in text(response)
    assert [c.start for c in copies(app, session)] == [FIRST, FIRST]


def test_the_session_itself_does_not_count_for_the_buffer_or_the_cap(
    app: Flask, leo: FlaskClient, tess: FlaskClient, session: str
) -> None:
    set_rules(tess, buffer="60", cap="1")
    # Booked 09:00 New York: with a one-hour buffer and one session a day, nothing else of
    # that day could be booked, yet the session itself may move to any of them.
    assert len(offered(leo, session)) == 3
    assert move(leo, session, slot_at(app, NOON_NY)).status_code == 302


def test_an_unknown_time_or_the_same_time_is_refused(
    app: Flask, leo: FlaskClient, session: str
) -> None:
    response = move(leo, session, "nope:2026-12-01T0300-0400")
    assert response.status_code == 409
    assert "That time is no longer offered. Pick one of the free times below." in text(response)
    response = move(leo, session, slot_at(app, FIRST))
    assert response.status_code == 409
    assert SAME_TIME in text(response)


def test_a_cancelled_or_started_session_cannot_be_moved(
    app: Flask, clock: Clock, leo: FlaskClient, tess: FlaskClient, session: str
) -> None:
    form = form_of(leo, session)
    clock.set(datetime(2026, 12, 1, 14, 10, tzinfo=UTC))
    response = move(leo, session, slot_at(app, NOON_NY), form=form)
    assert response.status_code == 409
    assert "This session has started, so it can no longer be moved." in text(response)
    assert "This session has started" in text(leo.get(path(session)))

    clock.set(datetime(2026, 11, 23, 12, tzinfo=UTC))
    assert cancel(tess, session).status_code == 302
    page = text(leo.get(path(session)))
    assert "This session was cancelled, so it cannot be moved." in page
    assert "Confirm new time" not in page
    response = move(leo, session, slot_at(app, NOON_NY), form=form)
    assert response.status_code == 409
    assert "This session was cancelled, so it cannot be moved." in text(response)
    assert [c.start for c in copies(app, session)] == [FIRST, FIRST]
    assert "Reschedule…" not in text(leo.get("/dashboard"))


def test_someone_else_cannot_see_or_move_a_session(
    app: Flask, xia: FlaskClient, session: str
) -> None:
    assert xia.get(path(session)).status_code == 403
    data = {"csrf_token": csrf_token(xia, "/logout"), "slot": "a:b", "sequence": "0"}
    assert xia.post(path(session), data=data).status_code == 403
    assert [c.start for c in copies(app, session)] == [FIRST, FIRST]


# --- late moves ----------------------------------------------------------------------------


def test_a_move_inside_the_cancel_deadline_is_marked_late_like_a_late_cancel(
    app: Flask, clock: Clock, leo: FlaskClient, tess: FlaskClient, xia: FlaskClient, session: str
) -> None:
    clock.set(datetime(2026, 12, 1, 6, tzinfo=UTC))  # 8 hours before; the deadline is 24
    assert "past its cancel deadline" in text(leo.get(path(session)))
    assert move(leo, session, slot_at(app, NOON_NY), "sorry").status_code == 302
    for client in (leo, tess):
        assert "Late" in text(client.get("/dashboard"))
    assert "Moved late by you from" in text(leo.get("/dashboard"))
    assert "Moved late by leo from" in text(tess.get("/dashboard"))
    assert "after its cancel deadline" in text(tess.get("/notifications"))
    assert "1 late reschedule in the last 90 days" in text(xia.get("/user/leo"))
    assert "in the last 90 days" not in text(xia.get("/user/tess"))


# --- crashes between the steps -------------------------------------------------------------


def _scene(fapp: Flask) -> tuple[FlaskClient, FlaskClient, str, str]:
    tess, leo = person(fapp, "tess", "America/New_York"), person(fapp, "leo", "Europe/Berlin")
    publish(tess)
    publish(tess, "12:00", "14:00", title="Python afternoon")
    booking_id = booked_id(book(leo, "tess", free_slots(leo, "tess")[0]))
    return tess, leo, booking_id, slot_at(fapp, NOON_NY)


@pytest.mark.parametrize(
    ("after", "settles_to"),
    [pytest.param(1, FIRST, id="after-hold"), pytest.param(2, NOON_NY, id="after-move")],
)
def test_a_crash_between_the_steps_is_settled_on_the_learners_next_read(
    fapp: Flask,
    faulty: FaultyStore,
    clock: Clock,
    after: int,
    settles_to: str,
) -> None:
    tess, leo, booking_id, target = _scene(fapp)
    form = form_of(leo, booking_id)
    faulty.crash_on("update", after, after=True, key_prefix="schedule/")
    with pytest.raises(Crash):
        move(leo, booking_id, target, form=form)
    faulty.revive()
    assert schedule(fapp, "leo").bookings[booking_id].moving  # the new time held
    # Within the grace period a second move waits for the first.
    response = move(leo, booking_id, slot_at(fapp, "2026-12-01T18:00:00Z"))
    assert response.status_code == 409
    assert "being moved right now" in text(response)

    past_grace(clock)
    assert leo.get("/dashboard").status_code == 200  # the read that settles it
    assert [c.start for c in copies(fapp, booking_id)] == [settles_to, settles_to]
    assert not schedule(fapp, "leo").bookings[booking_id].moving
    assert_consistent(fapp, "tess", "leo")
    assert tess.get("/dashboard").status_code == 200


def test_an_outage_on_the_teachers_side_leaves_the_session_as_it_was(
    fapp: Flask,
    faulty: FaultyStore,
    clock: Clock,
) -> None:
    _tess, leo, booking_id, target = _scene(fapp)
    form = form_of(leo, booking_id)
    faulty.fail_on("update", 2, key_prefix="schedule/")  # the teacher's step never arrives
    response = move(leo, booking_id, target, form=form)
    assert response.status_code == 503
    past_grace(clock)
    leo.get("/dashboard")
    assert [c.start for c in copies(fapp, booking_id)] == [FIRST, FIRST]
    assert_consistent(fapp, "tess", "leo")
    # And the same form goes through once the store is back.
    assert move(leo, booking_id, target, form=form_of(leo, booking_id)).status_code == 302
    assert [c.start for c in copies(fapp, booking_id)] == [NOON_NY, NOON_NY]

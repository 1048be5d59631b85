"""Booking, cancelling and rating through the test client, as the people involved see it."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from skillswap.web.common import ZONE_COOKIE
from tests.support.app_fixtures import AuthActions, Clock, csrf_token
from tests.web.test_profile import post_profile

# The teacher is in New York, the learner in Berlin, the third person in Tokyo.
DAY = "2026-12-01"
SLOT_RE = re.compile(r'name="slot" value="([^"]+)"')
BOOKING_RE = re.compile(r"#booking-([0-9a-f]+)")


def text(response) -> str:
    """What a person reads: tags dropped, entities decoded, spaces collapsed."""
    body = response.get_data(as_text=True)
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", body, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def location(response) -> str:
    parts = urlsplit(response.headers["Location"])
    return (
        parts.path
        + (f"?{parts.query}" if parts.query else "")
        + (f"#{parts.fragment}" if parts.fragment else "")
    )


def person(app: Flask, username: str, timezone: str) -> FlaskClient:
    client = app.test_client()
    response = AuthActions(client).signup(username, timezone=timezone)
    assert response.status_code == 302, response.get_data(as_text=True)[-2000:]
    return client


def publish(
    client: FlaskClient,
    start: str = "09:00",
    end: str = "11:00",
    minutes: str = "60",
    skill: str = "Python",
    title: str = "Intro to Python",
    day: str = DAY,
) -> None:
    response = client.post(
        "/offer",
        data={
            "csrf_token": csrf_token(client, "/offer"),
            "title": title,
            "skill": skill,
            "description": "",
            "mode": "online",
            "dates-0": day,
            "ranges-0-start": start,
            "ranges-0-end": end,
            "session_minutes": minutes,
        },
    )
    assert response.status_code == 302, text(response)[-2000:]


def free_slots(client: FlaskClient, teacher: str, skill: str = "python") -> list[str]:
    response = client.get(f"/book/{teacher}?skill={skill}")
    assert response.status_code == 200
    return SLOT_RE.findall(response.get_data(as_text=True))


def book(client: FlaskClient, teacher: str, slot: str, skill: str = "python"):
    return client.post(
        f"/book/{teacher}",
        data={"csrf_token": csrf_token(client, "/logout"), "skill": skill, "slot": slot},
    )


def booked_id(response) -> str:
    assert response.status_code == 302, text(response)[-2000:]
    match = BOOKING_RE.search(response.headers["Location"])
    assert match, response.headers["Location"]
    return match.group(1)


def cancel(client: FlaskClient, booking_id: str, reason: str = ""):
    path = f"/booking/{booking_id}/cancel"
    # The token from the logout page: a cancelled session's page has no form to take it from.
    token = csrf_token(client, "/logout")
    return client.post(path, data={"csrf_token": token, "reason": reason})


def rate(client: FlaskClient, booking_id: str, rating: str, feedback: str = ""):
    path = f"/booking/{booking_id}/review"
    token = csrf_token(client, path)
    return client.post(path, data={"csrf_token": token, "rating": rating, "feedback": feedback})


def uid(app: Flask, username: str) -> str:
    return app.extensions["skillswap.repo"].find_user(username).id


def schedule(app: Flask, username: str):
    return app.extensions["skillswap.repo"].schedule(uid(app, username))


def active(app: Flask, username: str) -> list:
    return [b for b in schedule(app, username).bookings.values() if b.active]


def set_rules(
    client: FlaskClient, notice: str = "2", buffer: str = "0", cap: str = "", deadline: str = "24"
):
    """Save booking rules through the form on /profile (the defaults unless given)."""
    response = client.post(
        "/profile/booking-rules",
        data={
            "csrf_token": csrf_token(client, "/profile"),
            "notice_hours": notice,
            "buffer_minutes": buffer,
            "daily_cap": cap,
            "cancel_hours": deadline,
        },
    )
    assert response.status_code == 302, text(response)[-2000:]
    return response


def stats_text(response) -> str:
    """The three stats lines, as read."""
    body = response.get_data(as_text=True)
    lines = re.findall(r'<p class="stat">(.*?)</p>', body, flags=re.S)
    return " | ".join(" ".join(re.sub(r"<[^>]+>", " ", line).split()) for line in lines)


@pytest.fixture
def tess(app: Flask) -> FlaskClient:
    """A teacher in New York with one offer: 1 Dec 09:00-11:00 in 60-minute sessions."""
    client = person(app, "tess", "America/New_York")
    publish(client)
    return client


@pytest.fixture
def leo(app: Flask) -> FlaskClient:
    return person(app, "leo", "Europe/Berlin")


@pytest.fixture
def xia(app: Flask) -> FlaskClient:
    return person(app, "xia", "Asia/Tokyo")


@pytest.fixture
def session(tess: FlaskClient, leo: FlaskClient) -> str:
    """leo booked tess's first slot: 1 Dec 14:00-15:00 UTC."""
    slots = free_slots(leo, "tess")
    return booked_id(book(leo, "tess", slots[0]))


# --- booking -------------------------------------------------------------------------------


def test_booking_shows_on_both_dashboards_in_each_viewers_zone(
    app: Flask, tess: FlaskClient, leo: FlaskClient
) -> None:
    slots = free_slots(leo, "tess")
    assert len(slots) == 2
    response = book(leo, "tess", slots[0])
    bid = booked_id(response)
    assert location(response).startswith("/dashboard")

    learner_view = text(leo.get("/dashboard"))
    assert "Booked: Python with tess" in learner_view
    assert "Python with tess" in learner_view
    assert "Tue 1 Dec 2026, 15:00–16:00 (Europe/Berlin)" in learner_view
    assert "No upcoming sessions to teach." in learner_view

    teacher_view = tess.get("/dashboard").get_data(as_text=True)
    assert f'id="booking-{bid}"' in teacher_view
    teacher_text = text(tess.get("/dashboard"))
    assert "Python with leo" in teacher_text
    assert "Tue 1 Dec 2026, 09:00–10:00 (America/New_York)" in teacher_text
    assert "No upcoming sessions booked." in teacher_text

    # Both documents hold the same confirmed booking.
    for name in ("tess", "leo"):
        [b] = schedule(app, name).bookings.values()
        assert (b.id, b.status, b.start, b.end) == (
            bid,
            "confirmed",
            "2026-12-01T14:00:00Z",
            "2026-12-01T15:00:00Z",
        )
    # The booked slot is no longer offered.
    assert free_slots(leo, "tess") == slots[1:]


def test_a_time_booked_for_another_skill_the_teacher_teaches_is_named_by_that_skill(
    app: Flask,
) -> None:
    """A teacher's published time is bookable for every skill they teach. Booked for Chess,
    a Python offer's time was titled "Chess with tess": shown as "Chess with tess · Chess",
    and to tess as a session named after herself."""
    tess = person(app, "tess", "UTC")
    publish(tess)  # Intro to Python, 09:00-11:00
    publish(tess, "14:00", "15:00", skill="Chess", title="Chess openings")
    leo = person(app, "leo", "UTC")
    python_time = free_slots(leo, "tess", "chess")[0]

    booking = booked_id(book(leo, "tess", python_time, skill="chess"))

    (mine,) = app.extensions["skillswap.repo"].schedule(uid(app, "leo")).bookings.values()
    assert (mine.id, mine.title, mine.skill) == (booking, "Chess", "Chess")
    row = text(leo.get("/dashboard"))
    assert "Sessions I attend Chess with tess Tue 1 Dec 2026, 09:00–10:00 (UTC)" in row


def test_booking_your_own_slot_is_refused(app: Flask, tess: FlaskClient) -> None:
    slots = free_slots(tess, "tess")
    response = book(tess, "tess", slots[0])
    assert response.status_code == 400
    assert "You cannot book your own slot." in text(response)
    assert active(app, "tess") == []


def test_booking_a_slot_that_has_started_is_refused(
    app: Flask, clock: Clock, tess: FlaskClient, leo: FlaskClient
) -> None:
    slots = free_slots(leo, "tess")
    set_rules(tess, notice="0")  # so the slot an hour ahead is bookable (the default: 2 h)
    clock.set(datetime(2026, 12, 1, 14, 0, tzinfo=UTC))  # the first slot starts now
    response = book(leo, "tess", slots[0])
    assert response.status_code == 409
    page = text(response)
    assert "That slot has already started; pick one in the future." in page
    assert "16:00–17:00 (Europe/Berlin)" in page  # the slot still ahead is offered instead
    assert SLOT_RE.findall(response.get_data(as_text=True)) == slots[1:]
    assert active(app, "tess") == [] and active(app, "leo") == []


def test_a_slot_taken_meanwhile_is_refused_with_the_remaining_free_times(
    app: Flask, tess: FlaskClient, leo: FlaskClient, xia: FlaskClient
) -> None:
    before = text(xia.get("/book/tess"))
    first = "Tue 1 Dec 2026, 23:00 – Wed 2 Dec 2026, 00:00 (Asia/Tokyo)"  # 14:00-15:00 UTC
    assert first in before
    slots = free_slots(xia, "tess")
    booked_id(book(leo, "tess", slots[0]))  # while xia still has the page open
    response = book(xia, "tess", slots[0])
    assert response.status_code == 409
    page = text(response)
    assert "That slot was just booked by someone else. Here are the times still free." in page
    assert "<title>Error: Book tess" in response.get_data(as_text=True)
    assert 'class="error-summary" role="alert" tabindex="-1"' in response.get_data(as_text=True)
    assert SLOT_RE.findall(response.get_data(as_text=True)) == slots[1:]
    assert first not in page
    assert "Wed 2 Dec 2026, 00:00–01:00 (Asia/Tokyo)" in page

    # Exactly one active booking holds the slot, and the refused learner holds nothing.
    offer_id, _, slot_id = slots[0].partition(":")
    holding = [b for b in active(app, "tess") if (b.offer_id, b.slot_id) == (offer_id, slot_id)]
    assert len(holding) == 1 and holding[0].learner == uid(app, "leo")
    assert schedule(app, "xia").bookings == {}
    assert "No upcoming sessions booked." in text(xia.get("/dashboard"))


def test_booking_over_another_booking_of_yours_is_refused(
    app: Flask, tess: FlaskClient, leo: FlaskClient
) -> None:
    ola = person(app, "ola", "UTC")
    publish(ola, "14:30", "15:30", minutes="", skill="Chess", title="Chess openings")
    booked_id(book(leo, "tess", free_slots(leo, "tess")[0]))  # 14:00-15:00 UTC
    [chess] = free_slots(leo, "ola", "chess")
    response = book(leo, "ola", chess, "chess")
    assert response.status_code == 409
    assert "At that time you are already in a session (Python with tess)." in text(response)
    assert active(app, "ola") == []
    assert len(active(app, "leo")) == 1


def test_an_unknown_or_missing_slot_is_refused(
    app: Flask, tess: FlaskClient, leo: FlaskClient
) -> None:
    offer_id = free_slots(leo, "tess")[0].partition(":")[0]
    for chosen in (f"{offer_id}:2026-12-01T0300-0400", "nope:2026-12-01T0900-1000", "garbage"):
        response = book(leo, "tess", chosen)
        assert response.status_code == 400
        assert "That time is no longer offered. Pick one of the free times below." in text(response)
        assert len(SLOT_RE.findall(response.get_data(as_text=True))) == 2
    response = book(leo, "tess", "")
    assert response.status_code == 400
    assert "Pick one of the free times below." in text(response)
    assert active(app, "tess") == [] and active(app, "leo") == []


def test_a_skill_the_teacher_does_not_teach_is_refused(
    app: Flask, tess: FlaskClient, leo: FlaskClient
) -> None:
    slot = free_slots(leo, "tess")[0]
    response = book(leo, "tess", slot, skill="knitting")
    assert response.status_code == 400
    assert "tess does not teach that." in text(response)
    assert active(app, "tess") == []


def test_a_booking_takes_the_teachers_overlapping_slots_of_other_offers(
    app: Flask, tess: FlaskClient, leo: FlaskClient, xia: FlaskClient
) -> None:
    # A second offer of the same skill, 09:30-10:30 New York: overlaps the 09:00 session.
    publish(tess, "09:30", "10:30", minutes="", title="Python Q&A")
    slots = free_slots(xia, "tess")
    assert len(slots) == 3
    first, overlapping = slots[0], slots[1]
    assert overlapping.partition(":")[0] != first.partition(":")[0]

    booked_id(book(leo, "tess", first))
    assert free_slots(xia, "tess") == [slots[2]]
    assert "Python Q&A" not in text(xia.get("/book/tess"))

    response = book(xia, "tess", overlapping)  # from a page opened before the booking
    assert response.status_code == 409
    assert "the teacher is already in a session" in text(response)
    assert len(active(app, "tess")) == 1
    assert schedule(app, "xia").bookings == {}


def test_a_visitor_reads_times_in_todays_name_of_their_browsers_zone(
    tess: FlaskClient, client: FlaskClient
) -> None:
    """Chrome reports India as "Asia/Calcutta" (CLDR keeps the old name): signed up, that is
    stored as Asia/Kolkata, but a visitor's pages said "Times in Asia/Calcutta"."""
    client.set_cookie(ZONE_COOKIE, "Asia%2FCalcutta")
    page = text(client.get("/user/tess"))
    assert "Times in Asia/Kolkata." in page and "(Asia/Kolkata)" in page


def test_the_booking_page_opens_on_a_skill_offered_before_a_profile_tag(
    app: Flask, tess: FlaskClient, leo: FlaskClient
) -> None:
    """ "Baking", a tag on her profile with no offer, came first by name, so the page opened
    on it and one click booked Baking in a Python lesson's time (an outside walkthrough)."""
    post_profile(tess, {"teach": "Baking, Python", "timezone": "America/New_York"})
    page = text(leo.get("/book/tess"))
    assert "Free times for Python (in Europe/Berlin)" in page
    assert "Free times for Baking" in text(leo.get("/book/tess?skill=baking"))


def test_the_booking_page_opens_on_a_skill_with_time_ahead(
    clock: Clock, tess: FlaskClient, leo: FlaskClient
) -> None:
    """An offer whose time has all passed is no skill to open on (a review of 29fc7a0)."""
    publish(tess, skill="Art", title="Sketching", day="2026-11-24")
    clock.set(datetime(2026, 11, 26, 12, tzinfo=UTC))
    assert "Free times for Python (in Europe/Berlin)" in text(leo.get("/book/tess"))


def test_the_booking_page_lists_only_future_free_slots(
    clock: Clock, tess: FlaskClient, leo: FlaskClient
) -> None:
    page = text(leo.get("/book/tess"))
    assert "Book a session with tess" in page
    assert "Free times for Python (in Europe/Berlin)" in page
    assert "15:00–16:00 (Europe/Berlin)" in page
    assert "16:00–17:00 (Europe/Berlin)" in page

    set_rules(tess, notice="0")  # the default 2 hours' notice: tests/web/test_booking_rules.py
    clock.set(datetime(2026, 12, 1, 14, 30, tzinfo=UTC))  # the first session is under way
    response = leo.get("/book/tess")
    assert len(SLOT_RE.findall(response.get_data(as_text=True))) == 1
    assert "15:00–16:00" not in text(response)

    clock.advance(hours=2)
    page = text(leo.get("/book/tess"))
    assert SLOT_RE.findall(page) == []
    assert "tess has no free times for Python right now." in page


def test_booking_without_a_csrf_token_changes_nothing(
    app: Flask, tess: FlaskClient, leo: FlaskClient
) -> None:
    slot = free_slots(leo, "tess")[0]
    response = leo.post("/book/tess", data={"skill": "python", "slot": slot})
    assert response.status_code == 400
    # The booking form comes back (not a bare 400) with the chosen time still selected.
    assert "This page had expired, so nothing was booked" in text(response)
    assert f'value="{slot}" checked' in response.get_data(as_text=True)
    assert schedule(app, "tess").bookings == {} and schedule(app, "leo").bookings == {}


def test_booking_the_same_slot_twice_keeps_one_booking(
    app: Flask, tess: FlaskClient, leo: FlaskClient
) -> None:
    slot = free_slots(leo, "tess")[0]
    first = booked_id(book(leo, "tess", slot))
    notices = len(schedule(app, "tess").notifications)
    again = book(leo, "tess", slot)  # a double click, or the back button
    # The browser shows the answer to the last click: the booking, not a refusal (it was a
    # 409 "you are already in a session" after a booking that had worked).
    assert booked_id(again) == first
    assert "Booked: Python with tess" in text(leo.get("/dashboard"))
    assert len(active(app, "tess")) == 1
    assert len(schedule(app, "leo").bookings) == 1
    assert len(schedule(app, "tess").notifications) == notices, "told once, mailed once"


def test_another_learner_asking_for_a_booked_slot_is_still_refused(
    app: Flask, tess: FlaskClient, leo: FlaskClient
) -> None:
    slot = free_slots(leo, "tess")[0]
    booked_id(book(leo, "tess", slot))
    mia = person(app, "mia", "UTC")
    response = book(mia, "tess", slot)
    assert response.status_code == 409
    assert "just booked by someone else" in text(response)
    assert len(active(app, "tess")) == 1


def test_booking_an_unknown_person_is_404(leo: FlaskClient) -> None:
    assert leo.get("/book/nobody").status_code == 404
    assert leo.get("/book/leo@example.com").status_code == 404
    assert book(leo, "nobody", "a:b").status_code == 404


def test_logged_out_booking_page_goes_to_login_and_back(client: FlaskClient) -> None:
    response = client.get("/book/x")
    assert response.status_code == 302
    parts = urlsplit(response.headers["Location"])
    assert parts.path == "/login"
    assert parse_qs(parts.query) == {"next": ["/book/x"]}
    # Logging in from there comes back to the page asked for.
    auth = AuthActions(client)
    auth.signup("ada")
    auth.logout()
    response = auth.login("ada", next=parse_qs(parts.query)["next"][0])
    assert location(response) == "/book/x"


# --- cancelling ----------------------------------------------------------------------------


def test_the_cancel_page_asks_first_and_changes_nothing(
    app: Flask, leo: FlaskClient, session: str
) -> None:
    response = leo.get(f"/booking/{session}/cancel")
    assert response.status_code == 200
    page = text(response)
    assert "Cancel this session?" in page
    assert "Python with tess" in page
    assert "Tue 1 Dec 2026, 15:00–16:00 (Europe/Berlin)" in page
    assert [b.status for b in schedule(app, "tess").bookings.values()] == ["confirmed"]
    assert [b.status for b in schedule(app, "leo").bookings.values()] == ["confirmed"]


def test_cancelling_without_a_csrf_token_changes_nothing(
    app: Flask, leo: FlaskClient, session: str
) -> None:
    response = leo.post(f"/booking/{session}/cancel", data={"reason": "sorry"})
    assert response.status_code == 400
    page = text(response)
    assert "This form had expired, so nothing was saved." in page
    assert "sorry" in page  # what was typed is kept
    assert [b.status for b in schedule(app, "tess").bookings.values()] == ["confirmed"]
    assert [b.status for b in schedule(app, "leo").bookings.values()] == ["confirmed"]


@pytest.mark.parametrize(
    ("canceller", "other", "shown_as"),
    [("leo", "tess", "Cancelled by leo"), ("tess", "leo", "Cancelled by tess")],
)
def test_either_participant_can_cancel_and_the_slot_is_free_again(
    app: Flask,
    tess: FlaskClient,
    leo: FlaskClient,
    xia: FlaskClient,
    session: str,
    canceller: str,
    other: str,
    shown_as: str,
) -> None:
    clients = {"tess": tess, "leo": leo}
    first_slot = free_slots(xia, "tess")
    response = cancel(clients[canceller], session, "Something came up")
    assert response.status_code == 302
    assert location(response) == "/dashboard"

    for name in ("tess", "leo"):
        [b] = schedule(app, name).bookings.values()
        assert b.status == "cancelled"
        assert b.cancel_reason == "Something came up"
        assert b.cancelled_by == uid(app, canceller)

    seen = text(clients[other].get("/dashboard"))
    assert "Cancelled" in seen
    assert f"{shown_as}: “Something came up”" in seen
    own = text(clients[canceller].get("/dashboard"))
    assert "Cancelled by you: “Something came up”" in own

    # The slot is offered again, and someone else can book it.
    slots = free_slots(xia, "tess")
    assert len(slots) == 2 and slots[1:] == first_slot
    again = booked_id(book(xia, "tess", slots[0]))
    assert {b.id for b in active(app, "tess")} == {again}


def test_a_third_person_cannot_see_or_cancel_a_session(
    app: Flask, xia: FlaskClient, session: str
) -> None:
    path = f"/booking/{session}/cancel"
    assert xia.get(path).status_code == 403
    response = xia.post(path, data={"csrf_token": csrf_token(xia, "/logout"), "reason": "x"})
    assert response.status_code == 403
    assert [b.status for b in schedule(app, "tess").bookings.values()] == ["confirmed"]


def test_a_started_session_cannot_be_cancelled(
    app: Flask, clock: Clock, leo: FlaskClient, session: str
) -> None:
    path = f"/booking/{session}/cancel"
    token = csrf_token(leo, path)
    clock.set(datetime(2026, 12, 1, 14, 10, tzinfo=UTC))
    response = leo.post(path, data={"csrf_token": token, "reason": ""})
    assert response.status_code == 400
    assert "This session has started, so it can no longer be cancelled." in text(response)
    assert [b.status for b in schedule(app, "leo").bookings.values()] == ["confirmed"]


def test_cancelled_sessions_do_not_count_as_taught_or_attended(
    clock: Clock, tess: FlaskClient, leo: FlaskClient, session: str
) -> None:
    second = booked_id(book(leo, "tess", free_slots(leo, "tess")[0]))
    assert cancel(leo, second).status_code == 302
    clock.set(datetime(2026, 12, 9, tzinfo=UTC))  # unconfirmed sessions count after 7 days
    assert stats_text(tess.get("/dashboard")).startswith("1 session taught | 0 sessions attended")
    assert stats_text(leo.get("/dashboard")).startswith("0 sessions taught | 1 session attended")
    assert stats_text(leo.get("/user/tess")).startswith("1 session taught")
    assert session != second


# --- rating --------------------------------------------------------------------------------


def test_rating_before_the_session_ends_is_refused(
    app: Flask, clock: Clock, leo: FlaskClient, session: str
) -> None:
    response = leo.get(f"/booking/{session}/review")
    assert response.status_code == 200
    assert "You can rate this session once it has ended." in text(response)

    clock.set(datetime(2026, 12, 1, 14, 30, tzinfo=UTC))  # under way
    response = rate(leo, session, "9", "great")
    assert response.status_code == 400
    assert "You can rate this session once it has ended." in text(response)
    assert schedule(app, "leo").bookings[session].reviews == {}


def test_rating_after_the_session_is_saved_once(
    app: Flask, clock: Clock, leo: FlaskClient, session: str
) -> None:
    clock.set(datetime(2026, 12, 1, 15, 0, tzinfo=UTC))  # just ended
    response = rate(leo, session, "9", "Clear and patient")
    assert response.status_code == 302
    assert location(response) == f"/dashboard/past#booking-{session}"
    page = text(leo.get("/dashboard/past"))
    assert "Thank you: your rating of tess is saved." in page
    assert "You rated this 9/10." in page
    for name in ("leo", "tess"):
        review = schedule(app, name).bookings[session].reviews[uid(app, "leo")]
        assert (review.rating, review.feedback) == (9, "Clear and patient")

    response = rate(leo, session, "2", "changed my mind")
    assert response.status_code == 400
    assert "You have already rated this session." in text(response)
    assert schedule(app, "tess").bookings[session].reviews[uid(app, "leo")].rating == 9


@pytest.mark.parametrize("rating", ["0", "11", "x", ""])
def test_a_rating_out_of_range_is_refused_and_the_feedback_kept(
    app: Flask, clock: Clock, leo: FlaskClient, session: str, rating: str
) -> None:
    clock.set(datetime(2026, 12, 2, tzinfo=UTC))
    response = rate(leo, session, rating, "Kept & <escaped>")
    assert response.status_code == 400
    page = text(response)
    assert "Choose a rating from 1 to 10" in page
    assert "Kept & <escaped>" in page
    assert "Kept &amp; &lt;escaped&gt;" in response.get_data(as_text=True)
    assert schedule(app, "leo").bookings[session].reviews == {}


def test_feedback_over_1000_characters_is_refused(
    app: Flask, clock: Clock, leo: FlaskClient, session: str
) -> None:
    clock.set(datetime(2026, 12, 2, tzinfo=UTC))
    response = rate(leo, session, "8", "a" * 1001)
    assert response.status_code == 400
    assert "Keep feedback to 1,000 characters" in text(response)
    assert schedule(app, "leo").bookings[session].reviews == {}


def test_an_outsider_cannot_rate(app: Flask, clock: Clock, xia: FlaskClient, session: str) -> None:
    clock.set(datetime(2026, 12, 2, tzinfo=UTC))
    path = f"/booking/{session}/review"
    assert xia.get(path).status_code == 403
    response = xia.post(path, data={"csrf_token": csrf_token(xia, "/logout"), "rating": "1"})
    assert response.status_code == 403
    assert schedule(app, "tess").bookings[session].reviews == {}


def test_a_cancelled_session_cannot_be_rated(
    app: Flask, clock: Clock, leo: FlaskClient, session: str
) -> None:
    assert cancel(leo, session).status_code == 302
    clock.set(datetime(2026, 12, 2, tzinfo=UTC))
    response = rate(leo, session, "7")
    assert response.status_code == 400
    assert "A cancelled session cannot be rated." in text(response)


def test_once_both_rated_the_profile_and_dashboards_show_the_average(
    clock: Clock, tess: FlaskClient, leo: FlaskClient, xia: FlaskClient, session: str
) -> None:
    # A week after it: unconfirmed, the session counts as held (domain/attendance.py).
    clock.set(datetime(2026, 12, 8, 16, tzinfo=UTC))
    assert rate(leo, session, "9", "Clear and patient").status_code == 302
    assert rate(tess, session, "7", "Well prepared").status_code == 302

    public = xia.get("/user/tess")
    assert stats_text(public) == (
        "1 session taught | 0 sessions attended | 9.0/10 average from 1 rating"
    )
    assert "Clear and patient" in text(public)
    assert stats_text(tess.get("/dashboard")) == (
        "1 session taught | 0 sessions attended | 9.0/10 average from 1 rating"
    )
    assert stats_text(leo.get("/dashboard")) == (
        "0 sessions taught | 1 session attended | 7.0/10 average from 1 rating"
    )
    assert stats_text(xia.get("/user/leo")).endswith("7.0/10 average from 1 rating")
    dash = text(tess.get("/dashboard/reviews"))
    assert "9/10 from leo · Python" in dash
    assert "Clear and patient" in dash


def test_a_one_sided_review_stays_hidden_until_fourteen_days_pass(
    clock: Clock, tess: FlaskClient, leo: FlaskClient, xia: FlaskClient, session: str
) -> None:
    clock.set(datetime(2026, 12, 1, 15, tzinfo=UTC))  # the session has just ended
    assert rate(leo, session, "3", "Late and unprepared").status_code == 302

    dash = text(tess.get("/dashboard/reviews"))
    assert "Late and unprepared" not in dash
    assert "1 review waiting" in dash
    assert stats_text(tess.get("/dashboard")).endswith("No ratings yet")
    public = xia.get("/user/tess")
    assert "Late and unprepared" not in text(public)
    assert stats_text(public).endswith("No ratings yet")
    assert "No ratings yet" in text(xia.get("/book/tess"))

    clock.set(datetime(2026, 12, 1, 15, tzinfo=UTC) + timedelta(days=14) - timedelta(minutes=1))
    assert stats_text(xia.get("/user/tess")).endswith("No ratings yet")

    clock.advance(minutes=1)
    assert stats_text(xia.get("/user/tess")) == (
        "1 session taught | 0 sessions attended | 3.0/10 average from 1 rating"
    )
    assert "Late and unprepared" in text(xia.get("/user/tess"))
    dash = text(tess.get("/dashboard/reviews"))
    assert "3/10 from leo · Python" in dash
    assert "review waiting" not in dash


@pytest.mark.parametrize(
    "after",
    ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-14:00", "yesterday", "2026-13-01T00:00Z"],
)
def test_a_hand_edited_later_link_shows_the_first_times(app: Flask, after: str) -> None:
    """The first two are valid ISO text whose instant in UTC is outside the years datetime
    holds: they had answered 500."""
    tina, lea = person(app, "tina", "UTC"), person(app, "lea", "UTC")
    publish(tina, start="09:00", end="11:00", minutes="60")
    response = lea.get("/book/tina", query_string={"skill": "python", "after": after})
    assert response.status_code == 200
    assert len(SLOT_RE.findall(response.get_data(as_text=True))) == 2


def test_the_booking_page_lists_forty_times_at_a_time_in_time_order(app: Flask) -> None:
    """A page's cost follows what it shows: a teacher may publish 2,000 future times, and
    every refused booking shows the page again (issue 22)."""
    tina, lea = person(app, "tina", "UTC"), person(app, "lea", "UTC")
    publish(tina, start="08:00", end="21:00", minutes="30")  # 26 times
    publish(tina, start="08:00", end="21:00", minutes="30", day="2026-12-02")  # 26 more
    publish(tina, start="07:00", end="08:00", minutes="30", title="Early Python")  # 2 before
    first = lea.get("/book/tina").get_data(as_text=True)
    shown = SLOT_RE.findall(first)
    assert len(shown) == 40
    assert "07:00–07:30" in text(lea.get("/book/tina")).split("08:00–08:30")[0], "time order"
    later = html.unescape(re.search(r'<a href="([^"]+)">Later times</a>', first).group(1))
    second = lea.get(later).get_data(as_text=True)
    rest = SLOT_RE.findall(second)
    assert len(rest) == 14 and not set(rest) & set(shown)
    assert "Later times" not in second and "First times" in second
    # A time linked from a notice or an invitation is shown, and chosen, wherever it falls.
    wanted = rest[-1]
    linked = lea.get(f"/book/tina?skill=python&slot={wanted}").get_data(as_text=True)
    assert f'value="{wanted}" checked' in linked
    booked_id(book(lea, "tina", rest[0]))
    assert rest[0] not in SLOT_RE.findall(lea.get(later).get_data(as_text=True))

"""Calendars: a booking as an .ics file, and the private subscription feed, read back the way a
calendar app reads them (parsed with icalendar)."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient
from icalendar import Calendar, Event

from tests.support.app_fixtures import AuthActions, csrf_token
from tests.web.test_bookings import book, booked_id, cancel, free_slots, person, publish, text

FEED_RE = re.compile(r'id="feed-url" value="(http://localhost/calendar/([^"]+)\.ics)"')


def events(response) -> list[Event]:
    assert response.status_code == 200, response.get_data(as_text=True)[-1000:]
    assert response.mimetype == "text/calendar"
    return list(Calendar.from_ical(response.get_data()).walk("VEVENT"))


def set_name(app: Flask, username: str, display_name: str) -> None:
    repo = app.extensions["skillswap.repo"]
    user = repo.find_user(username)
    user.display_name = display_name
    repo.save_profile(user)


@pytest.fixture
def tess(app: Flask) -> FlaskClient:
    """Teaches Python from New York: 1 Dec 09:00-11:00 local (14:00-16:00 UTC), hourly."""
    client = person(app, "tess", "America/New_York")
    publish(client)
    set_name(app, "tess", "Tess Ng")
    return client


@pytest.fixture
def leo(app: Flask) -> FlaskClient:
    client = person(app, "leo", "Europe/Berlin")
    set_name(app, "leo", "Leo Park")
    return client


@pytest.fixture
def session(tess: FlaskClient, leo: FlaskClient) -> str:
    return booked_id(book(leo, "tess", free_slots(leo, "tess")[0]))


def create_feed(client: FlaskClient) -> tuple[str, str]:
    """Press "Create my calendar feed" on the profile; the (address, token) it then shows."""
    response = client.post("/calendar/feed", data={"csrf_token": csrf_token(client, "/profile")})
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/profile#calendar")
    match = FEED_RE.search(client.get("/profile").get_data(as_text=True))
    assert match, "no feed address on the profile"
    return match.group(1), match.group(2)


# --- one booking as a file -----------------------------------------------------------------


def test_booking_file_has_utc_times_names_skill_and_mode(
    tess: FlaskClient, leo: FlaskClient, session: str
) -> None:
    response = leo.get(f"/booking/{session}.ics")
    assert response.headers["Content-Disposition"].startswith("attachment; filename=")
    assert "DTSTART:20261201T140000Z" in response.get_data(as_text=True)
    [event] = events(response)
    assert event.start == datetime(2026, 12, 1, 14, 0, tzinfo=UTC)
    assert event.end == datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
    assert event.start.utcoffset().total_seconds() == 0
    assert event.uid == f"booking-{session}@skillswap"
    assert (event.status, event.sequence) == ("CONFIRMED", 0)
    assert str(event["SUMMARY"]) == "Python with Tess Ng"
    assert str(event["LOCATION"]) == "Online"
    description = str(event["DESCRIPTION"])
    assert "Teacher: Tess Ng (@tess)" in description
    assert "Learner: Leo Park (@leo)" in description
    assert event.organizer.params["CN"] == "Tess Ng"
    assert str(event.organizer) == "http://localhost/user/tess"
    [attendee] = event.attendees
    assert attendee.params["CN"] == "Leo Park"
    assert "@example.com" not in response.get_data(as_text=True)  # emails stay private
    # A calendar keeps the event for good: its link finds the session's dashboard tab then.
    assert str(event["URL"]) == f"http://localhost/dashboard/session/{session}"
    assert f"On SkillSwap: http://localhost/dashboard/session/{session}" in description


def test_a_booking_file_is_named_by_the_day_where_its_reader_lives(
    app: Flask, tess: FlaskClient, leo: FlaskClient, session: str
) -> None:
    """It was named by the UTC date: 17:00 on 7 Dec in Los Angeles downloaded as
    skillswap-2026-12-08-... (an outside walkthrough)."""
    repo = app.extensions["skillswap.repo"]
    user = repo.find_user("leo")
    user.timezone = "Pacific/Kiritimati"  # UTC+14: 14:00 UTC on 1 Dec is 04:00 on 2 Dec
    repo.save_profile(user)
    disposition = leo.get(f"/booking/{session}.ics").headers["Content-Disposition"]
    assert f'filename="skillswap-2026-12-02-{session}.ics"' in disposition
    disposition = tess.get(f"/booking/{session}.ics").headers["Content-Disposition"]
    assert f'filename="skillswap-2026-12-01-{session}.ics"' in disposition


def test_both_people_get_the_same_event_each_from_their_side(
    tess: FlaskClient, leo: FlaskClient, session: str
) -> None:
    [mine] = events(leo.get(f"/booking/{session}.ics"))
    [theirs] = events(tess.get(f"/booking/{session}.ics"))
    assert mine.uid == theirs.uid
    assert (mine.start, mine.end) == (theirs.start, theirs.end)
    assert str(theirs["SUMMARY"]) == "Teaching Python to Leo Park"


def test_a_cancelled_booking_keeps_its_uid_and_says_cancelled(
    tess: FlaskClient, leo: FlaskClient, session: str
) -> None:
    [before] = events(leo.get(f"/booking/{session}.ics"))
    assert cancel(leo, session, "Flu").status_code == 302
    for client in (leo, tess):
        [after] = events(client.get(f"/booking/{session}.ics"))
        assert after.uid == before.uid
        assert after.status == "CANCELLED"
        assert after.sequence > before.sequence
        assert "Cancelled by Leo Park: Flu" in str(after["DESCRIPTION"])


def test_only_the_two_people_in_a_session_can_download_it(
    app: Flask, client: FlaskClient, tess: FlaskClient, session: str
) -> None:
    response = client.get(f"/booking/{session}.ics")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    xia = person(app, "xia", "Asia/Tokyo")
    assert xia.get(f"/booking/{session}.ics").status_code == 403
    assert xia.get("/booking/0123456789abcdef.ics").status_code == 403


def test_dashboard_links_each_booking_to_its_calendar_file(
    tess: FlaskClient, leo: FlaskClient, session: str
) -> None:
    for client in (tess, leo):
        page = client.get("/dashboard").get_data(as_text=True)
        assert f'href="/booking/{session}.ics"' in page
        assert "Add to calendar (.ics)" in page
    # Cancelled, its file is a CANCEL that takes the event off a calendar, and says so.
    cancel(leo, session)
    for client in (tess, leo):
        page = client.get("/dashboard").get_data(as_text=True)
        assert f'href="/booking/{session}.ics"' in page
        assert "Take it off your calendar (.ics)" in page
        assert "Add to calendar (.ics)" not in page


# --- the subscription feed -----------------------------------------------------------------


def test_feed_lists_sessions_taught_and_attended_without_login(
    app: Flask, client: FlaskClient, tess: FlaskClient, leo: FlaskClient
) -> None:
    slots = free_slots(leo, "tess")
    taught = booked_id(book(leo, "tess", slots[0]))
    dropped = booked_id(book(leo, "tess", slots[1]))
    cancel(leo, dropped)
    xia = person(app, "xia", "Asia/Tokyo")
    publish(xia, "10:00", "11:00", skill="Japanese", title="Kana", day="2026-12-03")
    attended = booked_id(book(tess, "xia", free_slots(tess, "xia", "japanese")[0], "japanese"))

    address, token = create_feed(tess)
    assert len(token) >= 43  # 32 bytes or more of secret
    feed = events(client.get(address))  # a calendar app: no cookies, no login
    by_uid = {str(e.uid): e for e in feed}
    assert set(by_uid) == {f"booking-{b}@skillswap" for b in (taught, dropped, attended)}
    assert by_uid[f"booking-{taught}@skillswap"].status == "CONFIRMED"
    assert by_uid[f"booking-{dropped}@skillswap"].status == "CANCELLED"
    japanese = by_uid[f"booking-{attended}@skillswap"]
    assert str(japanese["SUMMARY"]) == "Japanese with xia"
    assert japanese.start == datetime(2026, 12, 3, 1, 0, tzinfo=UTC)  # 10:00 in Tokyo
    assert all(e.start.utcoffset().total_seconds() == 0 for e in feed)
    # The same session has the same UID in the feed as in its own file.
    [single] = events(tess.get(f"/booking/{taught}.ics"))
    assert single.uid == by_uid[f"booking-{taught}@skillswap"].uid


def test_feed_secret_is_not_kept_in_the_store(app: Flask, tess: FlaskClient) -> None:
    _, token = create_feed(tess)
    store = app.extensions["skillswap.store"]
    digest = hashlib.sha256(token.encode()).hexdigest()
    assert store.keys("feedtoken/") == [f"feedtoken/{digest}"]
    everything = json.dumps({k: store.get(k) for k in store.keys("")})
    assert token not in everything


def test_regenerating_the_feed_retires_the_old_address(
    client: FlaskClient, tess: FlaskClient
) -> None:
    old, _ = create_feed(tess)
    page = text(tess.get("/profile"))
    assert "Get a new address" in page and "Turn off the feed" in page
    new, _ = create_feed(tess)
    assert new != old
    assert client.get(old).status_code == 404
    assert client.get(new).status_code == 200


def test_turning_the_feed_off_makes_its_address_404(
    app: Flask, client: FlaskClient, tess: FlaskClient
) -> None:
    address, _ = create_feed(tess)
    token = csrf_token(tess, "/profile")
    response = tess.post("/calendar/feed/revoke", data={"csrf_token": token})
    assert response.status_code == 302
    assert client.get(address).status_code == 404
    assert app.extensions["skillswap.store"].keys("feedtoken/") == []
    page = text(tess.get("/profile"))
    assert "Create my calendar feed" in page and "Your feed address" not in page


def test_feed_changes_need_a_csrf_token(app: Flask, tess: FlaskClient) -> None:
    assert tess.post("/calendar/feed").status_code == 400
    assert app.extensions["skillswap.store"].keys("feedtoken/") == []
    address, _ = create_feed(tess)
    assert tess.post("/calendar/feed/revoke").status_code == 400
    assert tess.get(address).status_code == 200


def test_feed_changes_need_login(client: FlaskClient) -> None:
    token = csrf_token(client, "/login")
    for path in ("/calendar/feed", "/calendar/feed/revoke"):
        response = client.post(path, data={"csrf_token": token})
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_unknown_or_unconfirmed_feed_secrets_open_nothing(
    app: Flask, client: FlaskClient, tess: FlaskClient
) -> None:
    assert client.get("/calendar/" + "A" * 43 + ".ics").status_code == 404
    assert client.get("/calendar/short.ics").status_code == 404
    # A claim the user record does not confirm (left by a crash mid-regeneration) is no key.
    forged = "B" * 43
    store = app.extensions["skillswap.store"]
    uid = app.extensions["skillswap.repo"].find_user("tess").id
    store.put(f"feedtoken/{hashlib.sha256(forged.encode()).hexdigest()}", {"uid": uid})
    assert client.get(f"/calendar/{forged}.ics").status_code == 404


def test_after_a_secret_key_change_the_profile_asks_for_a_new_address(
    app: Flask, client: FlaskClient, tess: FlaskClient
) -> None:
    address, _ = create_feed(tess)
    app.config["SECRET_KEY"] = "a rotated key"
    AuthActions(tess).login("tess")  # the old session cookie died with the old key
    page = text(tess.get("/profile"))
    assert "can no longer be shown here" in page and "Your feed address" not in page
    assert client.get(address).status_code == 200  # subscribed calendars keep working
    new, _ = create_feed(tess)
    assert client.get(new).status_code == 200 and client.get(address).status_code == 404

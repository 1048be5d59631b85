"""What anyone sees of a teacher's reviews on the public profile: the average, how many ratings
it is from, and the feedback newest first; a one-sided review only once it is fair to show."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from flask import Flask
from flask.testing import FlaskClient

from tests.support.app_fixtures import Clock
from tests.web.test_bookings import book, booked_id, free_slots, person, publish, rate, stats_text


def feedback(client: FlaskClient, username: str) -> list[str]:
    """The feedback texts on the public profile, top to bottom."""
    body = client.get(f"/user/{username}").get_data(as_text=True)
    return [" ".join(t.split()) for t in re.findall(r"<blockquote>(.*?)</blockquote>", body, re.S)]


def test_public_profile_shows_average_count_and_feedback_newest_first(
    app: Flask, client: FlaskClient, clock: Clock
) -> None:
    tess = person(app, "tess", "America/New_York")
    publish(tess, "09:00", "12:00")  # three sessions on 1 Dec, 14:00-17:00 UTC
    leo = person(app, "leo", "Europe/Berlin")
    xia = person(app, "xia", "Asia/Tokyo")
    slots = free_slots(leo, "tess")
    first = booked_id(book(leo, "tess", slots[0]))
    second = booked_id(book(leo, "tess", slots[1]))
    third = booked_id(book(xia, "tess", slots[2]))

    clock.set(datetime(2026, 12, 2, 9, 0, tzinfo=UTC))
    assert rate(leo, first, "9", "Clear and patient.").status_code == 302
    assert rate(tess, first, "8").status_code == 302
    clock.advance(hours=1)
    assert rate(xia, third, "10", "Brilliant session!").status_code == 302  # tess has not rated
    clock.advance(hours=1)
    assert rate(leo, second, "7", "Good, if a little rushed.").status_code == 302
    assert rate(tess, second, "9").status_code == 302

    # xia's review stays hidden until tess rates too (or 14 days pass): it counts nowhere yet.
    assert "8.0/10 average from 2 ratings" in stats_text(client.get("/user/tess"))
    assert feedback(client, "tess") == ["Good, if a little rushed.", "Clear and patient."]

    clock.set(datetime(2026, 12, 15, 17, 0, tzinfo=UTC))  # 14 days after the session ended
    assert "8.7/10 average from 3 ratings" in stats_text(client.get("/user/tess"))
    assert feedback(client, "tess") == [
        "Good, if a little rushed.",
        "Brilliant session!",
        "Clear and patient.",
    ]

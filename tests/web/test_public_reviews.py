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


def test_each_review_says_whether_it_was_for_teaching_or_learning(
    app: Flask, client: FlaskClient, clock: Clock
) -> None:
    """tess teaches Python and took a Chess lesson: her profile listed "8/10 · Chess" as if
    she taught it (an outside UX review)."""
    tess = person(app, "tess", "UTC")
    publish(tess, "09:00", "10:00")
    leo = person(app, "leo", "UTC")
    publish(leo, "11:00", "12:00", skill="Chess", title="Chess openings")
    taught = booked_id(book(leo, "tess", free_slots(leo, "tess")[0]))
    learnt = booked_id(book(tess, "leo", free_slots(tess, "leo", "chess")[0], "chess"))
    clock.set(datetime(2026, 12, 2, 9, 0, tzinfo=UTC))
    for booking in (taught, learnt):
        assert rate(leo, booking, "9").status_code == 302
        assert rate(tess, booking, "8").status_code == 302

    body = " ".join(client.get("/user/tess").get_data(as_text=True).split())
    items = re.findall(r"<li><strong>(\d+/10)</strong> · ([^<]*)", body)
    assert sorted(items) == [("9/10", "Chess, as a learner"), ("9/10", "Python, as a teacher")]

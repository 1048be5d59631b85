"""Limits that hold (issue 14): no person can break a page for others, a person at a limit is
told which one at the field, and nothing is ever half written.

Each of the first four tests reproduces a defect found over HTTP: a skill's slot index filled by
a few accounts, a schedule at the store's value limit, a skill name whose key was too long, and
a cancel left one-sided at the limit. The app here has a small value limit (48 KiB instead of
Replit's 5 MiB) so the limits are reached in a few requests; every number scales.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask

from skillswap.domain import limits
from skillswap.domain.records import Booking, Offer, StoredSlot
from skillswap.domain.slot_index import bucket_rows
from skillswap.domain.times import iso_utc
from skillswap.repo import Repository
from skillswap.repo.keys import schedule_key
from skillswap.store.codec import encoded_size
from tests.support.app_fixtures import TEMPLATE_CODE, Clock, make_app
from tests.web.test_auth import assert_field_error, page
from tests.web.test_bookings import (
    active,
    book,
    booked_id,
    cancel,
    free_slots,
    person,
    publish,
    schedule,
    text,
    uid,
)
from tests.web.test_offers import OFFER, submit
from tests.web.test_requests import REQUEST

SMALL = 48 * 1024
PIECE_ROWS = 450  # at least what one person can publish at SMALL (as 20,000 ≥ 2,000)
WEEK = [date(2026, 11, 30) + timedelta(days=n) for n in range(7)]  # Mon 30 Nov - Sun 6 Dec


@pytest.fixture
def small_app(tmp_path: Path, clock: Clock) -> Iterator[Flask]:
    app = make_app(tmp_path, clock, STORE_MAX_VALUE_BYTES=SMALL, SLOT_PIECE_ROWS=PIECE_ROWS)
    app.jinja_env.bytecode_cache = TEMPLATE_CODE
    yield app
    app.extensions["skillswap.store"].close()


def repo_of(app: Flask) -> Repository:
    return app.extensions["skillswap.repo"]


def largest_week_offer(skill: str) -> dict[str, str | None]:
    """The largest offer the form allows for one week: every day, ten ranges, 30 minutes."""
    fields: dict[str, str | None] = {
        "title": f"{skill} all week",
        "skill": skill,
        "preset": "everyday",
        "preset_first": WEEK[0].isoformat(),
        "preset_last": WEEK[-1].isoformat(),
        "dates-0": "",
        "session_minutes": "30",
    }
    for n in range(10):
        fields[f"ranges-{n}-start"] = f"{2 * n:02d}:00"
        fields[f"ranges-{n}-end"] = f"{2 * n + 2:02d}:00" if n < 9 else "23:30"
    return fields


def test_a_flood_of_offers_cannot_fill_a_skills_slot_index(small_app: Flask) -> None:
    """Several accounts post the largest offer for one skill and week until refused: no answer
    is a 5xx, every refusal names the limit, no index piece passes its cap, and another
    teacher's offer that week is still found by a learner. (Before: the week's index document
    reached the value limit and every later offer of that skill that week was a 500.)"""
    statuses = []
    for n in range(4):
        flooder = person(small_app, f"flood{n}", "UTC")
        for attempt in itertools.count():
            # Each post titled anew: the same form sent again keeps the open offer instead.
            fields = {**largest_week_offer("Welsh"), "title": f"Welsh all week {attempt}"}
            response = submit(flooder, "/offer", OFFER, fields)
            statuses.append(response.status_code)
            if response.status_code != 302:
                break
        assert response.status_code == 409, text(response)[-500:]
        assert "holds as much as SkillSwap can store for one person" in text(response)
    assert all(status < 500 for status in statuses)

    store = small_app.extensions["skillswap.store"]
    pieces = store.get_many(store.keys("slots/welsh/"))
    assert len(pieces) > 1, "the flood spilled into overflow pieces"
    for key, doc in pieces.items():
        assert len(bucket_rows(doc)) <= PIECE_ROWS, key
        assert encoded_size(doc) <= SMALL, key

    tess = person(small_app, "tess", "UTC")
    publish(tess, start="10:15", end="11:15", minutes="60", skill="Welsh", title="Welsh chat")
    leo = person(small_app, "leo", "UTC")
    response = submit(
        leo,
        "/request",
        REQUEST,
        {
            "skill": "Welsh",
            "dates-0": "2026-12-01",
            "ranges-0-start": "10:00",
            "ranges-0-end": "11:30",
        },
    )
    assert response.status_code == 302
    matches = leo.get(response.headers["Location"])
    assert matches.status_code == 200
    assert "Welsh chat" in text(matches) or "tess" in text(matches)
    assert "@tess" in text(matches) or ">tess<" in matches.get_data(as_text=True)


def _bloat(app: Flask, username: str, to_within: int) -> None:
    """Make `username`'s document, written by an older version, end `to_within` bytes short
    of the store's value limit: a far-future offer of many slots, as data over a limit that is
    new is kept."""
    store = app.extensions["skillswap.store"]
    key = schedule_key(uid(app, username))
    doc = store.get(key)
    start = datetime(2027, 6, 1, tzinfo=UTC)
    offer = Offer(
        id="legacy",
        owner=uid(app, username),
        user=username,
        title="Old offer",
        skill="Python",
        description="",
        mode="online",
        timezone="UTC",
        dates=[],
        time_ranges=[],
        timestamp="2026-01-01T00:00:00Z",
    )
    doc["offers"]["legacy"] = offer.to_dict()
    n = 0
    while True:
        slot = StoredSlot(
            f"s{n}",
            iso_utc(start + timedelta(hours=n)),
            iso_utc(start + timedelta(hours=n, minutes=30)),
        )
        doc["offers"]["legacy"]["slots"].append(slot.__dict__)
        if encoded_size(doc) > SMALL - to_within:
            doc["offers"]["legacy"]["slots"].pop()
            break
        n += 1
    doc["offers"]["legacy"]["description"] = "x" * (SMALL - to_within - encoded_size(doc))
    store.put(key, doc)
    assert SMALL - to_within - 4 <= encoded_size(store.get(key)) <= SMALL - to_within


def test_booking_a_teacher_whose_schedule_is_at_the_value_limit_is_refused_cleanly(
    small_app: Flask,
) -> None:
    """Before: the claim's write was over the limit, the answer a 500, and the learner's hold
    stayed behind; the learner's dashboard and calendar then answered 500 on every load."""
    tess = person(small_app, "tess", "UTC")
    publish(tess, start="09:00", end="12:00", minutes="60")
    leo = person(small_app, "leo", "UTC")
    _bloat(small_app, "tess", to_within=200)
    before = {
        name: small_app.extensions["skillswap.store"].get(schedule_key(uid(small_app, name)))
        for name in ("tess", "leo")
    }
    [slot, *_] = free_slots(leo, "tess")
    response = book(leo, "tess", slot)
    assert response.status_code == 409
    assert "This teacher's schedule is full" in text(response)
    after = {
        name: small_app.extensions["skillswap.store"].get(schedule_key(uid(small_app, name)))
        for name in ("tess", "leo")
    }
    assert after == before, "nothing was written, no hold was left behind"
    for path in ("/dashboard", "/calendar", "/profile"):
        assert leo.get(path).status_code == 200, path
        assert tess.get(path).status_code == 200, path


def test_a_cancel_never_stays_one_sided_when_the_other_schedule_is_full(
    small_app: Flask,
) -> None:
    """Before: the learner's copy was cancelled, the teacher's write was over the limit (500),
    and the session stayed cancelled for one person only, the repair failing on every load."""
    tess = person(small_app, "tess", "UTC")
    publish(tess, start="09:00", end="12:00", minutes="60")
    leo = person(small_app, "leo", "UTC")
    [slot, *_] = free_slots(leo, "tess")
    booking = booked_id(book(leo, "tess", slot))
    _bloat(small_app, "tess", to_within=300)
    response = cancel(leo, booking, "I am ill, so sorry: " + "x" * 400)
    assert response.status_code == 400
    assert "The other person's schedule is full" in text(response)
    # Still booked on both sides: nothing half done.
    assert [b.id for b in active(small_app, "leo")] == [booking]
    assert [b.id for b in active(small_app, "tess")] == [booking]
    for path in ("/dashboard", "/calendar"):
        assert leo.get(path).status_code == 200
        assert tess.get(path).status_code == 200


def test_a_full_schedule_makes_room_by_archiving_so_the_cancel_completes(
    small_app: Flask, clock: Clock
) -> None:
    """The other person's document is full of old history: the cancel first moves what may
    leave it to the archive, then cancels on both sides."""
    tess = person(small_app, "tess", "UTC")
    leo = person(small_app, "leo", "UTC")
    repo = repo_of(small_app)
    tess_id, leo_id = uid(small_app, "tess"), uid(small_app, "leo")
    # Two months of sessions, as an older version kept them: in the live document for good.
    store = small_app.extensions["skillswap.store"]
    doc = store.get(schedule_key(tess_id)) or {
        "offers": {},
        "requests": {},
        "bookings": {},
        "notifications": [],
    }
    start = datetime(2026, 8, 1, 9, tzinfo=UTC)
    n = 0
    while encoded_size(doc) < SMALL - 600:
        b = Booking(
            id=f"old{n}",
            teacher=tess_id,
            teacher_name="tess",
            learner=leo_id,
            learner_name="leo",
            offer_id="gone",
            slot_id=f"s{n}",
            title="Python",
            skill="Python",
            mode="online",
            start=iso_utc(start + timedelta(hours=n)),
            end=iso_utc(start + timedelta(hours=n, minutes=30)),
            created="2026-07-01T00:00:00Z",
            status="confirmed",
        )
        doc["bookings"][b.id] = b.to_dict()
        n += 1
    doc.pop("due", None)
    store.put(schedule_key(tess_id), doc)
    taught = repo.schedule(tess_id).stats(clock()).taught
    publish(tess, start="09:00", end="10:00", minutes="60")
    [slot] = free_slots(leo, "tess")
    booking = booked_id(book(leo, "tess", slot))
    response = cancel(leo, booking, "x" * 450)
    assert response.status_code == 302
    assert not active(small_app, "leo") and not active(small_app, "tess")
    assert repo.schedule(tess_id).stats(clock()).taught == taught
    assert repo.schedule(tess_id).counters["taught"] == n


def test_a_skill_name_that_expands_past_the_key_limit_is_refused_at_the_field(
    small_app: Flask,
) -> None:
    """40 × U+FDFA passes the 40-character limit but normalises to 720 characters (a
    1,326-byte key). Before: saved, the index write a 500, every later offer a 500."""
    long_skill = "\ufdfa" * 40
    tess = person(small_app, "tess", "UTC")
    response = submit(
        tess,
        "/profile",
        {"display_name": "Tess", "bio": "", "learn": "", "links": "", "timezone": "UTC"},
        {"teach": long_skill},
    )
    assert response.status_code == 400
    assert "too long once written out in full" in text(response)
    assert repo_of(small_app).find_user("tess").teach == []
    response = submit(tess, "/offer", OFFER, {"skill": long_skill})
    assert response.status_code == 400
    assert_field_error(page(response), "skill", "too long once written out in full")
    response = submit(tess, "/request", REQUEST, {"skill": long_skill})
    assert response.status_code == 400
    assert_field_error(page(response), "skill", "too long once written out in full")
    assert schedule(small_app, "tess").offers == {}
    # Later offers work.
    publish(tess)
    assert len(schedule(small_app, "tess").offers) == 1


# --- each limit, told at the field, with the production numbers --------------------------------


def test_an_offer_of_more_sessions_than_one_offer_holds_is_refused_at_the_dates(app: Flask) -> None:
    tess = person(app, "tess", "UTC")
    fields = largest_week_offer("Python")
    fields["preset_last"] = (WEEK[0] + timedelta(days=59)).isoformat()
    response = submit(tess, "/offer", OFFER, fields)
    assert response.status_code == 400
    assert "One offer can hold at most 1,500 sessions" in page(response).by_id("dates-error").text
    assert schedule(app, "tess").offers == {}


def test_future_sessions_stop_at_two_thousand_and_the_tutor_of_two_months_fits(app: Flask) -> None:
    """Every day 09:00-21:00 in 30-minute sessions for 60 days (1,440) fits; more is refused
    at the dates with the numbers, and nothing is written."""
    tess = person(app, "tess", "UTC")
    two_months = {
        "title": "Daily Python",
        "skill": "Python",
        "preset": "everyday",
        "preset_first": "2026-11-24",
        "preset_last": "2027-01-22",
        "dates-0": "",
        "session_minutes": "30",
        "ranges-0-start": "09:00",
        "ranges-0-end": "21:00",
    }
    assert submit(tess, "/offer", OFFER, two_months).status_code == 302
    assert schedule(app, "tess").future_slot_count(datetime(2026, 11, 23, 12, tzinfo=UTC)) == 1440
    more = {
        **two_months,
        "title": "More Python",
        "ranges-0-start": "04:00",
        "ranges-0-end": "09:00",
    }
    response = submit(tess, "/offer", OFFER, more)
    assert response.status_code == 409
    message = page(response).by_id("dates-error").text
    assert "at most 2,000 future sessions" in message
    assert "this would make 2,040" in message  # 1,440 + 60 × 10
    assert len(schedule(app, "tess").offers) == 1


def test_the_thirty_first_open_offer_is_refused_at_the_title(app: Flask) -> None:
    tess = person(app, "tess", "UTC")
    for n in range(limits.MAX_OPEN_OFFERS):
        assert submit(tess, "/offer", OFFER, {"title": f"Offer {n}"}).status_code == 302
    response = submit(tess, "/offer", OFFER, {"title": "One too many"})
    assert response.status_code == 409
    assert_field_error(page(response), "title", "You already have 30 open offers")
    assert 'value="One too many"' in response.get_data(as_text=True)
    assert len(schedule(app, "tess").offers) == limits.MAX_OPEN_OFFERS


def test_the_twenty_first_open_request_is_refused_at_the_skill(app: Flask) -> None:
    leo = person(app, "leo", "UTC")
    for n in range(limits.MAX_OPEN_REQUESTS):
        assert submit(leo, "/request", REQUEST, {"skill": f"Skill {n}"}).status_code == 302
    response = submit(leo, "/request", REQUEST, {"skill": "Welsh"})
    assert response.status_code == 409
    assert "You already have 20 open requests" in page(response).by_id("skill-error").text
    assert len(schedule(app, "leo").requests) == limits.MAX_OPEN_REQUESTS

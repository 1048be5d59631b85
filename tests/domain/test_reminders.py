"""The reminder rules, pure: when each reminder is due, when it is too late, and what a claim
in a person's copy of a session allows (once, never for a cancelled, moved or rated one)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from skillswap.domain.records import Booking, Review
from skillswap.domain.reminders import (
    DueEntry,
    bucket_start,
    claim,
    deadline,
    due_bucket,
    due_entries,
    parse_offsets,
    reminders_for,
)
from skillswap.domain.schedule import Schedule

START = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)
OFFSETS = (timedelta(hours=24), timedelta(hours=1))


def session(status: str = "confirmed") -> Booking:
    return Booking(
        id="b1",
        teacher="tess",
        teacher_name="tess",
        learner="leo",
        learner_name="leo",
        offer_id="o1",
        slot_id="s1",
        title="Intro to Python",
        skill="Python",
        mode="online",
        start="2026-12-01T14:00:00Z",
        end="2026-12-01T15:00:00Z",
        created="2026-11-20T10:00:00Z",
        status=status,
    )


def schedule_of(owner: str, booking: Booking) -> Schedule:
    return Schedule(owner, bookings={booking.id: booking})


# --- REMINDER_OFFSETS ------------------------------------------------------------------------


def test_offsets_read_as_typed_longest_first() -> None:
    assert parse_offsets("1h, 24h") == OFFSETS
    assert parse_offsets("2d,90m,90min") == (timedelta(days=2), timedelta(minutes=90))
    assert parse_offsets("none") == parse_offsets("") == ()


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("24", "not a time like"),
        ("1w", "not a time like"),
        ("2m", "outside 5 minutes to 14 days"),
        ("15d", "outside 5 minutes to 14 days"),
        ("1h,2h,3h,4h,5h", "at most 4"),
    ],
)
def test_offsets_that_make_no_sense_stop_start_up(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        parse_offsets(text)


# --- moments and lateness --------------------------------------------------------------------


def test_a_session_has_its_reminders_at_their_moments() -> None:
    found = {(r.kind, r.moment) for r in reminders_for(session(), OFFSETS)}
    assert found == {
        ("before-1440", START - timedelta(hours=24)),
        ("before-60", START - timedelta(hours=1)),
        ("rate", START + timedelta(hours=1)),
        ("closing", START + timedelta(hours=1, days=11)),  # 3 days before the 14 close
    }


def test_a_booking_indexes_only_what_is_still_ahead() -> None:
    booked_late = START - timedelta(hours=3)  # the day-before reminder has passed
    kinds = [e.kind for e in due_entries(session(), OFFSETS, booked_late)]
    assert kinds == ["before-60", "rate", "closing"]


def test_a_reminder_is_too_late_after_an_hour_or_half_its_lead() -> None:
    day = START - timedelta(hours=24)
    assert deadline("before-1440", day) == day + timedelta(hours=1)
    hour = START - timedelta(hours=1)
    assert deadline("before-60", hour) == hour + timedelta(minutes=30)
    assert deadline("before-5", START - timedelta(minutes=5)) < START
    assert deadline("rate", START) == START + timedelta(hours=1)


@given(st.integers(5, 14 * 24 * 60))
def test_a_reminder_before_a_session_is_never_due_once_it_started(minutes: int) -> None:
    lead = timedelta(minutes=minutes)
    assert deadline(f"before-{minutes}", START - lead) <= START


# --- claims ----------------------------------------------------------------------------------


def moment(kind: str) -> tuple[str, str]:
    found = {r.kind: r.moment for r in reminders_for(session(), OFFSETS)}
    return kind, found[kind].isoformat().replace("+00:00", "Z")


def test_a_reminder_is_claimed_once() -> None:
    mine = schedule_of("leo", session())
    kind, at = moment("before-1440")
    now = START - timedelta(hours=24)
    assert claim(mine, "b1", kind, at, now) is not None
    assert claim(mine, "b1", kind, at, now + timedelta(minutes=1)) is None
    assert mine.bookings["b1"].reminded == ["before-1440@2026-11-30T14:00:00Z"]


@pytest.mark.parametrize("status", ["cancelled", "pending"])
def test_no_claim_on_a_session_that_is_not_confirmed(status: str) -> None:
    kind, at = moment("before-60")
    now = START - timedelta(hours=1)
    assert claim(schedule_of("leo", session(status)), "b1", kind, at, now) is None


def test_no_claim_before_the_moment_or_after_the_deadline() -> None:
    kind, at = moment("before-60")
    mine = schedule_of("leo", session())
    assert claim(mine, "b1", kind, at, START - timedelta(hours=1, seconds=1)) is None
    assert claim(mine, "b1", kind, at, START - timedelta(minutes=30)) is None
    assert mine.bookings["b1"].reminded == []


def test_a_moved_session_is_not_reminded_at_its_old_time_and_forgets_old_marks() -> None:
    booking = session()
    mine = schedule_of("leo", booking)
    kind, old = moment("before-1440")
    assert claim(mine, "b1", kind, old, START - timedelta(hours=24)) is not None
    booking.start, booking.end = "2026-12-02T14:00:00Z", "2026-12-02T15:00:00Z"

    assert claim(mine, "b1", kind, old, START - timedelta(hours=24)) is None, "stale entry"
    new = "2026-12-01T14:00:00Z"
    assert claim(mine, "b1", kind, new, START) is not None
    assert booking.reminded == [f"before-1440@{new}"]


def test_no_review_reminder_to_someone_who_rated() -> None:
    booking = session()
    booking.reviews["leo"] = Review(9, "", "2026-12-01T16:00:00Z")
    kind, at = moment("closing")
    now = START + timedelta(days=11, hours=1)
    assert claim(schedule_of("leo", booking), "b1", kind, at, now) is None
    assert claim(schedule_of("tess", booking), "b1", kind, at, now) is not None


def test_an_unknown_session_or_kind_claims_nothing() -> None:
    mine = schedule_of("leo", session())
    assert claim(mine, "nope", "rate", "2026-12-01T15:00:00Z", START + timedelta(hours=1)) is None
    assert claim(mine, "b1", "someday", "2026-12-01T15:00:00Z", START + timedelta(hours=1)) is None


# --- buckets ---------------------------------------------------------------------------------


def test_buckets_name_an_hour_or_a_day_and_sort_by_time() -> None:
    late = datetime(2026, 12, 1, 23, 59, tzinfo=UTC)
    assert due_bucket(late, hourly=True) == "2026-12-01T23"
    assert due_bucket(late, hourly=False) == "2026-12-01"
    assert bucket_start("2026-12-01T23") == late.replace(minute=0)
    assert bucket_start("2026-12-01") == datetime(2026, 12, 1, tzinfo=UTC)
    assert bucket_start("garbage!") is None
    assert sorted(["2026-12-02", "2026-12-01T23", "2026-12-01"]) == [
        "2026-12-01",
        "2026-12-01T23",
        "2026-12-02",
    ]


def test_a_malformed_entry_is_no_entry() -> None:
    assert DueEntry.from_stored("b1 rate", ["2026-12-01T15:00:00Z", "t", "l"]) is not None
    assert DueEntry.from_stored("b1", ["2026-12-01T15:00:00Z", "t", "l"]) is None
    assert DueEntry.from_stored("b1 rate", {"at": 1}) is None  # type: ignore[arg-type]

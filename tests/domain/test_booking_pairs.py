"""Torn booking pairs in a copy of the store, and how they are mended (booking_pairs.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from skillswap.domain.booking_pairs import mend, torn_pairs
from skillswap.domain.records import Booking, Review
from skillswap.domain.schedule import Schedule

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)
T, L = "teacher", "learner"


def session(days: float = 3, **fields: object) -> Booking:
    start = NOW + timedelta(days=days)
    values = {
        "id": "b1",
        "teacher": T,
        "teacher_name": "tess",
        "learner": L,
        "learner_name": "leo",
        "offer_id": "o1",
        "slot_id": "s1",
        "title": "Chess",
        "skill": "Chess",
        "mode": "online",
        "start": start.isoformat().replace("+00:00", "Z"),
        "end": (start + timedelta(hours=1)).isoformat().replace("+00:00", "Z"),
        "created": NOW.isoformat().replace("+00:00", "Z"),
        "status": "confirmed",
        **fields,
    }
    return Booking(**values)


def people(teacher: list[Booking], learner: list[Booking]) -> dict[str, Schedule]:
    return {
        T: Schedule(T, bookings={b.id: b for b in teacher}),
        L: Schedule(L, bookings={b.id: b for b in learner}),
    }


def test_a_copy_missing_on_one_side_is_added_from_the_other() -> None:
    schedules = people([session()], [])
    torn = torn_pairs(schedules, NOW)
    assert [(t.source, t.target, t.problem) for t in torn] == [(T, L, "missing")]
    assert mend(schedules, torn) == {L}
    assert schedules[L].bookings["b1"] == schedules[T].bookings["b1"]
    assert torn_pairs(schedules, NOW) == []


def test_a_cancel_copied_to_one_side_only_is_copied() -> None:
    cancelled = session(status="cancelled", cancelled_by=L, cancel_reason="ill", cancelled_at="x")
    schedules = people([session()], [cancelled])
    torn = torn_pairs(schedules, NOW)
    assert [(t.source, t.target, t.problem) for t in torn] == [(L, T, "not cancelled")]
    mend(schedules, torn)
    copy = schedules[T].bookings["b1"]
    assert (copy.status, copy.cancelled_by, copy.cancel_reason) == ("cancelled", L, "ill")


def test_two_cancels_kept_each_on_its_own_side_end_as_the_earlier() -> None:
    """Two cancels that crossed before 13f5ef3 left each copy with its own: an export and
    import mends them by the rule the live store now follows (domain/booking.py
    first_cancel)."""
    by_teacher = session(
        status="cancelled",
        cancelled_by=T,
        cancel_reason="busy",
        cancelled_at="2026-11-23T11:00:01Z",
    )
    by_learner = session(
        status="cancelled", cancelled_by=L, cancel_reason="ill", cancelled_at="2026-11-23T11:00:00Z"
    )
    schedules = people([by_teacher], [by_learner])
    torn = torn_pairs(schedules, NOW)
    assert [(t.source, t.target, t.problem) for t in torn] == [(L, T, "cancelled twice")]
    assert mend(schedules, torn) == {T}
    for owner in (T, L):
        copy = schedules[owner].bookings["b1"]
        assert (copy.cancelled_by, copy.cancel_reason) == (L, "ill")
    assert torn_pairs(schedules, NOW) == []


def test_a_review_on_one_side_only_is_copied() -> None:
    rated = session(days=-1, reviews={L: Review(9, "great", "2026-11-23T00:00:00Z")})
    schedules = people([session(days=-1)], [rated])
    torn = torn_pairs(schedules, NOW)
    assert [t.problem for t in torn] == ["review missing"]
    mend(schedules, torn)
    assert schedules[T].bookings["b1"].reviews[L].rating == 9


def test_what_read_repair_finishes_is_not_torn() -> None:
    hold = session(status="pending")
    uncopied_cancel = session(status="cancelled", cancelled_by=L, synced=False)
    uncopied_review = session(days=-1, reviews={L: Review(9, "", "x", copied=False)})
    assert torn_pairs(people([], [hold]), NOW) == []
    assert torn_pairs(people([session()], [uncopied_cancel]), NOW) == []
    assert torn_pairs(people([session(days=-1)], [uncopied_review]), NOW) == []


def test_long_past_sessions_and_deleted_people_are_left_alone() -> None:
    """One copy of an old session may be archived already; a deleted person has no copy."""
    assert torn_pairs(people([session(days=-20)], []), NOW) == []
    assert torn_pairs({T: Schedule(T, bookings={"b1": session()})}, NOW) == []


def test_a_mended_copy_has_none_of_the_other_persons_reminder_marks() -> None:
    # Marks say which reminders the copy's owner got: the other person got none of them.
    reminded = session(reminded=["before-60@2026-11-26T11:00:00Z"])
    schedules = people([reminded], [])
    mend(schedules, torn_pairs(schedules, NOW))
    assert schedules[L].bookings["b1"].reminded == []
    assert schedules[T].bookings["b1"].reminded == ["before-60@2026-11-26T11:00:00Z"]

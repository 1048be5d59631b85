"""Moving a session on the two documents (domain/reschedule.py): the three steps, every
refusal leaving both copies as they were, moves in flight, read repair, lateness, and a cancel
crossing a move. Pure: no Flask, no store."""

from __future__ import annotations

from datetime import timedelta

import pytest

from skillswap.domain import booking_pairs
from skillswap.domain.records import Booking, Offer, StoredSlot
from skillswap.domain.refusals import (
    MoveRefused,
    NotParticipant,
    Overlap,
    ScheduleRefusal,
    SlotTaken,
    SlotUnknown,
    TooSoon,
)
from skillswap.domain.reschedule import CHANGED, IN_FLIGHT, SAME_TIME, Move
from skillswap.domain.schedule import Schedule
from skillswap.domain.teacher_rules import TeacherRules
from skillswap.domain.times import iso_utc
from tests.domain.test_schedule import (
    LEARNER,
    NOW,
    OTHER,
    OUTSIDER,
    TEACHER,
    at,
    booking,
    offer,
    slot,
    teacher_with,
)


def claimed(teacher: Schedule, learner: Schedule, o: Offer, s: StoredSlot) -> Booking:
    """Booked through the three steps, as services/booking.py runs them."""
    b = booking(o, s, learner=learner.owner)
    learner.hold(b, NOW)
    copy = Booking.from_dict(b.to_dict())
    teacher.claim(copy, NOW)
    learner.confirm(b.id, copy.cancel_hours)
    return copy


def to(b: Booking, o: Offer, s: StoredSlot, by: str = LEARNER, seq: int | None = None) -> Move:
    sequence = b.sequence if seq is None else seq
    return Move(b.id, by, sequence, o.id, s.id, s.start, s.end, "sorry!", iso_utc(NOW))


def move(teacher: Schedule, learner: Schedule, m: Move, now=NOW, tagged=False) -> Booking:
    """The three steps as services/reschedule.py runs them."""
    learner.hold_move(m, now)
    try:
        moved = teacher.move(m, now, tagged)
    except ScheduleRefusal:
        learner.release_move(m.booking_id, m.sequence + 1)
        raise
    moved = Booking.from_dict(moved.to_dict())
    learner.take_move(moved)
    return moved


@pytest.fixture
def pair() -> tuple[Schedule, Schedule, Booking]:
    """The teacher offers 09-10, 11-12 and 13-14 on DAY; the learner booked 09-10."""
    o = offer("o1", slot(9, 10), slot(11, 12), slot(13, 14))
    teacher, learner = teacher_with(o), Schedule(LEARNER)
    return teacher, learner, claimed(teacher, learner, o, o.slots[0])


def test_a_move_changes_the_time_in_both_copies_keeps_the_id_and_raises_the_sequence(
    pair: tuple[Schedule, Schedule, Booking],
) -> None:
    teacher, learner, b = pair
    o = teacher.offers["o1"]
    moved = move(teacher, learner, to(b, o, o.slots[1]))
    for doc in (teacher, learner):
        copy = doc.bookings[b.id]
        assert (copy.start, copy.end, copy.slot_id) == (
            o.slots[1].start,
            o.slots[1].end,
            o.slots[1].id,
        )
        assert copy.sequence == 1
        assert copy.moved["from"] == [o.slots[0].start, o.slots[0].end]
        assert copy.moved["by"] == LEARNER and copy.moved["note"] == "sorry!"
        assert not copy.moving
        assert copy.status == "confirmed"
    assert len(teacher.bookings) == len(learner.bookings) == 1
    # The old slot is free again; the new one is taken.
    assert [s.id for _, s in teacher.free_slots(NOW)] == [o.slots[0].id, o.slots[2].id]
    # A second move goes on from the new sequence.
    again = move(teacher, learner, to(moved, o, o.slots[2], by=TEACHER))
    assert again.sequence == learner.bookings[b.id].sequence == 2


def test_a_move_to_an_overlapping_time_works() -> None:
    early, shifted = slot(9, 10), slot(9.5, 10.5)
    teacher = teacher_with(offer("a", early), offer("b", shifted))
    learner = Schedule(LEARNER)
    b = claimed(teacher, learner, teacher.offers["a"], early)
    move(teacher, learner, to(b, teacher.offers["b"], shifted))
    assert learner.bookings[b.id].start == shifted.start
    assert teacher.bookings[b.id].start == shifted.start
    assert [s.id for _, s in teacher.free_slots(NOW)] == []  # 09:00 overlaps the new time


def _setups() -> dict[str, tuple]:
    """name -> (change the scene, pick the move, refusal type, message part)."""
    return {
        "outsider": (
            None,
            lambda t, b, o: to(b, o, o.slots[1], by=OUTSIDER),
            NotParticipant,
            "Only the two people",
        ),
        "cancelled": (
            lambda t, learner, b: (
                t.cancel(b.id, TEACHER, "", NOW),
                learner.cancel(b.id, TEACHER, "", NOW),
            ),
            lambda t, b, o: to(b, o, o.slots[1]),
            MoveRefused,
            "was cancelled",
        ),
        "stale form": (None, lambda t, b, o: to(b, o, o.slots[1], seq=3), MoveRefused, CHANGED),
        "same time": (None, lambda t, b, o: to(b, o, o.slots[0]), MoveRefused, SAME_TIME),
        "taken": (
            lambda t, learner, b: claimed(
                t, Schedule(OTHER), t.offers["o1"], t.offers["o1"].slots[1]
            ),
            lambda t, b, o: to(b, o, o.slots[1]),
            SlotTaken,
            "just booked by someone else",
        ),
        "learner busy": (
            lambda t, learner, b: claimed(
                teacher_with(offer("x", slot(11.5, 12.5), owner=OTHER)),
                learner,
                offer("x", slot(11.5, 12.5), owner=OTHER),
                slot(11.5, 12.5),
            ),
            lambda t, b, o: to(b, o, o.slots[1]),
            Overlap,
            "you are already in a session",
        ),
        "too soon": (
            lambda t, learner, b: t.set_rules(TeacherRules(notice_hours=24 * 30)),
            lambda t, b, o: to(b, o, o.slots[1]),
            TooSoon,
            "at least 720 hours ahead",
        ),
        "unknown slot": (
            None,
            lambda t, b, o: to(b, offer("gone", slot(15, 16)), slot(15, 16)),
            SlotUnknown,
            "no longer offered",
        ),
        "other skill": (
            lambda t, learner, b: t.put_offer(offer("chess", slot(15, 16), skill="Chess"), NOW),
            lambda t, b, o: to(b, t.offers["chess"], t.offers["chess"].slots[0]),
            SlotUnknown,
            "not offered for Python",
        ),
    }


@pytest.mark.parametrize("case", list(_setups()))
def test_every_refusal_leaves_both_copies_as_they_were(
    pair: tuple[Schedule, Schedule, Booking], case: str
) -> None:
    teacher, learner, b = pair
    scene, pick, error, message = _setups()[case]
    if scene is not None:
        scene(teacher, learner, b)
    before = (teacher.to_doc(), learner.to_doc())
    with pytest.raises(error, match=message):
        move(teacher, learner, pick(teacher, b, teacher.offers["o1"]))
    assert (teacher.to_doc(), learner.to_doc()) == before


def test_a_message_over_500_characters_is_refused(
    pair: tuple[Schedule, Schedule, Booking],
) -> None:
    teacher, learner, b = pair
    o = teacher.offers["o1"]
    long = Move(b.id, LEARNER, 0, o.id, o.slots[1].id, o.slots[1].start, o.slots[1].end, "x" * 501)
    before = learner.to_doc()
    with pytest.raises(MoveRefused, match="Keep the message to 500 characters"):
        learner.hold_move(long, NOW)
    assert learner.to_doc() == before


def test_a_started_session_cannot_move(pair: tuple[Schedule, Schedule, Booking]) -> None:
    teacher, learner, b = pair
    o = teacher.offers["o1"]
    with pytest.raises(MoveRefused, match="has started"):
        move(teacher, learner, to(b, o, o.slots[1]), now=at(9))


def test_the_teacher_busy_elsewhere_refuses_on_the_teachers_side(
    pair: tuple[Schedule, Schedule, Booking],
) -> None:
    teacher, learner, b = pair
    o = teacher.offers["o1"]
    claimed(teacher, Schedule(OTHER), o, o.slots[2])  # 13-14 is taken by someone else
    teacher.put_offer(offer("o2", slot(13.5, 14.5)), NOW)
    before = (teacher.to_doc(), learner.to_doc())
    with pytest.raises(Overlap, match="the teacher is already in a session"):
        move(teacher, learner, to(b, teacher.offers["o2"], teacher.offers["o2"].slots[0]))
    assert (teacher.to_doc(), learner.to_doc()) == before


def test_a_move_in_flight_holds_its_new_time_and_blocks_a_second_move(
    pair: tuple[Schedule, Schedule, Booking],
) -> None:
    teacher, learner, b = pair
    o = teacher.offers["o1"]
    learner.hold_move(to(b, o, o.slots[1]), NOW)
    with pytest.raises(MoveRefused, match=IN_FLIGHT):
        learner.hold_move(to(b, o, o.slots[2]), NOW)
    # The learner cannot be booked elsewhere at the held time meanwhile.
    elsewhere = offer("y", slot(11, 12), owner=OTHER, skill="Chess")
    with pytest.raises(Overlap, match="you are already in a session"):
        learner.hold(booking(elsewhere, elsewhere.slots[0]), NOW)
    assert (at(11), at(12)) in learner.busy()


def test_read_repair_takes_the_teachers_time_after_a_crash_after_step_two(
    pair: tuple[Schedule, Schedule, Booking],
) -> None:
    teacher, learner, b = pair
    o = teacher.offers["o1"]
    m = to(b, o, o.slots[1])
    learner.hold_move(m, NOW)
    teacher.move(m, NOW, False)  # then the worker dies
    assert learner.resolve_move(b.id, teacher.bookings[b.id])
    assert learner.bookings[b.id].start == o.slots[1].start
    assert learner.bookings[b.id].sequence == 1 and not learner.bookings[b.id].moving


def test_read_repair_drops_the_held_time_after_a_crash_before_step_two(
    pair: tuple[Schedule, Schedule, Booking],
) -> None:
    teacher, learner, b = pair
    o = teacher.offers["o1"]
    learner.hold_move(to(b, o, o.slots[1]), NOW)  # then the worker dies
    assert not learner.resolve_move(b.id, teacher.bookings[b.id])
    copy = learner.bookings[b.id]
    assert (copy.start, copy.sequence, copy.moving) == (o.slots[0].start, 0, {})
    assert learner.busy() == [(at(9), at(10))]


def test_a_late_move_is_marked_on_both_copies_and_counted_once_for_the_mover(
    pair: tuple[Schedule, Schedule, Booking],
) -> None:
    teacher, learner, b = pair  # the default cancel deadline: 24 hours
    o = teacher.offers["o1"]
    late = at(9) - timedelta(hours=5)
    moved = move(teacher, learner, to(b, o, o.slots[1]), now=late)
    assert teacher.bookings[b.id].moved["late"] and learner.bookings[b.id].moved["late"]
    assert learner.late_counts(late) == (0, 1)
    assert teacher.late_counts(late) == (0, 0)
    learner.take_move(moved)  # a repeated step 3 counts nothing twice
    assert learner.late_counts(late) == (0, 1)
    # The teacher moving late is counted on the teacher's document, in the move itself.
    again = move(teacher, learner, to(moved, o, o.slots[2], by=TEACHER), now=late)
    assert again.moved["late"] and teacher.late_counts(late) == (0, 1)
    assert learner.late_counts(late) == (0, 1)


def test_a_move_in_time_is_not_late(pair: tuple[Schedule, Schedule, Booking]) -> None:
    teacher, learner, b = pair
    o = teacher.offers["o1"]
    move(teacher, learner, to(b, o, o.slots[1]))
    assert not learner.bookings[b.id].moved["late"]
    assert learner.late_counts(NOW) == (0, 0)


def test_a_cancel_crossing_a_move_ends_with_the_same_time_in_both_copies(
    pair: tuple[Schedule, Schedule, Booking],
) -> None:
    teacher, learner, b = pair
    o = teacher.offers["o1"]
    m = to(b, o, o.slots[1])
    learner.hold_move(m, NOW)
    teacher.move(m, NOW, False)
    # The teacher cancels the moved session before the learner's copy took the new time.
    cancelled = teacher.cancel(b.id, TEACHER, "ill", NOW)
    assert learner.take_cancel(cancelled)
    # Step 3 of the move arrives last: the time stays the teacher's, the session cancelled.
    assert not learner.take_move(teacher.bookings[b.id])
    mine, theirs = learner.bookings[b.id], teacher.bookings[b.id]
    assert (mine.status, mine.start, mine.sequence) == ("cancelled", theirs.start, 1)
    assert not mine.moving


def test_a_cancel_during_a_move_keeps_it_in_flight_for_read_repair(
    pair: tuple[Schedule, Schedule, Booking],
) -> None:
    teacher, learner, b = pair
    o = teacher.offers["o1"]
    m = to(b, o, o.slots[1])
    learner.hold_move(m, NOW)
    teacher.move(m, NOW, False)
    # The learner cancels before step 3, and that step never comes (the worker died).
    mine = learner.cancel(b.id, LEARNER, "", NOW)
    assert teacher.take_cancel(mine)
    assert [x.id for x in learner.moves_in_flight()] == [b.id]  # what read repair looks for
    learner.resolve_move(b.id, teacher.bookings[b.id])
    assert learner.bookings[b.id].start == teacher.bookings[b.id].start == o.slots[1].start
    assert learner.bookings[b.id].status == teacher.bookings[b.id].status == "cancelled"
    assert learner.moves_in_flight() == []


def test_an_export_caught_between_the_copies_of_a_move_is_mended() -> None:
    o = offer("o1", slot(9, 10), slot(11, 12))
    teacher, learner = teacher_with(o), Schedule(LEARNER)
    b = claimed(teacher, learner, o, o.slots[0])
    m = to(b, o, o.slots[1])
    learner.hold_move(m, NOW)
    teacher.move(m, NOW, False)
    learner.bookings[b.id].moving = {}  # read before step 1 and after step 2
    schedules = {TEACHER: teacher, LEARNER: learner}
    torn = booking_pairs.torn_pairs(schedules, NOW)
    assert [(t.source, t.target, t.problem) for t in torn] == [(TEACHER, LEARNER, "not moved")]
    booking_pairs.mend(schedules, torn)
    assert learner.bookings[b.id].start == teacher.bookings[b.id].start
    assert booking_pairs.torn_pairs(schedules, NOW) == []

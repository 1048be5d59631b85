"""A teacher's booking rules, each on its own (minimum notice, buffer, daily cap, cancel
deadline), the bounded count of late cancels and moves, and how the rules act on a Schedule:
the claim refuses what they refuse, free slots leave it out, a late cancel is marked and
counted. Pure: no Flask, no store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from skillswap.domain.limits import MAX_LATE_WEEKS
from skillswap.domain.records import Booking
from skillswap.domain.refusals import DayFull, InBuffer, TooSoon
from skillswap.domain.schedule import Schedule
from skillswap.domain.teacher_rules import (
    SlotCheck,
    TeacherRules,
    count_late,
    is_late,
    late_in_window,
    late_record,
    rules_problems,
    uncount_late,
    week_of,
)
from skillswap.domain.times import iso_utc
from tests.domain.test_schedule import (
    LEARNER,
    NOW,
    OTHER,
    TEACHER,
    at,
    book,
    booked_pair,
    booking,
    offer,
    slot,
    teacher_with,
)


def session(start: float, end: float, teacher: str = TEACHER, learner: str = LEARNER) -> Booking:
    """A confirmed session on DAY from `start` to `end` (hours, UTC)."""
    o = offer("o", slot(start, end), owner=teacher)
    b = booking(o, o.slots[0], learner=learner)
    b.status = "confirmed"
    return b


def check(rules: TeacherRules, now: datetime = NOW, *sessions: Booking) -> SlotCheck:
    return SlotCheck(rules, now, lambda: list(sessions), TEACHER)


# --- the rules as stored -------------------------------------------------------------------


def test_no_stored_rules_means_the_defaults() -> None:
    rules = TeacherRules.from_stored({})
    assert (rules.notice_hours, rules.buffer_minutes, rules.daily_cap, rules.cancel_hours) == (
        2,
        0,
        0,
        24,
    )
    assert TeacherRules.from_stored(rules.stored()) == rules


def test_stored_values_out_of_bounds_or_of_the_wrong_type_fall_back_to_the_default() -> None:
    stored = {
        "notice_hours": 10_000,
        "buffer_minutes": -5,
        "daily_cap": True,
        "cancel_hours": "12",
        "zone": "Asia/Tokyo",
        "from_a_later_version": 1,
    }
    assert TeacherRules.from_stored(stored) == TeacherRules(zone="Asia/Tokyo")


def test_rules_problems_name_each_field_out_of_bounds() -> None:
    assert rules_problems(TeacherRules().stored()) == {}
    problems = rules_problems(
        {"notice_hours": 721, "buffer_minutes": 241, "daily_cap": 25, "cancel_hours": -1}
    )
    assert problems == {
        "notice_hours": "Enter whole hours from 0 to 720 (30 days)",
        "buffer_minutes": "Enter whole minutes from 0 to 240 (4 hours)",
        "daily_cap": "Enter a number of sessions from 1 to 24, or leave it empty for no limit",
        "cancel_hours": "Enter whole hours from 0 to 720 (30 days)",
    }


# --- minimum notice ------------------------------------------------------------------------


def test_minimum_notice_refuses_a_start_sooner_than_n_hours_from_now() -> None:
    now = at(7)
    rules = TeacherRules(notice_hours=2)
    assert check(rules, now).refusal(at(9), at(10)) is None  # exactly 2 hours ahead
    refusal = check(rules, now).refusal(at(8.99), at(10))
    assert isinstance(refusal, TooSoon)
    assert str(refusal) == "This teacher takes bookings at least 2 hours ahead: pick a later time."
    assert not check(rules, now).allows(at(8.5), at(9.5))
    assert check(rules, now).allows(at(9), at(10))


def test_no_notice_allows_any_time_still_ahead_and_wording_for_the_teacher() -> None:
    assert check(TeacherRules(notice_hours=0), at(8)).allows(at(8.01), at(9))
    refusal = check(TeacherRules(notice_hours=1), at(8)).refusal(at(8.5), at(9), yours=True)
    assert (
        str(refusal) == "Your booking rules take bookings at least 1 hour ahead: pick a later time."
    )


# --- buffer --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "allowed"),
    [
        (11, 12, False),  # right after the 10:00-11:00 session
        (11.25, 12, True),  # 15 minutes later
        (8, 9.75, True),  # ends 15 minutes before it
        (8, 9.76, False),
        (10.5, 11.5, False),  # overlapping it
    ],
)
def test_buffer_keeps_minutes_free_around_every_live_session(
    start: float, end: float, allowed: bool
) -> None:
    rules = TeacherRules(buffer_minutes=15)
    booked = session(10, 11)
    result = check(rules, NOW, booked).refusal(at(start), at(end))
    assert (result is None) == allowed
    if not allowed:
        assert isinstance(result, InBuffer)
        assert str(result) == (
            "This teacher keeps 15 minutes free before and after each session, and that time "
            "is too close to another one."
        )


def test_buffer_counts_sessions_the_teacher_attends_and_not_cancelled_ones() -> None:
    rules = TeacherRules(buffer_minutes=30)
    attended = session(10, 11, teacher=OTHER, learner=TEACHER)
    assert not check(rules, NOW, attended).allows(at(11), at(12))
    # A schedule's check only sees its live sessions.
    teacher, _, b = booked_pair(10, 11)
    teacher.set_rules(rules)
    teacher.put_offer(offer("o2", slot(11, 12)), NOW)
    assert [s.id for _, s in teacher.free_slots(NOW)] == []
    teacher.cancel(b.id, TEACHER, "", NOW)
    assert len(teacher.free_slots(NOW)) == 2


def test_no_buffer_allows_back_to_back_sessions() -> None:
    assert check(TeacherRules(), NOW, session(10, 11)).allows(at(11), at(12))


# --- daily cap -----------------------------------------------------------------------------


def test_daily_cap_counts_sessions_taught_on_the_day_in_the_teachers_zone() -> None:
    rules = TeacherRules(daily_cap=2, zone="America/New_York")  # UTC-5 on 1 Dec
    # 14:00 and 16:00 UTC are 09:00 and 11:00 in New York on 1 Dec.
    taught = [session(14, 15), session(16, 17)]
    attended = session(18, 19, teacher=OTHER, learner=TEACHER)
    cancelled = session(20, 21)
    cancelled.status = "cancelled"
    c = check(rules, NOW, *taught, attended, cancelled)
    refusal = c.refusal(at(22), at(23))  # 17:00 in New York: the same day
    assert isinstance(refusal, DayFull)
    assert str(refusal) == (
        "This teacher teaches at most 2 sessions a day, and that day is full: pick another day."
    )
    # 04:00 UTC on 2 Dec is still 1 Dec in New York; 05:00 UTC is 2 Dec there.
    assert not c.allows(at(28), at(29))
    assert c.allows(at(29), at(30))


def test_daily_cap_in_utc_and_cancelled_sessions_free_a_place() -> None:
    teacher, _, b = booked_pair(9, 10)
    teacher.set_rules(TeacherRules(daily_cap=1))
    teacher.put_offer(offer("o2", slot(15, 16)), NOW)
    assert teacher.free_slots(NOW) == []
    teacher.cancel(b.id, TEACHER, "", NOW)
    assert len(teacher.free_slots(NOW)) == 2


def test_no_cap_by_default() -> None:
    many = [session(h, h + 1) for h in range(0, 20)]
    assert check(TeacherRules(), NOW, *many).allows(at(21), at(22))


# --- the rules inside the claim ------------------------------------------------------------


@pytest.mark.parametrize(
    ("rules", "now", "error"),
    [
        (TeacherRules(notice_hours=48), NOW + timedelta(days=7), TooSoon),
        (TeacherRules(buffer_minutes=60), NOW, InBuffer),
        (TeacherRules(daily_cap=1), NOW, DayFull),
    ],
)
def test_the_claim_refuses_what_the_rules_refuse_and_free_slots_leave_it_out(
    rules: TeacherRules, now: datetime, error: type
) -> None:
    teacher, _, _ = booked_pair(9, 10)
    later = slot(10.5, 11.5)
    teacher.put_offer(offer("o2", later), NOW)
    teacher.set_rules(rules)
    before = teacher.to_doc()
    with pytest.raises(error):
        teacher.claim(booking(teacher.offers["o2"], later, learner=OTHER), now)
    assert teacher.to_doc() == before
    assert teacher.free_slots(now) == []


def test_the_claim_copies_the_cancel_deadline_into_the_booking() -> None:
    s = slot(9, 10)
    teacher = teacher_with(offer("o1", s))
    teacher.set_rules(TeacherRules(cancel_hours=6))
    learner = Schedule(LEARNER)
    b = booking(teacher.offers["o1"], s)
    learner.hold(b, NOW)
    copy = Booking.from_dict(b.to_dict())
    teacher.claim(copy, NOW)
    learner.confirm(b.id, copy.cancel_hours)
    assert teacher.bookings[b.id].cancel_hours == learner.bookings[b.id].cancel_hours == 6


# --- late cancels --------------------------------------------------------------------------


def test_is_late_after_the_deadline_only() -> None:
    start = at(10)
    assert not is_late(start, 24, start - timedelta(hours=24))  # exactly at the deadline
    assert is_late(start, 24, start - timedelta(hours=24) + timedelta(seconds=1))
    assert not is_late(start, 0, start - timedelta(minutes=1))  # no deadline


def late_pair() -> tuple[Schedule, Schedule, Booking]:
    """A teacher and a learner with a session at 09:00 booked under the default cancel
    deadline, 24 hours."""
    s = slot(9, 10)
    teacher = teacher_with(offer("o1", s))
    learner = Schedule(LEARNER)
    b = booking(teacher.offers["o1"], s)
    learner.hold(b, NOW)
    claimed = Booking.from_dict(b.to_dict())
    teacher.claim(claimed, NOW)
    learner.confirm(b.id, claimed.cancel_hours)
    return teacher, learner, b


def test_a_late_cancel_is_marked_on_both_copies_and_counted_for_the_canceller_only() -> None:
    teacher, learner, b = late_pair()
    moment = at(9) - timedelta(hours=3)
    cancelled = learner.cancel(b.id, LEARNER, "ill", moment)
    assert cancelled.cancelled_late
    assert teacher.take_cancel(cancelled)
    assert teacher.bookings[b.id].cancelled_late
    assert learner.late_counts(moment) == (1, 0)
    assert teacher.late_counts(moment) == (0, 0)
    assert not teacher.take_cancel(cancelled)  # copied already


def crossed_cancels(
    teacher_at: datetime, learner_at: datetime, teacher_copy_first: bool
) -> tuple[Schedule, Schedule, str]:
    """Both people cancel one session, each on their own copy, before either copy reaches
    the other's; then each copy reaches the other, in the order given."""
    teacher, learner, b = late_pair()
    mine = Booking.from_dict(teacher.cancel(b.id, TEACHER, "teacher ill", teacher_at).to_dict())
    yours = Booking.from_dict(learner.cancel(b.id, LEARNER, "learner ill", learner_at).to_dict())
    if teacher_copy_first:
        learner.take_cancel(mine)
        teacher.take_cancel(yours)
    else:
        teacher.take_cancel(yours)
        learner.take_cancel(mine)
    return teacher, learner, b.id


@pytest.mark.parametrize("teacher_copy_first", [True, False])
@pytest.mark.parametrize("teacher_first", [True, False])
def test_two_cancels_that_cross_end_as_the_earlier_on_both_copies(
    teacher_first: bool, teacher_copy_first: bool
) -> None:
    """Each copy used to keep its own cancel: the two people disagreed on who cancelled, and
    a late cancel counted against both (a reasoned race, issue 22's notes)."""
    early = at(9) - timedelta(hours=3)  # late for the 24-hour deadline
    late = early + timedelta(seconds=1)
    teacher, learner, booking_id = crossed_cancels(
        early if teacher_first else late, late if teacher_first else early, teacher_copy_first
    )
    winner, reason = (TEACHER, "teacher ill") if teacher_first else (LEARNER, "learner ill")
    for schedule in (teacher, learner):
        copy = schedule.bookings[booking_id]
        assert (copy.cancelled_by, copy.cancel_reason) == (winner, reason)
        assert copy.cancelled_late
        assert copy.cancelled_at == iso_utc(early)
        assert schedule.late_counts(late) == ((1, 0) if schedule.owner == winner else (0, 0))


def test_two_cancels_at_the_same_instant_end_as_the_teachers() -> None:
    moment = at(9) - timedelta(hours=30)
    for teacher_copy_first in (True, False):
        teacher, learner, booking_id = crossed_cancels(moment, moment, teacher_copy_first)
        assert teacher.bookings[booking_id].cancelled_by == TEACHER
        assert learner.bookings[booking_id].cancelled_by == TEACHER
        assert learner.bookings[booking_id].cancel_reason == "teacher ill"


def test_taking_back_a_late_cancel_leaves_other_weeks_alone() -> None:
    week = datetime(2026, 11, 25, 9, tzinfo=UTC)
    counts = count_late(count_late(count_late({}, week), week), week + timedelta(days=7))
    assert uncount_late(counts, week) == {"2026-11-23": 1, "2026-11-30": 1}
    assert uncount_late(uncount_late(counts, week), week) == {"2026-11-30": 1}
    assert uncount_late({}, week) == {}


def test_a_cancel_in_time_is_not_late() -> None:
    teacher, _, b = booked_pair(9, 10)
    cancelled = teacher.cancel(b.id, TEACHER, "", at(9) - timedelta(hours=30))
    assert not cancelled.cancelled_late
    assert teacher.late_counts(NOW) == (0, 0)


# --- the counter of late cancels and moves -------------------------------------------------


def test_weeks_start_on_monday() -> None:
    assert week_of(datetime(2026, 11, 23, 0, 0, tzinfo=UTC)) == "2026-11-23"  # a Monday
    assert week_of(datetime(2026, 11, 29, 23, 59, tzinfo=UTC)) == "2026-11-23"
    assert week_of(datetime(2026, 11, 30, tzinfo=UTC)) == "2026-11-30"


def test_late_ones_count_for_90_days_by_whole_weeks() -> None:
    first = datetime(2026, 11, 25, 9, tzinfo=UTC)  # a Wednesday
    counts = count_late({}, first)
    counts = count_late(counts, first + timedelta(hours=1))
    assert counts == {"2026-11-23": 2}
    assert late_in_window(counts, first) == 2
    assert late_in_window(counts, first + timedelta(days=90)) == 2
    # The whole week of the day 90 days back counts: Saturday 27 Feb 2027 is 94 days on.
    assert late_in_window(counts, datetime(2027, 2, 27, 23, 59, tzinfo=UTC)) == 2
    assert late_in_window(counts, datetime(2027, 2, 28, tzinfo=UTC)) == 0


@given(st.lists(st.integers(0, 400), max_size=60))
def test_the_counter_never_holds_more_than_its_ceiling(days: list[int]) -> None:
    counts: dict[str, int] = {}
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for day in sorted(days):
        now = start + timedelta(days=day)
        before = late_in_window(counts, now)
        counts = count_late(counts, now)
        assert len(counts) <= MAX_LATE_WEEKS
        assert late_in_window(counts, now) == before + 1


def test_late_record_wording() -> None:
    assert late_record(0, 0) == ""
    assert late_record(2, 0) == "2 late cancellations in the last 90 days"
    assert late_record(1, 1) == "1 late cancellation and 1 late reschedule in the last 90 days"
    assert late_record(0, 3) == "3 late reschedules in the last 90 days"


def test_free_slots_follow_the_rules_and_matching_and_booking_agree() -> None:
    s1, s2 = slot(9, 10), slot(13, 14)
    teacher = teacher_with(offer("o1", s1, s2))
    teacher.set_rules(TeacherRules(notice_hours=3))
    now = at(8)
    assert [s.id for _, s in teacher.free_slots(now)] == [s2.id]
    with pytest.raises(TooSoon):
        book(teacher, Schedule(LEARNER), booking(teacher.offers["o1"], s1), now)
    book(teacher, Schedule(LEARNER), booking(teacher.offers["o1"], s2), now)

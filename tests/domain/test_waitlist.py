"""The waitlist's rules, pure (domain/waitlist.py): order, hold expiry and "counts as held"."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from skillswap.domain import limits
from skillswap.domain.records import Booking, Offer, StoredSlot
from skillswap.domain.refusals import LimitReached, ScheduleRefusal
from skillswap.domain.schedule import Schedule
from skillswap.domain.times import iso_utc
from skillswap.domain.waitlist import MyWait, SlotHeld, Waiting, bound_windows

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
DAY = "2026-12-03"
SLOTS = [(f"s{h}", f"{DAY}T{h:02d}:00:00Z", f"{DAY}T{h + 1:02d}:00:00Z") for h in (9, 10)]
WINDOW = [[f"{DAY}T08:00:00Z", f"{DAY}T12:00:00Z"]]


def teacher() -> Schedule:
    offer = Offer(
        id="o1", owner="t", user="tess", title="Python", skill="Python", description="",
        mode="online", timezone="UTC", dates=[DAY], time_ranges=[["09:00", "11:00"]],
        timestamp=iso_utc(NOW), slots=[StoredSlot(*s) for s in SLOTS],
    )  # fmt: skip
    return Schedule("t", offers={"o1": offer})


def booking(learner: str, slot: str = "s9") -> Booking:
    _, start, end = next(s for s in SLOTS if s[0] == slot)
    return Booking(
        id=f"b-{learner}-{slot}", teacher="t", teacher_name="tess", learner=learner,
        learner_name=learner, offer_id="o1", slot_id=slot, title="Python", skill="Python",
        mode="online", start=start, end=end, created=iso_utc(NOW),
    )  # fmt: skip


def wait(learner: str, windows: list[list[str]] | None = None) -> Waiting:
    windows = windows or WINDOW
    return Waiting(learner, learner, "Python", "python", windows, windows[-1][1], iso_utc(NOW))


def full_teacher(*waiting: str) -> Schedule:
    s = teacher()
    for slot, who in (("s9", "bo"), ("s10", "cy")):
        s.claim(booking(who, slot), NOW)
    for learner in waiting:
        assert s.join_waitlist(wait(learner), NOW)
    return s


def test_a_freed_slot_is_held_for_the_first_in_line_in_the_cancel_itself() -> None:
    s = full_teacher("ann", "dan")
    s.cancel("b-bo-s9", "t", "", NOW)
    [hold] = s.holds
    assert (hold.ref, hold.learner) == ("o1:s9", "ann")
    assert hold.until == iso_utc(NOW + limits.WAITLIST_HOLD)
    # Held: not free to anyone else, free to its holder.
    assert [sl.id for _, sl in s.free_slots(NOW)] == []
    assert [sl.id for _, sl in s.free_slots(NOW, viewer="ann")] == ["s9"]


def test_a_held_slot_is_refused_to_others_and_booked_by_its_holder() -> None:
    s = full_teacher("ann", "dan")
    s.cancel("b-bo-s9", "t", "", NOW)
    with pytest.raises(SlotHeld):
        s.claim(booking("eve"), NOW)
    with pytest.raises(SlotHeld):
        s.claim(booking("dan"), NOW)
    s.claim(booking("ann"), NOW)
    # Booked: no longer held, and ann's wait is over; dan still waits.
    assert s.holds == []
    assert [w.learner for w in s.line("python", NOW)] == ["dan"]


def test_an_expired_hold_counts_as_held_for_the_next_in_line_then_for_nobody() -> None:
    s = full_teacher("ann", "dan")
    s.cancel("b-bo-s9", "t", "", NOW)
    later = NOW + limits.WAITLIST_HOLD
    # Nobody has written the pass-on yet, but every reader agrees it is dan's.
    assert s.effective_holds(later)["o1:s9"].learner == "dan"
    assert s.holds[0].learner == "ann"
    [given] = s.settle_holds(later)
    assert (given.learner, given.passed) == ("dan", ["ann"])
    assert given.until == iso_utc(later + limits.WAITLIST_HOLD)
    with pytest.raises(SlotHeld):
        s.claim(booking("ann"), later)
    # dan lets it go too: free to everyone.
    end = later + limits.WAITLIST_HOLD
    assert s.effective_holds(end) == {}
    assert s.settle_holds(end) == [] and s.holds == []
    s.claim(booking("eve"), end)


def test_a_hold_never_outlasts_the_slot_start_and_the_window_must_overlap() -> None:
    s = full_teacher()
    s.join_waitlist(wait("far", [[f"{DAY}T10:00:00Z", f"{DAY}T11:00:00Z"]]), NOW)
    s.join_waitlist(wait("ann"), NOW)
    late = datetime(2026, 12, 3, 6, 0, tzinfo=UTC)  # 3 hours before the slot
    s.cancel("b-bo-s9", "t", "", late)
    [hold] = s.holds
    assert hold.learner == "ann", "far's window does not overlap 09:00"
    assert hold.until == iso_utc(late + limits.WAITLIST_HOLD)
    s2 = full_teacher("ann")
    s2.set_rules(s2.teacher_rules.__class__(notice_hours=0))
    closer = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
    s2.cancel("b-bo-s9", "t", "", closer)
    assert s2.holds[0].until == f"{DAY}T09:00:00Z"


def test_one_hold_per_person_so_a_second_freed_slot_goes_to_the_second_in_line() -> None:
    s = full_teacher("ann", "dan")
    s.cancel("b-bo-s9", "t", "", NOW)
    s.cancel("b-cy-s10", "t", "", NOW)
    assert {h.ref: h.learner for h in s.holds} == {"o1:s9": "ann", "o1:s10": "dan"}


def test_joining_twice_is_a_no_op_and_the_line_is_bounded() -> None:
    s = full_teacher("ann")
    assert s.join_waitlist(wait("ann"), NOW) is False
    for i in range(limits.MAX_WAITING_PER_SKILL - 1):
        s.join_waitlist(wait(f"p{i}"), NOW)
    with pytest.raises(LimitReached, match="waitlist for Python is full"):
        s.join_waitlist(wait("late"), NOW)
    # An entry ends with its window, and then frees its place.
    after = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
    assert s.line("python", after) == []
    afternoon = StoredSlot("s13", f"{DAY}T13:00:00Z", f"{DAY}T14:00:00Z")
    s.offers["o2"] = replace(s.offers["o1"], id="o2", slots=[afternoon])
    assert s.join_waitlist(wait("late", [[f"{DAY}T13:00:00Z", f"{DAY}T14:00:00Z"]]), after)


def test_only_a_teacher_with_time_in_the_window_for_the_skill_has_a_line_to_join() -> None:
    s = full_teacher()
    evening = [[f"{DAY}T18:00:00Z", f"{DAY}T20:00:00Z"]]
    with pytest.raises(ScheduleRefusal, match="no times for Python in your request's window"):
        s.join_waitlist(wait("ann", evening), NOW)
    other_skill = replace(wait("ann"), skill="Go", skill_key="go")
    with pytest.raises(ScheduleRefusal, match="no times for Go"):
        s.join_waitlist(other_skill, NOW)
    # A teacher who lists Go among what they teach makes all their time teachable for it.
    assert s.join_waitlist(replace(other_skill, any_offer=True), NOW)
    assert s.join_waitlist(wait("ann"), NOW), "taken times count: that is what a line is for"


def test_leaving_while_holding_passes_the_hold_on_at_once() -> None:
    s = full_teacher("ann", "dan")
    s.cancel("b-bo-s9", "t", "", NOW)
    assert s.leave_waitlist("ann", "python", NOW)
    assert [(h.learner, h.passed) for h in s.holds] == [("dan", ["ann"])]


def test_a_learner_is_on_at_most_ten_waitlists() -> None:
    me = Schedule("ann")
    ends = iso_utc(NOW + timedelta(days=3))
    for i in range(limits.MAX_WAITLISTS_PER_LEARNER):
        assert me.add_waiting(MyWait(f"t{i}", f"t{i}", "Python", "python", ends, ""), NOW)
    assert not me.add_waiting(MyWait("t0", "t0", "Python", "python", ends, ""), NOW)
    with pytest.raises(LimitReached, match="10 waitlists"):
        me.add_waiting(MyWait("t99", "t99", "Python", "python", ends, ""), NOW)
    assert me.drop_waiting("t0", "python")
    assert me.add_waiting(MyWait("t99", "t99", "Python", "python", ends, ""), NOW)


def test_the_sections_round_trip_through_the_stored_document() -> None:
    s = full_teacher("ann")
    s.cancel("b-bo-s9", "t", "", NOW)
    again = Schedule.from_doc("t", s.to_doc())
    assert again.holds == s.holds and again.waitlist == s.waitlist
    assert again.holds_due(NOW) and not Schedule.from_doc("x", {}).holds_due(NOW)


def test_bound_windows_keeps_the_future_merges_and_caps() -> None:
    windows = [
        [f"2026-12-{d:02d}T{h:02d}:00:00Z", f"2026-12-{d:02d}T{h + 1:02d}:00:00Z"]
        for d in range(2, 28)
        for h in (9, 10, 14)
    ]
    past = [["2026-11-30T09:00:00Z", "2026-11-30T10:00:00Z"]]
    bounded = bound_windows(past + windows, NOW)
    assert len(bounded) == limits.MAX_WAITLIST_WINDOWS
    assert bounded[0][0] == "2026-12-02T09:00:00Z" and bounded[-1][1] == windows[-1][1]
    # Never less than was asked: every window is inside one kept.
    assert all(any(a <= w[0] and w[1] <= b for a, b in bounded) for w in windows)

"""The booking, cancelling and review rules on one person's Schedule: pure, no Flask, no store."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skillswap.domain.attendance import CONFIRM_AFTER
from skillswap.domain.records import Booking, LearnRequest, Offer, Rating, StoredSlot
from skillswap.domain.refusals import (
    CancelRefused,
    NotParticipant,
    OfferHasBookings,
    Overlap,
    OwnSlot,
    ReviewRefused,
    SlotInPast,
    SlotTaken,
    SlotUnknown,
)
from skillswap.domain.schedule import Schedule, sessions
from skillswap.domain.teacher_rules import TeacherRules
from skillswap.domain.times import iso_utc

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
DAY = datetime(2026, 12, 1, tzinfo=UTC)  # a future day for sessions
TEACHER, LEARNER, OTHER, OUTSIDER = "t1", "l1", "l2", "x9"
NAMES = {TEACHER: "tess", LEARNER: "leo", OTHER: "olga", OUTSIDER: "xavier"}
_ids = itertools.count()


def at(hour: float, day: datetime = DAY) -> datetime:
    return day + timedelta(hours=hour)


def slot(start_hour: float, end_hour: float, day: datetime = DAY) -> StoredSlot:
    start, end = at(start_hour, day), at(end_hour, day)
    return StoredSlot(f"{start:%Y-%m-%dT%H%M}-{end:%H%M}", iso_utc(start), iso_utc(end))


def offer(offer_id: str, *slots: StoredSlot, owner: str = TEACHER, skill: str = "Python") -> Offer:
    return Offer(
        id=offer_id,
        owner=owner,
        user=NAMES[owner],
        title=f"{skill} lessons",
        skill=skill,
        description="",
        mode="online",
        timezone="UTC",
        dates=sorted({s.start[:10] for s in slots}),
        time_ranges=[["09:00", "12:00"]],
        timestamp=iso_utc(NOW),
        slots=list(slots),
    )


def booking(
    of: Offer,
    stored: StoredSlot,
    learner: str = LEARNER,
    booking_id: str | None = None,
) -> Booking:
    return Booking(
        id=booking_id or f"b{next(_ids)}",
        teacher=of.owner,
        teacher_name=NAMES[of.owner],
        learner=learner,
        learner_name=NAMES[learner],
        offer_id=of.id,
        slot_id=stored.id,
        title=of.title,
        skill=of.skill,
        mode=of.mode,
        start=stored.start,
        end=stored.end,
        created=iso_utc(NOW),
    )


def teacher_with(*offers: Offer) -> Schedule:
    schedule = Schedule(TEACHER)
    for o in offers:
        schedule.put_offer(o, NOW)
    return schedule


def book(teacher: Schedule, learner: Schedule, b: Booking, now: datetime = NOW) -> Booking:
    """The three steps as the repository runs them, on in-memory documents."""
    learner.hold(b, now)
    try:
        teacher.claim(Booking.from_dict(b.to_dict()), now)
    except Exception:
        learner.release(b.id)
        raise
    learner.confirm(b.id)
    return b


def booked_pair(
    start: float = 9, end: float = 10, now: datetime = NOW
) -> tuple[Schedule, Schedule, Booking]:
    s = slot(start, end)
    o = offer("o1", s)
    teacher, learner = teacher_with(o), Schedule(LEARNER)
    b = book(teacher, learner, booking(o, s), now)
    return teacher, learner, b


# --- hold / claim / confirm / release ------------------------------------------------------


def test_three_steps_confirm_the_booking_in_both_documents() -> None:
    s = slot(9, 10)
    o = offer("o1", s)
    teacher, learner = teacher_with(o), Schedule(LEARNER)
    b = booking(o, s)

    learner.hold(b, NOW)
    assert learner.bookings[b.id].status == "pending"
    assert [h.id for h in learner.pending_holds()] == [b.id]

    copy = Booking.from_dict(b.to_dict())
    teacher.claim(copy, NOW)
    assert teacher.bookings[b.id].status == "confirmed"

    learner.confirm(b.id)
    assert learner.bookings[b.id].status == "confirmed"
    assert learner.pending_holds() == []
    assert teacher.free_slots(NOW) == []


def test_release_drops_a_pending_hold_but_never_a_confirmed_booking() -> None:
    s = slot(9, 10)
    o = offer("o1", s)
    learner = Schedule(LEARNER)
    b = booking(o, s)
    learner.hold(b, NOW)
    learner.release(b.id)
    assert b.id not in learner.bookings

    _teacher, learner, confirmed = booked_pair()
    learner.release(confirmed.id)
    assert learner.bookings[confirmed.id].status == "confirmed"
    learner.release("no-such-booking")  # harmless


def test_resolve_hold_confirms_when_the_teacher_holds_the_booking() -> None:
    s = slot(9, 10)
    o = offer("o1", s)
    teacher, learner = teacher_with(o), Schedule(LEARNER)
    b = booking(o, s)
    learner.hold(b, NOW)
    teacher.claim(Booking.from_dict(b.to_dict()), NOW)  # crash before step 3
    learner.resolve_hold(b.id, teacher.bookings.get(b.id))
    assert learner.bookings[b.id].status == "confirmed"


def test_resolve_hold_releases_when_the_teacher_never_claimed_or_cancelled() -> None:
    s = slot(9, 10)
    o = offer("o1", s)
    learner = Schedule(LEARNER)
    b = booking(o, s)
    learner.hold(b, NOW)
    learner.resolve_hold(b.id, None)  # crash between step 1 and step 2
    assert b.id not in learner.bookings

    b2 = booking(o, s)
    learner.hold(b2, NOW)
    cancelled = Booking.from_dict(b2.to_dict())
    cancelled.status = "cancelled"
    learner.resolve_hold(b2.id, cancelled)
    assert b2.id not in learner.bookings


# --- claim refusals ------------------------------------------------------------------------


def test_claim_refuses_an_unknown_offer_or_slot() -> None:
    s = slot(9, 10)
    o = offer("o1", s)
    teacher = teacher_with(o)
    ghost = offer("nope", s)
    with pytest.raises(SlotUnknown, match="no longer offered"):
        teacher.claim(booking(ghost, s), NOW)
    with pytest.raises(SlotUnknown, match="no longer offered"):
        teacher.claim(booking(o, slot(10, 11)), NOW)
    assert teacher.bookings == {}


def test_claim_refuses_a_slot_whose_times_changed() -> None:
    s = slot(9, 10)
    o = offer("o1", s)
    teacher = teacher_with(o)
    stale = booking(o, s)
    stale.end = iso_utc(at(11))
    with pytest.raises(SlotUnknown, match="changed"):
        teacher.claim(stale, NOW)
    assert teacher.bookings == {}


@pytest.mark.parametrize("minutes_after_start", [0, 30])
def test_claim_and_hold_refuse_a_slot_that_has_started(minutes_after_start: int) -> None:
    s = slot(9, 10)
    o = offer("o1", s)
    teacher, learner = teacher_with(o), Schedule(LEARNER)
    now = at(9) + timedelta(minutes=minutes_after_start)
    with pytest.raises(SlotInPast):
        teacher.claim(booking(o, s), now)
    with pytest.raises(SlotInPast):
        learner.hold(booking(o, s), now)
    assert teacher.bookings == {} and learner.bookings == {}
    # One minute before the start it is still bookable, by a teacher who asks for no notice
    # (the default is two hours: tests/domain/test_teacher_rules.py).
    teacher.set_rules(TeacherRules(notice_hours=0))
    book(teacher, learner, booking(o, s), at(9) - timedelta(minutes=1))


def test_own_slot_is_refused_on_both_sides() -> None:
    s = slot(9, 10)
    o = offer("o1", s)
    teacher = teacher_with(o)
    mine = booking(o, s, learner=TEACHER)
    with pytest.raises(OwnSlot):
        teacher.hold(mine, NOW)
    with pytest.raises(OwnSlot):
        teacher.claim(mine, NOW)
    assert teacher.bookings == {}


def test_a_booked_slot_cannot_be_claimed_again() -> None:
    teacher, _, first = booked_pair()
    o = teacher.offers["o1"]
    second = booking(o, o.slots[0], learner=OTHER)
    with pytest.raises(SlotTaken, match="just booked by someone else"):
        teacher.claim(second, NOW)
    assert [b.id for b in teacher.bookings.values() if b.active] == [first.id]


def test_teacher_cannot_be_booked_twice_through_two_overlapping_offers() -> None:
    morning = slot(9, 11)
    hour = slot(10, 11)
    teacher = teacher_with(offer("long", morning), offer("short", hour))
    learner, other = Schedule(LEARNER), Schedule(OTHER)
    book(teacher, learner, booking(teacher.offers["long"], morning))
    b = booking(teacher.offers["short"], hour, learner=OTHER)
    with pytest.raises(Overlap, match="the teacher is already in a session"):
        book(teacher, other, b)
    assert b.id not in other.bookings  # the hold was released
    assert len([x for x in teacher.bookings.values() if x.active]) == 1


def test_teacher_attending_another_session_is_not_free_to_teach() -> None:
    s = slot(9, 10)
    o = offer("o1", s)
    teacher = teacher_with(o)
    # The teacher books someone else's lesson at 09:30.
    elsewhere = offer("their", slot(9.5, 10.5), owner=OTHER, skill="Chess")
    other_teacher = Schedule(OTHER)
    other_teacher.put_offer(elsewhere, NOW)
    attend = Booking.from_dict(booking(elsewhere, elsewhere.slots[0]).to_dict())
    attend.learner, attend.learner_name = TEACHER, NAMES[TEACHER]
    book(other_teacher, teacher, attend)

    assert teacher.free_slots(NOW) == []
    with pytest.raises(Overlap, match="the teacher is already in a session"):
        teacher.claim(booking(o, s), NOW)


def test_back_to_back_slots_do_not_overlap() -> None:
    a, b = slot(9, 10), slot(10, 11)
    o = offer("o1", a, b)
    teacher, learner = teacher_with(o), Schedule(LEARNER)
    book(teacher, learner, booking(o, a))
    book(teacher, learner, booking(o, b))
    assert len(teacher.bookings) == 2 and len(learner.bookings) == 2


# --- hold refusals (the learner's side) ----------------------------------------------------


def test_hold_refuses_overlap_with_what_the_learner_teaches() -> None:
    # The learner teaches 09:00-10:00 (booked by OTHER), then tries to attend 09:30-10:30.
    learner = Schedule(LEARNER)
    their_offer = offer("mine", slot(9, 10), owner=LEARNER)
    learner.put_offer(their_offer, NOW)
    learner.claim(booking(their_offer, their_offer.slots[0], learner=OTHER), NOW)

    s = slot(9.5, 10.5)
    o = offer("o1", s)
    teacher = teacher_with(o)
    with pytest.raises(Overlap, match="you are already in a session"):
        book(teacher, learner, booking(o, s))
    assert teacher.bookings == {}


def test_hold_refuses_overlap_with_what_the_learner_attends() -> None:
    _, learner, _ = booked_pair(9, 10)
    s = slot(9.5, 10.5)
    o = offer("o2", s, owner=OTHER, skill="Chess")
    with pytest.raises(Overlap, match="you are already in a session"):
        learner.hold(booking(o, s), NOW)


def test_a_pending_hold_blocks_an_overlapping_hold() -> None:
    # Two tabs booking overlapping slots of two teachers: the second hold sees the first.
    learner = Schedule(LEARNER)
    a = offer("a", slot(9, 10))
    b = offer("b", slot(9.5, 10.5), owner=OTHER)
    learner.hold(booking(a, a.slots[0]), NOW)
    with pytest.raises(Overlap):
        learner.hold(booking(b, b.slots[0]), NOW)
    assert len(learner.bookings) == 1


# --- cancelling ----------------------------------------------------------------------------


def test_cancelling_frees_the_slot_for_someone_else() -> None:
    teacher, learner, b = booked_pair()
    teacher.cancel(b.id, LEARNER, "ill", NOW)
    learner.cancel(b.id, LEARNER, "ill", NOW)
    for doc in (teacher, learner):
        assert doc.bookings[b.id].status == "cancelled"
        assert doc.bookings[b.id].cancel_reason == "ill"
        assert doc.bookings[b.id].cancelled_by == LEARNER
        assert doc.bookings[b.id].cancelled_at == iso_utc(NOW)
    o = teacher.offers["o1"]
    assert [s.id for _, s in teacher.free_slots(NOW)] == [o.slots[0].id]
    again = book(teacher, Schedule(OTHER), booking(o, o.slots[0], learner=OTHER))
    assert teacher.bookings[again.id].status == "confirmed"
    # The learner's own time is free again too.
    assert learner.busy() == []


def test_either_participant_may_cancel_and_outsiders_may_not() -> None:
    teacher, _, b = booked_pair()
    with pytest.raises(NotParticipant):
        teacher.cancel(b.id, OUTSIDER, "", NOW)
    with pytest.raises(NotParticipant):
        teacher.cancel("unknown", TEACHER, "", NOW)
    assert teacher.bookings[b.id].status == "confirmed"
    teacher.cancel(b.id, TEACHER, "", NOW)
    assert teacher.bookings[b.id].status == "cancelled"


def test_cancel_after_start_is_refused() -> None:
    teacher, _, b = booked_pair(9, 10)
    with pytest.raises(CancelRefused):
        teacher.cancel(b.id, LEARNER, "", at(9))
    with pytest.raises(CancelRefused):
        teacher.cancel(b.id, LEARNER, "", at(11))
    assert teacher.bookings[b.id].status == "confirmed"


def test_cancelling_twice_is_harmless_and_keeps_the_first_reason() -> None:
    teacher, _, b = booked_pair()
    teacher.cancel(b.id, LEARNER, "first", NOW)
    again = teacher.cancel(b.id, TEACHER, "second", NOW + timedelta(hours=1))
    assert again.status == "cancelled"
    assert again.cancel_reason == "first" and again.cancelled_by == LEARNER
    assert again.cancelled_at == iso_utc(NOW)


# --- reviews -------------------------------------------------------------------------------


def test_review_rules() -> None:
    teacher, _, b = booked_pair(9, 10)
    with pytest.raises(ReviewRefused, match="once it has ended"):
        teacher.add_review(b.id, LEARNER, 8, "", at(9.5))
    after = at(10)
    with pytest.raises(NotParticipant):
        teacher.add_review(b.id, OUTSIDER, 8, "", after)
    with pytest.raises(NotParticipant):
        teacher.add_review("unknown", LEARNER, 8, "", after)
    for bad in (0, 11, -1):
        with pytest.raises(ReviewRefused, match="from 1 to 10"):
            teacher.add_review(b.id, LEARNER, bad, "", after)
    with pytest.raises(ReviewRefused, match="1000 characters"):
        teacher.add_review(b.id, LEARNER, 8, "x" * 1001, after)
    assert teacher.bookings[b.id].reviews == {}

    teacher.add_review(b.id, LEARNER, 10, "y" * 1000, after)
    teacher.add_review(b.id, TEACHER, 1, "", after)
    assert {k: v.rating for k, v in teacher.bookings[b.id].reviews.items()} == {
        LEARNER: 10,
        TEACHER: 1,
    }
    with pytest.raises(ReviewRefused, match="already rated"):
        teacher.add_review(b.id, LEARNER, 5, "", after)
    assert teacher.bookings[b.id].reviews[LEARNER].rating == 10


def test_a_cancelled_session_cannot_be_rated() -> None:
    teacher, _, b = booked_pair(9, 10)
    teacher.cancel(b.id, TEACHER, "", NOW)
    with pytest.raises(ReviewRefused, match="cancelled"):
        teacher.add_review(b.id, LEARNER, 7, "", at(11))


def test_a_review_is_hidden_until_both_rated() -> None:
    teacher, learner, b = booked_pair(9, 10)
    end = at(10)
    for doc in (teacher, learner):
        doc.add_review(b.id, LEARNER, 9, "", end)
    tb = teacher.bookings[b.id]
    assert not tb.review_visible(LEARNER, end)
    assert not tb.review_visible(TEACHER, end)  # not written at all
    assert teacher.stats(end).rating_count == 0
    assert teacher.stats(end).rating_average == 0.0
    for doc in (teacher, learner):
        doc.add_review(b.id, TEACHER, 6, "", end + timedelta(hours=1))
    later = end + timedelta(hours=1)
    assert teacher.bookings[b.id].review_visible(LEARNER, later)
    assert teacher.stats(later).rating_count == 1
    assert teacher.stats(later).rating_average == 9.0
    assert learner.stats(later).rating_average == 6.0


def test_a_one_sided_review_shows_fourteen_days_after_the_session() -> None:
    teacher, _, b = booked_pair(9, 10)
    end = at(10)
    teacher.add_review(b.id, LEARNER, 7, "", end)
    just_before = end + timedelta(days=14) - timedelta(seconds=1)
    assert not teacher.bookings[b.id].review_visible(LEARNER, just_before)
    assert teacher.stats(just_before).rating_count == 0
    on_time = end + timedelta(days=14)
    assert teacher.bookings[b.id].review_visible(LEARNER, on_time)
    assert teacher.stats(on_time).rating_count == 1
    assert teacher.stats(on_time).rating_average == 7.0


# --- stats ---------------------------------------------------------------------------------


def test_stats_with_nothing() -> None:
    stats = Schedule(TEACHER).stats(NOW)
    assert (stats.taught, stats.attended, stats.rating_count, stats.rating_average) == (
        0,
        0,
        0,
        0.0,
    )


def test_stats_count_only_confirmed_sessions_that_have_ended() -> None:
    slots = [slot(h, h + 1) for h in (8, 9, 10, 11)]
    o = offer("o1", *slots)
    teacher, learner = teacher_with(o), Schedule(LEARNER)
    ended = book(teacher, learner, booking(o, slots[0]))
    book(teacher, learner, booking(o, slots[1]))
    cancelled = book(teacher, learner, booking(o, slots[2]))
    teacher.cancel(cancelled.id, TEACHER, "", NOW)
    learner.cancel(cancelled.id, TEACHER, "", NOW)
    pending = booking(o, slots[3])
    learner.hold(pending, NOW)  # a hold never confirmed

    # Unconfirmed sessions count 7 days after they end (domain/attendance.py).
    moment = at(10) + CONFIRM_AFTER  # first 7 days over, second exactly, third would be running
    t, lr = teacher.stats(moment), learner.stats(moment)
    assert (t.taught, t.attended) == (2, 0)
    assert (lr.taught, lr.attended) == (0, 2)
    assert teacher.stats(at(9.5) + CONFIRM_AFTER).taught == 1
    assert teacher.stats(NOW).taught == 0
    assert ended.id in teacher.bookings


def test_stats_average_is_rounded_to_one_decimal() -> None:
    slots = [slot(h, h + 1) for h in (8, 9, 10)]
    o = offer("o1", *slots)
    teacher, learner = teacher_with(o), Schedule(LEARNER)
    ids = [book(teacher, learner, booking(o, s)).id for s in slots]
    after = at(12)
    for bid, rating in zip(ids, (9, 9, 8), strict=True):
        teacher.add_review(bid, LEARNER, rating, "", after)
        teacher.add_review(bid, TEACHER, 5, "", after)
    stats = teacher.stats(after)
    assert stats.rating_count == 3
    assert stats.rating_average == 8.7  # 26 / 3 = 8.666...
    assert teacher.rating(after) == Rating(3, 8.7)  # what a booking page shows
    teacher.counters.update(rating_count=2, rating_sum=11)  # two archived: a 5 and a 6
    assert teacher.rating(after) == Rating(5, 7.4)  # 37 / 5
    assert teacher.stats(after).rating_average == 7.4


# --- free slots ----------------------------------------------------------------------------


def test_free_slots_exclude_past_booked_and_overlapping_slots() -> None:
    early = slot(9, 10, day=NOW.replace(hour=0))  # today 09:00, already past at noon
    booked = slot(9, 10)
    inside = slot(9.5, 10.5)  # another offer, overlapping the booked one
    later = slot(11, 12)
    chess = slot(13, 14)
    a = offer("a", early, booked, later)
    b = offer("b", inside)
    c = offer("c", chess, skill="Chess")
    teacher, learner = teacher_with(a, b, c), Schedule(LEARNER)
    book(teacher, learner, booking(a, booked))
    free = [(o.id, s.id) for o, s in teacher.free_slots(NOW)]
    assert free == [("a", later.id), ("c", chess.id)]
    assert [(o.id, s.id) for o, s in teacher.free_slots(NOW, "python")] == [("a", later.id)]
    assert [s.id for _, s in teacher.free_slots(at(11))] == [chess.id]


# --- offers --------------------------------------------------------------------------------


def test_put_offer_refuses_to_drop_a_booked_future_slot_but_may_drop_free_ones() -> None:
    booked, free = slot(9, 10), slot(10, 11)
    teacher, learner = teacher_with(offer("o1", booked, free)), Schedule(LEARNER)
    book(teacher, learner, booking(teacher.offers["o1"], booked))

    with pytest.raises(OfferHasBookings, match="1 booked session would disappear"):
        teacher.put_offer(offer("o1", free), NOW)
    assert [s.id for s in teacher.offers["o1"].slots] == [booked.id, free.id]

    teacher.put_offer(offer("o1", booked), NOW)
    assert [s.id for s in teacher.offers["o1"].slots] == [booked.id]
    # Once the session is over, the slot may go (and a slot that has started is never
    # bookable again, so it leaves the live document; the offer remembers when it ends).
    teacher.put_offer(offer("o1", free), at(10))
    assert teacher.offers["o1"].slots == []
    assert teacher.offers["o1"].last_end == free.end


def test_put_offer_refuses_to_move_a_booked_slot_that_keeps_its_id() -> None:
    """Slot ids are wall-clock times in the offer's zone. After the teacher changes zone, the
    same form makes a slot with the booked one's id at another instant: it was listed free
    (pages check times) and refused at booking (the claim checks ids), for good."""
    booked = slot(9, 10)
    teacher, learner = teacher_with(offer("o1", booked)), Schedule(LEARNER)
    book(teacher, learner, booking(teacher.offers["o1"], booked))
    elsewhere = replace(slot(14, 15), id=booked.id)

    with pytest.raises(OfferHasBookings, match="1 booked session would disappear or move"):
        teacher.put_offer(offer("o1", elsewhere), NOW)
    assert teacher.offers["o1"].slots == [booked]


def test_put_offer_may_drop_a_slot_whose_booking_was_cancelled() -> None:
    teacher, _, b = booked_pair()
    teacher.cancel(b.id, TEACHER, "", NOW)
    teacher.put_offer(offer("o1", slot(14, 15)), NOW)
    assert [s.id for s in teacher.offers["o1"].slots] == [slot(14, 15).id]


def test_remove_offer() -> None:
    teacher, _, b = booked_pair(9, 10)
    with pytest.raises(OfferHasBookings, match="1 upcoming booked session"):
        teacher.remove_offer("o1", NOW)
    assert "o1" in teacher.offers
    with pytest.raises(SlotUnknown):
        teacher.remove_offer("nope", NOW)
    removed = teacher.remove_offer("o1", at(10))
    assert removed.id == "o1" and "o1" not in teacher.offers
    assert b.id in teacher.bookings  # the history stays


# --- sessions() ----------------------------------------------------------------------------


def test_sessions_split_upcoming_soonest_first_and_past_newest_first() -> None:
    slots = [slot(h, h + 1) for h in (11, 8, 10, 9, 12)]
    o = offer("o1", *slots)
    teacher, learner = teacher_with(o), Schedule(LEARNER)
    made = {s.start[11:13]: book(teacher, learner, booking(o, s)) for s in slots}
    teacher.cancel(made["12"].id, LEARNER, "", NOW)
    learner.cancel(made["12"].id, LEARNER, "", NOW)
    learner.hold(booking(offer("p", slot(15, 16), owner=OTHER), slot(15, 16)), NOW)

    moment = at(10.5)  # 08 and 09 ended; 10 is running (still upcoming); 11, 12 ahead
    upcoming, past = sessions(teacher, moment)["teacher"]
    assert [b.start[11:13] for b in upcoming] == ["10", "11", "12"]
    assert upcoming[-1].status == "cancelled"  # shown, so people see what was cancelled
    assert [b.start[11:13] for b in past] == ["09", "08"]
    assert sessions(teacher, moment)["learner"] == ([], [])
    l_up, l_past = sessions(learner, moment)["learner"]
    assert [b.start[11:13] for b in l_up] == ["10", "11", "12"]  # the pending hold is left out
    assert [b.start[11:13] for b in l_past] == ["09", "08"]


def test_the_next_session_is_the_soonest_confirmed_one_not_over() -> None:
    slots = [slot(h, h + 1) for h in (11, 8, 10, 9, 12)]
    o = offer("o1", *slots)
    teacher, learner = teacher_with(o), Schedule(LEARNER)
    made = {s.start[11:13]: book(teacher, learner, booking(o, s)) for s in slots}
    for schedule in (teacher, learner):
        schedule.cancel(made["10"].id, LEARNER, "", NOW)
    learner.hold(booking(offer("p", slot(7, 8), owner=OTHER), slot(7, 8)), NOW)  # pending
    # The learner also teaches: a session of their own at 13:00.
    own = offer("o2", slot(13, 14), owner=LEARNER)
    learner.put_offer(own, NOW)
    other = Schedule(OTHER)
    book(learner, other, booking(own, own.slots[0], learner=OTHER), NOW)

    # The same answers from the schedule in memory and from its stored document, which the
    # home page reads without parsing the bookings.
    stored = Schedule.from_doc(LEARNER, learner.to_doc())
    for schedule in (learner, stored):
        assert schedule.next_session(at(7.5)).start[11:13] == "08"  # not the pending 07:00
        assert schedule.next_session(at(9.5)).start[11:13] == "09"  # running: not over yet
        assert schedule.next_session(at(10)).start[11:13] == "11"  # 10:00 was cancelled
        assert schedule.next_session(at(12.5)).start[11:13] == "12"
        assert schedule.next_session(at(13)).teacher == LEARNER  # teaching counts too
        assert schedule.next_session(at(14)) is None
        # Over at its end, to the microsecond; running a microsecond before.
        ends = at(10) + timedelta(microseconds=1)
        assert schedule.next_session(ends).start[11:13] == "11"
        assert schedule.next_session(at(10) - timedelta(microseconds=1)).start[11:13] == "09"
    assert "bookings" not in stored._parsed
    assert Schedule(OTHER).next_session(NOW) is None
    assert Schedule.from_doc(OTHER, None).next_session(NOW) is None


# --- serialisation -------------------------------------------------------------------------


def teacher_with_request_and_review() -> tuple[Schedule, Booking]:
    """A teacher's schedule with an offer, a booking reviewed by the learner and a request."""
    teacher, _, b = booked_pair(9, 10)
    teacher.requests["r1"] = LearnRequest(
        id="r1",
        owner=TEACHER,
        user="tess",
        skill="Chess",
        mode="either",
        timezone="Europe/Berlin",
        dates=["2026-12-01"],
        time_ranges=[["14:00", "18:00"]],
        timestamp=iso_utc(NOW),
        windows=[[iso_utc(at(13)), iso_utc(at(17))]],
    )
    teacher.add_review(b.id, LEARNER, 8, "thanks", at(10))
    return teacher, b


def test_to_doc_from_doc_round_trip() -> None:
    teacher, b = teacher_with_request_and_review()
    teacher.offers["o1"].preset = {"kind": "weekdays", "first": "2026-12-01", "last": "2026-12-04"}
    doc = teacher.to_doc()
    again = Schedule.from_doc(TEACHER, doc)
    assert again == teacher
    assert again.to_doc() == doc
    assert again.bookings[b.id].reviews[LEARNER].rating == 8
    assert again.offers["o1"].slots[0] == teacher.offers["o1"].slots[0]
    assert Schedule.from_doc(TEACHER, None) == Schedule(TEACHER)


def test_from_doc_ignores_unknown_fields() -> None:
    teacher, _, b = booked_pair()
    doc = teacher.to_doc()
    doc["bookings"][b.id]["future_field"] = 1
    doc["offers"]["o1"]["future_field"] = 1
    again = Schedule.from_doc(TEACHER, doc)
    assert again.bookings[b.id] == teacher.bookings[b.id]


# --- property: no two active bookings of one teacher ever overlap --------------------------

# Candidate slots across two overlapping offers (quarter-hour grid, 30-120 minutes long).
GRID = [(start, start + length) for start in range(0, 12) for length in (2, 4, 8)]
ops = st.lists(
    st.one_of(
        st.tuples(st.just("claim"), st.sampled_from(["a", "b"]), st.sampled_from(GRID)),
        st.tuples(st.just("hold"), st.sampled_from(GRID)),
        st.tuples(st.just("cancel"), st.integers(0, 30)),
        st.tuples(st.just("confirm"), st.integers(0, 30)),
        st.tuples(st.just("release"), st.integers(0, 30)),
    ),
    max_size=30,
)


@settings(max_examples=100, deadline=None)
@given(ops)
def test_no_two_active_bookings_of_one_schedule_overlap(operations: list) -> None:
    def grid_slot(span: tuple[int, int]) -> StoredSlot:
        return slot(9 + span[0] / 4, 9 + span[1] / 4)

    teacher = teacher_with(
        offer("a", *[grid_slot(g) for g in GRID]),
        offer("b", *[grid_slot(g) for g in GRID]),
    )
    seen: list[str] = []
    for op in operations:
        try:
            if op[0] == "claim":
                o = teacher.offers[op[1]]
                b = booking(o, grid_slot(op[2]), learner=LEARNER)
                teacher.claim(b, NOW)
                seen.append(b.id)
            elif op[0] == "hold":
                # The teacher books someone else's lesson: pending holds count as busy time.
                elsewhere = offer("x", grid_slot(op[1]), owner=OTHER)
                b = booking(elsewhere, elsewhere.slots[0])
                b.learner, b.learner_name = TEACHER, NAMES[TEACHER]
                teacher.hold(b, NOW)
                seen.append(b.id)
            elif seen:
                target = seen[op[1] % len(seen)]
                if op[0] == "cancel":
                    teacher.cancel(target, TEACHER, "", NOW)
                elif op[0] == "confirm":
                    teacher.confirm(target)
                else:
                    teacher.release(target)
        except (Overlap, SlotTaken, NotParticipant):
            pass
        active = [b for b in teacher.bookings.values() if b.active]
        for x, y in itertools.combinations(active, 2):
            assert not (x.start_at < y.end_at and y.start_at < x.end_at), (x, y)
    # And nothing offered as free overlaps booked time.
    active = [b for b in teacher.bookings.values() if b.active]
    for _, free in teacher.free_slots(NOW):
        assert all(not (free.start < b.end_at and b.start_at < free.end) for b in active)


def test_a_learner_at_the_upcoming_limit_is_refused_a_hold() -> None:
    """Pinned here as well as in the state machine, whose steps reach it in most runs only."""
    from skillswap.domain import limits

    learner = Schedule(LEARNER)
    day = DAY
    for n in range(limits.MAX_UPCOMING_ATTENDING):
        s = slot(9, 10, day + timedelta(days=n))
        learner.hold(booking(offer(f"o{n}", s), s), NOW)
    extra = slot(9, 10, day + timedelta(days=limits.MAX_UPCOMING_ATTENDING))
    with pytest.raises(limits.LimitReached, match="the most SkillSwap keeps at once"):
        learner.hold(booking(offer("extra", extra), extra), NOW)
    # Once one has taken place, there is room again.
    later = at(10, day)
    learner.hold(booking(offer("extra", extra), extra), later)


# --- the same form sent twice ----------------------------------------------------------------


def _request(request_id: str, **changes: object) -> LearnRequest:
    fields: dict = {
        "id": request_id,
        "owner": LEARNER,
        "user": "leo",
        "skill": "Chess",
        "mode": "either",
        "timezone": "Europe/Berlin",
        "dates": ["2026-12-01"],
        "time_ranges": [["14:00", "18:00"]],
        "timestamp": iso_utc(NOW),
        "windows": [[iso_utc(at(13)), iso_utc(at(17))]],
    }
    return LearnRequest(**{**fields, **changes})


def test_a_new_request_identical_to_an_open_one_in_all_that_was_entered_is_its_twin() -> None:
    learner = Schedule(LEARNER)
    learner.put_request(_request("r1"), NOW)
    assert learner.twin(_request("r2"), NOW) == "r1"
    assert learner.twin(_request("r2", skill="  chess "), NOW) == "r1", "the skill as matched"
    assert learner.twin(_request("r1"), NOW) is None, "a change to itself is no twin"
    for different in (
        {"mode": "online"},
        {"timezone": "UTC"},
        {"dates": ["2026-12-02"]},
        {"time_ranges": [["14:00", "17:00"]]},
        {"skill": "Go"},
    ):
        assert learner.twin(_request("r2", **different), NOW) is None, different
    # An ended request is history: asking the same again is a new request.
    assert learner.twin(_request("r2"), at(18)) is None


def test_a_new_offer_identical_to_an_open_one_in_all_that_was_entered_is_its_twin() -> None:
    teacher = teacher_with(offer("o1", slot(9, 10), slot(10, 11)))
    assert teacher.twin(offer("o2", slot(9, 10), slot(10, 11)), NOW) == "o1"
    assert teacher.twin(offer("o1", slot(9, 10)), NOW) is None, "an edit is no twin"
    assert teacher.twin(offer("o2", slot(9, 10), skill="Go"), NOW) is None
    retitled = replace(offer("o2", slot(9, 10), slot(10, 11)), title="Python for beginners")
    assert teacher.twin(retitled, NOW) is None
    assert teacher.twin(replace(retitled, title="Python lessons", session_minutes=30), NOW) is None
    assert teacher.twin(offer("o2", slot(9, 10), slot(10, 11)), at(12)) is None, "ended"

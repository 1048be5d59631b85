"""The booking workflows (services/booking.py) over a real SQLite store, without Flask: each
call leaves both people's documents in step, and a refusal leaves them as they were."""

from __future__ import annotations

from datetime import date, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from skillswap import services
from skillswap.domain.records import Booking, Offer, StoredSlot
from skillswap.domain.refusals import ScheduleRefusal
from skillswap.domain.times import expand_slots, iso_utc
from skillswap.repo import Repository
from skillswap.repo.keys import new_id, schedule_key
from tests.services.conftest import NOW, Clock

BERLIN = ZoneInfo("Europe/Berlin")


def publish(repo: Repository, teacher_name: str) -> tuple[str, Offer]:
    teacher = repo.create_user(teacher_name, f"{teacher_name}@example.com", "hash", "Europe/Berlin")
    day = date(2027, 3, 3)
    slots = expand_slots([day], [(time(10), time(12))], BERLIN, 60)
    offer = Offer(
        id=new_id(),
        owner=teacher.id,
        user=teacher.username,
        title="Intro to Welsh",
        skill="Welsh",
        description="",
        mode="online",
        timezone="Europe/Berlin",
        dates=[day.isoformat()],
        time_ranges=[["10:00", "12:00"]],
        timestamp=iso_utc(NOW),
        session_minutes=60,
        slots=[StoredSlot.of(s) for s in slots],
    )
    services.offers.save_offer(repo, offer)
    return teacher.id, offer


def booking_of(repo: Repository, learner_name: str, teacher: str, offer: Offer) -> Booking:
    learner = repo.find_user(learner_name) or repo.create_user(
        learner_name, f"{learner_name}@example.com", "hash", "America/New_York"
    )
    slot = offer.slots[0]
    return Booking(
        id=new_id(),
        teacher=teacher,
        teacher_name="teacher",
        learner=learner.id,
        learner_name=learner.username,
        offer_id=offer.id,
        slot_id=slot.id,
        title=offer.title,
        skill=offer.skill,
        mode=offer.mode,
        start=slot.start,
        end=slot.end,
        created=iso_utc(NOW),
    )


def raw(repo: Repository, *uids: str) -> list[object]:
    return [repo.store.get(schedule_key(uid)) for uid in uids]


def test_a_booking_is_confirmed_in_both_documents_and_tells_the_teacher(repo: Repository) -> None:
    teacher, offer = publish(repo, "tutor")
    booking = services.booking.book(repo, booking_of(repo, "ada", teacher, offer))

    theirs = repo.schedule(teacher).bookings[booking.id]
    mine = repo.schedule(booking.learner).bookings[booking.id]
    assert theirs.status == mine.status == "confirmed"
    assert (theirs.start, theirs.end) == (mine.start, mine.end)
    assert [n.kind for n in repo.schedule(teacher).notifications] == ["booked"]


def test_a_taken_slot_is_refused_and_the_second_learner_keeps_nothing(repo: Repository) -> None:
    teacher, offer = publish(repo, "tutor")
    services.booking.book(repo, booking_of(repo, "ada", teacher, offer))
    second = booking_of(repo, "bea", teacher, offer)
    before = raw(repo, teacher, second.learner)

    with pytest.raises(ScheduleRefusal):
        services.booking.book(repo, second)

    assert raw(repo, teacher, second.learner) == before


def test_a_cancel_reaches_the_other_person_with_its_reason(repo: Repository) -> None:
    teacher, offer = publish(repo, "tutor")
    booking = services.booking.book(repo, booking_of(repo, "ada", teacher, offer))

    services.booking.cancel(repo, booking.learner, booking.id, "ill")

    theirs = repo.schedule(teacher).bookings[booking.id]
    assert (theirs.status, theirs.cancel_reason, theirs.synced) == ("cancelled", "ill", True)
    assert repo.schedule(booking.learner).bookings[booking.id].status == "cancelled"


def test_a_review_is_the_same_on_both_copies_and_only_after_the_session(
    repo: Repository, clock: Clock
) -> None:
    teacher, offer = publish(repo, "tutor")
    booking = services.booking.book(repo, booking_of(repo, "ada", teacher, offer))
    with pytest.raises(ScheduleRefusal):
        services.booking.review(repo, booking.learner, booking.id, 9, "early")

    clock.now = booking.end_at + timedelta(hours=1)
    services.booking.review(repo, booking.learner, booking.id, 9, "Clear and kind")

    copies = [repo.schedule(uid).bookings[booking.id] for uid in (teacher, booking.learner)]
    assert [c.reviews[booking.learner].rating for c in copies] == [9, 9]
    assert all(c.reviews[booking.learner].copied for c in copies)

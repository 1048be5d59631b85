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
from tests.support.interleave import runs_first

BERLIN = ZoneInfo("Europe/Berlin")


def welsh_offer(teacher: str, username: str, day: date, title: str = "Intro to Welsh") -> Offer:
    """Welsh on `day`, 10:00-12:00 in Berlin, in one-hour sessions."""
    slots = expand_slots([day], [(time(10), time(12))], BERLIN, 60)
    return Offer(
        id=new_id(),
        owner=teacher,
        user=username,
        title=title,
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


def publish(repo: Repository, teacher_name: str) -> tuple[str, Offer]:
    teacher = repo.create_user(teacher_name, f"{teacher_name}@example.com", "hash", "Europe/Berlin")
    offer = welsh_offer(teacher.id, teacher.username, date(2027, 3, 3))
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


# --- two cancels that cross: one mail, one notice, whichever step lands first ----------------
# Each call's whole cancel runs inside the other's, between its own write and its copy to the
# other person: what two servers do when both people cancel at once (an outside review).


def booked(repo: Repository) -> tuple[str, str, str]:
    teacher, offer = publish(repo, "tess")
    booking = services.booking.book(repo, booking_of(repo, "leo", teacher, offer))
    return teacher, booking.learner, booking.id


def cancels_in_between(
    monkeypatch: pytest.MonkeyPatch, module: object, clock: Clock, seconds: int, cancel: object
) -> list[object]:
    """Run `cancel()` once, `seconds` later on the clock, when `module`'s copy_cancel is next
    called; its result is appended to the list returned."""

    def later(*_: object) -> object:
        clock.now += timedelta(seconds=seconds)
        return cancel()  # type: ignore[operator]

    return runs_first(monkeypatch, module, "copy_cancel", later)


def cancel_notices(repo: Repository, uid: str) -> int:
    return [n.kind for n in repo.schedule(uid).notifications].count("cancelled")


@pytest.mark.parametrize("first_copy", ["winner's", "loser's"])
def test_crossed_cancels_mail_once_and_tell_the_loser_once(
    repo: Repository, clock: Clock, monkeypatch: pytest.MonkeyPatch, first_copy: str
) -> None:
    teacher, learner, bid = booked(repo)
    if first_copy == "loser's":  # leo's cancel (first) is copied after tess's whole cancel
        inner = cancels_in_between(
            monkeypatch,
            services.booking,
            clock,
            1,
            lambda: services.booking.cancel(repo, teacher, bid, "busy"),
        )
        outer = services.booking.cancel(repo, learner, bid, "ill")
    else:  # tess's cancel (a second later) runs after leo's own write, before his copy
        clock.now += timedelta(seconds=1)
        inner = cancels_in_between(
            monkeypatch,
            services.booking,
            clock,
            -1,
            lambda: services.booking.cancel(repo, learner, bid, "ill"),
        )
        outer = services.booking.cancel(repo, teacher, bid, "busy")
    [(inner_copy, inner_mails)] = inner  # type: ignore[misc]
    outer_copy, outer_mails = outer
    assert [inner_mails, outer_mails].count(True) == 1
    for copy in (
        inner_copy,
        outer_copy,
        *(repo.schedule(u).bookings[bid] for u in (teacher, learner)),
    ):
        assert (copy.cancelled_by, copy.cancel_reason) == (learner, "ill")
    assert cancel_notices(repo, teacher) == 1 and cancel_notices(repo, learner) == 0


def test_a_deletion_whose_cancel_stands_is_mailed_once(
    repo: Repository, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """tess deletes her account; leo cancels a second later and his copy reaches her document
    first. Her deletion's cancel stands, so his page did not mail, and her deletion found his
    copy already cancelled and told nobody: no mail at all, and his calendar kept it."""
    teacher, learner, bid = booked(repo)
    inner = cancels_in_between(
        monkeypatch,
        services.accounts,
        clock,
        1,
        lambda: services.booking.cancel(repo, learner, bid, "busy"),
    )
    told: list[Booking] = []
    services.accounts.delete_account(repo, teacher, tell=told.append)
    [(standing, leo_mails)] = inner  # type: ignore[misc]
    assert standing.cancel_reason == "account deleted"
    assert len(told) + leo_mails == 1


def test_a_cancel_whose_copy_failed_is_mailed_by_the_later_one_it_crossed(
    repo: Repository, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """leo's cancel is written, then his page fails before its copy and its mail; tess
    cancels later. His cancel stands (it came first), and hers mails it."""
    teacher, learner, bid = booked(repo)

    def outage(*args: object) -> None:
        raise OSError("the store went away")

    monkeypatch.setattr(services.booking, "copy_cancel", outage)
    with pytest.raises(OSError):
        services.booking.cancel(repo, learner, bid, "ill")
    monkeypatch.undo()
    clock.now += timedelta(seconds=30)
    standing, mails = services.booking.cancel(repo, teacher, bid, "busy")
    assert (standing.cancelled_by, mails) == (learner, True)
    assert cancel_notices(repo, teacher) == 1

"""Deleting an account: the person's sessions cancelled with notice to the other people, their
offers, requests and tags out of the indexes, their names retired, their documents gone."""

from __future__ import annotations

import contextlib

from skillswap.domain.booking import ACCOUNT_DELETED
from skillswap.domain.records import Booking
from skillswap.domain.refusals import ScheduleRefusal
from skillswap.domain.schedule import Schedule
from skillswap.repo import Repository
from skillswap.services import waitlist
from skillswap.services.booking import copy_cancel


def delete_account(repo: Repository, uid: str) -> list[Booking]:
    """Remove a person, telling the people they had sessions with; returns the sessions it
    cancelled (for their mail: services/notify.py).

    1. bump the session version: their other devices stop acting for them at once; close
       their schedule: from now on nothing can add to it (a booking, offer or waitlist entry
       in flight is refused: repo/schedules.py CLOSED);
    2. in one atomic step on their schedule: drop offers and requests (no new booking can
       claim their time) and cancel upcoming sessions; then cancel each in the other
       person's document with a notice, reason "account deleted";
    3. take offers, requests and teach tags out of the skill and slot indexes;
    4. turn the username claim into a tombstone ({"uid", "deleted"}): usernames are never
       reused, and a tombstone finds no user, so nobody can log in with it; keep the
       email only as a keyed hash (deleted-email/) and free the address for a new account;
    5. leave every waitlist they are on;
    6. empty schedule/<id> down to its closed mark, then delete user/<id>.
    Past sessions stay in the other people's documents, with the names copied there.
    The user record goes last: after a crash the person can log in and delete again.
    """
    user = repo.get_user(uid)
    if user is None:
        return []
    repo.bump_session_version(uid)
    now = repo.clock()
    repo.close_schedule(uid, now)
    removed: list[Schedule] = []
    confirmed: set[str] = set()

    def empty(s: Schedule) -> list[Booking]:
        removed[:] = [Schedule(uid, offers=dict(s.offers), requests=dict(s.requests))]
        s.offers.clear()
        s.requests.clear()
        upcoming = [b for b in s.bookings.values() if b.active and b.start_at > now]
        confirmed.clear()
        confirmed.update(b.id for b in upcoming if b.status == "confirmed")
        for booking in upcoming:
            s.cancel(booking.id, uid, ACCOUNT_DELETED, now)
        return upcoming

    cancelled = repo.change_schedule(uid, empty)
    # Out of every waitlist they were on (issue 21), so no time is held for nobody; a slot
    # one of their cancels frees is held for whoever waits for it (copy_cancel below).
    for wait in repo.schedule(uid).waiting:
        waitlist.leave(repo, uid, wait.teacher, wait.skill_key)
    for booking in cancelled:
        # Refused when the other account is gone too; a never-claimed hold is skipped.
        with contextlib.suppress(ScheduleRefusal):
            copy_cancel(repo, uid, booking)
    for offer in removed[0].offers.values():
        repo.index_offer(offer.skill_key, uid, offer.id, add=False)
    for request in removed[0].requests.values():
        repo.index_skill(request.skill_key, "learners", uid, request.id, False)
    repo.index_teach_tags(uid, user.teach, [])
    gone = removed[0].offers.values()
    repo.refresh_slot_rows(uid, {o.skill_key for o in gone}, gone, with_tags=True)
    repo.retire_names(user, now)
    repo.delete_archive(uid)
    repo.delete_person(uid, now)
    return [booking for booking in cancelled if booking.id in confirmed]

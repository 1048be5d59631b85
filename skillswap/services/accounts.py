"""Deleting an account: the person's sessions cancelled with notice to the other people, their
offers, requests and tags out of the indexes, their names retired, their documents gone."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from skillswap.domain.booking import ACCOUNT_DELETED
from skillswap.domain.records import Booking
from skillswap.domain.refusals import ScheduleRefusal
from skillswap.domain.schedule import Schedule
from skillswap.domain.skills import normalise_skill
from skillswap.repo import Repository
from skillswap.services import waitlist
from skillswap.services.booking import copy_cancel


def delete_account(
    repo: Repository, uid: str, tell: Callable[[Booking], None] = lambda booking: None
) -> list[Booking]:
    """Remove a person, telling the people they had sessions with; returns the sessions whose
    other person was told now. `tell` (their mail: services/notify.py) runs for each as soon
    as their copy is cancelled, so a crash later in the deletion loses no one's mail.

    1. bump the session version: their other devices stop acting for them at once; close
       their schedule: from now on nothing can add to it (a booking, offer or waitlist entry
       in flight is refused: repo/schedules.py CLOSED);
    2. cancel their upcoming sessions in their schedule, each marked not yet copied; leave
       every waitlist they are on; then cancel each in the other person's document with a
       notice, reason "account deleted", and mark it copied;
    3. take offers, requests and teach tags out of the skill and slot indexes, while the
       offers are still in the document, then drop offers and requests from it;
    4. turn the username claim into a tombstone ({"uid", "deleted"}): usernames are never
       reused, and a tombstone finds no user, so nobody can log in with it; keep the
       email only as a keyed hash (deleted-email/) and free the address for a new account;
    5. empty schedule/<id> down to its closed mark, then delete user/<id>.
    Past sessions stay in the other people's documents, with the names copied there.

    Every step may be cut short by a crash and done again: the user record goes last, so the
    person can log in and delete again, and that run finds what is left from the document
    itself (cancels not yet copied, offers not yet out of the indexes).
    """
    user = repo.get_user(uid)
    if user is None:
        return []
    repo.bump_session_version(uid)
    now = repo.clock()
    repo.close_schedule(uid, now)

    def cancel_upcoming(s: Schedule) -> None:
        # Nobody waits for a deleted teacher: the slots their cancels free are held for no one
        # (the offers stay in the document until the indexes are done, below).
        s.waitlist = []
        s.holds = []
        for booking in [b for b in s.bookings.values() if b.active and b.start_at > now]:
            s.cancel(booking.id, uid, ACCOUNT_DELETED, now).synced = False

    repo.change_schedule(uid, cancel_upcoming)
    mine = repo.schedule(uid)  # leaving waitlists below changes none of what is read from it
    # Out of every waitlist they were on (issue 21), so no time is held for nobody; a slot
    # one of their cancels frees is held for whoever waits for it (copy_cancel below).
    for wait in mine.waiting:
        waitlist.leave(repo, uid, wait.teacher, wait.skill_key)
    told = []
    for booking in mine.bookings.values():
        if booking.cancelled_by == uid and booking.cancel_reason == ACCOUNT_DELETED:
            # Refused when the other account is gone too; a never-claimed hold tells nobody.
            with contextlib.suppress(ScheduleRefusal):
                if booking.synced:
                    continue
                mails, standing = copy_cancel(repo, uid, booking)
                if mails:  # the other person's own cancel, crossing this, may stand
                    told.append(standing)
                    tell(standing)
    for offer in mine.offers.values():
        repo.index_offer(offer.skill_key, uid, offer.id, add=False)
    for request in mine.requests.values():
        repo.index_skill(request.skill_key, "learners", uid, request.id, False)
    # A teach tag makes all their published time teachable for it: rows under those too.
    tagged = {normalise_skill(tag) for tag in user.teach}
    offered = mine.offers.values()
    repo.drop_slot_rows(uid, {o.skill_key for o in offered} | tagged, offered)

    def drop_offers_and_requests(s: Schedule) -> None:
        s.offers.clear()
        s.requests.clear()

    repo.change_schedule(uid, drop_offers_and_requests)
    repo.index_teach_tags(uid, user.teach, [])  # no offers left: only the taggers change
    repo.retire_names(user, now)
    repo.delete_archive(uid)
    repo.delete_person(uid, now)
    return told

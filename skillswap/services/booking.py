"""Booking, cancelling and reviewing: the workflows over both people's documents.

Booking is hold (learner) -> claim (teacher; the one place a slot becomes taken) -> confirm
(domain/booking.py). A cancel and a review are written in the acting person's copy first,
marked not yet copied, then copied to the other person's and marked done; read repair
(`resolve_pending`) finishes whatever a crash or an outage left half done, moves
(services/reschedule.py) included. Before the first write, the other person's copy is checked
to fit their document.

Notices: each kind of notice is made by one function here (`notice` for booked, cancelled and
reviewed; `moved_notice`), and only there, so mail (issues 18/19) can hook in at one place.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

from skillswap.domain import limits
from skillswap.domain.booking import ACCOUNT_DELETED
from skillswap.domain.records import Booking, Notification, Review
from skillswap.domain.refusals import AccountClosed, ScheduleRefusal
from skillswap.domain.schedule import Schedule
from skillswap.domain.skills import normalise_skill
from skillswap.domain.times import iso_utc, parse_iso_utc
from skillswap.repo import Repository
from skillswap.repo.keys import new_id, schedule_key
from skillswap.services import attendance, upkeep
from skillswap.store import StoreLimitError
from skillswap.store.codec import encoded_size

log = logging.getLogger(__name__)
# A hold younger than this may belong to a booking still in flight in another worker.
HOLD_GRACE = timedelta(seconds=60)


def book(repo: Repository, booking: Booking) -> Booking:
    """Hold on the learner's side, claim on the teacher's, then confirm (DESIGN.md).

    The teacher is told in the same atomic step that claims the slot. Returns the learner's
    copy: cancelled when the teacher's side cancelled it between the steps (their account's
    deletion began), whose cancel mail has gone already."""
    now = repo.clock()
    with upkeep.after(repo):
        upkeep.grow(repo, booking.learner, lambda s: s.hold(booking, now))

        def claim_and_tell(s: Schedule) -> None:
            s.claim(booking, now)
            s.notify(notice("booked", booking, booking.learner_name, now))

        try:
            upkeep.grow(repo, booking.teacher, claim_and_tell)
        except ScheduleRefusal as refusal:
            repo.change_schedule(booking.learner, lambda s: s.release(booking.id))
            if isinstance(refusal, limits.LimitReached):
                raise limits.LimitReached(limits.TEACHER_FULL) from refusal
            raise
        # Any other failure (an outage, a lost answer) may have claimed the slot or not:
        # the hold stays, and resolve_pending settles it against the teacher's copy.
        skill_key = normalise_skill(booking.skill)

        def confirm(s: Schedule) -> Booking | None:
            s.confirm(booking.id, booking.cancel_hours)
            # Booking answers this teacher's invitations for the skill (domain/attendance.py)
            # and ends my wait for them (domain/waitlist.py).
            s.answer_invitations(booking.teacher_name, booking.skill, now)
            s.drop_waiting(booking.teacher, skill_key)
            return s.bookings.get(booking.id)

        mine = repo.change_schedule(booking.learner, confirm)
        repo.count_unread(booking.teacher, +1)
        # Cancelled by the learner's side: their deletion began between the steps. (Cancelled
        # by the teacher's, the booking was made and then cancelled, and says so as usual.)
        if (
            mine is not None and mine.status == "cancelled" and mine.cancelled_by == booking.learner
        ) or (mine is None and repo.get_user(booking.learner) is None):
            _withdraw_claim(repo, booking, mine, now)
            raise AccountClosed()
    if mine is not None and mine.status == "cancelled":
        return mine  # cancelled on the teacher's side between the steps: not "Booked"
    booking.status = "confirmed"
    return booking


def _withdraw_claim(
    repo: Repository, booking: Booking, mine: Booking | None, now: datetime
) -> None:
    """The learner's hold was cancelled while the claim was made: their account's deletion
    began in between (the only thing that cancels a hold), and its copy of the cancel went
    to a teacher's copy that did not exist yet. Copy it now, so the teacher is not left with
    a session nobody will come to; with the learner's document already down to its closed
    mark, the cancel is made here as the deletion made it."""
    if mine is None:
        scratch = Schedule(
            booking.learner, bookings={booking.id: replace(booking, status="confirmed")}
        )
        mine = scratch.cancel(booking.id, booking.learner, ACCOUNT_DELETED, now)
    copy_cancel(repo, booking.learner, mine)


def notice(kind: str, booking: Booking, actor: str, now: datetime, note: str = "") -> Notification:
    """A booked, cancelled or reviewed notice (the in-app path; mail hooks in here later)."""
    return Notification(
        id=new_id(),
        kind=kind,
        actor=actor,
        skill=booking.skill,
        title=booking.title,
        created=iso_utc(now),
        booking_id=booking.id,
        start=booking.start,
        end=booking.end,
        note=note,
        late=kind == "cancelled" and booking.cancelled_late,
    )


def moved_notice(booking: Booking, actor: str, now: datetime) -> Notification:
    """A session moved to another time: the new time and the one it had, which the page
    words in the reader's zone, with the mover's message. The one place a move notice is
    made: mail (issue 19) hooks in here, as for `notice`."""
    moved = booking.moved
    was_start, was_end = moved.get("from") or ["", ""]
    return Notification(
        id=new_id(),
        kind="moved",
        actor=actor,
        skill=booking.skill,
        title=booking.title,
        created=iso_utc(now),
        booking_id=booking.id,
        start=booking.start,
        end=booking.end,
        note=moved.get("note", ""),
        was_start=was_start,
        was_end=was_end,
        late=bool(moved.get("late")),
    )


def take_move_and_tell(s: Schedule, moved: Booking, now: datetime) -> bool:
    """Step 3 of a move on the learner's document (and its read repair): the teacher's new
    time, and a notice when the teacher moved it. True when the learner was told."""
    if s.take_move(moved) and moved.moved.get("by") != s.owner:
        s.notify(moved_notice(moved, moved.teacher_name, now))
        return True
    return False


def resolve_pending(repo: Repository, schedule: Schedule) -> Schedule:
    """Read repair and upkeep of a person's own document, before their pages show it.

    A hold older than HOLD_GRACE is confirmed or released against the teacher's copy; a
    cancel or a review not yet copied to the other person is copied now; history due to
    leave the live document is archived. Costs nothing when there is nothing to do, and a
    step that fails is logged and retried next time: the page still shows. `schedule` is the
    document as read, nothing changed in it yet."""
    now = repo.clock()
    # First, while no section is parsed: an untouched document's stored due map answers it.
    due = schedule.maintenance_due(now) or bool(schedule.archiving)
    holds = [
        h
        for h in schedule.pending_holds()
        if not h.created or parse_iso_utc(h.created) <= now - HOLD_GRACE
    ]
    moves = stale_moves(schedule, now)
    unsynced = [b for b in schedule.bookings.values() if not b.active and not b.synced]
    uncopied = [
        b
        for b in schedule.bookings.values()
        if (mine := b.reviews.get(schedule.owner)) is not None and not mine.copied
    ]
    unmarked = schedule.uncopied_marks()  # did-it-happen marks (services/attendance.py)
    if not holds and not moves and not unsynced and not uncopied and not unmarked and not due:
        return schedule
    try:
        if holds or moves:
            teachers = repo.store.get_many({schedule_key(b.teacher) for b in holds + moves})
            for hold in holds:
                teacher = Schedule.from_doc(hold.teacher, teachers.get(schedule_key(hold.teacher)))
                copy = teacher.bookings.get(hold.id)
                repo.change_schedule(
                    schedule.owner, lambda s, h=hold, c=copy: s.resolve_hold(h.id, c)
                )
            for moving in moves:
                doc = teachers.get(schedule_key(moving.teacher))
                copy = Schedule.from_doc(moving.teacher, doc).bookings.get(moving.id)
                resolve_move(repo, schedule.owner, moving.id, copy)
        # A cancel copied to a teacher may hold the slot for their waitlist: `after` tells.
        with upkeep.after(repo):
            for booking in unsynced:
                copy_cancel(repo, schedule.owner, booking)
        for booking in uncopied:
            copy_review(repo, schedule.owner, booking)
        for booking in unmarked:
            attendance.copy_mark(repo, schedule.owner, booking)
    except StoreLimitError as exc:
        log.error("read repair of %s refused (%s): %s", schedule.owner, exc.key, exc)
    upkeep.maintain(repo, schedule.owner)
    return repo.schedule(schedule.owner)


def stale_moves(schedule: Schedule, now: datetime) -> list[Booking]:
    """Moves in flight on this person's copies for longer than HOLD_GRACE: a crash or an
    outage between the steps of a move, which the teacher's copy settles."""
    return [
        b
        for b in schedule.moves_in_flight()
        if parse_iso_utc(b.moving.get("created") or b.created) <= now - HOLD_GRACE
    ]


def resolve_move(repo: Repository, uid: str, booking_id: str, teacher_copy: Booking | None) -> None:
    """Settle a move in flight on `uid`'s copy against the teacher's copy (the truth)."""
    now = repo.clock()

    def settle(s: Schedule) -> bool:
        if teacher_copy is None:  # the teacher's account is gone: the session stays put
            s.resolve_move(booking_id, None)
            return False
        return take_move_and_tell(s, teacher_copy, now)

    if repo.change_schedule(uid, settle):
        repo.count_unread(uid, +1)


def cancel(repo: Repository, uid: str, booking_id: str, reason: str) -> tuple[Booking, bool]:
    """Cancel in the canceller's document (marked not yet copied), then in the other
    person's, who is told, then mark it copied. If the second write fails, the dashboard's
    read repair finishes it; nothing is ever cancelled for one person only for long.
    Before the first write, the other person's copy is checked to fit their document.
    Returns the cancel that stands, and whether this call is the one to mail it: not when
    the session was cancelled a moment before (by them in another tab, or by the other
    person), nor when a cancel that crossed this one is mailed by its own call (copy_cancel
    says which)."""
    now = repo.clock()
    cancelled_now = False

    def cancel_mine(s: Schedule) -> Booking:
        nonlocal cancelled_now
        was_active = s.bookings.get(booking_id) is not None and s.bookings[booking_id].active
        booking = s.cancel(booking_id, uid, reason, now)
        cancelled_now = was_active
        if was_active:
            booking.synced = False
        return booking

    with upkeep.after(repo):
        mine = repo.schedule(uid).bookings.get(booking_id)
        if mine is not None and mine.active and uid in (mine.teacher, mine.learner):

            def cancel_theirs(s: Schedule) -> None:
                s.cancel(booking_id, uid, reason, now)
                s.notify(notice("cancelled", mine, mine.other_name(uid), now, reason))

            make_room(repo, mine.other(uid), cancel_theirs)
        booking = repo.change_schedule(uid, cancel_mine)
        if not booking.synced:
            # Crossed by the other person's cancel, which came first: it is theirs that
            # stands, and this call mails it only if theirs reached no copy before this.
            mails, booking = copy_cancel(repo, uid, booking)
            cancelled_now = cancelled_now and mails
    return booking, cancelled_now


def make_room(repo: Repository, uid: str, change: Callable[[Schedule], object]) -> None:
    """Check, before the first write of a change spanning two documents, that its step on
    `uid`'s document will fit the store; if not, archive what may leave that document and
    check again. Still too big: LimitReached, and nothing was written."""
    for attempt in (1, 2):
        doc = repo.store.get(schedule_key(uid))
        if doc is None:
            return
        schedule = Schedule.from_doc(uid, doc)
        try:
            change(schedule)
        except ScheduleRefusal:
            return  # the real step refuses (or skips) it the same way
        if encoded_size(schedule.to_doc()) <= repo.store.max_value_bytes:
            return
        if attempt == 1:
            upkeep.maintain(repo, uid)
    raise limits.LimitReached(limits.OTHER_FULL)


def copy_cancel(repo: Repository, owner: str, booking: Booking) -> tuple[bool, Booking]:
    """Step two of a cancel: the other person's copy, with a notice, then mark it done.

    Returns whether this call is the one to mail, and the cancel that stands: `booking`, or
    the other person's when theirs crossed it and came first (domain/booking.py
    first_cancel), which this copy then takes too. Of the two copies exactly one changes to
    the standing cancel after the first writes (the other person's, or in a crossing the
    loser's), in one atomic step; whichever call makes that change mails and tells, so the
    cancel is mailed once, even when the winner was an account's deletion or a page that
    failed before its mail."""
    other = booking.other(owner)
    now = repo.clock()
    theirs: Booking | None = None

    def cancel_and_tell(s: Schedule) -> bool:
        nonlocal theirs
        # Copied as it was made (a repair may run after the session started, or after a
        # move of it reached this copy first); False: a hold the teacher never claimed,
        # copied already, or their own cancel stands.
        if not s.take_cancel(booking, now):
            copy = s.bookings.get(booking.id)
            if copy is not None and copy.cancelled_by not in ("", booking.cancelled_by):
                theirs = copy
            return False
        actor = booking.other_name(other)
        s.notify(notice("cancelled", booking, actor, now, note=booking.cancel_reason))
        return True

    def settle(s: Schedule) -> bool:
        """Mark this copy done; take the other person's cancel if it stands (False when
        their copy, arriving first, gave it to this one already)."""
        took = False
        if theirs is not None and s.take_cancel(theirs):
            actor = theirs.other_name(owner)
            s.notify(notice("cancelled", theirs, actor, now, note=theirs.cancel_reason))
            took = True
        s.mark_synced(booking.id)
        return took

    told = repo.change_schedule(other, cancel_and_tell)
    if told:
        repo.count_unread(other, +1)
    took = repo.change_schedule(owner, settle)
    if took:
        repo.count_unread(owner, +1)
    return bool(told or took), theirs or booking


def review(repo: Repository, uid: str, booking_id: str, rating: int, feedback: str) -> Booking:
    """Claim the review on the rater's own copy, where every rule is checked in the same
    atomic step (of parallel tries exactly one is accepted), marked not yet copied; then
    copy that one review to the other person's copy (where the rating counts), telling
    them, and mark it copied. If the copy fails, read repair finishes it. Before the
    first write, the other person's copy is checked to fit their document."""
    now = repo.clock()
    mine = repo.schedule(uid).bookings.get(booking_id)
    if mine is not None and uid in (mine.teacher, mine.learner):

        def their_copy(s: Schedule) -> None:
            copy = s.bookings.get(booking_id)
            if copy is not None:
                copy.reviews[uid] = Review(rating, feedback, iso_utc(now))
                s.notify(notice("reviewed", mine, mine.other_name(copy.other(uid)), now))

        make_room(repo, mine.other(uid), their_copy)

    def claim(s: Schedule) -> Booking:
        booking = s.add_review(booking_id, uid, rating, feedback, now)
        booking.reviews[uid].copied = False
        return booking

    with upkeep.after(repo):
        booking = repo.change_schedule(uid, claim)
        copy_review(repo, uid, booking)
    return booking


def copy_review(repo: Repository, uid: str, booking: Booking) -> None:
    """Step two of a review: the other person's copy, with a notice, then mark it done."""
    other = booking.other(uid)
    review = booking.reviews[uid]
    now = repo.clock()

    def copy_and_tell(s: Schedule) -> bool:
        copy = s.bookings.get(booking.id)
        if copy is None or uid in copy.reviews:
            return False  # their account is deleted, or an earlier try copied it
        # Not add_review: its rules were checked on the rater's copy when it was claimed
        # (a repair may run after the review window has closed).
        copy.reviews[uid] = Review(review.rating, review.feedback, review.created)
        s.notify(notice("reviewed", booking, booking.other_name(other), now))
        return True

    if repo.change_schedule(other, copy_and_tell):
        repo.count_unread(other, +1)

    def mark_copied(s: Schedule) -> None:
        mine = s.bookings.get(booking.id)
        if mine is not None and uid in mine.reviews:
            mine.reviews[uid].copied = True

    repo.change_schedule(uid, mark_copied)

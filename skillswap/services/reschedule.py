"""Moving a session to another time (domain/reschedule.py holds the steps and their rules).

1. hold the new time on the learner's copy (refused if the learner is busy then);
2. move on the teacher's copy, the one place a session changes time: the new slot taken and
   the old freed in one atomic step, every rule of a claim checked again there, and the
   teacher told in that same step when the learner moved it;
3. give the learner's copy the new time (the learner is told when the teacher moved it), or,
   when step 2 refused, release the held time: the session stays exactly as it was.

A failure between the steps leaves a move in flight on the learner's copy, which read repair
(services/booking.py `resolve_pending`) settles against the teacher's copy. The form carries
the session's `sequence` as the mover saw it, so sending it twice moves nothing twice.
"""

from __future__ import annotations

from skillswap.domain.records import Booking
from skillswap.domain.refusals import MoveRefused, NotParticipant, ScheduleRefusal, SlotUnknown
from skillswap.domain.reschedule import IN_FLIGHT, Move
from skillswap.domain.schedule import Schedule
from skillswap.domain.skills import normalise_skill
from skillswap.domain.times import iso_utc
from skillswap.repo import Repository
from skillswap.services import upkeep
from skillswap.services.booking import moved_notice, resolve_move, stale_moves, take_move_and_tell

GONE = "The other person's account no longer exists, so this session cannot be moved."


def reschedule(
    repo: Repository,
    uid: str,
    booking_id: str,
    offer_id: str,
    slot_id: str,
    sequence: int,
    note: str = "",
) -> tuple[Booking, bool]:
    """Move `uid`'s session `booking_id`, seen at `sequence`, to the teacher's slot
    `offer_id:slot_id`. Returns the session as moved, and whether this call moved it (not
    the same form sent a moment before, from another tab or by a double click): only then is
    it mailed. A ScheduleRefusal says why not, and then nothing changed."""
    now = repo.clock()
    mine = repo.schedule(uid).bookings.get(booking_id)
    if mine is None or uid not in (mine.teacher, mine.learner):
        raise NotParticipant("Only the two people in a session can move it.")
    teacher_id, learner_id = mine.teacher, mine.learner
    people = repo.people([teacher_id, learner_id])
    if teacher_id not in people or learner_id not in people:
        raise MoveRefused(GONE)
    teacher, teacher_doc = people[teacher_id]
    learner_doc = people[learner_id][1]
    truth = teacher_doc.bookings.get(booking_id)
    if truth is None:
        raise MoveRefused("This session is no longer on the teacher's schedule.")
    if (
        truth.active
        and truth.sequence > sequence
        and (truth.offer_id, truth.slot_id) == (offer_id, slot_id)
        and truth.moved.get("by") == uid
    ):
        return truth, False  # the same form sent again: that move is made already
    copy = learner_doc.bookings.get(booking_id)
    if copy is not None and (copy.moving or copy.sequence < truth.sequence):
        if copy.moving and booking_id not in {b.id for b in stale_moves(learner_doc, now)}:
            raise MoveRefused(IN_FLIGHT)
        resolve_move(repo, learner_id, booking_id, truth)  # an earlier move left unsettled
    offer = teacher_doc.offers.get(offer_id)
    stored = offer.slot(slot_id) if offer else None
    if stored is None:
        raise SlotUnknown("That time is no longer offered. Pick one of the free times below.")
    move = Move(
        booking_id, uid, sequence, offer_id, slot_id, stored.start, stored.end, note, iso_utc(now)
    )
    tagged = normalise_skill(truth.skill) in {normalise_skill(t) for t in teacher.teach}
    # Refusals the teacher's copy gives at once, before anything is written.
    teacher_doc.movable(move, now)
    teacher_doc.check_target(truth, move, tagged)

    with upkeep.after(repo):
        repo.change_schedule(learner_id, lambda s: s.hold_move(move, now))

        def move_and_tell(s: Schedule) -> Booking:
            moved = s.move(move, now, tagged)
            if uid == learner_id:
                s.notify(moved_notice(moved, moved.learner_name, now))
            return Booking.from_dict(moved.to_dict())

        try:
            moved = repo.change_schedule(teacher_id, move_and_tell)
        except ScheduleRefusal:
            repo.change_schedule(learner_id, lambda s: s.release_move(booking_id, sequence + 1))
            raise
        # Any other failure (an outage, a lost answer) may have moved the session or not:
        # the held time stays, and read repair settles it against the teacher's copy.
        if uid == learner_id:
            repo.count_unread(teacher_id, +1)
        if repo.change_schedule(learner_id, lambda s: take_move_and_tell(s, moved, now)):
            repo.count_unread(learner_id, +1)
    return moved, True

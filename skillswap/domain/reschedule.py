"""Moving a session to another free time of the same teacher and skill: the steps on each of
the two documents. Pure: no Flask, no I/O.

Like booking (domain/booking.py), a move is three atomic steps over the two documents:
  1. learner: `hold_move` keeps the new time beside the old one, refused if the learner is in
     another session then (this one does not count: a move to an overlapping time works);
  2. teacher: `move`, the one place a session changes time. In one atomic step the new slot
     is taken and the old one freed, so nobody can take either in between. Every check of a
     claim is made again (the time is offered, for the same skill, free, the teacher not busy,
     the teacher's booking rules), the session being moved not counting as busy. The session
     keeps its id, and its `sequence` rises by one (calendars see it as SEQUENCE);
  3. learner: `take_move` gives the learner's copy the teacher's new time, or `release_move`
     drops the held time when step 2 refused, leaving the session as it was.
A crash leaves at most a move in flight on the learner's copy, which `resolve_move` settles
against the teacher's copy (the truth), as a pending hold is.

Every step checks the `sequence` the mover saw, so a form sent twice, or after the other
person moved the session, changes nothing. A move later than the session's cancel deadline is
marked late and counted on the mover's profile, like a late cancel.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from skillswap.domain.booking import take_time
from skillswap.domain.records import Booking, Offer, slot_ref
from skillswap.domain.refusals import (
    MoveRefused,
    NotParticipant,
    Overlap,
    SlotInPast,
    SlotTaken,
    SlotUnknown,
)
from skillswap.domain.skills import normalise_skill
from skillswap.domain.teacher_rules import SlotCheck, is_late
from skillswap.domain.times import iso_utc, parse_iso_utc

CHANGED = (
    "This session was changed since you opened this page, so nothing was moved. "
    "Its time now is the one shown here: pick the new time again."
)
SAME_TIME = "That is the session's time already: pick another time."
MAX_NOTE = 500  # characters of the mover's message, kept in the booking and the notice
IN_FLIGHT = (
    "This session is being moved right now, so nothing was changed. Reload the page in a "
    "minute to see its time."
)


@dataclass(frozen=True)
class Move:
    """A move as asked for: which session, by whom, seen at which `sequence`, and the new
    slot with its times as the mover's page showed them."""

    booking_id: str
    by: str
    sequence: int
    offer_id: str
    slot_id: str
    start: str
    end: str
    note: str = ""
    created: str = ""

    @property
    def start_at(self) -> datetime:
        return parse_iso_utc(self.start)

    @property
    def end_at(self) -> datetime:
        return parse_iso_utc(self.end)

    def held(self) -> dict[str, Any]:
        """What the learner's copy keeps while the move is in flight."""
        return {
            "sequence": self.sequence + 1,
            "offer_id": self.offer_id,
            "slot_id": self.slot_id,
            "start": self.start,
            "end": self.end,
            "by": self.by,
            "created": self.created,
        }


class MoveRules:
    """Mixed into Schedule: the steps of a move on one person's document."""

    owner: str
    bookings: dict[str, Booking]
    offers: dict[str, Offer]
    slot_check: Callable[..., SlotCheck]
    count_late: Callable[[str, datetime], None]
    booked_slot_ids: Callable[[str], set[str]]
    clash: Callable[[str, datetime, datetime], Booking | None]
    take_hold_for: Callable[..., None]
    grant_freed: Callable[..., list]

    def movable(self, move: Move, now: datetime) -> Booking:
        """The session to move, if it can move at all: refusals that do not depend on the
        new time."""
        booking = self.bookings.get(move.booking_id)
        if booking is None or move.by not in (booking.teacher, booking.learner):
            raise NotParticipant("Only the two people in a session can move it.")
        if not booking.active:
            raise MoveRefused("This session was cancelled, so it cannot be moved.")
        if booking.status == "pending":
            raise MoveRefused("This session is still being booked: try again in a minute.")
        if booking.start_at <= now:
            raise MoveRefused("This session has started, so it can no longer be moved.")
        if booking.sequence != move.sequence:
            raise MoveRefused(CHANGED)
        return booking

    def check_target(self, booking: Booking, move: Move, tagged: bool) -> None:
        """On the teacher's document: the new time is one of their offered slots, as the page
        showed it, for the session's skill (an offer of it, or any offer when the teacher
        lists the skill among what they teach: `tagged`)."""
        offer = self.offers.get(move.offer_id)
        stored = offer.slot(move.slot_id) if offer else None
        if offer is None or stored is None:
            raise SlotUnknown("That time is no longer offered. Pick one of the free times below.")
        if (stored.start, stored.end) != (move.start, move.end):
            raise SlotUnknown("That time has changed since you opened the page; pick again.")
        if not tagged and offer.skill_key != normalise_skill(booking.skill):
            raise SlotUnknown(
                f"That time is not offered for {booking.skill}. Pick one of the free times below."
            )

    def hold_move(self, move: Move, now: datetime) -> Booking:
        """Step 1, on the learner's document."""
        booking = self.movable(move, now)
        if len(move.note) > MAX_NOTE:
            raise MoveRefused(f"Keep the message to {MAX_NOTE} characters.")
        if booking.moving:
            raise MoveRefused(IN_FLIGHT)
        if (move.offer_id, move.slot_id) == (booking.offer_id, booking.slot_id):
            raise MoveRefused(SAME_TIME)
        if move.start_at <= now:
            raise SlotInPast("That time has already started; pick one in the future.")
        other = self.clash(booking.id, move.start_at, move.end_at)
        if other is not None:
            if move.by == self.owner:
                raise Overlap(
                    f"At that time you are already in a session "
                    f"({other.skill} with {other.other_name(self.owner)})."
                )
            raise Overlap(
                f"At that time {booking.learner_name} is already in another session: "
                "pick another time."
            )
        booking.moving = move.held()
        return booking

    def move(self, move: Move, now: datetime, tagged: bool) -> Booking:
        """Step 2, on the teacher's document: the new slot taken and the old freed at once."""
        booking = self.movable(move, now)
        self.check_target(booking, move, tagged)
        start, end = move.start_at, move.end_at
        if (move.offer_id, move.slot_id) == (booking.offer_id, booking.slot_id):
            raise MoveRefused(SAME_TIME)
        if start <= now:
            raise SlotInPast("That time has already started; pick one in the future.")
        if move.slot_id in self.booked_slot_ids(move.offer_id):
            raise SlotTaken("That time was just booked by someone else.")
        yours = move.by == self.owner
        other = self.clash(booking.id, start, end)
        if other is not None:
            who = "you are" if yours else "the teacher is"
            raise Overlap(
                f"At that time {who} already in a session "
                f"({other.skill} with {other.other_name(self.owner)})."
            )
        refusal = self.slot_check(now, booking.id).refusal(start, end, yours=yours)
        if refusal is not None:
            raise refusal
        # A time held for the waitlist is only its holder's to move into.
        self.take_hold_for(
            booking.learner,
            normalise_skill(booking.skill),
            move.offer_id,
            move.slot_id,
            now,
            ends_wait=False,
        )
        freed = slot_ref(booking.offer_id, booking.slot_id)
        late = is_late(booking.start_at, booking.cancel_hours, now)
        booking.moved = {
            "by": move.by,
            "at": iso_utc(now),
            "from": [booking.start, booking.end],
            "late": late,
            "note": move.note,
        }
        offer = self.offers[move.offer_id]
        booking.offer_id, booking.slot_id = move.offer_id, move.slot_id
        booking.start, booking.end, booking.mode = move.start, move.end, offer.mode
        booking.sequence = move.sequence + 1
        if late and yours:
            self.count_late("move", now)
        self.grant_freed([freed], now)
        return booking

    def take_move(self, source: Booking) -> bool:
        """Step 3, on the learner's document (and read repair): the teacher's copy's time, if
        it is newer. True when a live session took a new time (its learner may be told)."""
        copy = self.bookings.get(source.id)
        if copy is None:
            return False
        held, copy.moving = copy.moving, {}
        if source.sequence <= copy.sequence:
            return False
        take_time(copy, source)
        moved = source.moved
        # Counted once: with the move this copy held (a repeated step 3 holds none).
        if (
            moved.get("late")
            and moved.get("by") == self.owner
            and held.get("sequence") == source.sequence
        ):
            self.count_late("move", parse_iso_utc(moved["at"]))
        return copy.active

    def release_move(self, booking_id: str, sequence: int) -> None:
        """Step 2 refused: the session stays as it was."""
        copy = self.bookings.get(booking_id)
        if copy is not None and copy.moving.get("sequence") == sequence:
            copy.moving = {}

    def moves_in_flight(self) -> list[Booking]:
        return [b for b in self.bookings.values() if b.moving]

    def resolve_move(self, booking_id: str, teacher_copy: Booking | None) -> bool:
        """After a crash between steps: the teacher's copy is the truth."""
        if teacher_copy is None:
            copy = self.bookings.get(booking_id)
            if copy is not None:
                copy.moving = {}
            return False
        return self.take_move(teacher_copy)

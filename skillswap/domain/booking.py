"""No double booking: the rules of holding, claiming, confirming and cancelling a session.

Booking takes three steps over two people's documents (DESIGN.md "Booking"), each one atomic
`update` of one document:
  1. learner: `hold` a pending booking, refused if it overlaps the learner's booked time;
  2. teacher: `claim` the slot, refused if taken, past, unknown or overlapping their booked time
     (across all of the teacher's offers, and the sessions they attend);
  3. learner: `confirm` the hold, or `release` it when step 2 refused.
A crash leaves at most a pending hold, which `resolve_hold` settles against the teacher's copy.
`claim` is the one place a slot becomes taken, and where the teacher's booking rules
(domain/teacher_rules.py) are checked. Moving a session to another time is in
domain/reschedule.py.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from skillswap.domain import limits
from skillswap.domain.records import Booking, Offer, slot_ref
from skillswap.domain.refusals import (
    CancelRefused,
    NotParticipant,
    Overlap,
    OwnSlot,
    SlotInPast,
    SlotTaken,
    SlotUnknown,
)
from skillswap.domain.skills import normalise_skill
from skillswap.domain.teacher_rules import SlotCheck, TeacherRules, is_late
from skillswap.domain.times import iso_utc, overlaps, parse_iso_utc

# The reason the other person sees on sessions an account's deletion cancelled.
ACCOUNT_DELETED = "account deleted"
NEVER = datetime.max.replace(tzinfo=UTC)


class BookingRules:
    """Mixed into Schedule: the booking steps on one person's document."""

    owner: str
    bookings: dict[str, Booking]
    offers: dict[str, Offer]
    teacher_rules: TeacherRules
    slot_check: Callable[..., SlotCheck]
    count_late: Callable[[str, datetime], None]
    booked_slot_ids: Callable[[str], set[str]]
    # The teacher's waitlist (domain/waitlist.py): a held slot is the holder's alone, and a
    # slot freed here is held for the first in line in this same atomic step.
    take_hold_for: Callable[[str, str, str, str, datetime], None]
    grant_freed: Callable[..., list]

    def hold(self, booking: Booking, now: datetime) -> None:
        """Step 1, on the learner's document."""
        if booking.teacher == self.owner:
            raise OwnSlot("That is your own slot: you cannot book yourself.")
        if booking.start_at <= now:
            raise SlotInPast("That slot has already started; pick one in the future.")
        self._refuse_overlap(booking, "you")
        moment = iso_utc(now)
        limits.check_upcoming_attending(
            sum(
                1
                for b in self.bookings.values()
                if b.active and b.learner == self.owner and b.end > moment
            )
        )
        booking.status = "pending"
        self.bookings[booking.id] = booking

    def claim(self, booking: Booking, now: datetime) -> None:
        """Step 2, on the teacher's document: the one place a slot becomes taken."""
        if booking.learner == self.owner:
            raise OwnSlot("That is your own slot: you cannot book yourself.")
        offer = self.offers.get(booking.offer_id)
        stored = offer.slot(booking.slot_id) if offer else None
        if offer is None or stored is None:
            raise SlotUnknown("That slot is no longer offered.")
        if (stored.start, stored.end) != (booking.start, booking.end):
            raise SlotUnknown("That slot has changed since you opened the page; pick again.")
        if booking.start_at <= now:
            raise SlotInPast("That slot has already started; pick one in the future.")
        if booking.slot_id in self.booked_slot_ids(offer.id):
            raise SlotTaken("That slot was just booked by someone else.")
        self._refuse_overlap(booking, "the teacher")
        refusal = self.slot_check(now).refusal(booking.start_at, booking.end_at)
        if refusal is not None:
            raise refusal
        self.take_hold_for(
            booking.learner, normalise_skill(booking.skill), offer.id, booking.slot_id, now
        )
        booking.cancel_hours = self.teacher_rules.cancel_hours
        booking.status = "confirmed"
        self.bookings[booking.id] = booking

    def confirm(self, booking_id: str, cancel_hours: int = 0) -> None:
        """Step 3, on the learner's document, with the cancel deadline the claim agreed."""
        booking = self.bookings.get(booking_id)
        if booking is not None and booking.status == "pending":
            booking.status = "confirmed"
            booking.cancel_hours = cancel_hours

    def release(self, booking_id: str) -> None:
        booking = self.bookings.get(booking_id)
        if booking is not None and booking.status == "pending":
            del self.bookings[booking_id]

    def mark_synced(self, booking_id: str) -> None:
        booking = self.bookings.get(booking_id)
        if booking is not None:
            booking.synced = True

    def pending_holds(self) -> list[Booking]:
        return [b for b in self.bookings.values() if b.status == "pending"]

    def resolve_hold(self, booking_id: str, teacher_copy: Booking | None) -> None:
        """After a crash between steps: the teacher's document is the truth."""
        if teacher_copy is not None and teacher_copy.active:
            self.confirm(booking_id, teacher_copy.cancel_hours)
        else:
            self.release(booking_id)

    def clash(self, booking_id: str, start: datetime, end: datetime) -> Booking | None:
        """A live session of this person's (other than `booking_id`) at that time, counting the
        new time of a move in flight."""
        for other in self.bookings.values():
            if other.active and other.id != booking_id:
                for a, b in other.held_times():
                    if overlaps(start, end, a, b):
                        return other
        return None

    def _refuse_overlap(self, booking: Booking, who: str) -> None:
        other = self.clash(booking.id, booking.start_at, booking.end_at)
        if other is not None:
            mine = "you are" if who == "you" else "the teacher is"
            raise Overlap(
                f"At that time {mine} already in a session "
                f"({other.skill} with {other.other_name(self.owner)})."
            )

    def cancel(self, booking_id: str, by: str, reason: str, now: datetime) -> Booking:
        booking = self.bookings.get(booking_id)
        if booking is None or by not in (booking.teacher, booking.learner):
            raise NotParticipant("Only the two people in a session can cancel it.")
        if not booking.active:
            return booking  # cancelling twice is harmless: both documents end up the same
        if booking.start_at <= now:
            raise CancelRefused("This session has started, so it can no longer be cancelled.")
        booking.status = "cancelled"
        booking.cancelled_by = by
        booking.cancel_reason = reason
        booking.cancelled_at = iso_utc(now)
        booking.cancelled_late = is_late(booking.start_at, booking.cancel_hours, now)
        # A move in flight stays noted: its last step, or read repair, still gives this copy
        # the teacher's time, so both people see the cancelled session at the same time.
        if booking.cancelled_late and by == self.owner:
            self.count_late("cancel", now)
        if booking.teacher == self.owner:
            self.grant_freed([slot_ref(booking.offer_id, booking.slot_id)], now)
        return booking

    def take_cancel(self, source: Booking, now: datetime | None = None) -> bool:
        """The other person's cancel, copied into this copy exactly as it was made (lateness
        included, and the later time if the session moved meanwhile). False when there was
        nothing to copy: a hold never claimed, copied already, or this copy's own cancel
        stands (first_cancel). On the teacher's copy, at `now`, the freed slot goes to the
        waitlist."""
        copy = self.bookings.get(source.id)
        if copy is None:
            return False
        crossed = not copy.active
        if crossed:
            if copy.cancelled_by == source.cancelled_by or first_cancel(copy, source) is copy:
                return False
            # Two cancels crossed and the other person's came first: theirs stands on both
            # copies, and the late cancel counted for this one's owner is theirs no more.
            # (The slot went to the waitlist with this copy's own cancel.)
            if copy.cancelled_late and copy.cancelled_by == self.owner:
                self.uncount_late("cancel", parse_iso_utc(copy.cancelled_at))
        if source.sequence > copy.sequence:
            take_time(copy, source)
        copy.status = "cancelled"
        copy.cancelled_by = source.cancelled_by
        copy.cancel_reason = source.cancel_reason
        copy.cancelled_at = source.cancelled_at
        copy.cancelled_late = source.cancelled_late
        if not crossed and now is not None and copy.teacher == self.owner:
            self.grant_freed([slot_ref(copy.offer_id, copy.slot_id)], now)
        return True


def first_cancel(a: Booking, b: Booking) -> Booking:
    """Of two copies of one session cancelled by its two people (two cancels that crossed:
    each written to its maker's document before the other's copy reached it), the one whose
    cancel stands on both: the earlier, and at the same instant the teacher's. Both
    documents choose the same, whichever copy reaches them first."""

    def order(copy: Booking) -> tuple[datetime, bool]:
        # Copies stored before cancels carried their time come last.
        at = parse_iso_utc(copy.cancelled_at) if copy.cancelled_at else NEVER
        return at, copy.cancelled_by != copy.teacher

    return min(a, b, key=order)


def take_time(copy: Booking, source: Booking) -> None:
    """Give `copy` the time (and the move that set it) of a later copy of the same session."""
    for name in ("offer_id", "slot_id", "start", "end", "mode", "sequence"):
        setattr(copy, name, getattr(source, name))
    copy.moved = dict(source.moved)


def session_state(booking: Booking, me: str, now: datetime) -> str:
    """Where a session stands for one of its two people: "cancelled", "upcoming" (may still
    be cancelled), "in progress", "rated" (by me), "to rate" (its review window is open) or
    "closed" (over, not rated by me, reviews closed)."""
    if booking.status == "cancelled":
        return "cancelled"
    if booking.start_at > now:
        return "upcoming"
    if booking.end_at > now:
        return "in progress"
    if me in booking.reviews:
        return "rated"
    if booking.end_at + limits.REVIEW_WINDOW > now:
        return "to rate"
    return "closed"

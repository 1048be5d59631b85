"""Offers and requests in one person's document: no slot someone booked is dropped, and
nobody goes past the limits on open offers, future sessions, sessions per offer and open
requests (domain/limits.py). Slots that have started leave the document: they are never
bookable again, and every booking keeps its own times.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from skillswap.domain import limits
from skillswap.domain.display import format_range
from skillswap.domain.records import Booking, LearnRequest, Offer
from skillswap.domain.refusals import OfferHasBookings, SlotUnknown
from skillswap.domain.times import iso_utc
from skillswap.domain.zones import zone_or_utc


def _entered(record: Offer | LearnRequest) -> tuple:
    """What a person typed into the offer or request form (the skill as matched): two open
    records identical in all of it are one form sent twice (a double click, the back button, two
    tabs), not two."""
    common = (record.skill_key, record.mode, record.timezone, record.dates, record.time_ranges)
    if isinstance(record, Offer):
        return (*common, record.title, record.description, record.session_minutes)
    return common


class OfferRules:
    """Mixed into Schedule: publishing and withdrawing offers and requests."""

    owner: str
    bookings: dict[str, Booking]
    offers: dict[str, Offer]
    requests: dict[str, LearnRequest]

    def twin(self, record: Offer | LearnRequest, now: datetime) -> str | None:
        """The id of an open offer or request (as `record` is) that is `record` sent again,
        if `record` is new: checked inside the document's atomic update, so of parallel
        submits of one form exactly one is kept."""
        kept = self.offers if isinstance(record, Offer) else self.requests
        if record.id in kept:
            return None  # a change to an existing one
        moment, entered = iso_utc(now), _entered(record)
        return next(
            (r.id for r in kept.values() if r.last_end > moment and _entered(r) == entered),
            None,
        )

    def booked_future_slots(self, offer_id: str, now: datetime) -> dict[str, tuple[str, str]]:
        """The offer's slots booked for a session still ahead: id -> the session's (start,
        end), ISO UTC."""
        return {
            b.slot_id: (b.start, b.end)
            for b in self.bookings.values()
            if b.active and b.teacher == self.owner and b.offer_id == offer_id and b.end_at > now
        }

    def put_offer(self, offer: Offer, now: datetime) -> None:
        """Add or replace an offer. A replacement may not drop or move a slot someone has
        booked, and nobody goes over the limits on offers and future sessions
        (domain/limits.py)."""
        # By time, not only by id: ids are wall-clock times in the offer's zone, so after the
        # teacher changes zone the same form makes the booked slot's id at another instant,
        # listed free by every page and refused by every claim.
        kept = {s.id: (s.start, s.end) for s in offer.slots}
        booked = self.booked_future_slots(offer.id, now)
        lost = [slot_id for slot_id, times in booked.items() if kept.get(slot_id) != times]
        if lost:
            # Named, so the teacher knows which to keep (in the offer's zone, the one its
            # form shows), the first few of them.
            zone = zone_or_utc(offer.timezone)
            named = [
                f"{format_range(b.start_at, b.end_at, zone)} with {b.learner_name}"
                for b in sorted(self.bookings.values(), key=lambda b: b.start)
                if b.active and b.offer_id == offer.id and b.slot_id in lost
            ]
            which = "; ".join(named[:3]) + ("; …" if len(named) > 3 else "")
            raise OfferHasBookings(
                f"{len(lost)} booked session{'s' if len(lost) > 1 else ''} would disappear or "
                f"move with this change ({which}). Cancel them from your dashboard first, or "
                "keep those times."
            )
        moment = iso_utc(now)
        previous = self.offers.get(offer.id)
        old_count = previous.future_slot_count(moment) if previous else 0
        new_count = offer.future_slot_count(moment)
        limits.check_slots_per_offer(old_count, new_count)
        if previous is None and new_count:
            limits.check_open_offers(len(self.open_offers(now)))
        before = self.future_slot_count(now)
        limits.check_future_slots(before, before - old_count + new_count)
        self.drop_past_slots(now)
        # A copy: the caller's offer stays as it was given.
        self.offers[offer.id] = replace(
            offer,
            ends=offer.last_end,
            slots=[s for s in offer.slots if s.start > moment],
        )

    def open_offers(self, now: datetime) -> list[Offer]:
        """Offers with a session still ahead."""
        moment = iso_utc(now)
        return [o for o in self.offers.values() if o.last_end > moment]

    def future_slot_count(self, now: datetime) -> int:
        moment = iso_utc(now)
        return sum(o.future_slot_count(moment) for o in self.offers.values())

    def drop_past_slots(self, now: datetime) -> bool:
        """Slots that started are never bookable again, and every booking keeps its own
        times: past slots leave the live document. True when something was dropped."""
        moment = iso_utc(now)
        dropped = False
        for offer in self.offers.values():
            if offer.slots and offer.slots[0].start <= moment:
                offer.ends = offer.last_end
                offer.slots = [s for s in offer.slots if s.start > moment]
                dropped = True
        return dropped

    def put_request(self, request: LearnRequest, now: datetime) -> None:
        if request.id not in self.requests:
            moment = iso_utc(now)
            open_now = [r for r in self.requests.values() if r.last_end > moment]
            limits.check_open_requests(len(open_now))
        self.requests[request.id] = request

    def remove_offer(self, offer_id: str, now: datetime) -> Offer:
        offer = self.offers.get(offer_id)
        if offer is None:
            raise SlotUnknown("That offer does not exist any more.")
        booked = self.booked_future_slots(offer_id, now)
        if booked:
            raise OfferHasBookings(
                f"This offer has {len(booked)} upcoming booked session"
                f"{'s' if len(booked) > 1 else ''}. Cancel them from your dashboard first."
            )
        return self.offers.pop(offer_id)

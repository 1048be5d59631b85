"""Torn booking pairs: a session copied into one person's schedule but not (or differently)
into the other's. Pure: no Flask, no I/O.

A live store never stays torn for long: every two-document step has a read repair
(Repository.resolve_pending). A copy of the store read key by key can be, though: on Replit DB,
which has no transactions, `flask export` may read the learner's schedule before a booking and
the teacher's after it, and once imported that session stays one-sided for good (there is no
hold left to repair from). These rules find such pairs and mend them from the copy that
holds the later state.

States a read repair finishes are not torn: a pending hold (the teacher's copy decides), a
move in flight (`moving`; likewise), a cancel not yet copied (`synced` False), a review not
yet copied (`copied` False). Sessions that
ended more than REVIEW_WINDOW ago are left alone too: one copy may have moved to an
archive document while the other has not yet.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from skillswap.domain.booking import first_cancel, take_time
from skillswap.domain.limits import REVIEW_WINDOW
from skillswap.domain.records import Booking, Review
from skillswap.domain.schedule import Schedule


@dataclass(frozen=True)
class Torn:
    booking_id: str
    source: str  # whose copy holds the later state
    target: str  # whose copy is mended from it
    # "missing" | "not cancelled" | "cancelled twice" | "not moved" | "review missing"
    problem: str


def torn_pairs(schedules: Mapping[str, Schedule], now: datetime) -> list[Torn]:
    """Every torn pair among these people's schedules (only people present are compared: a
    deleted account has no copy to mend)."""
    found: list[Torn] = []
    recent = now - REVIEW_WINDOW
    for owner, schedule in schedules.items():
        for booking in schedule.bookings.values():
            other = booking.other(owner)
            if other == owner or other not in schedules or booking.end_at <= recent:
                continue
            theirs = schedules[other].bookings.get(booking.id)
            if theirs is None:
                if booking.status == "confirmed":
                    found.append(Torn(booking.id, owner, other, "missing"))
                continue
            if booking.status == "cancelled" and booking.synced and theirs.active:
                found.append(Torn(booking.id, owner, other, "not cancelled"))
            if (
                booking.status == theirs.status == "cancelled"
                and booking.synced
                and theirs.synced
                and booking.cancelled_by != theirs.cancelled_by
                and first_cancel(booking, theirs) is booking
            ):
                # Two cancels that crossed before the earlier one stood on both copies.
                found.append(Torn(booking.id, owner, other, "cancelled twice"))
            if booking.sequence > theirs.sequence and not theirs.moving:
                found.append(Torn(booking.id, owner, other, "not moved"))
            mine = booking.reviews.get(owner)
            if mine is not None and mine.copied and owner not in theirs.reviews:
                found.append(Torn(booking.id, owner, other, "review missing"))
    return found


def mend(schedules: Mapping[str, Schedule], torn: list[Torn]) -> set[str]:
    """Mend each torn pair in place from its source copy; returns whose schedules changed."""
    changed: set[str] = set()
    for pair in torn:
        source = schedules[pair.source].bookings[pair.booking_id]
        target = schedules[pair.target]
        if pair.problem == "missing":
            copy = Booking.from_dict(source.to_dict())
            copy.reminded = []  # the marks are the source owner's reminders, not the target's
            target.bookings[pair.booking_id] = copy
        elif pair.problem == "not cancelled":
            copy = target.bookings[pair.booking_id]
            copy.status = "cancelled"
            copy.cancelled_by = source.cancelled_by
            copy.cancel_reason = source.cancel_reason
            copy.cancelled_at = source.cancelled_at
            copy.cancelled_late = source.cancelled_late
        elif pair.problem == "not moved":
            take_time(target.bookings[pair.booking_id], source)
        elif pair.problem == "cancelled twice":
            target.take_cancel(source)
        else:
            review = source.reviews[pair.source]
            target.bookings[pair.booking_id].reviews[pair.source] = Review(
                review.rating, review.feedback, review.created
            )
        changed.add(pair.target)
    return changed

"""When a record may leave a person's live document, and when the document next needs upkeep.

Kept apart from domain/archive.py (which moves records) because the schedule itself uses it:
every write of a schedule document records when its sections next have something to do, so
checking whether upkeep is due reads no section at all.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from skillswap.domain.limits import ARCHIVE_SLACK, LIVE_PAST
from skillswap.domain.times import iso_utc, parse_iso_utc

KINDS = ("bookings", "offers", "requests")


def plus(instant: str, delta: timedelta) -> str:
    return iso_utc(parse_iso_utc(instant) + delta)


def ended(kind: str, record: Any) -> str:
    """When a booking, offer or request is over (ISO UTC)."""
    return record.end if kind == "bookings" else record.last_end


def movable(kind: str, record: Any) -> bool:
    """May this record leave once it is old? A pending hold is settled by read repair first,
    and a cancel or a review not yet copied to the other person stays until it is: all of
    these still change."""
    if kind != "bookings":
        return True
    return (
        record.status != "pending"
        and record.synced
        and all(review.copied for review in record.reviews.values())
    )


def section_due(kind: str, records: dict[str, Any]) -> str:
    """When this section next has something to do: a record to archive (ARCHIVE_SLACK after
    it may leave) or, for offers, slots that started a while ago to drop. "" when never."""
    moments = [
        plus(ended(kind, r), LIVE_PAST + ARCHIVE_SLACK)
        for r in records.values()
        if movable(kind, r)
    ]
    if kind == "offers":
        moments += [plus(o.slots[0].start, ARCHIVE_SLACK) for o in records.values() if o.slots]
    return min(moments, default="")

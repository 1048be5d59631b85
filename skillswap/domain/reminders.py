"""Reminders: the moments both people of a session are mailed about it, how late a reminder may
still go out, and claiming one in a person's copy of the session. Pure: no Flask, no I/O.

The kinds of reminder, each at its moment:

- ``before-<minutes>``: that long before the session starts (REMINDER_OFFSETS, default 24 h
  and 1 h);
- ``rate``: when the session ends, "rate your session";
- ``closing``: REVIEW_CLOSING_NOTICE (3 days) before the review window closes, to whoever
  has not rated yet.

A reminder goes out at its moment or a little after (the sender runs every minute or so): up
to LATE_AFTER, and for a reminder before the session at most half its lead and never once the
session has started. Past that it is dropped, not sent late: after an outage a "24 hours to go"
mail an hour before the session would mislead.

Each person's reminder is claimed in that person's own copy of the session (``claim``, run
inside the store's atomic update of their document), before the mail is sent: of several
senders racing, exactly one claims it, so each reminder goes out at most once.

The due index (``due/<bucket>`` keys, repo/reminders.py) finds what is due without reading
every schedule: each reminder is an entry in the bucket of its moment's hour (or day, where keys
are scarce), and the sender reads the oldest buckets only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from skillswap.domain.limits import MAX_REMINDER_OFFSETS, REVIEW_WINDOW
from skillswap.domain.records import Booking
from skillswap.domain.times import iso_utc, parse_iso_utc

if TYPE_CHECKING:
    from skillswap.domain.schedule import Schedule

DEFAULT_OFFSETS = (timedelta(hours=24), timedelta(hours=1))
REVIEW_CLOSING_NOTICE = timedelta(days=3)
LATE_AFTER = timedelta(hours=1)
# Reminders closer than this to the session are pointless; further than this, forgotten.
SHORTEST_OFFSET, LONGEST_OFFSET = timedelta(minutes=5), timedelta(days=14)
BEFORE = "before-"
RATE, CLOSING = "rate", "closing"
REVIEW_KINDS = frozenset({RATE, CLOSING})

_OFFSET_RE = re.compile(r"(\d+)\s*(m|min|h|d)", re.IGNORECASE)
_UNITS = {"m": "minutes", "min": "minutes", "h": "hours", "d": "days"}


def parse_offsets(text: str) -> tuple[timedelta, ...]:
    """REMINDER_OFFSETS ("24h,1h", "2d, 90m") as offsets, longest first; "" or "none": no
    reminders before sessions. Raises ValueError saying what is wrong."""
    text = text.strip()
    if text.lower() in ("", "none", "off"):
        return ()
    found: set[timedelta] = set()
    for part in text.split(","):
        match = _OFFSET_RE.fullmatch(part.strip())
        if not match:
            raise ValueError(
                f"REMINDER_OFFSETS: {part.strip()!r} is not a time like 24h, 90m or 2d"
            )
        offset = timedelta(**{_UNITS[match.group(2).lower()]: int(match.group(1))})
        if not SHORTEST_OFFSET <= offset <= LONGEST_OFFSET:
            raise ValueError(
                f"REMINDER_OFFSETS: {part.strip()} is outside 5 minutes to 14 days before a session"
            )
        found.add(offset)
    if len(found) > MAX_REMINDER_OFFSETS:
        raise ValueError(f"REMINDER_OFFSETS: at most {MAX_REMINDER_OFFSETS} times, not {text!r}")
    return tuple(sorted(found, reverse=True))


def before_kind(offset: timedelta) -> str:
    return f"{BEFORE}{int(offset.total_seconds() // 60)}"


def offset_of(kind: str) -> timedelta | None:
    """The lead of a ``before-<minutes>`` kind; None for any other kind."""
    if not kind.startswith(BEFORE) or not kind[len(BEFORE) :].isdigit():
        return None
    return timedelta(minutes=int(kind[len(BEFORE) :]))


@dataclass(frozen=True)
class Reminder:
    kind: str
    moment: datetime

    @property
    def mark(self) -> str:
        """How a copy of the session remembers it was sent: kind and moment, so a session
        moved to another time is reminded of again."""
        return f"{self.kind}@{iso_utc(self.moment)}"


def moment_of(booking: Booking, kind: str) -> datetime | None:
    """When a reminder of `kind` about this session is due, as the session stands now; None
    for a kind there is no such reminder of."""
    offset = offset_of(kind)
    if offset is not None:
        return booking.start_at - offset
    if kind == RATE:
        return booking.end_at
    if kind == CLOSING:
        return booking.end_at + REVIEW_WINDOW - REVIEW_CLOSING_NOTICE
    return None


def reminders_for(booking: Booking, offsets: tuple[timedelta, ...]) -> list[Reminder]:
    """Every reminder about this session, soonest first."""
    kinds = [before_kind(offset) for offset in offsets] + [RATE, CLOSING]
    found = [Reminder(kind, moment) for kind in kinds if (moment := moment_of(booking, kind))]
    return sorted(found, key=lambda reminder: reminder.moment)


def deadline(kind: str, moment: datetime) -> datetime:
    """The moment from which a reminder is too late to send (it is then dropped): LATE_AFTER
    after its moment, and for a reminder before the session at most half its lead (so never
    once the session has started)."""
    offset = offset_of(kind)
    if offset is not None:
        return moment + min(LATE_AFTER, offset / 2)
    return moment + LATE_AFTER


def claim(
    schedule: Schedule, booking_id: str, kind: str, moment: str, now: datetime
) -> Booking | None:
    """Mark the reminder `kind` at `moment` (ISO UTC) as sent in the schedule owner's copy of
    the session, and return that copy; None (and nothing marked) when it must not go out: the
    session is not confirmed (cancelled, or a hold), it has moved since the reminder was
    indexed, it is not due yet or too late, the owner rated it already (review reminders), or
    it was claimed before. Run inside the atomic update of the owner's document."""
    booking = schedule.bookings.get(booking_id)
    if booking is None or booking.status != "confirmed":
        return None
    expected = moment_of(booking, kind)
    if expected is None or iso_utc(expected) != moment:
        return None
    if not expected <= now < deadline(kind, expected):
        return None
    if kind in REVIEW_KINDS and schedule.owner in booking.reviews:
        return None
    mark = Reminder(kind, expected).mark
    if mark in booking.reminded:
        return None
    booking.reminded = [*current_marks(booking), mark]
    return booking


def current_marks(booking: Booking) -> list[str]:
    """The marks still about this session as it stands (a move makes earlier ones moot):
    at most one per kind, so the list stays as short as the kinds of reminder."""
    kept = []
    for mark in booking.reminded:
        kind, _, moment = mark.partition("@")
        expected = moment_of(booking, kind)
        if expected is not None and iso_utc(expected) == moment:
            kept.append(mark)
    return kept


# --- the due index --------------------------------------------------------------------------


def due_bucket(moment: datetime, hourly: bool) -> str:
    """The bucket a reminder's moment is indexed in: its UTC hour ("2026-12-01T09"), or its
    UTC day ("2026-12-01") where keys are scarce. Names sort by time."""
    utc = moment.astimezone(UTC)
    return f"{utc:%Y-%m-%dT%H}" if hourly else f"{utc:%Y-%m-%d}"


def bucket_start(bucket: str) -> datetime | None:
    """When a bucket's span begins (either layout); None for a name that is no bucket."""
    try:
        if len(bucket) == 13:
            return datetime.strptime(bucket, "%Y-%m-%dT%H").replace(tzinfo=UTC)
        if len(bucket) == 10:
            return datetime.strptime(bucket, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        return None
    return None


@dataclass(frozen=True)
class DueEntry:
    """One reminder in the due index: about which session, for its two people."""

    booking_id: str
    kind: str
    moment: str  # ISO UTC
    teacher: str
    learner: str

    @property
    def ref(self) -> str:
        """Its name in a bucket piece: one entry per session and kind."""
        return f"{self.booking_id} {self.kind}"

    @property
    def moment_at(self) -> datetime:
        return parse_iso_utc(self.moment)

    def stored(self) -> list[str]:
        return [self.moment, self.teacher, self.learner]

    @classmethod
    def from_stored(cls, ref: str, value: list[str]) -> DueEntry | None:
        """None for anything malformed (written by another version): it is dropped."""
        booking_id, _, kind = ref.partition(" ")
        if not booking_id or not kind or not isinstance(value, list) or len(value) != 3:
            return None
        moment, teacher, learner = (str(v) for v in value)
        return cls(booking_id, kind, moment, teacher, learner)


def due_entries(
    booking: Booking, offsets: tuple[timedelta, ...], after: datetime
) -> list[DueEntry]:
    """The entries a confirmed session puts in the due index: its reminders after `after`
    (a booking's: those still ahead, so nothing is sent at once)."""
    return [
        DueEntry(booking.id, r.kind, iso_utc(r.moment), booking.teacher, booking.learner)
        for r in reminders_for(booking, offsets)
        if r.moment > after
    ]

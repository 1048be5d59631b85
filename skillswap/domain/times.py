"""Time zones, wall-clock input, slots and overlap: the pure time rules of SkillSwap.

Conventions (DESIGN.md, "Time"):

- Every instant that leaves this module is an aware ``datetime`` in UTC.
- People type wall-clock dates and times in their own IANA zone. A wall time inside a DST gap
  does not exist and is refused; an ambiguous one (DST fold) takes ``fold=0``, the first
  occurrence.
- Intervals are half-open ``[start, end)``, so back-to-back sessions do not overlap.
- A time range stays within one local date: the end must be later than the start on that date.

Only the standard library is used (``datetime`` + ``zoneinfo``; the ``tzdata`` package supplies
zones where the OS has none), so the rules run the same in the web app, the CLI and the tests.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache

from skillswap.domain.zones import zone_label

# `UTC` (datetime.UTC, the same object as timezone.utc) is re-exported for callers.


# re.ASCII: "\d" must not accept Arabic-Indic or full-width digits that int() would then take.
_DATE_RE = re.compile(r"(\d{4})-(\d{2})-(\d{2})", re.ASCII)
_TIME_RE = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?", re.ASCII)


class TimeInputError(ValueError):
    """Input that cannot be turned into a time; the message is shown to the user as is."""


class NonexistentWallTime(TimeInputError):
    """A wall-clock time skipped by a DST change (for example 02:30 when clocks jump to 03:00)."""


# --------------------------------------------------------------------------------------------
# Zones


# --------------------------------------------------------------------------------------------
# Parsing form input


def parse_date(text: str) -> date:
    """Parse a form date "YYYY-MM-DD" (what <input type=date> submits)."""
    text = (text or "").strip()
    if not text:
        raise TimeInputError("Enter a date")
    match = _DATE_RE.fullmatch(text)
    if not match:
        raise TimeInputError("Enter the date as YYYY-MM-DD")
    year, month, day = (int(part) for part in match.groups())
    try:
        return date(year, month, day)
    except ValueError:
        raise TimeInputError(f"{text} is not a real date") from None


def parse_hhmm(text: str) -> time:
    """Parse a 24-hour "HH:MM" time; "HH:MM:SS" is accepted because some browsers send it.

    Seconds must be ":00": slots are minute-precise, and silently dropping seconds would change
    what the person typed.
    """
    text = (text or "").strip()
    if not text:
        raise TimeInputError("Enter a time")
    match = _TIME_RE.fullmatch(text)
    if not match:
        raise TimeInputError("Enter the time as HH:MM (24-hour clock)")
    hour, minute = int(match.group(1)), int(match.group(2))
    second = int(match.group(3) or 0)
    if hour > 23 or minute > 59 or second > 59:
        raise TimeInputError(f"{text} is not a valid time; use 00:00 to 23:59")
    if second:
        raise TimeInputError("Enter the time in whole minutes, as HH:MM")
    return time(hour, minute)


# --------------------------------------------------------------------------------------------
# Instants


def require_aware(instant: datetime, what: str = "instant") -> None:
    # A naive datetime would be read as the server's local time: a silent, zone-dependent bug.
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got naive {instant!r}")


def wall_to_utc(day: date, wall: time, zone: tzinfo) -> datetime:
    """The UTC instant of wall time ``wall`` on ``day`` in ``zone``.

    Ambiguous times (DST fold) take fold=0, the first occurrence. Times in a DST gap raise
    ``NonexistentWallTime``: zoneinfo would quietly shift them by the gap instead, so we detect
    the gap by converting back and checking that the same wall time comes out.
    """
    naive = datetime.combine(day, wall.replace(tzinfo=None, fold=0))
    instant = naive.replace(tzinfo=zone).astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) != naive:
        raise NonexistentWallTime(
            f"{wall:%H:%M} does not exist on {day.isoformat()} in {zone_label(zone)} "
            "(clocks jump forward); pick another time"
        )
    return instant


def to_zone(instant: datetime, zone: tzinfo) -> datetime:
    """``instant`` as local time in ``zone`` (fold set, so a repeated hour is told apart)."""
    require_aware(instant)
    return instant.astimezone(zone)


def iso_utc(instant: datetime) -> str:
    """ISO 8601 in UTC with a "Z": "2026-12-01T14:00:00Z" (the storage format)."""
    require_aware(instant)
    return instant.astimezone(UTC).replace(tzinfo=None).isoformat() + "Z"


# Pages parse the same few thousand slot boundaries over and over; datetimes are immutable.
@lru_cache(maxsize=16384)
def parse_iso_utc(text: str) -> datetime:
    """Inverse of ``iso_utc``: an aware UTC datetime. Strings without an offset are refused."""
    try:
        parsed = datetime.fromisoformat(text.strip())
    except (ValueError, AttributeError):
        raise TimeInputError(f"{text!r} is not an ISO 8601 date-time") from None
    if parsed.tzinfo is None:
        raise TimeInputError(f"{text!r} has no time zone; stored instants end in 'Z'")
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # "0001-01-01T00:00+01:00": before year 1 in UTC
        raise TimeInputError(f"{text!r} is outside the years 1 to 9999 in UTC") from None


# --------------------------------------------------------------------------------------------
# Intervals


def overlaps(a_start: datetime, a_end: datetime, b_start: datetime, b_end: datetime) -> bool:
    """Half-open overlap: [a_start, a_end) and [b_start, b_end) share at least one instant."""
    return a_start < b_end and b_start < a_end


def merge_intervals(
    intervals: Iterable[tuple[datetime, datetime]],
) -> list[tuple[datetime, datetime]]:
    """Sort intervals and merge those that overlap or touch (10-12 and 12-14 become 10-14)."""
    merged: list[tuple[datetime, datetime]] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def clash_test(
    busy: Iterable[tuple[datetime, datetime]],
) -> Callable[[datetime, datetime], bool]:
    """Whether [start, end) overlaps any of `busy` (half-open, so a slot may start exactly
    when a busy interval ends). The intervals are merged and sorted once, then each test is
    one bisect: a teacher with hundreds of sessions booked ahead is not scanned once for
    every slot of theirs a page checks."""
    merged = merge_intervals((start, end) for start, end in busy if start < end)
    starts = [start for start, _ in merged]

    def clashes(start: datetime, end: datetime) -> bool:
        # Merged intervals are disjoint and sorted: only the last one starting before `end`
        # can reach past `start`.
        pos = bisect.bisect_left(starts, end) - 1
        return pos >= 0 and merged[pos][1] > start

    return clashes


# --------------------------------------------------------------------------------------------
# Dates


# --------------------------------------------------------------------------------------------
# Availability: validation and expansion


#: The longest a slot can last. A time range stays within one local date, and the longest
#: date in the time-zone database is 26 hours (Antarctica/Troll falls back two hours), so a
#: slot that overlaps an instant started at most this long before it: how far back matching
#: looks for slots that begin before a learner's window and run into it.
LONGEST_SLOT = timedelta(hours=26)


@dataclass(frozen=True, order=True)
class Slot:
    """One bookable session. Ordered by start, then end, then id."""

    start: datetime  # aware UTC
    end: datetime  # aware UTC
    # Stable across edits and tz-database updates because it comes from the wall-clock entry:
    # "2026-12-01T0900-1000". A second occurrence of a repeated (DST fold) hour gets an "f"
    # suffix ("2026-11-01T0100-0130f"), so the two 01:00 sessions of that night differ.
    id: str


def _unique(dates: Iterable[date]) -> list[date]:
    return sorted(set(dates))


def _slot_id(start: datetime, end: datetime, zone: tzinfo) -> str:
    local_start = start.astimezone(zone)
    local_end = end.astimezone(zone)
    fold = "f" if local_start.fold else ""
    # Plain integer formatting: strftime was a fifth of publishing a big offer.
    return (
        f"{local_start.year:04d}-{local_start.month:02d}-{local_start.day:02d}T"
        f"{local_start.hour:02d}{local_start.minute:02d}-"
        f"{local_end.hour:02d}{local_end.minute:02d}{fold}"
    )


def expand_slots(
    dates: list[date],
    ranges: list[tuple[time, time]],
    zone: tzinfo,
    session_minutes: int | None = None,
) -> list[Slot]:
    """Every date x every range as UTC slots, cut into sessions, sorted by start.

    ``session_minutes=None`` gives one slot per range. Otherwise sessions are cut from the
    range's start instant in UTC and stop at the range's end instant, dropping a shorter last
    piece: on a DST-change day a wall range can be an hour longer or shorter in real time, and a
    session must last its real length. Assumes ``check_availability`` found no problems
    (a DST-gap time raises ``NonexistentWallTime``).
    """
    if session_minutes is not None and session_minutes <= 0:
        raise ValueError(f"session_minutes must be positive, got {session_minutes}")
    step = timedelta(minutes=session_minutes) if session_minutes else None
    slots: list[Slot] = []
    for day in _unique(dates):
        for start, end in ranges:
            start_utc = wall_to_utc(day, start, zone)
            end_utc = wall_to_utc(day, end, zone)
            if step is None:
                if start_utc < end_utc:
                    slots.append(Slot(start_utc, end_utc, _slot_id(start_utc, end_utc, zone)))
                continue
            piece = start_utc
            while piece + step <= end_utc:
                slots.append(Slot(piece, piece + step, _slot_id(piece, piece + step, zone)))
                piece += step
    slots.sort()
    return slots


def expand_windows(
    dates: list[date], ranges: list[tuple[time, time]], zone: tzinfo
) -> list[tuple[datetime, datetime]]:
    """A learning request's windows: each date x each range in UTC, sorted, touching ones merged."""
    return merge_intervals(
        (wall_to_utc(day, start, zone), wall_to_utc(day, end, zone))
        for day in _unique(dates)
        for start, end in ranges
        if start < end
    )


# --------------------------------------------------------------------------------------------
# Display

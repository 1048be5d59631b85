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

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

# `UTC` (datetime.UTC, the same object as timezone.utc) is re-exported for callers.

#: Bounds on one form submission; they keep the expanded slot list (and the store document that
#: holds it) small: 60 dates x 10 ranges is at most 600 whole-range slots.
MAX_DATES = 60
MAX_RANGES = 10
#: A Weekdays/Weekends preset may cover at most this many days (inclusive).
MAX_PRESET_DAYS = 60
#: Dates further ahead than this are refused: nobody plans a skill swap years ahead, and the
#: bound keeps arithmetic far away from ``datetime``'s year-9999 overflow.
MAX_DAYS_AHEAD = 730
#: Session length bounds (minutes) when an offer cuts its ranges into sessions.
MIN_SESSION_MINUTES = 5
MAX_SESSION_MINUTES = 12 * 60

# Zone names worth offering in a picker: the IANA "Area/Location" names. Everything else in the
# database is a backward-compatibility alias ("US/Eastern", "GB", "EST5EDT", "Etc/GMT+5" with
# its inverted sign) or not a place at all ("Factory", "posixrules", "localtime").
_ZONE_AREAS = frozenset(
    {
        "Africa",
        "America",
        "Antarctica",
        "Arctic",
        "Asia",
        "Atlantic",
        "Australia",
        "Europe",
        "Indian",
        "Pacific",
    }
)
# Zone keys are short ASCII paths; anything longer or odder is not worth a file-system lookup.
_ZONE_NAME_RE = re.compile(r"[A-Za-z0-9_+\-]+(?:/[A-Za-z0-9_+\-]+)*", re.ASCII)
_MAX_ZONE_NAME = 64

# re.ASCII: "\d" must not accept Arabic-Indic or full-width digits that int() would then take.
_DATE_RE = re.compile(r"(\d{4})-(\d{2})-(\d{2})", re.ASCII)
_TIME_RE = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?", re.ASCII)

# English names, not strftime("%a"), so pages do not depend on the server's C locale.
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class TimeInputError(ValueError):
    """Input that cannot be turned into a time; the message is shown to the user as is."""


class NonexistentWallTime(TimeInputError):
    """A wall-clock time skipped by a DST change (for example 02:30 when clocks jump to 03:00)."""


# --------------------------------------------------------------------------------------------
# Zones


def is_valid_zone(name: str) -> bool:
    """True when ``name`` is an IANA zone key this machine can load (aliases included)."""
    if not name or len(name) > _MAX_ZONE_NAME or not _ZONE_NAME_RE.fullmatch(name):
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        # ValueError: keys zoneinfo rejects outright; OSError: a directory such as "America".
        return False
    return True


def zone_or_utc(name: str | None) -> ZoneInfo:
    """The zone called ``name``, or UTC when it is missing or unknown (DESIGN: UTC fallback)."""
    if name and is_valid_zone(name):
        return ZoneInfo(name)
    return ZoneInfo("UTC")


@lru_cache(maxsize=1)
def _zone_names() -> tuple[str, ...]:
    names = {n for n in available_timezones() if n.split("/", 1)[0] in _ZONE_AREAS and "/" in n}
    names.add("UTC")
    return tuple(sorted(names))


def all_zone_names() -> list[str]:
    """Sorted canonical zone names for a picker ("Area/Location" plus "UTC").

    Aliases such as "US/Eastern" are left out of the list but still pass ``is_valid_zone``,
    because browsers report some of them; a form should keep a saved alias selectable.
    Scanning the zone database is slow, so the list is computed once per process.
    """
    return list(_zone_names())


def _zone_label(zone: tzinfo) -> str:
    # ZoneInfo has .key; a fixed-offset timezone (UTC) only has its str().
    return getattr(zone, "key", None) or str(zone)


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


def _require_aware(instant: datetime, what: str = "instant") -> None:
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
            f"{wall:%H:%M} does not exist on {day.isoformat()} in {_zone_label(zone)} "
            "(clocks jump forward); pick another time"
        )
    return instant


def to_zone(instant: datetime, zone: tzinfo) -> datetime:
    """``instant`` as local time in ``zone`` (fold set, so a repeated hour is told apart)."""
    _require_aware(instant)
    return instant.astimezone(zone)


def iso_utc(instant: datetime) -> str:
    """ISO 8601 in UTC with a "Z": "2026-12-01T14:00:00Z" (the storage format)."""
    _require_aware(instant)
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
    return parsed.astimezone(UTC)


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


# --------------------------------------------------------------------------------------------
# Dates


def preset_dates(preset: str, first: date, last: date) -> list[date]:
    """The weekdays (Mon-Fri) or weekend days (Sat, Sun) in [first, last], inclusive.

    Done on the server so the offer form works without JavaScript.
    """
    kind = (preset or "").strip().lower()
    if kind == "weekdays":
        wanted = {0, 1, 2, 3, 4}
    elif kind == "weekends":
        wanted = {5, 6}
    else:
        raise TimeInputError("Choose Weekdays or Weekends")
    if last < first:
        raise TimeInputError("The last date must be on or after the first date")
    span = (last - first).days + 1
    if span > MAX_PRESET_DAYS:
        raise TimeInputError(f"Pick a date range of at most {MAX_PRESET_DAYS} days")
    days = (first + timedelta(days=offset) for offset in range(span))
    return [day for day in days if day.weekday() in wanted]


# --------------------------------------------------------------------------------------------
# Availability: validation and expansion


@dataclass(frozen=True, order=True)
class Slot:
    """One bookable session. Ordered by start, then end, then id."""

    start: datetime  # aware UTC
    end: datetime  # aware UTC
    # Stable across edits and tz-database updates because it comes from the wall-clock entry:
    # "2026-12-01T0900-1000". A second occurrence of a repeated (DST fold) hour gets an "f"
    # suffix ("2026-11-01T0100-0130f"), so the two 01:00 sessions of that night differ.
    id: str


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an availability entry, pinned to the input that caused it.

    ``where`` is "dates", "date:<index>", "range:<index>", "session_minutes" or "form";
    indexes are positions in the lists passed to ``check_availability``.
    """

    where: str
    message: str


def _hhmm(value: time) -> str:
    return f"{value:%H:%M}"


def check_availability(
    dates: list[date],
    ranges: list[tuple[time, time]],
    zone: tzinfo,
    now: datetime,
    max_dates: int = MAX_DATES,
    max_ranges: int = MAX_RANGES,
    session_minutes: int | None = None,
) -> list[Problem]:
    """Everything wrong with dates x ranges in ``zone`` at ``now``, all at once.

    An empty list means ``expand_slots``/``expand_windows`` will succeed and every slot starts
    after ``now``. ``session_minutes`` (optional) also checks the session length and that each
    range holds at least one session.
    """
    _require_aware(now, "now")
    problems: list[Problem] = []
    today = now.astimezone(zone).date()

    # Dates. Duplicates are harmless (the caller dedupes), so they do not count twice.
    if not dates:
        problems.append(Problem("dates", "Add at least one date"))
    elif len(set(dates)) > max_dates:
        problems.append(
            Problem("dates", f"Pick at most {max_dates} dates (you picked {len(set(dates))})")
        )
    usable_dates: list[date] = []
    for index, day in enumerate(dates):
        if day < today:
            problems.append(
                Problem(
                    f"date:{index}",
                    f"{day.isoformat()} is in the past; pick a date from today on",
                )
            )
        elif (day - today).days > MAX_DAYS_AHEAD:
            problems.append(
                Problem(
                    f"date:{index}",
                    f"{day.isoformat()} is too far ahead; pick a date "
                    f"within the next {MAX_DAYS_AHEAD // 365} years",
                )
            )
        elif day not in usable_dates:
            usable_dates.append(day)

    # Session length.
    session_ok = True
    if session_minutes is not None and not (
        MIN_SESSION_MINUTES <= session_minutes <= MAX_SESSION_MINUTES
    ):
        session_ok = False
        problems.append(
            Problem(
                "session_minutes",
                f"Session length must be between {MIN_SESSION_MINUTES} and "
                f"{MAX_SESSION_MINUTES} minutes",
            )
        )

    # Ranges. "range:0" carries the "no ranges" message because the form always shows a first
    # (empty) row; "too many" points at the first row beyond the limit.
    if not ranges:
        problems.append(Problem("range:0", "Add at least one time range"))
    elif len(ranges) > max_ranges:
        problems.append(Problem(f"range:{max_ranges}", f"Use at most {max_ranges} time ranges"))

    # Past the limits only the first max_* entries are checked in detail: the person has to
    # trim the list anyway, and a hostile form with thousands of rows must stay cheap.
    usable_dates = usable_dates[:max_dates]
    ordered: list[int] = []  # indexes of ranges with end > start, for the overlap check
    for index, (start, end) in enumerate(ranges[:max_ranges]):
        where = f"range:{index}"
        if end <= start:
            # Also covers an end of 00:00: a range may not run past midnight into the next date.
            problems.append(Problem(where, "End time must be after the start time"))
            continue
        ordered.append(index)

        # One message per kind per range: the first date that shows the problem names it.
        gap_message: str | None = None
        too_short = False
        for day in usable_dates:
            try:
                start_utc = wall_to_utc(day, start, zone)
                end_utc = wall_to_utc(day, end, zone)
            except NonexistentWallTime as exc:
                gap_message = gap_message or str(exc)
                continue
            if day == today and start_utc <= now:
                problems.append(
                    Problem(where, f"{_hhmm(start)} today has already passed; pick a later time")
                )
            if (
                session_ok
                and session_minutes is not None
                and end_utc - start_utc < timedelta(minutes=session_minutes)
            ):
                too_short = True
        if gap_message:
            problems.append(Problem(where, gap_message))
        if too_short:
            problems.append(
                Problem(
                    where, f"This time range is shorter than one {session_minutes}-minute session"
                )
            )

    # Overlaps between ranges (each range applies to every date). The later row of a pair gets
    # the message, naming the earlier one, so fixing the newer entry is the obvious move.
    reported: set[int] = set()
    for pos, index in enumerate(ordered):
        start, end = ranges[index]
        for other in ordered[:pos]:
            o_start, o_end = ranges[other]
            if start < o_end and o_start < end and index not in reported:
                reported.add(index)
                problems.append(
                    Problem(
                        f"range:{index}",
                        f"This time range overlaps {_hhmm(o_start)}–{_hhmm(o_end)}",
                    )
                )
    problems.sort(key=_problem_order)
    return problems


def _problem_order(problem: Problem) -> tuple[int, int]:
    # Present problems in form order: dates, each date, session length, each range, the rest.
    kind, _, index = problem.where.partition(":")
    rank = {"dates": 0, "date": 1, "session_minutes": 2, "range": 3}.get(kind, 4)
    return rank, int(index) if index.isdigit() else -1


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


def _day_label(day: date) -> str:
    return f"{_WEEKDAYS[day.weekday()]} {day.day} {_MONTHS[day.month - 1]} {day.year}"


def _clock_label(local: datetime) -> str:
    # In a repeated hour "01:30" alone names two instants; the abbreviation (EDT/EST) tells
    # them apart. Elsewhere it would only add noise next to the zone name.
    other = local.replace(fold=1 - local.fold)
    if other.utcoffset() != local.utcoffset():
        return f"{local:%H:%M} {local.tzname()}"
    return f"{local:%H:%M}"


def format_range(start: datetime, end: datetime, zone: tzinfo) -> str:
    """Human text in the viewer's zone: "Tue 1 Dec 2026, 09:00–10:00 (Europe/Berlin)".

    When the end falls on another local date both dates are shown:
    "Tue 1 Dec 2026, 23:00 – Wed 2 Dec 2026, 01:00 (Asia/Tokyo)".
    """
    local_start = to_zone(start, zone)
    local_end = to_zone(end, zone)
    label = _zone_label(zone)
    if local_start.date() == local_end.date():
        return (
            f"{_day_label(local_start.date())}, "
            f"{_clock_label(local_start)}–{_clock_label(local_end)} ({label})"
        )
    return (
        f"{_day_label(local_start.date())}, {_clock_label(local_start)} – "
        f"{_day_label(local_end.date())}, {_clock_label(local_end)} ({label})"
    )


def format_instant(instant: datetime, zone: ZoneInfo) -> str:
    """One moment in the viewer's zone: "Tue 1 Dec 2026, 09:00 (Europe/Berlin)"."""
    local = to_zone(instant, zone)
    return f"{_day_label(local.date())}, {_clock_label(local)} ({_zone_label(zone)})"

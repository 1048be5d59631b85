"""A person's calendar: what they offer, teach, attend and ask for, laid out by local day.

Pure rules, no Flask and no store. Given a Schedule, the viewer's zone, a month or an ISO week
and "now", build the days of the view, each holding the pieces of items that fall on it:

- Items are cut at local midnight, so a session from 23:30 to 00:30 shows on both days, and
  the pieces of an item always add up to exactly its duration (tested with Hypothesis).
- A local day is the half-open span [start of the day, start of the next day). On a DST change
  that is 23 or 25 hours long (in a few zones, once, 0 or 48), and the week view's hour rows
  follow the real clock: the skipped hour is missing, the repeated hour appears twice.
- "Start of the day" is the first instant whose local date is that day, which is local
  midnight except where midnight itself falls into a DST gap.

The month and week views share their day-cutting rules here (the drawing pieces are in
pieces.py); kept whole at ~340 lines because the two views must agree on every day boundary.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo

from skillswap.domain.schedule import Schedule
from skillswap.web.calendar.pieces import (
    DAY_NAMES,
    Hour,
    Kind,
    Piece,
    day_start,
    hours_of,
    items_of,
    local_date,
    split_by_day,
)

#: How many items a month cell lists before it says "+N more".
MONTH_CELL_LIMIT = 3
#: The calendar shows years in this range; anything else is a mistyped URL, not a plan.
FIRST_YEAR, LAST_YEAR = 2000, 2100

_MONTH_RE = re.compile(r"(\d{4})-(\d{2})", re.ASCII)
_WEEK_RE = re.compile(r"(\d{4})-W(\d{2})", re.ASCII)
_MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


class PeriodError(ValueError):
    """A month or week in the URL that cannot be shown; the message is shown as is."""


# --------------------------------------------------------------------------------------------
# Items and their pieces


# --------------------------------------------------------------------------------------------
# Local days


# --------------------------------------------------------------------------------------------
# Hours of a day (week view)


# --------------------------------------------------------------------------------------------
# Views


@dataclass
class Day:
    date: date
    start: datetime  # UTC
    end: datetime
    pieces: list[Piece] = field(default_factory=list)
    in_period: bool = True  # False for the leading/trailing days of other months
    is_today: bool = False
    is_past: bool = False

    @property
    def full_label(self) -> str:
        """ "Tuesday 1 December 2026" """
        d = self.date
        return f"{DAY_NAMES[d.weekday()]} {d.day} {_MONTH_NAMES[d.month - 1]} {d.year}"

    @property
    def short_label(self) -> str:
        """ "Tue 1 Dec" """
        return f"{self.weekday_short} {self.date.day} {self.month_short}"

    @property
    def weekday_short(self) -> str:
        return DAY_NAMES[self.date.weekday()][:3]

    @property
    def month_short(self) -> str:
        return _MONTH_NAMES[self.date.month - 1][:3]

    @property
    def length(self) -> timedelta:
        return self.end - self.start

    @property
    def clock_change(self) -> str:
        """ "23 hours: clocks go forward" on a DST day, else ""."""
        hours = self.length / timedelta(hours=1)
        if hours == 24:
            return ""
        direction = "forward" if hours < 24 else "back"
        count = f"{hours:g}"
        return f"{count} hours: clocks go {direction}"

    @property
    def shown(self) -> list[Piece]:
        return self.pieces[:MONTH_CELL_LIMIT]

    @property
    def more(self) -> int:
        return max(0, len(self.pieces) - MONTH_CELL_LIMIT)

    @property
    def iso_week(self) -> str:
        return iso_week_text(self.date)


@dataclass
class Month:
    year: int
    month: int
    zone: tzinfo
    weeks: list[list[Day]]

    @property
    def title(self) -> str:
        return f"{_MONTH_NAMES[self.month - 1]} {self.year}"

    @property
    def param(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def previous(self) -> str:
        first = date(self.year, self.month, 1) - timedelta(days=1)
        return f"{first.year:04d}-{first.month:02d}"

    @property
    def next(self) -> str:
        after = date(self.year, self.month, 28) + timedelta(days=4)
        return f"{after.year:04d}-{after.month:02d}"

    @property
    def days(self) -> list[Day]:
        return [day for week in self.weeks for day in week if day.in_period]

    @property
    def item_count(self) -> int:
        return len({p.item.uid for day in self.days for p in day.pieces})


@dataclass
class HourCell:
    """One hour of one day: the pieces that start in it, and the kinds of those that started
    earlier and are still going (drawn as a stripe, so a long window reads as long)."""

    hour: Hour
    pieces: list[Piece]
    continuing: list[Kind]


@dataclass
class HourRow:
    """A row of the week table: one wall-clock hour, and that hour on each day (None where the
    day has no such hour: the hour skipped by clocks going forward, or the repeated hour on the
    days without a change)."""

    key: tuple[int, int]
    label: str
    cells: list[HourCell | None]


@dataclass
class Week:
    year: int  # ISO year
    week: int  # ISO week number
    zone: tzinfo
    days: list[Day]
    rows: list[HourRow]

    @property
    def param(self) -> str:
        return f"{self.year:04d}-W{self.week:02d}"

    @property
    def title(self) -> str:
        first, last = self.days[0].date, self.days[-1].date
        if first.month == last.month:
            span = f"{first.day}–{last.day} {_MONTH_NAMES[last.month - 1]} {last.year}"
        elif first.year == last.year:
            span = (
                f"{first.day} {_MONTH_NAMES[first.month - 1]} – "
                f"{last.day} {_MONTH_NAMES[last.month - 1]} {last.year}"
            )
        else:
            span = (
                f"{first.day} {_MONTH_NAMES[first.month - 1]} {first.year} – "
                f"{last.day} {_MONTH_NAMES[last.month - 1]} {last.year}"
            )
        return f"Week {self.week}: {span}"

    @property
    def previous(self) -> str:
        return iso_week_text(self.days[0].date - timedelta(days=7))

    @property
    def next(self) -> str:
        return iso_week_text(self.days[0].date + timedelta(days=7))

    @property
    def month_param(self) -> str:
        """The month this week belongs to (its Thursday's, as ISO weeks count)."""
        thursday = self.days[3].date
        return f"{thursday.year:04d}-{thursday.month:02d}"


def days_view(
    first: date, count: int, zone: tzinfo, schedule: Schedule, now: datetime
) -> list[Day]:
    """`count` local days from `first`, each with the pieces of the schedule's items falling
    on it (only those items are worked out)."""
    today = local_date(now, zone)
    days = [
        Day(
            first + timedelta(days=n),
            day_start(first + timedelta(days=n), zone),
            day_start(first + timedelta(days=n + 1), zone),
            is_today=first + timedelta(days=n) == today,
            is_past=first + timedelta(days=n) < today,
        )
        for n in range(count)
    ]
    by_date = {day.date: day for day in days}
    for item in items_of(schedule, now, days[0].start, days[-1].end):
        for piece in split_by_day(item, zone):
            if piece.day in by_date:
                by_date[piece.day].pieces.append(piece)
    for day in days:
        day.pieces.sort(key=lambda p: (p.start.astimezone(UTC), p.end.astimezone(UTC), p.item.uid))
    return days


def month_view(schedule: Schedule, zone: tzinfo, year: int, month: int, now: datetime) -> Month:
    """The weeks (Monday first) that cover a month, each day with its pieces."""
    first = date(year, month, 1)
    start = first - timedelta(days=first.weekday())
    last = (first + timedelta(days=31)).replace(day=1) - timedelta(days=1)
    end = last + timedelta(days=6 - last.weekday())
    days = days_view(start, (end - start).days + 1, zone, schedule, now)
    for day in days:
        day.in_period = day.date.month == month
    weeks = [days[i : i + 7] for i in range(0, len(days), 7)]
    return Month(year, month, zone, weeks)


def week_days(schedule: Schedule, zone: tzinfo, year: int, week: int, now: datetime) -> Week:
    """Seven local days (Monday first) with their pieces, without the hour grid: what a list
    of the week shows (the profile's "This week"), at a fifth of the grid's cost."""
    monday = date.fromisocalendar(year, week, 1)
    return Week(year, week, zone, days_view(monday, 7, zone, schedule, now), [])


def this_week(schedule: Schedule, zone: tzinfo, now: datetime) -> Week:
    """The days of the week holding `now` in `zone`, without the hour grid (the profile's
    "This week")."""
    year, number = now.astimezone(zone).date().isocalendar()[:2]
    return week_days(schedule, zone, year, number, now)


def week_view(schedule: Schedule, zone: tzinfo, year: int, week: int, now: datetime) -> Week:
    """Seven local days (Monday first) with their real hours, each piece in the hour it starts."""
    days = week_days(schedule, zone, year, week, now).days
    per_day = [hours_of(day.date, zone) for day in days]
    keys = sorted({hour.key for hours in per_day for hour in hours})
    cells: dict[tuple[int, int], list[HourCell | None]] = {key: [None] * 7 for key in keys}
    labels: dict[tuple[int, int], str] = {}
    for column, (day, hours) in enumerate(zip(days, per_day, strict=True)):
        starts = [hour.start.astimezone(UTC) for hour in hours]
        placed: list[list[Piece]] = [[] for _ in hours]
        for piece in day.pieces:
            row = bisect_right(starts, piece.start.astimezone(UTC)) - 1
            placed[max(row, 0)].append(piece)
        for hour, start, pieces in zip(hours, starts, placed, strict=True):
            going = {
                p.item.kind
                for p in day.pieces
                if p.start.astimezone(UTC) < start < p.end.astimezone(UTC)
            }
            cells[hour.key][column] = HourCell(hour, pieces, [k for k in Kind if k in going])
            labels.setdefault(hour.key, f"{hour.start:%H:%M}")
    # Where clocks go back, both rows of the repeated hour say which one they are.
    for minutes, occurrence in keys:
        if occurrence:
            for first, second in zip(cells[(minutes, 0)], cells[(minutes, 1)], strict=True):
                if first and second:
                    labels[(minutes, 0)] = first.hour.label
                    labels[(minutes, 1)] = second.hour.label
    rows = [HourRow(key, labels[key], cells[key]) for key in keys]
    return Week(year, week, zone, days, rows)


# --------------------------------------------------------------------------------------------
# Periods in URLs


def iso_week_text(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year:04d}-W{week:02d}"


def parse_month(text: str) -> tuple[int, int]:
    """ "2026-12" -> (2026, 12)."""
    match = _MONTH_RE.fullmatch(text.strip())
    if not match:
        raise PeriodError("Give the month as YYYY-MM, for example 2026-12.")
    year, month = int(match.group(1)), int(match.group(2))
    if not 1 <= month <= 12:
        raise PeriodError(f"{text.strip()} is not a month: months run from 01 to 12.")
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise PeriodError(f"The calendar covers {FIRST_YEAR} to {LAST_YEAR}.")
    return year, month


def parse_week(text: str) -> tuple[int, int]:
    """ "2026-W50" -> (2026, 50): ISO weeks, Monday first."""
    match = _WEEK_RE.fullmatch(text.strip().upper())
    if not match:
        raise PeriodError("Give the week as YYYY-Www, for example 2026-W50.")
    year, week = int(match.group(1)), int(match.group(2))
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise PeriodError(f"The calendar covers {FIRST_YEAR} to {LAST_YEAR}.")
    try:
        date.fromisocalendar(year, week, 1)
    except ValueError:
        raise PeriodError(f"{year} has no week {week}.") from None
    return year, week

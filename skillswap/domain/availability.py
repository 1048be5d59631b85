"""When someone is free: the rules for the dates x time ranges of an offer or a request.

``check_availability`` finds every problem at once, each pinned to the input that caused it, so
a form can show it next to that field: past dates and times, end before start, overlapping
ranges, DST gaps, ranges shorter than a session, too many dates or ranges. Presets (weekdays,
weekends, every day) are expanded here, on the server, so forms work without JavaScript.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from skillswap.domain.times import NonexistentWallTime, TimeInputError, require_aware, wall_to_utc

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


PRESET_DAYS = {
    "weekdays": frozenset({0, 1, 2, 3, 4}),
    "weekends": frozenset({5, 6}),
    "everyday": frozenset(range(7)),
}


def preset_dates(preset: str, first: date, last: date) -> list[date]:
    """The weekdays (Mon-Fri), weekend days (Sat, Sun) or every day in [first, last],
    inclusive.

    Done on the server so the offer form works without JavaScript.
    """
    wanted = PRESET_DAYS.get((preset or "").strip().lower())
    if wanted is None:
        raise TimeInputError("Choose Weekdays, Weekends or Every day")
    if last < first:
        raise TimeInputError("The last date must be on or after the first date")
    span = (last - first).days + 1
    if span > MAX_PRESET_DAYS:
        raise TimeInputError(f"Pick a date range of at most {MAX_PRESET_DAYS} days")
    days = (first + timedelta(days=offset) for offset in range(span))
    return [day for day in days if day.weekday() in wanted]


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
    kept: Collection[date] = (),
    kept_ranges: Collection[tuple[time, time]] = (),
) -> list[Problem]:
    """Everything wrong with dates x ranges in ``zone`` at ``now``, all at once.

    An empty list means ``expand_slots``/``expand_windows`` will succeed for the dates from
    today on, and every slot starts after ``now``, but for what an offer being edited already
    had: its ``kept`` dates are no problem once past (their sessions are over, and a teacher
    renaming an offer mid-way must not have to delete its first dates; they are not to be
    expanded), nor are its ``kept_ranges`` that have begun today. At least one date must be
    ahead. ``session_minutes`` (optional) also checks the session length and that each range
    holds at least one session.
    """
    require_aware(now, "now")
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
        if day < today and day in kept:
            continue
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
    if dates and not usable_dates and not any(p.where.startswith("date") for p in problems):
        problems.append(Problem("dates", "Add at least one date from today on"))  # all kept, past

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
            begun_before = day in kept and (start, end) in kept_ranges
            if day == today and start_utc <= now and not begun_before:
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

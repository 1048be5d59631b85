"""Times in words, in the reader's zone with the zone named ("Tue 1 Dec, 09:00–10:00
(Europe/Berlin)"). English names, not strftime, so pages do not depend on the server's locale.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

from skillswap.domain.skills import normalise_skill
from skillswap.domain.times import to_zone
from skillswap.domain.zones import zone_label

# English names, not strftime("%a"), so pages do not depend on the server's C locale.
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


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
    label = zone_label(zone)
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
    return f"{_day_label(local.date())}, {_clock_label(local)} ({zone_label(zone)})"


def format_part(start: datetime, end: datetime, zone: tzinfo, on: date) -> str:
    """Part of a time already dated as `on` (a slot's day), in the viewer's zone: "11:00–12:00",
    the day added to an end that falls on another date ("23:00–Wed 2 Dec 2026, 01:00")."""
    local_start = to_zone(start, zone)
    local_end = to_zone(end, zone)
    start_text = _clock_label(local_start)
    if local_start.date() != on:
        start_text = f"{_day_label(local_start.date())}, {start_text}"
    end_text = _clock_label(local_end)
    if local_end.date() != local_start.date():
        end_text = f"{_day_label(local_end.date())}, {end_text}"
    return f"{start_text}–{end_text}"


def title_and_skill(title: str, skill: str) -> tuple[str, str]:
    """What a session is called, and the skill to show beside it: ("Intro to Figma",
    "Figma"). A title that is empty (records from before titles were copied) or only repeats
    the skill ("Python" for Python) gives the skill alone: (skill, "")."""
    title = " ".join(title.split())
    if not title or normalise_skill(title) == normalise_skill(skill):
        return skill, ""
    return title, skill


_PRESETS = {"weekdays": "Weekdays", "weekends": "Weekends", "everyday": "Every day"}


def describe_dates(dates: list[str], preset: Mapping[str, str], custom_dates: list[str]) -> str:
    """An offer's or request's dates as a person reads them: a preset as its span
    ("Weekdays, Mon 7 Dec 2026 – Fri 18 Dec 2026"), other dates as runs of days in order
    ("Tue 1 Dec 2026 – Thu 3 Dec 2026; Mon 7 Dec 2026"), not ten ISO dates in a row."""
    parts = []
    word = _PRESETS.get(preset.get("kind", ""))
    if word and preset.get("first") and preset.get("last"):
        first, last = date.fromisoformat(preset["first"]), date.fromisoformat(preset["last"])
        parts.append(f"{word}, {_day_label(first)} – {_day_label(last)}")
        dates = custom_dates
    days = sorted({date.fromisoformat(d) for d in dates})
    runs: list[list[date]] = []
    for day in days:
        if runs and day - runs[-1][-1] == timedelta(days=1):
            runs[-1].append(day)
        else:
            runs.append([day])
    for run in runs:
        label = _day_label(run[0])
        parts.append(label if len(run) == 1 else f"{label} – {_day_label(run[-1])}")
    return "; ".join(parts)

"""A teacher's booking rules, and the count of late cancels and moves. Pure: no Flask, no I/O.

Each person's rules live in their own schedule document (section `booking_rules`; empty means
the defaults), so the claim that takes a slot reads them inside the same atomic `update`: a
race cannot pass a rule that the page would have refused.

- Minimum notice: no session may be booked (or moved to a time) starting sooner than N hours
  from now (default 2).
- Buffer: a booked session keeps N minutes free before and after it, across all of the
  teacher's offers and the sessions they attend (default 0).
- Daily cap: at most N sessions taught on one day, days counted in the teacher's zone
  (default: no cap).
- Cancel deadline: a cancel or a move later than N hours before the start is allowed but
  marked late on both dashboards, and counted on the profile of the person who made it
  (default 24). The deadline is copied into the booking when the slot is claimed, so both
  copies judge lateness alike and a later change of the rule leaves what was agreed alone.

`SlotCheck` applies the first three to one teacher's document at one moment. The claim, a
move, the booking page and matching all ask it, so nobody is shown a time the claim refuses.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from typing import Any

from skillswap.domain.limits import LATE_WINDOW, MAX_LATE_WEEKS
from skillswap.domain.records import Booking
from skillswap.domain.refusals import DayFull, InBuffer, RuleRefusal, TooSoon
from skillswap.domain.times import overlaps
from skillswap.domain.zones import zone_or_utc

# (lowest, highest, what to type): the form and the service both check these.
BOUNDS: dict[str, tuple[int, int, str]] = {
    "notice_hours": (0, 720, "Enter whole hours from 0 to 720 (30 days)"),
    "buffer_minutes": (0, 240, "Enter whole minutes from 0 to 240 (4 hours)"),
    "daily_cap": (0, 24, "Enter a number of sessions from 1 to 24, or leave it empty for no limit"),
    "cancel_hours": (0, 720, "Enter whole hours from 0 to 720 (30 days)"),
}
LATE_KINDS = ("cancel", "move")


@dataclass(frozen=True)
class TeacherRules:
    notice_hours: int = 2
    buffer_minutes: int = 0
    daily_cap: int = 0  # 0: no cap
    cancel_hours: int = 24  # 0: a cancel or move is never late
    # The teacher's zone (kept in step with their profile): the daily cap counts days in it,
    # and the claim cannot read the user record inside its atomic step on the schedule.
    zone: str = "UTC"

    @classmethod
    def from_stored(cls, data: Mapping[str, Any]) -> TeacherRules:
        """Rules as stored ({} for someone who never set any: the defaults). A value out of
        bounds (written by hand or by another version) falls back to its default."""
        values: dict[str, Any] = {}
        for name, value in data.items():
            if name == "zone" and isinstance(value, str):
                values[name] = value
            elif name in BOUNDS and isinstance(value, int) and not isinstance(value, bool):
                low, high, _ = BOUNDS[name]
                if low <= value <= high:
                    values[name] = value
        return cls(**values)

    def stored(self) -> dict[str, Any]:
        return asdict(self)


def rules_problems(values: Mapping[str, int]) -> dict[str, str]:
    """Field name -> what to type, for each value out of bounds."""
    problems = {}
    for name, (low, high, message) in BOUNDS.items():
        value = values.get(name, 0)
        if not low <= value <= high:
            problems[name] = message
    return problems


def _hours(n: int) -> str:
    return f"{n} hour{'' if n == 1 else 's'}"


def _sessions(n: int) -> str:
    return f"{n} session{'' if n == 1 else 's'}"


def is_late(start: datetime, cancel_hours: int, now: datetime) -> bool:
    """Is a cancel or a move at `now` later than the deadline of a session starting at
    `start`? Exactly at the deadline is still in time."""
    return cancel_hours > 0 and now > start - timedelta(hours=cancel_hours)


def local_day(instant: datetime, zone_name: str) -> date:
    return instant.astimezone(zone_or_utc(zone_name)).date()


class SlotCheck:
    """The notice, buffer and daily-cap rules of one teacher's document at one moment.

    `sessions` are the document's live bookings (teaching or attending), without the one being
    moved: a session does not stand in its own way. They are looked at only when a buffer or
    a cap is set, so with the defaults a check is one comparison."""

    def __init__(
        self,
        rules: TeacherRules,
        now: datetime,
        sessions: Callable[[], Iterable[Booking]],
        teacher: str,
    ) -> None:
        self.rules = rules
        self.now = now
        self.earliest = now + timedelta(hours=rules.notice_hours)
        self._sessions = sessions
        self._teacher = teacher
        self._blocked: list[tuple[datetime, datetime]] | None = None
        self._per_day: Counter[date] | None = None

    def _buffered(self) -> list[tuple[datetime, datetime]]:
        if self._blocked is None:
            pad = timedelta(minutes=self.rules.buffer_minutes)
            self._blocked = [
                (start - pad, end + pad) for b in self._sessions() for start, end in b.held_times()
            ]
        return self._blocked

    def _taught_per_day(self) -> Counter[date]:
        if self._per_day is None:
            zone = self.rules.zone
            self._per_day = Counter(
                local_day(b.start_at, zone) for b in self._sessions() if b.teacher == self._teacher
            )
        return self._per_day

    def refusal(self, start: datetime, end: datetime, yours: bool = False) -> RuleRefusal | None:
        """Why the rules refuse a session at [start, end), worded for a learner (or, `yours`,
        for the teacher themselves), or None."""
        rules = self.rules
        if start < self.earliest:
            hours = _hours(rules.notice_hours)
            who = "Your booking rules take" if yours else "This teacher takes"
            return TooSoon(f"{who} bookings at least {hours} ahead: pick a later time.")
        if rules.buffer_minutes and any(overlaps(start, end, a, b) for a, b in self._buffered()):
            gap = f"{rules.buffer_minutes} minutes free before and after each session"
            who = "Your booking rules keep" if yours else "This teacher keeps"
            return InBuffer(f"{who} {gap}, and that time is too close to another one.")
        if (
            rules.daily_cap
            and self._taught_per_day()[local_day(start, rules.zone)] >= rules.daily_cap
        ):
            cap = _sessions(rules.daily_cap)
            who = "Your booking rules allow" if yours else "This teacher teaches"
            return DayFull(f"{who} at most {cap} a day, and that day is full: pick another day.")
        return None

    def allows(self, start: datetime, end: datetime) -> bool:
        if start < self.earliest:
            return False
        if not self.rules.buffer_minutes and not self.rules.daily_cap:
            return True
        return self.refusal(start, end) is None


# --- late cancels and moves, counted per week --------------------------------------------


def week_of(instant: datetime) -> str:
    """The Monday (UTC) of the week holding `instant`, as YYYY-MM-DD."""
    day = instant.date()
    return (day - timedelta(days=day.weekday())).isoformat()


def count_late(counts: Mapping[str, int], now: datetime) -> dict[str, int]:
    """`counts` (week -> late cancels or moves) with one more this week, weeks that no longer
    reach into the last 90 days dropped: never more than MAX_LATE_WEEKS numbers."""
    first, this_week = window_weeks(now)
    kept = {week: n for week, n in counts.items() if week >= first}
    kept[this_week] = kept.get(this_week, 0) + 1
    newest = sorted(kept, reverse=True)[:MAX_LATE_WEEKS]
    return {week: kept[week] for week in sorted(newest)}


def uncount_late(counts: Mapping[str, int], at: datetime) -> dict[str, int]:
    """`counts` with one fewer in the week of `at`: a late cancel that turned out not to be
    this person's (domain/booking.py first_cancel). Nothing to take back leaves it as is."""
    week = week_of(at)
    kept = dict(counts)
    if kept.get(week, 0) > 1:
        kept[week] -= 1
    else:
        kept.pop(week, None)
    return kept


def window_weeks(now: datetime) -> tuple[str, str]:
    """The first and last week of the last 90 days, counted by whole weeks: the week 90 days
    ago counts in full (so a late cancel is shown for 90 to 96 days)."""
    return week_of(now - LATE_WINDOW), week_of(now)


def in_weeks(counts: Mapping[str, int], weeks: tuple[str, str]) -> int:
    """Per-week `counts` summed over `weeks` (window_weeks), both ends included."""
    first, last = weeks
    return sum(n for week, n in counts.items() if first <= week <= last)


def late_in_window(counts: Mapping[str, int], now: datetime) -> int:
    """Late cancels or moves in the last 90 days, counted by whole weeks (window_weeks)."""
    return in_weeks(counts, window_weeks(now))


def late_record(cancels: int, moves: int) -> str:
    """What a profile says, or "" when there is nothing late to say."""
    parts = []
    if cancels:
        parts.append(f"{cancels} late cancellation{'' if cancels == 1 else 's'}")
    if moves:
        parts.append(f"{moves} late reschedule{'' if moves == 1 else 's'}")
    return f"{' and '.join(parts)} in the last 90 days" if parts else ""

"""Calendar items cut into local days and hours: the pure part of the calendar's layout.

Given a Schedule and "now", `items_of` lists what a person offers, teaches, attends and asks
for; `split_by_day` cuts an item at local midnight (a session from 23:30 to 00:30 shows on both
days, and the pieces always add up to the item's duration); `hours_of` gives a local day's hour
rows as the real clock runs them (a DST change makes a day 23 or 25 hours long).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from enum import StrEnum

from skillswap.domain.display import title_and_skill
from skillswap.domain.schedule import Schedule

DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class Kind(StrEnum):
    """What an item is to the viewer. The value is also the CSS class suffix."""

    FREE = "free"  # a slot I offer that nobody has booked
    TEACH = "teach"  # a session I teach
    ATTEND = "attend"  # a session I attend
    REQUEST = "request"  # a window of one of my open learning requests


KIND_LABELS = {
    Kind.FREE: "Free slot",
    Kind.TEACH: "Teaching",
    Kind.ATTEND: "Attending",
    Kind.REQUEST: "Request",
}


@dataclass(frozen=True)
class Item:
    """One thing on the calendar, in UTC. `target` says where its link goes: ("booking", id),
    ("offer", id) or ("request", id)."""

    kind: Kind
    start: datetime
    end: datetime
    title: str
    target: tuple[str, str]
    uid: str  # unique among the items of one schedule
    other: str = ""  # the other person's name, for sessions
    skill: str = ""  # a session's skill, beside its title; "" when the title says it already
    cancelled: bool = False
    past: bool = False

    @property
    def label(self) -> str:
        return KIND_LABELS[self.kind]


@dataclass(frozen=True)
class Piece:
    """The part of an item that falls on one local day, in local times of the viewer's zone."""

    item: Item
    day: date
    start: datetime  # aware, in the viewer's zone
    end: datetime
    from_previous_day: bool  # the item started on an earlier day
    into_next_day: bool  # the item goes on after this day

    @property
    def duration(self) -> timedelta:
        return self.end.astimezone(UTC) - self.start.astimezone(UTC)

    @property
    def time_text(self) -> str:
        """The item's own times, the weekday added to an end or start on another day:
        "09:00–10:00", "23:30–Tue 00:30" on the first day, "Mon 23:30–00:30" on the second."""
        zone = self.start.tzinfo
        start = self.item.start.astimezone(zone)
        end = self.item.end.astimezone(zone)
        start_text = clock(start)
        end_text = clock(end)
        if self.from_previous_day:
            start_text = f"{DAY_NAMES[start.weekday()][:3]} {start_text}"
        if self.into_next_day:
            end_text = f"{DAY_NAMES[end.weekday()][:3]} {end_text}"
        return f"{start_text}–{end_text}"


def items_of(
    schedule: Schedule, now: datetime, begin: datetime | None = None, end: datetime | None = None
) -> list[Item]:
    """Everything time-bound in a schedule, as calendar items; with `begin` and `end`, only
    what overlaps that span (a week or a month: a teacher's 2,000 published times are not
    all worked out to show a week of them).

    Free slots are the bookable ones (future, unbooked, not overlapping a session). Sessions
    include cancelled ones (shown struck through) but not pending holds, which are either a
    booking in flight or a crash the next read repairs. Request windows are those still open.
    """
    if begin is None or end is None:
        free = schedule.free_slots(now)
    else:
        free = schedule.free_between(now, begin, end)

    def in_span(start: datetime, finish: datetime) -> bool:
        return begin is None or end is None or (finish > begin and start < end)

    items: list[Item] = []
    for offer, slot in free:
        items.append(
            Item(
                Kind.FREE,
                slot.start,
                slot.end,
                offer.title,
                ("offer", offer.id),
                f"free:{offer.id}:{slot.id}",
            )
        )
    for booking in schedule.bookings.values():
        if booking.status == "pending" or not in_span(booking.start_at, booking.end_at):
            continue
        teaching = booking.teacher == schedule.owner
        title, skill = title_and_skill(booking.title, booking.skill)
        items.append(
            Item(
                Kind.TEACH if teaching else Kind.ATTEND,
                booking.start_at,
                booking.end_at,
                title,
                ("booking", booking.id),
                f"booking:{booking.id}",
                other=booking.other_name(schedule.owner),
                skill=skill,
                cancelled=booking.status == "cancelled",
                past=booking.end_at <= now,
            )
        )
    for request in schedule.requests.values():
        for index, (opens, closes) in enumerate(request.window_instants()):
            if closes <= now or not in_span(opens, closes):
                continue
            items.append(
                Item(
                    Kind.REQUEST,
                    opens,
                    closes,
                    request.skill,
                    ("request", request.id),
                    f"request:{request.id}:{index}",
                )
            )
    items.sort(key=lambda i: (i.start, i.end, i.kind.value, i.uid))
    return items


def clock(local: datetime) -> str:
    """ "09:00"; in a repeated hour the zone's abbreviation tells the two apart ("02:30 CET")."""
    other = local.replace(fold=1 - local.fold)
    if other.utcoffset() != local.utcoffset():
        return f"{local:%H:%M} {local.tzname()}"
    return f"{local:%H:%M}"


def local_date(instant: datetime, zone: tzinfo) -> date:
    return instant.astimezone(zone).date()


def day_start(day: date, zone: tzinfo) -> datetime:
    """The first instant (UTC) whose local date in `zone` is `day` or later.

    Local midnight (its first occurrence) in nearly every case. When midnight falls inside a
    DST gap (clocks jump from 23:30 to 00:30, or Samoa skipping 30 Dec 2011), zoneinfo would
    quietly move it, so the start is found by bisection between the two readings of midnight.
    """
    midnight = datetime.combine(day, time(0), tzinfo=zone)
    early = midnight.astimezone(UTC)  # fold=0: the first 00:00 when it is repeated
    local = early.astimezone(zone)
    if local.date() == day and local.time() == time(0):
        return early
    # Midnight does not exist. fold=1 reads it with the offset after the change, which lands
    # before the change; fold=0 reads it with the offset before, which lands after it. Zone
    # changes happen on whole seconds, so bisect over whole seconds between the two.
    low = math.floor(min(early, midnight.replace(fold=1).astimezone(UTC)).timestamp())
    high = math.ceil(early.timestamp())
    while local_date(_instant(low), zone) >= day:  # never in real zone data
        low -= 86_400
    while high - low > 1:
        middle = (low + high) // 2
        if local_date(_instant(middle), zone) >= day:
            high = middle
        else:
            low = middle
    return _instant(high)


def _instant(timestamp: int) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)


def split_by_day(item: Item, zone: tzinfo) -> list[Piece]:
    """The item cut at each local midnight of `zone`; empty pieces (a skipped day) are left out.

    The pieces are consecutive and together last exactly as long as the item.
    """
    start, end = item.start.astimezone(zone), item.end.astimezone(zone)
    first, last = start.date(), end.date()
    if first == last:
        # Nearly every item starts and ends on one local day: it is its own single piece, and
        # working out that day's bounds (the loop below) would change nothing. Compared as
        # instants: two times in one zone compare by wall clock, blind to a repeated hour.
        return [Piece(item, first, start, end, False, False)] if item.start < item.end else []
    pieces: list[Piece] = []
    day = first
    while day <= last:
        begin = max(item.start, day_start(day, zone))
        finish = min(item.end, day_start(day + timedelta(days=1), zone))
        if begin < finish:
            pieces.append(
                Piece(
                    item,
                    day,
                    begin.astimezone(zone),
                    finish.astimezone(zone),
                    from_previous_day=begin > item.start,
                    into_next_day=finish < item.end,
                )
            )
        day += timedelta(days=1)
    return pieces


@dataclass(frozen=True)
class Hour:
    """One hour row of one local day: [start, end) in the viewer's zone.

    `key` lines rows up across the days of a week: (minutes after midnight on the wall clock,
    occurrence), so the repeated 02:00 of a fall-back night is (120, 1).
    """

    start: datetime
    end: datetime
    key: tuple[int, int]

    @property
    def label(self) -> str:
        return clock(self.start)


def hours_of(day: date, zone: tzinfo) -> list[Hour]:
    """The real hours of a local day: 24 on most days, 23 when clocks go forward, 25 when they
    go back. Rows start on the hour of the wall clock (or at the day's start)."""
    begin = day_start(day, zone)
    finish = day_start(day + timedelta(days=1), zone)
    bounds = {begin, finish}
    for hour in range(1, 24):
        for fold in (0, 1):
            wall = datetime.combine(day, time(hour), tzinfo=zone).replace(fold=fold)
            instant = wall.astimezone(UTC)
            back = instant.astimezone(zone)
            if back.replace(tzinfo=None) == wall.replace(tzinfo=None, fold=0) and (
                begin < instant < finish
            ):
                bounds.add(instant)
    ordered = sorted(bounds)
    hours: list[Hour] = []
    seen: dict[int, int] = {}
    for start, end in itertools.pairwise(ordered):
        local = start.astimezone(zone)
        minutes = local.hour * 60 + local.minute
        occurrence = seen.get(minutes, 0)
        seen[minutes] = occurrence + 1
        hours.append(Hour(local, end.astimezone(zone), (minutes, occurrence)))
    return hours

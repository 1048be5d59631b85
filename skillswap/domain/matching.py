"""Matching: which of a teacher's free slots meet a learner's request, and how teachers rank.

A teacher matches when one of their free, future slots of the skill (their offers of it, or all
their published time when they list the skill among what they teach) overlaps one of the
request's windows and suits its session type (DESIGN.md: "whose availability overlaps").

The ranking is one rule, here, for the match page, its pages and the benchmark's reference:

1. teachers with a slot lying wholly inside a window come first, teachers whose slots only
   overlap a window follow (each such slot is shown with the time it shares with the window);
2. within each group, the soonest such slot first;
3. then the better rated, then the more reliable (fewer no-shows and late cancellations in
   the last 90 days, then more sessions held: domain/attendance.py), then by username.

`placement` is the part of that key the slot index can bound from below (group, start), which
is how services/matching.py stops reading after a page of teachers. On each card the slots that
fit wholly come first, then the ones that only overlap, each group soonest first.

When nothing overlaps, `nearest_person` says how near a teacher's free time comes: their free
slots within `NEARBY` of the windows, nearest first.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from skillswap.domain.attendance import ranking_key
from skillswap.domain.records import Offer, Stats, slot_ref
from skillswap.domain.schedule import Schedule, in_time
from skillswap.domain.skills import mode_compatible, normalise_skill
from skillswap.domain.times import LONGEST_SLOT, Slot, clash_test, iso_utc, merge_intervals
from skillswap.domain.users import User
from skillswap.domain.waitlist import counts_as_held

# The groups of the ranking, in order: a slot wholly inside a window, or one that overlaps it.
WHOLE, PARTIAL = 0, 1
#: How far from the request's windows the "nearest teachers" suggestion looks, either side.
NEARBY = timedelta(days=7)
#: Times shown for each suggested teacher.
NEARBY_SLOTS = 3

Window = tuple[datetime, datetime]
Part = tuple[datetime, datetime]


def slots_in_windows(slots: Iterable[Slot], windows: list[Window]) -> list[Slot]:
    """The slots lying entirely inside the request's windows, sorted.

    Windows that touch or overlap are merged first: they are one stretch of the learner's free
    time, so a slot from 11:30 to 12:30 fits windows 10:00-12:00 and 12:00-14:00.
    """
    merged = merge_intervals(windows)
    starts = [start for start, _ in merged]
    fitting: list[Slot] = []
    for slot in slots:
        # The only window that can contain the slot is the last one starting at or before it.
        pos = bisect.bisect_right(starts, slot.start) - 1
        if pos >= 0 and slot.end <= merged[pos][1]:
            fitting.append(slot)
    fitting.sort()
    return fitting


def shared_parts(start: datetime, end: datetime, merged: list[Window]) -> tuple[Part, ...]:
    """The parts of [start, end) inside the merged (sorted, disjoint) windows: one part, the
    slot itself, when it fits wholly; none when it overlaps no window."""
    return _parts(start, end, merged, [high for _, high in merged])


def _parts(
    start: datetime, end: datetime, merged: list[Window], ends: list[datetime]
) -> tuple[Part, ...]:
    # The first window that ends after the slot starts is the first it can overlap.
    pos = bisect.bisect_right(ends, start)
    if pos == len(merged) or merged[pos][0] >= end:
        return ()
    low, high = merged[pos]
    if low <= start and end <= high:
        return ((start, end),)  # the usual case: wholly inside one window
    parts = []
    while pos < len(merged) and merged[pos][0] < end:
        low, high = merged[pos]
        parts.append((max(low, start), min(high, end)))
        pos += 1
    return tuple(parts)


def slots_overlapping(slots: Iterable[Slot], windows: list[Window]) -> dict[Slot, tuple[Part, ...]]:
    """Each slot that overlaps one of the windows (merged first, as in `slots_in_windows`),
    with the parts of it that lie inside them."""
    merged = merge_intervals(windows)
    ends = [high for _, high in merged]
    found = {}
    for slot in slots:
        if parts := _parts(slot.start, slot.end, merged, ends):
            found[slot] = parts
    return found


def free_slots(
    slots: Iterable[Slot], busy: list[tuple[datetime, datetime]], now: datetime
) -> list[Slot]:
    """Slots that start after ``now`` (strictly) and overlap no busy interval, sorted.

    Overlap is half-open, so a slot may start exactly when a busy interval ends.
    """
    clashes = clash_test(busy)
    free = [slot for slot in slots if slot.start > now and not clashes(slot.start, slot.end)]
    free.sort()
    return free


@dataclass
class Match:
    """A teacher for a learning request: who, how they are rated, and which free slots meet
    the request: those lying wholly inside a window first, then those that only overlap one,
    each group soonest first. `shared` holds, for each slot that only overlaps (by offer id
    and slot id), the parts of it inside the learner's windows."""

    user: User
    stats: Stats
    slots: list[tuple[Offer, Slot]]
    shared: dict[tuple[str, str], tuple[Part, ...]] = field(default_factory=dict)

    @classmethod
    def of(
        cls, user: User, stats: Stats, found: Iterable[tuple[Offer, Slot, tuple[Part, ...]]]
    ) -> Match | None:
        """The match of these (offer, slot, shared parts), in card order; None for none."""
        whole: list[tuple[Offer, Slot]] = []
        partial: list[tuple[Offer, Slot]] = []
        shared: dict[tuple[str, str], tuple[Part, ...]] = {}
        for offer, slot, parts in found:
            if parts == ((slot.start, slot.end),):
                whole.append((offer, slot))
            else:
                partial.append((offer, slot))
                shared[(offer.id, slot.id)] = parts
        if not whole and not partial:
            return None
        return cls(user, stats, sorted(whole, key=in_time) + sorted(partial, key=in_time), shared)

    def overlap(self, offer: Offer, slot: Slot) -> tuple[Part, ...]:
        """The parts of this slot inside the learner's windows, when it only overlaps them;
        () when it fits wholly."""
        return self.shared.get((offer.id, slot.id), ())

    @property
    def whole_count(self) -> int:
        """How many of the slots fit wholly inside a window (they come first)."""
        return len(self.slots) - len(self.shared)


def placement(match: Match) -> tuple[int, datetime]:
    """The first part of the ranking (WHOLE or PARTIAL, then the soonest such slot's start):
    what the slot index bounds from below while it walks."""
    return (WHOLE if match.whole_count else PARTIAL, match.slots[0][1].start)


def rank_key(match: Match) -> tuple[int, datetime, float, int, int, str]:
    stats = match.stats
    return (
        *placement(match),
        -stats.rating_average,
        *ranking_key(stats.reliability),
        match.user.username,
    )


def rank_matches(matches: Iterable[Match]) -> list[Match]:
    """Whole fits before overlaps, then the soonest, then the better rated, then the more
    reliable, then by name."""
    return sorted(matches, key=rank_key)


def _slots_between(
    user: User,
    schedule: Schedule,
    skill: str,
    wanted_mode: str,
    low: datetime,
    high: datetime,
) -> list[tuple[Offer, Slot]]:
    """This person's teachable slots of `skill` in the mode, starting between about `low` and
    `high`: a cheap filter on the stored text, kept a day wider either side so that it can
    only let too many through. Whether they are free is not checked here."""
    low_text, high_text = iso_utc(low - timedelta(days=1)), iso_utc(high + timedelta(days=1))
    tagged = skill in {normalise_skill(tag) for tag in user.teach}
    return [
        (offer, stored.as_slot())
        for offer, stored in schedule.slots_to_read(skill, tagged, low_text, high_text)
        if mode_compatible(offer.mode, wanted_mode)
    ]


def match_person(
    user: User,
    schedule: Schedule,
    skill: str,
    windows: list[Window],
    wanted_mode: str,
    now: datetime,
    viewer: str | None = None,
) -> Match | None:
    """This person as a teacher for the request, or None when none of their free time
    overlaps it. A time held for someone on their waitlist counts only for `viewer`, if it
    is held for them.

    The same answer as checking every one of `schedule.teachable_slots` against the windows
    (the reference matcher in bench/naive.py does exactly that, and the tests compare the
    two), but only the slots near the windows are parsed and checked against bookings."""
    merged = merge_intervals(windows)
    if not merged:
        return None
    # A slot overlapping the first window started at most LONGEST_SLOT before it.
    near = _slots_between(
        user, schedule, skill, wanted_mode, max(now, merged[0][0] - LONGEST_SLOT), merged[-1][1]
    )
    if not near:
        return None
    meeting = slots_overlapping([slot for _, slot in near], merged)
    rules = schedule.slot_check(now)  # the teacher's booking rules (domain/teacher_rules.py)
    free = {s for s in free_slots(meeting, schedule.busy(), now) if rules.allows(s.start, s.end)}
    # A time held for someone on the waitlist is nobody else's (domain/waitlist.py).
    held = schedule.effective_holds(now)
    return Match.of(
        user,
        schedule.stats(now),
        (
            (offer, slot, meeting[slot])
            for offer, slot in near
            if slot in free and not counts_as_held(held, slot_ref(offer.id, slot.id), viewer)
        ),
    )


# --- when nothing overlaps: the nearest free time ----------------------------------------------


def gap(start: datetime, end: datetime, merged: list[Window]) -> timedelta:
    """How far [start, end) is from the nearest of the merged windows (zero when it overlaps
    one)."""
    # Windows before `pos` end by the slot's start; the one at `pos` is the first after.
    pos = bisect.bisect_right(merged, start, key=lambda window: window[1])
    if pos < len(merged) and merged[pos][0] < end:
        return timedelta(0)
    distances = []
    if pos:
        distances.append(start - merged[pos - 1][1])
    if pos < len(merged):
        distances.append(merged[pos][0] - end)
    return min(distances)


@dataclass
class Nearby:
    """A teacher free near, not in, the learner's windows: their free slots nearest to the
    windows (at most NEARBY_SLOTS, in time order) and how far the nearest one is."""

    user: User
    stats: Stats
    slots: list[tuple[Offer, Slot]]
    gap: timedelta


def nearest_person(
    user: User,
    schedule: Schedule,
    skill: str,
    windows: list[Window],
    wanted_mode: str,
    now: datetime,
    viewer: str | None = None,
) -> Nearby | None:
    """This person's free time of the skill nearest to the windows, within NEARBY of them,
    or None when they have none that near."""
    merged = merge_intervals(windows)
    if not merged:
        return None
    low = max(now, merged[0][0] - NEARBY - LONGEST_SLOT)
    near = _slots_between(user, schedule, skill, wanted_mode, low, merged[-1][1] + NEARBY)
    distance = {slot: gap(slot.start, slot.end, merged) for _, slot in near}
    rules = schedule.slot_check(now)
    nearby = [s for s, d in distance.items() if d <= NEARBY]
    free = {s for s in free_slots(nearby, schedule.busy(), now) if rules.allows(s.start, s.end)}
    held = schedule.effective_holds(now)
    closest = sorted(
        (
            (offer, slot)
            for offer, slot in near
            if slot in free and not counts_as_held(held, slot_ref(offer.id, slot.id), viewer)
        ),
        key=lambda pair: (distance[pair[1]], *in_time(pair)),
    )[:NEARBY_SLOTS]
    if not closest:
        return None
    return Nearby(user, schedule.stats(now), sorted(closest, key=in_time), distance[closest[0][1]])


def rank_nearby(found: Iterable[Nearby]) -> list[Nearby]:
    """The nearest free time first, then the better rated, then by username."""
    return sorted(found, key=lambda n: (n.gap, -n.stats.rating_average, n.user.username))

"""Matching: which of a teacher's free slots fit a learner's request, and how teachers rank.

A teacher matches when one of their free, future slots of the skill (their offers of it, or all
their published time when they list the skill among what they teach) lies inside one of the
request's windows and suits its session type. Teachers rank by their soonest fitting slot,
then the better rated, then by name. services/matching.py finds the candidates through the
slot index (never a scan of everyone); this module decides who fits and in which order.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from skillswap.domain.records import Offer, Stats
from skillswap.domain.schedule import Schedule
from skillswap.domain.skills import mode_compatible, normalise_skill
from skillswap.domain.times import Slot, iso_utc, merge_intervals
from skillswap.domain.users import User


def slots_in_windows(slots: Iterable[Slot], windows: list[tuple[datetime, datetime]]) -> list[Slot]:
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


def free_slots(
    slots: Iterable[Slot], busy: list[tuple[datetime, datetime]], now: datetime
) -> list[Slot]:
    """Slots that start after ``now`` (strictly) and overlap no busy interval, sorted.

    Overlap is half-open, so a slot may start exactly when a busy interval ends.
    """
    merged = merge_intervals((start, end) for start, end in busy if start < end)
    starts = [start for start, _ in merged]
    free: list[Slot] = []
    for slot in slots:
        if slot.start <= now:
            continue
        # Merged busy intervals are disjoint and sorted, so only the last one starting before
        # the slot ends can reach into it.
        pos = bisect.bisect_left(starts, slot.end) - 1
        if pos >= 0 and merged[pos][1] > slot.start:
            continue
        free.append(slot)
    free.sort()
    return free


@dataclass
class Match:
    """A teacher for a learning request: who, how they are rated, and which slots fit."""

    user: User
    stats: Stats
    slots: list[tuple[Offer, Slot]]


def match_person(
    user: User,
    schedule: Schedule,
    skill: str,
    windows: list[tuple[datetime, datetime]],
    wanted_mode: str,
    now: datetime,
) -> Match | None:
    """This person as a teacher for the request, or None when none of their free time fits.

    The same answer as filtering `schedule.teachable_slots` by mode and windows (the naive
    matcher in bench/naive.py does exactly that, and the tests compare the two), but only the
    slots near the windows are parsed and checked against their bookings."""
    merged = merge_intervals(windows)
    if not merged:
        return None
    # Stored times are ISO UTC text: a day's margin keeps this cheap text filter safely wide.
    low = iso_utc(max(now, merged[0][0]) - timedelta(days=1))
    high = iso_utc(merged[-1][1] + timedelta(days=1))
    tagged = skill in {normalise_skill(tag) for tag in user.teach}
    near = [
        (offer, stored.as_slot())
        for offer in schedule.offers.values()
        if (tagged or offer.skill_key == skill) and mode_compatible(offer.mode, wanted_mode)
        for stored in offer.slots
        if low <= stored.start <= high
    ]
    if not near:
        return None
    inside = slots_in_windows([slot for _, slot in near], merged)
    rules = schedule.slot_check(now)  # the teacher's booking rules (domain/teacher_rules.py)
    free = {s for s in free_slots(inside, schedule.busy(), now) if rules.allows(s.start, s.end)}
    fitting = sorted(
        ((offer, slot) for offer, slot in near if slot in free),
        key=lambda pair: (pair[1].start, pair[1].end, pair[0].id),
    )
    return Match(user, schedule.stats(now), fitting) if fitting else None


def rank_matches(matches: Iterable[Match]) -> list[Match]:
    """Soonest fitting slot first, then the better rated, then by name."""
    return sorted(
        matches, key=lambda m: (m.slots[0][1].start, -m.stats.rating_average, m.user.username)
    )

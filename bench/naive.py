"""The naive matcher the benchmark compares the app's with: load every offer, then filter.

Same rules as `services.matching.find_teachers` (a teacher of the skill through an offer of it
or a teach tag; free future slots overlapping the request's windows, each with the time it
shares with them; mode compatible; ranked by `rank_matches`: whole fits first, then the
soonest, the better rated, the username), but it reads every user and schedule instead of the
skill's index. It is therefore also the reference answer for any index: `signature(find_teachers(
...)) == signature(naive_find_teachers(...))` on a generated community
(tests/bench/test_bench_index.py).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from skillswap.domain.matching import NEARBY, NEARBY_SLOTS, Match, Nearby, rank_matches, rank_nearby
from skillswap.domain.schedule import Schedule
from skillswap.domain.skills import mode_compatible
from skillswap.domain.times import merge_intervals
from skillswap.domain.users import User
from skillswap.repo.indexes import everyone
from skillswap.store import Store

BATCH = 500


def load_everyone(store: Store, exclude: str = "") -> list[tuple[User, Schedule]]:
    """Every person and their schedule (offers included), read in batches."""
    return [(user, schedule) for user, schedule in everyone(store, BATCH) if user.id != exclude]


def reference_match(
    user: User,
    schedule: Schedule,
    skill: str,
    windows: list[tuple[datetime, datetime]],
    wanted_mode: str,
    now: datetime,
    viewer: str | None = None,
) -> Match | None:
    """The matching rule stated plainly: this person's teachable free slots (every one of
    them, parsed and checked) that suit the mode and overlap the windows, each with the parts
    of it inside the (merged) windows, worked out window by window. The app's `match_person`
    must give the same answer with less work."""
    merged = merge_intervals(windows)
    found = []
    for offer, slot in schedule.teachable_slots(user.teach, skill, now, viewer=viewer):
        if not mode_compatible(offer.mode, wanted_mode):
            continue
        parts = tuple(
            (max(start, slot.start), min(end, slot.end))
            for start, end in merged
            if slot.start < end and start < slot.end
        )
        if parts:
            found.append((offer, slot, parts))
    return Match.of(user, schedule.stats(now), found)


def scan(
    people: list[tuple[User, Schedule]],
    moment: datetime,
    skill: str,
    windows: list[tuple[datetime, datetime]],
    wanted_mode: str,
    exclude: str,
) -> list[Match]:
    """Filter everyone's offers for the request: the naive matcher without the loading."""
    # The same per-person rule as the app; only how candidates are found differs (everyone).
    return rank_matches(
        match
        for user, schedule in people
        if user.id != exclude
        and (
            match := reference_match(
                user, schedule, skill, windows, wanted_mode, moment, viewer=exclude
            )
        )
    )


def naive_find_teachers(
    store: Store,
    clock: Callable[[], datetime],
    skill: str,
    windows: list[tuple[datetime, datetime]],
    wanted_mode: str,
    exclude: str,
) -> list[Match]:
    """Load every user and schedule, then filter: what the benchmark times."""
    return scan(load_everyone(store, exclude), clock(), skill, windows, wanted_mode, exclude)


def scan_nearby(
    people: list[tuple[User, Schedule]],
    moment: datetime,
    skill: str,
    windows: list[tuple[datetime, datetime]],
    wanted_mode: str,
    exclude: str,
    limit: int,
) -> list[Nearby]:
    """The "nearest teachers" suggestion stated plainly: everyone's teachable free slots in the
    mode, each with its distance to the nearest window, those within NEARBY kept; each
    teacher's NEARBY_SLOTS nearest, the nearest teachers first (`rank_nearby`)."""
    merged = merge_intervals(windows)
    found = []
    for user, schedule in people:
        if user.id == exclude:
            continue
        near = []
        for offer, slot in schedule.teachable_slots(user.teach, skill, moment, viewer=exclude):
            if not mode_compatible(offer.mode, wanted_mode):
                continue
            distance = min(
                max(start - slot.end, slot.start - end, timedelta(0)) for start, end in merged
            )
            if distance <= NEARBY:
                near.append((distance, slot.start, slot.end, offer.id, offer, slot))
        if near:
            closest = sorted(near, key=lambda n: n[:4])[:NEARBY_SLOTS]
            found.append(
                Nearby(
                    user,
                    schedule.stats(moment),
                    [(n[4], n[5]) for n in sorted(closest, key=lambda n: n[1:4])],
                    closest[0][0],
                )
            )
    return rank_nearby(found)[:limit]


def nearby_signature(found: list[Nearby]) -> list[tuple[Any, ...]]:
    return [
        (n.user.username, n.gap, tuple((o.id, s.id, s.start, s.end) for o, s in n.slots))
        for n in found
    ]


def signature(matches: list[Match]) -> list[tuple[Any, ...]]:
    """What a person sees of a match list, in order: who, their stats, which slots, and for
    a slot that only overlaps the windows the time it shares with them."""
    return [
        (
            m.user.username,
            m.stats.taught,
            m.stats.attended,
            m.stats.rating_count,
            m.stats.rating_average,
            tuple(
                (offer.id, slot.id, slot.start, slot.end, m.overlap(offer, slot))
                for offer, slot in m.slots
            ),
        )
        for m in matches
    ]

"""The naive matcher the benchmark compares the app's with: load every offer, then filter.

Same rules as `Repository.find_teachers` (a teacher of the skill through an offer of it or a
teach tag; free future slots inside the request's windows; mode compatible; sorted by first
slot, rating, username), but it reads every user and schedule instead of the skill's index. It
is therefore also the reference answer for any index: `signature(find_teachers(...)) ==
signature(naive_find_teachers(...))` on a generated community (tests/bench/test_bench_index.py).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from skillswap.domain.matching import Match, rank_matches, slots_in_windows
from skillswap.domain.schedule import Schedule
from skillswap.domain.skills import mode_compatible
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
) -> Match | None:
    """The matching rule stated plainly: this person's teachable free slots (every one of
    them, parsed and checked) that suit the mode and lie inside the windows. The app's
    `match_person` must give the same answer with less work."""
    pairs = [
        (offer, slot)
        for offer, slot in schedule.teachable_slots(user.teach, skill, now)
        if mode_compatible(offer.mode, wanted_mode)
    ]
    inside = set(slots_in_windows([slot for _, slot in pairs], windows))
    fitting = [(offer, slot) for offer, slot in pairs if slot in inside]
    return Match(user, schedule.stats(now), fitting) if fitting else None


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
        and (match := reference_match(user, schedule, skill, windows, wanted_mode, moment))
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


def signature(matches: list[Match]) -> list[tuple[Any, ...]]:
    """What a person sees of a match list, in order: who, their stats, which slots."""
    return [
        (
            m.user.username,
            m.stats.taught,
            m.stats.attended,
            m.stats.rating_count,
            m.stats.rating_average,
            tuple((offer.id, slot.id, slot.start, slot.end) for offer, slot in m.slots),
        )
        for m in matches
    ]

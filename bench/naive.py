"""The naive matcher the benchmark compares the app's with: load every offer, then filter.

Same rules as `Repository.find_teachers` (a teacher of the skill through an offer of it or a
teach tag; free future slots inside the request's windows; mode compatible; sorted by first
slot, rating, username), but it reads every user and schedule instead of the skill's index. It
is therefore also the reference answer for any index: `signature(find_teachers(...)) ==
signature(naive_find_teachers(...))` on a generated community (tests/unit/test_bench_index.py).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from skillswap.domain.matching import mode_compatible, normalise_skill, slots_in_windows
from skillswap.domain.schedule import Schedule
from skillswap.domain.users import User
from skillswap.repo import Match, schedule_key, user_key
from skillswap.store import Store

BATCH = 500


def load_everyone(store: Store, exclude: str = "") -> list[tuple[User, Schedule]]:
    """Every person and their schedule (offers included), read in batches."""
    uids = [key.removeprefix("user/") for key in store.keys("user/")]
    people: list[tuple[User, Schedule]] = []
    for start in range(0, len(uids), BATCH):
        batch = [uid for uid in uids[start : start + BATCH] if uid != exclude]
        docs = store.get_many([k for uid in batch for k in (user_key(uid), schedule_key(uid))])
        for uid in batch:
            data = docs.get(user_key(uid))
            if data:
                people.append(
                    (User.from_dict(data), Schedule.from_doc(uid, docs.get(schedule_key(uid))))
                )
    return people


def scan(
    people: list[tuple[User, Schedule]],
    moment: datetime,
    skill: str,
    windows: list[tuple[datetime, datetime]],
    wanted_mode: str,
    exclude: str,
) -> list[Match]:
    """Filter everyone's offers for the request: the naive matcher without the loading."""
    found: list[Match] = []
    for user, schedule in people:
        if user.id == exclude:
            continue
        tagged = skill in {normalise_skill(t) for t in user.teach}
        pairs = [
            (offer, slot)
            for offer, slot in schedule.free_slots(moment)
            if (tagged or offer.skill_key == skill) and mode_compatible(offer.mode, wanted_mode)
        ]
        inside = set(slots_in_windows([slot for _, slot in pairs], windows))
        fitting = [(offer, slot) for offer, slot in pairs if slot in inside]
        if fitting:
            found.append(Match(user, schedule.stats(moment), fitting))
    found.sort(key=lambda m: (m.slots[0][1].start, -m.stats.rating_average, m.user.username))
    return found


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

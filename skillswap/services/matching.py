"""Finding teachers: a page of the best-ranked teachers of a skill free in a learner's windows,
read through the slot index (domain/slot_index.py) and confirmed against each candidate's own
records, so a page costs about a page of people's documents whatever the community's size."""

from __future__ import annotations

import sys
from datetime import UTC, datetime

from skillswap.domain import slot_index
from skillswap.domain.matching import Match, match_person, rank_matches
from skillswap.repo import Repository

# Teachers confirmed beyond a page in the first batch: a few may turn out booked.
CONFIRM_SLACK = 2


def _instant(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def find_teachers(
    repo: Repository,
    skill: str,
    windows: list[tuple[datetime, datetime]],
    wanted_mode: str,
    exclude: str,
    limit: int | None = None,
) -> list[Match]:
    """The first `limit` (default: all) other people who teach `skill` with a free future
    slot inside the windows, ranked by `rank_matches`.

    Reads the slot index of the windows' weeks and walks it in start order, so candidates
    arrive soonest first; each is confirmed against their own records (a booking or a
    changed tag may have taken the time the index lists), in batches, until the next
    candidate could no longer rank among the first `limit`. A page therefore costs about
    `limit` people's documents whatever the community's size: never every teacher.
    """
    moment = repo.clock()
    buckets = repo.slot_buckets(skill, windows)
    candidates = slot_index.teachers_in_order(buckets, windows, wanted_mode, exclude, moment)
    wanted = limit if limit is not None else sys.maxsize
    found: list[Match] = []
    upcoming = next(candidates, None)
    batch_size = wanted + CONFIRM_SLACK
    while upcoming is not None:
        # A batch ends with everyone tied with its last candidate: ties are ranked by
        # rating, which only their records tell.
        batch = [upcoming]
        while (upcoming := next(candidates, None)) is not None and (
            len(batch) < batch_size or upcoming[0] == batch[-1][0]
        ):
            batch.append(upcoming)
        people = repo.people([uid for _, uid in batch])
        found.extend(
            match
            for _, uid in batch
            if uid in people
            and (match := match_person(*people[uid], skill, windows, wanted_mode, moment))
        )
        if upcoming is None:
            break
        # Everyone not yet confirmed starts at `bound` or later, so a match starting
        # strictly earlier keeps its rank.
        bound = _instant(upcoming[0])
        settled = sum(1 for m in found if m.slots[0][1].start < bound)
        if settled >= wanted:
            break
        batch_size = max(wanted - settled, CONFIRM_SLACK)
    if upcoming is not None:
        found = [m for m in found if m.slots[0][1].start < bound]
    return rank_matches(found)[:wanted]

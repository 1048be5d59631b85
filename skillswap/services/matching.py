"""Finding teachers: a page of the best-ranked teachers of a skill free in a learner's windows,
read through the slot index (domain/slot_index.py) and confirmed against each candidate's own
records, so a page costs about a page of people's documents whatever the community's size.
When nobody is, the teachers free nearest to the windows, at a bounded cost too."""

from __future__ import annotations

import sys
from datetime import UTC, datetime

from skillswap.domain import slot_index
from skillswap.domain.matching import (
    Match,
    Nearby,
    match_person,
    nearest_person,
    placement,
    rank_matches,
    rank_nearby,
)
from skillswap.domain.users import User
from skillswap.domain.waitlist import offered_in_windows
from skillswap.repo import Repository

# Teachers confirmed beyond a page in the first batch: a few may turn out booked.
CONFIRM_SLACK = 2
# Teachers the "nearest free times" suggestion shows, and the most whose documents it reads
# (those tied with the last of the first NEARBY_TEACHERS + CONFIRM_SLACK are read too, up to
# this many, as their ratings decide between them).
NEARBY_TEACHERS = 5
NEARBY_READ = 4 * NEARBY_TEACHERS
# Teachers with everything taken that a match page offers the waitlist of.
MAX_TAKEN = 10

# The slot-index buckets one page has read, by bucket, so that a second question on the same
# page (the nearest teachers, when nobody matched) does not read them again.
IndexRead = dict[str, list[dict]]


def _instant(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def find_teachers(
    repo: Repository,
    skill: str,
    windows: list[tuple[datetime, datetime]],
    wanted_mode: str,
    exclude: str,
    limit: int | None = None,
    index: IndexRead | None = None,
    taken: list[User] | None = None,
) -> list[Match]:
    """The first `limit` (default: all) other people who teach `skill` with a free future
    slot overlapping the windows, ranked by `rank_matches`.

    Reads the slot index of the weeks the windows reach (in one round trip: at most one
    bucket more, when a slot starting in the week before could run into the first window)
    and walks it in ranking order (`teachers_in_order`); each candidate is confirmed against
    their own records (a booking or a changed tag may have taken the time the index lists),
    in batches, until the next candidate could no longer rank among the first `limit`. A page
    therefore costs about `limit` people's documents whatever the community's size: never
    every teacher. `index` keeps the buckets read for a later call on the same page.
    `taken` collects the candidates read whose times in the windows are all taken (or
    held): the teachers whose waitlist the page offers, at no extra read.
    """
    wanted = limit if limit is not None else sys.maxsize
    return _confirmed(repo, skill, windows, wanted_mode, exclude, wanted, index, taken)[0]


def match_page(
    repo: Repository,
    skill: str,
    windows: list[tuple[datetime, datetime]],
    wanted_mode: str,
    exclude: str,
    count: int,
    index: IndexRead | None = None,
    taken: list[User] | None = None,
) -> tuple[list[Match], bool]:
    """The first `count` teachers, as `find_teachers` ranks them, and whether any other
    teacher matches after them (another page follows).

    Knowing that one more exists is cheaper than knowing which one it is: teachers tied
    with each other for the place after the page are ranked by rating, which only their
    records tell, so asking `find_teachers` for `count` + 1 reads the whole tie. This reads
    only until one more match is confirmed."""
    return _confirmed(repo, skill, windows, wanted_mode, exclude, count, index, taken, True)


def _confirmed(
    repo: Repository,
    skill: str,
    windows: list[tuple[datetime, datetime]],
    wanted_mode: str,
    exclude: str,
    wanted: int,
    index: IndexRead | None,
    taken: list[User] | None,
    one_more: bool = False,
) -> tuple[list[Match], bool]:
    """The first `wanted` matches in rank order, and whether more than `wanted` were
    confirmed; with `one_more`, it confirms candidates until that is known."""
    moment = repo.clock()
    buckets = repo.slot_buckets(skill, slot_index.match_reach(windows, moment), index)
    candidates = slot_index.teachers_in_order(buckets, windows, wanted_mode, exclude, moment)
    found: list[Match] = []
    upcoming = next(candidates, None)
    need = wanted  # matches still to place: the candidate at this position decides the page
    while upcoming is not None:
        # The slack absorbs candidates turning out booked; the page's "anyone after it?"
        # needs one more, so that batch is as large as asking for one more place was.
        batch = [upcoming]
        while (upcoming := next(candidates, None)) is not None and (
            len(batch) < need + CONFIRM_SLACK + (1 if one_more else 0)
        ):
            batch.append(upcoming)
        # A tie across the last place needed is read whole, in this round trip: ties are
        # ranked by rating, which only their records tell. A tie further down is not: it
        # only decides places after the page.
        while (
            upcoming is not None
            and 0 < need <= len(batch)
            and upcoming[0] == batch[-1][0] == batch[need - 1][0]
        ):
            batch.append(upcoming)
            upcoming = next(candidates, None)
        people = repo.people([uid for _, uid in batch])
        for _, uid in batch:
            if uid not in people:
                continue
            match = match_person(*people[uid], skill, windows, wanted_mode, moment, exclude)
            if match is not None:
                found.append(match)
            elif taken is not None and len(taken) < MAX_TAKEN:
                user, schedule = people[uid]
                if offered_in_windows(user.teach, schedule.offers.values(), skill, windows, moment):
                    taken.append(user)
        if upcoming is None:
            break
        # Everyone not yet confirmed places at `bound` or later, so a match placed strictly
        # earlier keeps its rank.
        group, start = upcoming[0]
        bound = (group, _instant(start))
        settled = sum(1 for m in found if placement(m) < bound)
        if settled >= wanted and (not one_more or len(found) > wanted):
            break
        need = max(wanted - settled, 0)
    more = len(found) > wanted
    if upcoming is not None:
        found = [m for m in found if placement(m) < bound]
    return rank_matches(found)[:wanted], more


def nearest_teachers(
    repo: Repository,
    skill: str,
    windows: list[tuple[datetime, datetime]],
    wanted_mode: str,
    exclude: str,
    limit: int = NEARBY_TEACHERS,
    index: IndexRead | None = None,
) -> list[Nearby]:
    """Up to `limit` other teachers of `skill` free nearest to the windows (within NEARBY
    before or after), nearest first: what the match page suggests when nobody is free then.

    At most two round trips: the slot-index buckets of the weeks around the windows that
    `index` does not hold yet (none on a one-bucket layout: the match read them all), then
    the documents of the `limit` + CONFIRM_SLACK nearest candidates (and of those tied with
    the last, up to NEARBY_READ), each confirmed against their records, so a taken slot is
    never suggested. Being a suggestion, it does not read on: when more candidates than the
    slack turn out booked it shows fewer, and a bucket that has spilled into pieces is read
    as its first piece (only a flood of offers spills one).
    """
    moment = repo.clock()
    reach = slot_index.nearby_reach(windows, moment)
    buckets = repo.slot_buckets(skill, reach, index, overflow=False)
    candidates = slot_index.teachers_nearby(buckets, windows, wanted_mode, exclude, moment)
    cut = min(limit + CONFIRM_SLACK, len(candidates))
    while cut < min(len(candidates), NEARBY_READ) and candidates[cut][0] == candidates[cut - 1][0]:
        cut += 1  # the rest of a tie: ratings decide among them
    chosen = [uid for _, uid in candidates[:cut]]
    if not chosen:
        return []
    people = repo.people(chosen)
    found = [
        near
        for uid in chosen
        if uid in people
        and (near := nearest_person(*people[uid], skill, windows, wanted_mode, moment, exclude))
    ]
    return rank_nearby(found)[:limit]

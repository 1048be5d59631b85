"""Matching through the skill index gives the same answers as scanning every offer.

`Repository.find_teachers` reads the slot index and then the candidates' documents; the
benchmark's naive matcher (`bench.naive`) reads every user and schedule and applies the same
rules. On a generated community (varied zones, modes, bookings and ratings) both must return the
same teachers, in the same order, with the same slots and stats, for popular, mid and rare
skills, several windows and every mode. Any faster index (per-skill, per-week slot lists, a
cache...) must keep this test passing.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from bench import generate as gen
from bench.naive import (
    load_everyone,
    naive_find_teachers,
    nearby_signature,
    scan,
    scan_nearby,
    signature,
)
from skillswap import services
from skillswap.repo import Repository
from skillswap.store.sqlite import SQLiteStore

USERS = 200


@pytest.fixture(scope="module")
def community() -> gen.Community:
    return gen.generate(USERS, seed=7)


@pytest.fixture(scope="module", params=["weekly buckets", "one bucket (Replit DB)"])
def repo(
    request: pytest.FixtureRequest,
    community: gen.Community,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Repository]:
    store = SQLiteStore(str(tmp_path_factory.mktemp("bench-index") / "community.db"))
    weekly = request.param == "weekly buckets"
    store.put_many(dict(community.items(weekly_slots=weekly)))
    repo = Repository(store, lambda: gen.NOW)
    repo.weekly_slots = weekly  # the layout Replit DB gets, on a local store
    try:
        yield repo
    finally:
        store.close()


def _skills(community: gen.Community) -> list[str]:
    by_size = sorted(
        community.skills,
        key=lambda k: (
            -len(community.skills[k]["teachers"]) - len(community.skills[k]["taggers"]),
            k,
        ),
    )
    picked = [meta["key"] for meta in community.meta["skills"].values()]
    picked += by_size[:3] + by_size[len(by_size) // 2 : len(by_size) // 2 + 2] + by_size[-2:]
    picked.append("no such skill")
    return list(dict.fromkeys(picked))


def _windows() -> dict[str, list]:
    now = gen.NOW
    day = timedelta(days=1)
    return {
        "viewer week": None,  # the viewer's own request windows
        "next 8 weeks": [(now, now + 56 * day)],
        "mornings, split": [(now + n * day, now + n * day + timedelta(hours=6)) for n in range(10)],
        "touching windows": [(now + 3 * day, now + 4 * day), (now + 4 * day, now + 5 * day)],
        "the past": [(now - 20 * day, now - day)],
        # Slots start before these, run into them and past them (overlaps, issue 20).
        "an hour a day": [
            (now + n * day + timedelta(hours=2.5), now + n * day + timedelta(hours=3.5))
            for n in range(1, 8)
        ],
        # Early on a Monday: slots of the Sunday before (the week before's bucket) run in.
        "early monday": [(now + 6 * day + timedelta(hours=12.5), now + 7 * day)],
    }


def test_index_and_scan_agree(community: gen.Community, repo: Repository) -> None:
    viewer = community.meta["viewer"]["id"]
    viewer_windows = (
        repo.schedule(viewer)
        .requests[community.meta["skills"]["popular"]["request_id"]]
        .window_instants()
    )
    everyone = load_everyone(repo.store)  # read once; `scan` is the naive matcher's filter
    checked = nonempty = partial = 0
    for skill in _skills(community):
        for label, windows in _windows().items():
            windows = windows or viewer_windows
            for mode in ("online", "offline", "either"):
                exclude = viewer if mode != "offline" else ""
                indexed = services.matching.find_teachers(
                    repo, skill, windows, mode, exclude=exclude
                )
                scanned = scan(everyone, gen.NOW, skill, windows, mode, exclude)
                assert signature(indexed) == signature(scanned), (skill, label, mode)
                partial += any(m.shared for m in indexed)
                # A page is the start of the whole answer, however short.
                for limit in (0, 1, 3, 10, 11):
                    page = services.matching.find_teachers(
                        repo, skill, windows, mode, exclude=exclude, limit=limit
                    )
                    assert signature(page) == signature(scanned[:limit]), (skill, label, limit)
                    # The match page's question: that page, and whether anyone follows.
                    shown, more = services.matching.match_page(
                        repo, skill, windows, mode, exclude, count=limit
                    )
                    assert signature(shown) == signature(page), (skill, label, limit)
                    assert more == (len(scanned) > limit), (skill, label, limit)
                checked += 1
                nonempty += bool(indexed)
    # The comparison is not vacuous: most queries found teachers, some only overlapping.
    assert nonempty >= 20, (nonempty, checked)
    assert partial >= 5, partial


def test_the_nearest_teachers_are_the_scans(community: gen.Community, repo: Repository) -> None:
    """The suggestion shown when nobody overlaps (read through the index, a bounded number of
    candidates confirmed) equals the plain rule applied to everyone, on this community."""
    viewer = community.meta["viewer"]["id"]
    everyone = load_everyone(repo.store)
    day, hour = timedelta(days=1), timedelta(hours=1)
    suggested = 0
    for skill in _skills(community):
        for windows in (
            [(gen.NOW + 3 * day + 3 * hour, gen.NOW + 3 * day + 4 * hour)],
            [(gen.NOW + 10 * day, gen.NOW + 10 * day + 2 * hour)],
            [(gen.NOW + 60 * day, gen.NOW + 61 * day)],  # past the offers: a week before only
        ):
            for mode in ("online", "either"):
                found = services.matching.nearest_teachers(repo, skill, windows, mode, viewer)
                scanned = scan_nearby(everyone, gen.NOW, skill, windows, mode, viewer, 5)
                assert nearby_signature(found) == nearby_signature(scanned), (skill, windows)
                suggested += bool(found)
    assert suggested >= 10, suggested


def test_a_booking_removes_the_slot_from_both_answers(
    community: gen.Community, repo: Repository
) -> None:
    """A slot booked after the index was built is no longer offered, whichever way we look."""
    from skillswap.domain.records import Booking
    from skillswap.domain.times import iso_utc

    skill = community.meta["skills"]["popular"]["key"]
    viewer = community.meta["viewer"]["id"]
    windows = [(gen.NOW, gen.NOW + timedelta(days=56))]
    before = services.matching.find_teachers(repo, skill, windows, "either", exclude=viewer)
    assert before
    match = before[0]
    offer, slot = match.slots[0]
    learner = next(
        u
        for u in community.users
        if u.id not in (viewer, match.user.id)
        and all(not (a < slot.end and slot.start < b) for a, b in repo.schedule(u.id).busy())
    )
    services.booking.book(
        repo,
        Booking(
            id="benchindextest01",
            teacher=match.user.id,
            teacher_name=match.user.username,
            learner=learner.id,
            learner_name=learner.username,
            offer_id=offer.id,
            slot_id=slot.id,
            title=offer.title,
            skill=offer.skill,
            mode=offer.mode,
            start=iso_utc(slot.start),
            end=iso_utc(slot.end),
            created=iso_utc(gen.NOW),
        ),
    )
    after = services.matching.find_teachers(repo, skill, windows, "either", exclude=viewer)
    scanned = naive_find_teachers(repo.store, repo.clock, skill, windows, "either", viewer)
    assert signature(after) == signature(scanned)
    offered = {(o.id, s.id) for m in after if m.user.id == match.user.id for o, s in m.slots}
    assert (offer.id, slot.id) not in offered

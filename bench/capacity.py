"""Does a community still fit Replit DB after a year? (issue 15; DESIGN.md "Capacity")

DESIGN.md's capacity community (1,000 people, 5,000 offers, 10,000 bookings, 10,000 reviews)
lived through one year, four weeks at a time, by the repository laid out as on Replit DB (one
slot-index bucket per skill, archives shared per quarter): about 385 offers of one-hour sessions
every four weeks, half their sessions booked and each rated by its learner, everyone's upkeep
run as their own pages would. The result is copied into the fake Replit DB server and measured
with `flask store-stats`, against the 5,000 keys and 50 MiB, and the 90 % at which sign-ups
and new offers stop.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import date, timedelta
from datetime import time as wall
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bench import generate as gen
from bench.aging import PERIOD, Clock
from skillswap import services
from skillswap.domain.records import Booking, Offer, StoredSlot
from skillswap.domain.schedule import Schedule
from skillswap.domain.times import expand_slots, iso_utc, overlaps
from skillswap.repo import Repository
from skillswap.repo.keys import new_id
from skillswap.store import REPLIT_BUDGET, KeyBudget
from skillswap.store.sqlite import SQLiteStore

PEOPLE, TEACHERS, SKILLS = 1000, 300, 60
OFFERS_A_YEAR, BOOKINGS_A_YEAR = 5000, 10000
PERIODS = 13  # four-week periods in a year
UTC = ZoneInfo("UTC")


class ReplitLayoutStore(SQLiteStore):
    """SQLite with Replit DB's budget: the repository lays data out as it does on Replit DB
    (the point here is the layout's keys and bytes, not the HTTP round trips)."""

    budget: KeyBudget | None = REPLIT_BUDGET


def live_a_year(folder: Path, log: Callable[[str], None], seed: int = 11) -> Path:
    rng = random.Random(seed)
    db = folder / "capacity-year.db"
    store = ReplitLayoutStore(str(db))
    start = gen.NOW - timedelta(weeks=52)
    clock = Clock(start - timedelta(days=1))
    repo = Repository(store, clock)
    people = [
        repo.create_user(f"member{n:04d}", f"member{n}@example.com", gen.PASSWORD_HASH, "UTC").id
        for n in range(PEOPLE)
    ]
    skills = [f"Skill {n}" for n in range(SKILLS)]
    teachers = people[:TEACHERS]
    for period in range(PERIODS):
        begin = start + period * PERIOD
        clock.now = begin - timedelta(days=1)
        offers = []
        for _ in range(OFFERS_A_YEAR // PERIODS):
            teacher = rng.choice(teachers)
            days = sorted(rng.sample(range(PERIOD.days), 2))
            hour = rng.randrange(8, 20)
            dates = [(begin + timedelta(days=d)).date() for d in days]
            offer = _offer(teacher, rng.choice(skills), dates, hour)
            services.offers.save_offer(repo, offer)
            offers.append(offer)
        bookings = _book(repo, rng, offers, people, clock.now)
        for week in range(1, 5):
            clock.now = begin + timedelta(weeks=week, hours=1)
            _rate_all(
                repo,
                [b for b in bookings if clock.now - timedelta(weeks=1) < b.end_at <= clock.now],
                clock.now,
            )
        if period % 3 == 2:  # a quarter's upkeep at once: the same archive, far fewer writes
            for uid in people:
                services.upkeep.maintain(repo, uid)
        log(f"capacity community: period {period + 1} of {PERIODS}, {len(store.keys(''))} keys")
    clock.now = gen.NOW
    for uid in people:
        services.upkeep.maintain(repo, uid)
    store.close()
    return db


def _offer(teacher: str, skill: str, dates: list[date], hour: int) -> Offer:
    ranges = [(wall(hour), wall(hour + 1)), (wall(hour + 1), wall(hour + 2))]
    slots = expand_slots(dates, ranges, UTC, None)
    return Offer(
        id=new_id(),
        owner=teacher,
        user="member",
        title=f"{skill} for beginners",
        skill=skill,
        description="An hour of practice, questions welcome.",
        mode="online",
        timezone="UTC",
        dates=[d.isoformat() for d in dates],
        time_ranges=[[f"{a:%H:%M}", f"{b:%H:%M}"] for a, b in ranges],
        timestamp=iso_utc(min(s.start for s in slots) - timedelta(days=1)),
        slots=[StoredSlot.of(s) for s in slots],
    )


def _book(
    repo: Repository, rng: random.Random, offers: list[Offer], people: list[str], now
) -> list[Booking]:
    """BOOKINGS_A_YEAR / PERIODS sessions, each by someone free then (written in as the
    booking path leaves them: confirmed in both documents)."""
    busy: dict[str, list[tuple]] = {}
    chosen: list[Booking] = []
    slots = [(o, s) for o in offers for s in o.slots]
    rng.shuffle(slots)
    for offer, slot in slots:
        if len(chosen) >= BOOKINGS_A_YEAR // PERIODS:
            break
        learner = rng.choice(people)
        times = (slot.as_slot().start, slot.as_slot().end)
        if learner == offer.owner or any(
            overlaps(*times, *other)
            for who in (learner, offer.owner)
            for other in busy.get(who, [])
        ):
            continue
        for who in (learner, offer.owner):
            busy.setdefault(who, []).append(times)
        chosen.append(
            Booking(
                id=new_id(),
                teacher=offer.owner,
                teacher_name="member",
                learner=learner,
                learner_name="member",
                offer_id=offer.id,
                slot_id=slot.id,
                title=offer.title,
                skill=offer.skill,
                mode=offer.mode,
                start=slot.start,
                end=slot.end,
                created=iso_utc(now),
                status="confirmed",
            )
        )
    by_owner: dict[str, list[Booking]] = {}
    for b in chosen:
        for who in (b.teacher, b.learner):
            by_owner.setdefault(who, []).append(b)
    for owner, theirs in by_owner.items():

        def add(s: Schedule, theirs: list[Booking] = theirs) -> None:
            for b in theirs:
                s.bookings[b.id] = Booking.from_dict(b.to_dict())

        repo.change_schedule(owner, add)
    return chosen


def _rate_all(repo: Repository, over: list[Booking], now) -> None:
    """Each learner rates the session, in both copies."""
    by_owner: dict[str, list[Booking]] = {}
    for b in over:
        for who in (b.teacher, b.learner):
            by_owner.setdefault(who, []).append(b)
    for owner, theirs in by_owner.items():

        def add(s: Schedule, theirs: list[Booking] = theirs) -> None:
            for b in theirs:
                s.add_review(b.id, b.learner, 9, "Helpful, thank you.", now)

        repo.change_schedule(owner, add)


def figures(
    folder: Path,
    load_into_replit: Callable[[Path], dict[str, Any]],
    log: Callable[[str], None],
) -> dict[str, Any]:
    t0 = time.perf_counter()
    db = live_a_year(folder, log)
    lived = time.perf_counter() - t0
    result = load_into_replit(db)
    result["lived_s"] = round(lived, 1)
    return result


def targets(result: dict[str, Any]) -> list[tuple[str, float, float, str]]:
    ceiling = 0.9
    return [
        (
            "Replit keys, capacity community aged 1 year",
            result["keys"],
            ceiling * REPLIT_BUDGET.max_keys,
            "<=",
        ),
        (
            "Replit MiB, capacity community aged 1 year",
            round(result["bytes"] / 2**20, 2),
            ceiling * REPLIT_BUDGET.max_bytes / 2**20,
            "<=",
        ),
    ]

"""The benchmark's aging run (issue 15): does a member's history slow their pages down?

A tutor publishes a four-week offer every four weeks, and about 40 % of the sessions are
booked by a pool of learners, most rated by both people within the review window:

- normal: weekdays, two one-hour sessions a day (17:00-19:00 UTC);
- heavy: every day 09:00-21:00 in 30-minute sessions.

The history is lived through the repository as the app lives it (offers saved, slots claimed,
reviews added, each person's upkeep run every four weeks as their own pages would), ending at
the benchmark's NOW, so that "4 years" is four years of real upkeep, not a document made up.
Then, in process, the live document's bytes and the time of the tutor's pages (/profile,
/dashboard, /calendar), the pages a learner opens about the tutor (/user, /book, a match page)
and a booking POST, sampled round-robin across the ages so a busy machine slows all alike.

Targets: normal tutor: every figure at 4 years ≤ 1.25 × its figure at 1 year, live document
≤ 256 KiB at every age; heavy tutor: live document ≤ 1 MiB at every age, no figure at 4 years
above 1.25 × its figure at 1 year.
"""

from __future__ import annotations

import dataclasses
import gc
import random
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from datetime import time as wall
from multiprocessing import get_context
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask
from flask.testing import FlaskClient

from bench import generate as gen
from skillswap import services
from skillswap.domain.records import Booking, LearnRequest, Offer, Review, StoredSlot
from skillswap.domain.schedule import Schedule
from skillswap.domain.times import expand_slots, expand_windows, iso_utc
from skillswap.repo import Repository
from skillswap.repo.keys import new_id, schedule_key
from skillswap.store.codec import encoded_size
from skillswap.store.sqlite import SQLiteStore

KIB = 1024
PERIOD = timedelta(weeks=4)
LEARNERS = 40
BOOKED = 0.4
BOTH_RATE = 0.9
PAGES = ("profile", "dashboard", "calendar", "user", "book", "match", "booking_post")
KINDS = {
    # (ranges, session minutes, days of the week)
    "normal": ([(wall(17), wall(18)), (wall(18), wall(19))], None, range(5)),
    "heavy": ([(wall(9), wall(21))], 30, range(7)),
}
LIMITS = {"normal": 256 * KIB, "heavy": 1024 * KIB}


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Aged:
    kind: str
    years: int
    store: SQLiteStore
    tutor: str
    learners: list[str]
    request_id: str
    live_bytes: int
    archived_keys: int
    figures: dict[str, list[float]] = field(default_factory=dict)


def _offer(tutor: str, kind: str, begin: datetime) -> Offer:
    ranges, minutes, weekdays = KINDS[kind]
    dates = [
        (begin + timedelta(days=n)).date()
        for n in range(PERIOD.days)
        if (begin + timedelta(days=n)).weekday() in weekdays
    ]
    slots = expand_slots(dates, ranges, ZoneInfo("UTC"), minutes)
    return Offer(
        id=new_id(),
        owner=tutor,
        user="tutor",
        title="Python, step by step",
        skill="Python",
        description="Four weeks of Python sessions.",
        mode="online",
        timezone="UTC",
        dates=[d.isoformat() for d in dates],
        time_ranges=[[f"{a:%H:%M}", f"{b:%H:%M}"] for a, b in ranges],
        timestamp=iso_utc(begin - timedelta(days=1)),
        session_minutes=minutes,
        slots=[StoredSlot.of(s) for s in slots],
    )


def live(kind: str, years: int, folder: Path, seed: int = 7) -> Aged:
    """A store holding one tutor's `years` of history (0: just started), lived to NOW."""
    rng = random.Random(seed)
    now = gen.NOW
    start = now - timedelta(weeks=52 * years) if years else now - timedelta(days=1)
    store = SQLiteStore(str(folder / f"aged-{kind}-{years}.db"))
    clock = Clock(start - timedelta(days=1))
    repo = Repository(store, clock)
    tutor = repo.create_user("tutor", "tutor@example.com", gen.PASSWORD_HASH, "UTC").id
    learners = [
        repo.create_user(f"learner{n}", f"learner{n}@example.com", gen.PASSWORD_HASH, "UTC").id
        for n in range(LEARNERS)
    ]
    unrated: list[Booking] = []
    begin = start
    while begin - timedelta(days=1) <= now:
        clock.now = begin - timedelta(days=1)
        offer = _offer(tutor, kind, begin)
        services.offers.save_offer(repo, offer)
        bookings = _book(repo, rng, offer, learners, clock.now)
        unrated += bookings
        # Week by week through the period: sessions over are rated within their window.
        for week in range(1, 5):
            clock.now = min(begin + timedelta(weeks=week, hours=1), now)
            over = [b for b in unrated if b.end_at <= clock.now]
            unrated = [b for b in unrated if b.end_at > clock.now]
            _rate(repo, rng, over, clock.now)
            if clock.now == now:
                break
        for uid in (tutor, *learners):
            services.upkeep.maintain(repo, uid)
        begin += PERIOD
    clock.now = now
    for uid in (tutor, *learners):
        services.upkeep.maintain(repo, uid)
    windows = expand_windows(
        [(now + timedelta(days=n)).date() for n in range(1, 8)],
        [(wall(8), wall(21))],
        ZoneInfo("UTC"),
    )
    request = LearnRequest(
        id=new_id(),
        owner=learners[0],
        user="learner0",
        skill="Python",
        mode="either",
        timezone="UTC",
        dates=[],
        time_ranges=[["08:00", "21:00"]],
        timestamp=iso_utc(now),
        windows=[[iso_utc(a), iso_utc(b)] for a, b in windows],
    )
    services.offers.save_request(repo, request)
    return Aged(
        kind,
        years,
        store,
        tutor,
        learners,
        request.id,
        encoded_size(store.get(schedule_key(tutor))),
        len(store.keys(f"archive/{tutor}/")),
    )


def _book(
    repo: Repository, rng: random.Random, offer: Offer, learners: list[str], now: datetime
) -> list[Booking]:
    """About BOOKED of the offer's slots, each by a learner from the pool."""
    chosen = [s for s in offer.slots if rng.random() < BOOKED]
    bookings = []
    for slot in chosen:
        learner = rng.choice(learners)
        bookings.append(
            Booking(
                id=new_id(),
                teacher=offer.owner,
                teacher_name="tutor",
                learner=learner,
                learner_name=f"learner{learners.index(learner)}",
                offer_id=offer.id,
                slot_id=slot.id,
                title=offer.title,
                skill=offer.skill,
                mode=offer.mode,
                start=slot.start,
                end=slot.end,
                created=iso_utc(now),
            )
        )
    # Written in as the booking path leaves them (confirmed in both documents); the slots are
    # new and free, so the per-booking checks of claim and hold would only cost time here.
    by_owner: dict[str, list[Booking]] = {offer.owner: bookings}
    for booking in bookings:
        by_owner.setdefault(booking.learner, []).append(booking)
    for owner, theirs in by_owner.items():

        def add(s: Schedule, theirs: list[Booking] = theirs) -> None:
            for b in theirs:
                s.bookings[b.id] = Booking.from_dict({**b.to_dict(), "status": "confirmed"})

        repo.change_schedule(owner, add)
    return bookings


def _rate(repo: Repository, rng: random.Random, over: list[Booking], now: datetime) -> None:
    """The learner rates every session, the tutor most of them (both copies, as review does)."""
    reviews: list[tuple[Booking, str, Review]] = []
    for b in over:
        reviews.append(
            (b, b.learner, Review(rng.randint(6, 10), "Clear and patient.", iso_utc(now)))
        )
        if rng.random() < BOTH_RATE:
            reviews.append((b, b.teacher, Review(rng.randint(7, 10), "", iso_utc(now))))
    by_owner: dict[str, list[tuple[Booking, str, Review]]] = {}
    for item in reviews:
        for owner in (item[0].teacher, item[0].learner):
            by_owner.setdefault(owner, []).append(item)
    for owner, items in by_owner.items():

        def add(s: Schedule, items: list = items) -> None:
            for b, rater, review in items:
                s.add_review(b.id, rater, review.rating, review.feedback, now)

        repo.change_schedule(owner, add)


# --- measuring ---------------------------------------------------------------------------------


def _clients(aged: Aged, make_app: Callable[..., Flask], session_client, folder: Path):
    app = make_app(aged.store, folder / f"instance-aged-{aged.kind}-{aged.years}")
    return app, session_client(app, aged.tutor), session_client(app, aged.learners[0])


def measure(
    aged: list[Aged],
    make_app: Callable[..., Flask],
    session_client: Callable[[Flask, str], FlaskClient],
    folder: Path,
    rounds: int,
) -> None:
    """Time every page for every age, round-robin, `rounds` times (ms per request)."""
    setups = []
    for a in aged:
        app, tutor, learner = _clients(a, make_app, session_client, folder)
        free = _free_slots(a)
        paths = {
            "profile": (tutor, "/profile"),
            "dashboard": (tutor, "/dashboard"),
            "calendar": (tutor, "/calendar"),
            "user": (learner, "/user/tutor"),
            "book": (learner, "/book/tutor"),
            "match": (learner, f"/request/{a.request_id}"),
        }
        for client, path in paths.values():
            assert client.get(path).status_code == 200, path  # warm-up
        setups.append((a, app, paths, free))
        a.figures = {page: [] for page in PAGES}
    # As in a gunicorn worker (gunicorn.conf.py): what was built before the first request stays
    # out of the cycle collector's walks, so a collection costs what requests create.
    gc.collect()
    gc.freeze()
    try:
        _rounds(setups, rounds, session_client)
    finally:
        gc.unfreeze()


def _rounds(setups: list, rounds: int, session_client: Callable[[Flask, str], FlaskClient]) -> None:
    for n in range(rounds):
        for a, app, paths, free in setups:
            for page, (client, path) in paths.items():
                t0 = time.perf_counter()
                response = client.get(path)
                a.figures[page].append((time.perf_counter() - t0) * 1000)
                assert response.status_code == 200, (path, response.status_code)
            if n < len(free):  # each POST books another free slot
                a.figures["booking_post"].append(_book_once(app, a, free, n, session_client))


def _free_slots(a: Aged) -> list[str]:
    schedule = Schedule.from_doc(a.tutor, a.store.get(schedule_key(a.tutor)))
    return [f"{o.id}:{s.id}" for o, s in schedule.free_slots(gen.NOW)]


def _book_once(
    app: Flask,
    a: Aged,
    free: list[str],
    n: int,
    session_client: Callable[[Flask, str], FlaskClient],
) -> float:
    learner = session_client(app, a.learners[1 + n % (LEARNERS - 1)])
    token = _csrf(learner)
    slot = free[-(n + 1)]  # from the end: far from the slots the pages show
    t0 = time.perf_counter()
    response = learner.post(
        "/book/tutor", data={"csrf_token": token, "skill": "python", "slot": slot}
    )
    took = (time.perf_counter() - t0) * 1000
    assert response.status_code == 302, (
        response.status_code,
        response.get_data(as_text=True)[-500:],
    )
    return took


def _csrf(client: FlaskClient) -> str:
    import re

    page = client.get("/logout").get_data(as_text=True)
    match = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page)
    assert match
    return match.group(1)


# --- the harness's part --------------------------------------------------------------------------


def _build(kind: str, years: int, folder: str) -> tuple[str, dict[str, Any]]:
    """`live` in a worker process: the store's path and the rest of the Aged record."""
    aged = live(kind, years, Path(folder))
    path = aged.store.path
    aged.store.close()
    kept = [f.name for f in dataclasses.fields(Aged) if f.name not in ("store", "figures")]
    fields = {name: getattr(aged, name) for name in kept}
    return str(path), fields


def figures(
    folder: Path,
    quick: bool,
    make_app: Callable[..., Flask],
    session_client: Callable[[Flask, str], FlaskClient],
    log: Callable[[str], None],
) -> dict[str, Any]:
    """Build every age of both tutors, time their pages round-robin, and sum it up: per kind
    and age the live document's KiB and each page's p50 in ms."""
    ages = {"normal": (1, 2)} if quick else {k: (0, 1, 2, 4) for k in KINDS}
    # Each age is lived through on its own store, so the two cores build them side by side,
    # the longest first (spawned, not forked: the parent holds the generated communities).
    builds = sorted(
        ((kind, n) for kind, years in ages.items() for n in years),
        key=lambda build: (build[0] == "heavy", build[1]),
        reverse=True,
    )
    started = time.perf_counter()
    with ProcessPoolExecutor(max_workers=2, mp_context=get_context("spawn")) as pool:
        kinds, years = [k for k, _ in builds], [n for _, n in builds]
        built = list(pool.map(_build, kinds, years, [str(folder)] * len(builds)))
    aged = sorted(
        (Aged(store=SQLiteStore(path), **fields) for path, fields in built),
        key=lambda a: (list(ages).index(a.kind), a.years),
    )
    for a in aged:
        log(f"aged {a.kind} tutor, {a.years} years: live document {a.live_bytes / KIB:.0f} KiB")
    log(f"aged tutors built in {time.perf_counter() - started:.1f}s on two processes")
    measure(aged, make_app, session_client, folder, rounds=15 if quick else 25)
    out: dict[str, Any] = {}
    for a in aged:
        out.setdefault(a.kind, {})[str(a.years)] = {
            "live_kib": round(a.live_bytes / KIB, 1),
            "archive_pieces": a.archived_keys,
            "p50_ms": {page: round(sorted(t)[len(t) // 2], 2) for page, t in a.figures.items()},
        }
        a.store.close()
    return out


def targets(result: dict[str, Any]) -> list[tuple[str, float, float, str]]:
    """(name, value, limit, op): the live document's bound at every age, and the oldest age's
    figures against one year's (4 years in the full run, 2 in the quick one)."""
    checks = []
    for kind, ages in result.items():
        for years, f in ages.items():
            checks.append(
                (
                    f"aged {kind} tutor, {years} y: live document KiB",
                    f["live_kib"],
                    LIMITS[kind] / KIB,
                    "<=",
                )
            )
        oldest = max(ages, key=int)
        if oldest != "1" and "1" in ages:
            for page, ms in ages[oldest]["p50_ms"].items():
                ratio = round(ms / ages["1"]["p50_ms"][page], 2)
                checks.append(
                    (f"aged {kind} tutor: {page} at {oldest} y / at 1 y", ratio, 1.25, "<=")
                )
    return checks

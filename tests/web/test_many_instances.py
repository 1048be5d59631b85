"""Two app instances on one PostgreSQL database (issue 6 item 3: "many instances").

Two separate `gunicorn -w 2 main:app` servers on different ports share one PostgreSQL schema,
the SECRET_KEY and nothing else, as two Autoscale instances would. Ten learners, five signed up
through each server, race for one slot a round through their own server; the database alone
decides who wins. A booking made through one server is on the teacher's dashboard through the
other at once, and a session cookie from logging in on one server works on the other.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from skillswap.repo import Repository
from skillswap.store import open_store
from tests.support.gunicorn_server import GunicornServer, HttpRacePool
from tests.web.test_booking_race import (
    JUST_BOOKED,
    PASSWORD,
    Person,
    Site,
    _active,
    _assert_contention,
    _assert_quiet_server,
    _csrf,
    _day,
    _describe,
)

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

RACERS = 10
ROUNDS = 20
SECRET = "many-instances-secret"
LEARNERS = [f"learner{i}" for i in range(RACERS)]


@pytest.fixture
def sites(fresh_postgres_url: str, tmp_path: Path) -> Iterator[tuple[Site, Site, HttpRacePool]]:
    pool = HttpRacePool(RACERS)  # first: the racers boot while gunicorn does
    env = {
        "SKILLSWAP_STORE": fresh_postgres_url,
        "SECRET_KEY": SECRET,
        "RATELIMIT_ENABLED": "false",
        # Never refuse because ./instance/skillswap.db holds users.
        "SKILLSWAP_ALLOW_EMPTY_STORE": "1",
    }
    servers = [GunicornServer(env, tmp_path / f"gunicorn-{n}.log", workers=2) for n in "ab"]
    made: list[Site] = []
    try:
        with ThreadPoolExecutor(2) as starting:
            list(starting.map(GunicornServer.start, servers))
        made += [Site("postgres", s.url, fresh_postgres_url, {}, s) for s in servers]
        a, b = made
        assert a.base != b.base
        yield a, b, pool
    finally:
        for site in made:
            for person in site.people.values():
                person.http.close()
        for server in servers:
            server.stop()
        pool.stop()


def _signup_all(jobs: list[tuple[Site, str]]) -> None:
    """Sign-ups in parallel (argon2 is full strength in gunicorn: a second or so each)."""
    with ThreadPoolExecutor(4) as signing:
        list(signing.map(lambda job: job[0].signup(job[1]), jobs))


def _logged_in_as(http: requests.Session, base: str, cookie: str = "") -> str | None:
    response = http.get(
        base + "/dashboard",
        headers={"Cookie": cookie} if cookie else {},
        allow_redirects=False,
        timeout=30,
    )
    if response.status_code != 200:
        assert response.status_code == 302 and "/login" in response.headers["Location"]
        return None
    match = re.search(r'<li class="nav-welcome">Hi, ([^<]+)</li>', response.text)
    return match.group(1) if match else "?"


@pytest.mark.timeout(240)
def test_two_servers_on_one_postgres_book_each_slot_once(
    sites: tuple[Site, Site, HttpRacePool],
) -> None:
    a, b, pool = sites
    _signup_all(
        [(a, "teacher")] + [(a if i < RACERS // 2 else b, name) for i, name in enumerate(LEARNERS)]
    )
    # Both sites know every person (the people were signed up on one or the other).
    teacher = a.people["teacher"]
    learners: list[tuple[Site, Person]] = [
        (a, a.people[name]) if name in a.people else (b, b.people[name]) for name in LEARNERS
    ]
    # 20 one-hour slots, published through A, listed through B.
    a.publish(teacher, "Python", [_day(3)], "02:00", "22:00", "60")
    slots = b.free_slots(learners[-1][1], "teacher", "python")
    assert len(slots) == ROUNDS
    assert a.free_slots(learners[0][1], "teacher", "python") == slots

    # A booking through A is on the teacher's dashboard through B at once, and the other way.
    first, last = slots[0], slots[-1]
    site, learner = learners[0]
    assert site is a
    response = learner.http.post(
        f"{a.base}/book/teacher",
        data={"csrf_token": learner.csrf, "skill": "python", "slot": first},
        allow_redirects=False,
        timeout=30,
    )
    assert response.status_code == 302, response.text[-2000:]
    booking_id = response.headers["Location"].rsplit("#booking-", 1)[1]
    teaching, _ = b.dashboard(teacher)  # teacher's cookie came from A
    assert teaching == [(booking_id, learner.username)]
    _, attending = b.dashboard(learner)
    assert attending == [(booking_id, "teacher")]
    site, other = learners[-1]
    assert site is b
    response = other.http.post(
        f"{b.base}/book/teacher",
        data={"csrf_token": other.csrf, "skill": "python", "slot": last},
        allow_redirects=False,
        timeout=30,
    )
    assert response.status_code == 302, response.text[-2000:]
    teaching, _ = a.dashboard(teacher)
    assert {name for _, name in teaching} == {learner.username, other.username}
    wins: Counter[str] = Counter([learner.username, other.username])

    # The race: five learners through A, five through B, one slot a round.
    problems: list[str] = []
    rounds: list[list[dict[str, Any]]] = []
    for round_no, slot in enumerate(slots[1:-1]):
        outcomes = pool.run_round(
            [site.booking_task(p, "teacher", "python", slot) for site, p in learners]
        )
        answered = [o for o in outcomes if o is not None]
        rounds.append(answered)
        winners = [LEARNERS[i] for i, o in enumerate(outcomes) if o and o["status"] == 302]
        wins.update(winners)
        if len(winners) != 1:
            problems.append(f"round {round_no}: {len(winners)} winners ({_describe(outcomes)})")
        for o in answered:
            if o["status"] >= 500:
                problems.append(f"round {round_no}: HTTP {o['status']}\n{o['text'][-3000:]}")
            elif o["status"] != 302 and (o["status"] != 409 or JUST_BOOKED not in o["text"]):
                problems.append(f"round {round_no}: a loser got {_describe(outcomes)}")
    logs = a.server.log_tail() + "\n" + b.server.log_tail()
    assert not problems, "\n".join(problems) + "\n" + logs
    _assert_contention(rounds)
    _assert_quiet_server(a)
    _assert_quiet_server(b)

    # Both servers show the teacher the same twenty sessions.
    teaching_a, _ = a.dashboard(teacher)
    teaching_b, _ = b.dashboard(teacher)
    assert sorted(teaching_a) == sorted(teaching_b)
    assert len(teaching_a) == ROUNDS
    assert Counter(name for _, name in teaching_a) == wins

    store = open_store(a.store_url)
    try:
        repo = Repository(store, lambda: datetime.now(UTC))
        owner = repo.find_user("teacher")
        assert owner is not None
        active = _active(repo.schedule(owner.id).bookings)
        assert sorted(f"{x.offer_id}:{x.slot_id}" for x in active) == sorted(slots)
    finally:
        store.close()

    # A session cookie from logging in on A is a logged-in session on B.
    with requests.Session() as http:
        token = _csrf(http, a.base + "/login")
        response = http.post(
            a.base + "/login",
            data={"login": "learner7", "password": PASSWORD, "next": "", "csrf_token": token},
            allow_redirects=False,
            timeout=30,
        )
        assert response.status_code == 302, response.text[-2000:]
        cookie = "; ".join(f"{c.name}={c.value}" for c in http.cookies)
    with requests.Session() as fresh:
        assert _logged_in_as(fresh, b.base) is None
        assert _logged_in_as(fresh, b.base, cookie) == "learner7"
        assert _logged_in_as(fresh, a.base, cookie) == "learner7"

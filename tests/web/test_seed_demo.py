"""`flask seed-demo`: a living demo community, made only on an empty store, the same for the same
seed, and usable at once (log in, see ratings, find teachers)."""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from skillswap.domain.schedule import Schedule
from skillswap.repo import Repository
from tests.support.app_fixtures import AuthActions, Clock, make_app
from tests.web.test_bookings import stats_text, text

PASSWORD_RE = re.compile(r"with the password: (\S+)")


def seed(app: Flask, *args: str):
    return app.test_cli_runner().invoke(args=["seed-demo", *args])


def community(app: Flask) -> dict[str, Schedule]:
    """Every person's schedule, by username."""
    repo: Repository = app.extensions["skillswap.repo"]
    store = app.extensions["skillswap.store"]
    uids = [key.removeprefix("user/") for key in store.keys("user/")]
    return {user.username: schedule for user, schedule in repo.people(uids).values()}


def projection(app: Flask) -> list:
    """What a seed decides (everything but the user ids the repository draws)."""
    repo: Repository = app.extensions["skillswap.repo"]
    store = app.extensions["skillswap.store"]
    users = repo.get_users([k.removeprefix("user/") for k in store.keys("user/")])
    rows = []
    for uid, user in sorted(users.items(), key=lambda pair: pair[1].username):
        s = repo.schedule(uid)
        rows.append(
            (
                user.username,
                user.display_name,
                user.timezone,
                user.teach,
                user.learn,
                sorted(
                    (o.skill, o.title, [(x.start, x.end) for x in o.slots])
                    for o in s.offers.values()
                ),
                sorted(
                    (
                        b.teacher_name,
                        b.learner_name,
                        b.start,
                        b.status,
                        sorted(
                            (users[r].username, v.rating, v.feedback) for r, v in b.reviews.items()
                        ),
                    )
                    for b in s.bookings.values()
                ),
                sorted((r.skill, r.windows) for r in s.requests.values()),
            )
        )
    return rows


@pytest.fixture
def other_app(clock: Clock) -> Iterator[Flask]:
    """A second app on its own store, in memory-backed /dev/shm like `app` (fsyncs are slow)."""
    shm = Path("/dev/shm")
    folder = Path(tempfile.mkdtemp(prefix="skillswap-", dir=shm if shm.is_dir() else None))
    app = make_app(folder, clock)
    try:
        yield app
    finally:
        app.extensions["skillswap.store"].close()
        shutil.rmtree(folder, ignore_errors=True)


def test_seed_demo_makes_a_lively_community(app: Flask, clock: Clock) -> None:
    result = seed(app, "--seed", "5")
    assert result.exit_code == 0, result.output
    people = community(app)
    assert len(people) == 30
    repo: Repository = app.extensions["skillswap.repo"]
    users = list(repo.find_user(name) for name in people)
    assert len({u.timezone for u in users}) >= 12
    assert all(u.display_name and u.bio and u.teach and u.learn for u in users)
    assert len({tuple(u.teach) for u in users}) == 30  # not thirty copies of one person

    now = clock()
    free = sum(len(s.free_slots(now)) for s in people.values())
    assert free >= 100  # offers over the coming weeks
    bookings = {b.id: b for s in people.values() for b in s.bookings.values()}
    past = [b for b in bookings.values() if b.end_at <= now and b.status == "confirmed"]
    upcoming = [b for b in bookings.values() if b.start_at > now]
    assert len(past) >= 15 and len(upcoming) >= 5
    both_rated = [b for b in past if len(b.reviews) == 2]
    assert len(both_rated) >= 10
    assert all(
        r.created <= now.isoformat().replace("+00:00", "Z")
        for b in past
        for r in b.reviews.values()
    )
    assert sum(len(s.requests) for s in people.values()) >= 10
    rated = [name for name, s in people.items() if s.stats(now).rating_count >= 2]
    assert len(rated) >= 5  # averages to show
    assert len(app.extensions["skillswap.store"].keys("skill/")) >= 30
    assert "30 people" in result.output


def test_the_demo_sessions_ahead_get_their_reminders(app: Flask, clock: Clock) -> None:
    """Demo bookings are written straight to the store: until an operator ran `flask
    reindex`, none of them was in the due index, so no reminder or rating nudge was sent
    for them (an outside probe)."""
    assert seed(app).exit_code == 0
    store = app.extensions["skillswap.store"]
    indexed = {ref for key in store.keys("due/") for ref in store.get(key)}
    upcoming = {
        b.id
        for s in community(app).values()
        for b in s.bookings.values()
        if b.status == "confirmed" and b.start_at > clock()
    }
    assert upcoming
    assert upcoming <= {ref.split(" ")[0] for ref in indexed}


def test_demo_people_can_log_in_and_be_found(app: Flask, clock: Clock) -> None:
    result = seed(app, "--seed", "5")
    password = PASSWORD_RE.search(result.output).group(1)
    people = community(app)
    name = max(people, key=lambda n: people[n].stats(clock()).rating_count)
    stats = people[name].stats(clock())

    client = app.test_client()
    response = AuthActions(client).login(name, password)
    assert response.status_code == 302 and response.headers["Location"].endswith("/profile")
    page = client.get(f"/user/{name}")
    assert f"average from {stats.rating_count} ratings" in stats_text(page)
    assert "Python" in text(client.get("/?q=python"))  # the landing search finds teachers
    assert "Python" in text(client.get("/skills"))


def test_seed_demo_refuses_a_store_with_users_unless_forced(app: Flask) -> None:
    assert seed(app, "--seed", "1").exit_code == 0
    again = seed(app)
    assert again.exit_code != 0
    assert "already has 30 users" in again.output and "--force" in again.output
    assert len(community(app)) == 30

    forced = seed(app, "--force", "--password", "another demo pass")
    assert forced.exit_code == 0, forced.output
    people = community(app)
    assert len(people) == 60
    assert {"amara", "amara2"} <= people.keys()
    response = AuthActions(app.test_client()).login("amara2", "another demo pass")
    assert response.status_code == 302


def test_the_same_seed_gives_the_same_community(app: Flask, other_app: Flask) -> None:
    assert seed(app, "--seed", "9").exit_code == 0
    assert seed(other_app, "--seed", "9").exit_code == 0
    assert projection(app) == projection(other_app)


def test_another_seed_gives_another_community(app: Flask, other_app: Flask) -> None:
    assert seed(app, "--seed", "9").exit_code == 0
    assert seed(other_app, "--seed", "10").exit_code == 0
    assert projection(app) != projection(other_app)

"""What parallel requests can still do, over real HTTP: `gunicorn -w 4 main:app` (production
settings, the shipped gunicorn.conf.py) and thirty spawned processes released together by a
`multiprocessing.Barrier` (tests/support/gunicorn_server.py).

- rate limits: counted in one SQLite file shared by the four workers (skillswap/limit_storage.py)
  and counted before they are checked, so thirty parallel sign-ups or failed logins get no
  more than the limit, per address and per account;
- a rating: ten parallel reviews of one session store one rating, the same on both copies;
- an invitation: thirty parallel invitations for one request send one;
- a form sent again: thirty parallel submits of one request form, and of one offer form, keep
  one of each.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from argon2 import PasswordHasher

from skillswap.domain.records import Booking
from skillswap.domain.schedule import Schedule
from skillswap.repo import Repository
from skillswap.store import Store, open_store
from tests.support.app_fixtures import CSRF_RE
from tests.support.gunicorn_server import GunicornServer, HttpRacePool, Task, peak_in_flight

pytestmark = pytest.mark.slow

RACERS = 30
PASSWORD = "correct horse battery"
REVIEW_ROUNDS = 10
INVITE_ROUNDS = 3
SIGNUP_LIMIT = LOGIN_LIMIT = ACCOUNT_LIMIT = 10  # the shipped defaults, per hour / 15 minutes


@pytest.fixture(scope="module")
def pool() -> Iterator[HttpRacePool]:
    racers = HttpRacePool(RACERS)
    try:
        yield racers
    finally:
        racers.stop()


@dataclass
class Site:
    base: str
    store_url: str
    server: GunicornServer
    cookies: dict[str, requests.Session] = field(default_factory=dict)

    def open_store(self) -> Store:
        return open_store(self.store_url)

    def browser(self, page: str) -> tuple[str, str]:
        """A new browser that opened `page`: (its Cookie header, the page's CSRF token)."""
        with requests.Session() as http:
            return self._token(http, page)

    def _token(self, http: requests.Session, page: str) -> tuple[str, str]:
        response = http.get(self.base + page, timeout=30)
        assert response.status_code == 200, (page, response.status_code)
        match = CSRF_RE.search(response.text)
        assert match, f"no CSRF token on {page}"
        cookie = "; ".join(f"{c.name}={c.value}" for c in http.cookies)
        return cookie, match.group(1) or match.group(2)

    def login(self, username: str, address: str) -> tuple[str, str]:
        """Log in over HTTP; returns (Cookie header, CSRF token) of the logged-in browser."""
        http = requests.Session()
        self.cookies[username] = http
        _, token = self._token(http, "/login")
        response = http.post(
            self.base + "/login",
            data={"login": username, "password": PASSWORD, "next": "", "csrf_token": token},
            headers={"X-Forwarded-For": address},
            allow_redirects=False,
            timeout=30,
        )
        assert response.status_code == 302, response.text[-2000:]
        return self._token(http, "/logout")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, pool: HttpRacePool) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("http-races")
    store_url = f"sqlite:///{folder / 'races.db'}"
    env = {
        "SECRET_KEY": "http-races-secret",
        "SKILLSWAP_STORE": store_url,
        "SKILLSWAP_ALLOW_EMPTY_STORE": "1",
        # The shipped storage, in this test's folder rather than the project's instance/.
        "RATELIMIT_STORAGE_URI": f"skillswap-sqlite:///{folder / 'ratelimits.db'}",
        # One trusted proxy hop: each racer may speak for another client address.
        "PROXY_FIX_HOPS": "1",
    }
    server = GunicornServer(env, folder / "gunicorn.log", workers=4)
    server.start()
    try:
        yield Site(server.url, store_url, server)
    finally:
        server.stop()


def _statuses(outcomes: list[dict[str, Any] | None]) -> Counter[int]:
    return Counter(o["status"] for o in outcomes if o is not None)


def _assert_raced(in_flight: list[int]) -> None:
    """Most rounds had a quarter of their requests in flight at once (peak_in_flight). A round
    that never had proves little; one in three such may happen on a loaded machine (a
    single-round rule failed once a fresh clone's run)."""
    together = sum(count >= RACERS // 4 for count in in_flight)
    assert together >= len(in_flight) - len(in_flight) // 3, f"in flight together: {in_flight}"


def _assert_quiet(site: Site) -> None:
    log = site.server.log_tail(lines=100_000)
    for sign in ("Traceback", "[ERROR]", "[CRITICAL]", "WORKER TIMEOUT"):
        assert sign not in log, f"{sign} in the gunicorn log:\n{site.server.log_tail()}"


# --- rate limits ----------------------------------------------------------------------------


@pytest.mark.timeout(240)
def test_parallel_requests_get_no_more_than_each_limit(site: Site, pool: HttpRacePool) -> None:
    # 30 sign-ups at once from one address: at most SIGNUP_LIMIT accounts.
    tasks: list[Task] = []
    for n in range(RACERS):
        cookie, token = site.browser("/signup")
        form = {
            "username": f"racer{n}",
            "email": f"racer{n}@example.com",
            "password": PASSWORD,
            "timezone": "UTC",
            "csrf_token": token,
        }
        tasks.append((cookie, site.base + "/signup", form))
    signups = pool.run_round(tasks)
    assert peak_in_flight(signups) >= RACERS // 2, "the sign-ups were not in flight together"
    store = site.open_store()
    try:
        accounts = [store.get(key)["username"] for key in store.keys("user/")]
    finally:
        store.close()
    assert _statuses(signups)[302] == len(accounts)
    assert 1 <= len(accounts) <= SIGNUP_LIMIT, _statuses(signups)
    assert set(_statuses(signups)) <= {302, 429}, _statuses(signups)

    # 30 failed logins at once from one address (each on another name): at most LOGIN_LIMIT
    # are even checked.
    tasks = []
    for n in range(RACERS):
        cookie, token = site.browser("/login")
        form = {"login": f"nobody{n}", "password": "wrong password!", "csrf_token": token}
        tasks.append((cookie, site.base + "/login", form, {"X-Forwarded-For": "203.0.113.7"}))
    logins = pool.run_round(tasks)
    assert peak_in_flight(logins) >= RACERS // 2, "the logins were not in flight together"
    answers = _statuses(logins)
    assert set(answers) <= {401, 429}, answers
    assert 1 <= answers[401] <= LOGIN_LIMIT, answers

    # 30 guesses at once on one account, each from another address: at most ACCOUNT_LIMIT.
    victim = accounts[0]
    tasks = []
    for n in range(RACERS):
        cookie, token = site.browser("/login")
        form = {"login": victim, "password": "wrong password!", "csrf_token": token}
        address = {"X-Forwarded-For": f"198.51.100.{n + 1}"}
        tasks.append((cookie, site.base + "/login", form, address))
    guesses = pool.run_round(tasks)
    answers = _statuses(guesses)
    assert set(answers) <= {401, 429}, answers
    assert 1 <= answers[401] <= ACCOUNT_LIMIT, answers
    _assert_quiet(site)


# --- one rating, one invitation -------------------------------------------------------------


def _seed_people(site: Site) -> tuple[Repository, Store, dict[str, str]]:
    """A teacher and a learner written straight into the store (the sign-up limit of this
    module's address is spent above), with three sessions that ended yesterday."""
    store = site.open_store()
    repo = Repository(store, lambda: datetime.now(UTC), "http-races-secret")
    hashed = PasswordHasher().hash(PASSWORD)  # the production parameters the server uses
    ids = {}
    for name in ("tutor", "pupil"):
        ids[name] = repo.create_user(name, f"{name}@example.com", hashed, "UTC").id
    return repo, store, ids


def _past_booking(repo: Repository, ids: dict[str, str], n: int) -> str:
    end = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1, hours=n)
    fields = {
        "id": f"{n:016x}",
        "teacher": ids["tutor"],
        "teacher_name": "tutor",
        "learner": ids["pupil"],
        "learner_name": "pupil",
        "offer_id": "0" * 16,
        "slot_id": f"slot{n}",
        "title": "Chess",
        "skill": "Chess",
        "mode": "online",
        "start": (end - timedelta(hours=1)).isoformat().replace("+00:00", "Z"),
        "end": end.isoformat().replace("+00:00", "Z"),
        "created": (end - timedelta(days=3)).isoformat().replace("+00:00", "Z"),
        "status": "confirmed",
    }
    for uid in ids.values():
        copy = Booking(**fields)  # each person's document holds its own copy
        repo.change_schedule(uid, lambda s, b=copy: s.bookings.__setitem__(b.id, b))
    return fields["id"]


@pytest.mark.timeout(240)
def test_parallel_reviews_store_one_rating_on_both_copies(site: Site, pool: HttpRacePool) -> None:
    repo, store, ids = _seed_people(site)
    try:
        bookings = [_past_booking(repo, ids, n) for n in range(REVIEW_ROUNDS)]
        cookie, token = site.login("pupil", "192.0.2.10")
        problems = []
        for booking_id in bookings:
            url = f"{site.base}/booking/{booking_id}/review"
            tasks: list[Task] = [
                (cookie, url, {"csrf_token": token, "rating": str(r), "feedback": f"r{r}"})
                for r in range(1, 11)
            ]
            outcomes = pool.run_round(tasks + [None] * (RACERS - len(tasks)))
            accepted = [
                r for r, o in zip(range(1, 11), outcomes, strict=False) if o["status"] == 302
            ]
            mine = Schedule.from_doc(ids["pupil"], store.get(f"schedule/{ids['pupil']}"))
            theirs = Schedule.from_doc(ids["tutor"], store.get(f"schedule/{ids['tutor']}"))
            on_mine = mine.bookings[booking_id].reviews[ids["pupil"]].rating
            on_theirs = theirs.bookings[booking_id].reviews[ids["pupil"]].rating
            if accepted != [on_mine] or on_mine != on_theirs:
                problems.append(
                    f"{booking_id}: accepted {accepted}, learner's copy {on_mine}, "
                    f"teacher's copy {on_theirs}"
                )
        tutor = repo.get_user(ids["tutor"])
        theirs = Schedule.from_doc(ids["tutor"], store.get(f"schedule/{ids['tutor']}"))
        reviewed = [n for n in theirs.notifications if n.kind == "reviewed"]
        assert not problems, "\n".join(problems)
        assert len(reviewed) == len(bookings)
        assert tutor.unread == theirs.unread == len(bookings)
        _assert_quiet(site)
    finally:
        store.close()


@pytest.mark.timeout(240)
def test_parallel_invitations_send_one(site: Site, pool: HttpRacePool) -> None:
    store = site.open_store()
    repo = Repository(store, lambda: datetime.now(UTC), "http-races-secret")
    try:
        ids = {name: repo.find_user(name).id for name in ("tutor", "pupil")}
        tutor_cookie, tutor_token = site.login("tutor", "192.0.2.11")
        _, pupil_token = site.login("pupil", "192.0.2.12")
        tutor, pupil = site.cookies["tutor"], site.cookies["pupil"]
        raced: list[int] = []
        for n in range(INVITE_ROUNDS):  # a request of its own each round, on its own day
            day = (datetime.now(UTC).date() + timedelta(days=4 + n)).isoformat()
            offered = tutor.post(
                site.base + "/offer",
                data={
                    "csrf_token": tutor_token,
                    "title": "Go for beginners",
                    "skill": "Go",
                    "description": "",
                    "mode": "online",
                    "dates-0": day,
                    "ranges-0-start": "10:00",
                    "ranges-0-end": "12:00",
                    "session_minutes": "60",
                },
                allow_redirects=False,
                timeout=30,
            )
            assert offered.status_code == 302, offered.text[-2000:]
            requested = pupil.post(
                site.base + "/request",
                data={
                    "csrf_token": pupil_token,
                    "skill": "Go",
                    "mode": "either",
                    "dates-0": day,
                    "ranges-0-start": "08:00",
                    "ranges-0-end": "20:00",
                },
                allow_redirects=False,
                timeout=30,
            )
            assert requested.status_code == 302, requested.text[-2000:]
            request_id = requested.headers["Location"].rpartition("/request/")[2]

            form = {"csrf_token": tutor_token, "request_id": request_id}
            task = (tutor_cookie, site.base + "/learners/invite", form)
            outcomes = pool.run_round([task] * RACERS)
            raced.append(peak_in_flight(outcomes))
            assert set(_statuses(outcomes)) == {302}, (n, _statuses(outcomes))
            learner = repo.schedule(ids["pupil"])
            invited = [x for x in learner.notifications if x.kind == "invited"]
            assert len(invited) == n + 1, f"{len(invited)} invitations for {n + 1} requests"
        # Invitations answer fast: a quarter sent before the first answer is still a race.
        _assert_raced(raced)
        assert repo.get_user(ids["pupil"]).unread == learner.unread
        _assert_quiet(site)
    finally:
        store.close()


SUBMIT_ROUNDS = 3


@pytest.mark.timeout(240)
def test_parallel_submits_of_one_form_keep_one_request_and_one_offer(
    site: Site, pool: HttpRacePool
) -> None:
    """One request form, then one offer form, sent thirty times at once (a double click, many
    times over), for another day each round: one of each is kept a round, and every answer goes
    to it. Three parallel submits had saved three identical requests."""
    store = site.open_store()
    repo = Repository(store, lambda: datetime.now(UTC), "http-races-secret")
    try:
        hashed = PasswordHasher().hash(PASSWORD)  # the sign-up limit of this module is spent
        me = repo.create_user("twice", "twice@example.com", hashed, "UTC").id
        cookie, token = site.login("twice", "192.0.2.20")
        forms = {
            "/request": {
                "skill": "Chess",
                "mode": "either",
                "ranges-0-start": "08:00",
                "ranges-0-end": "20:00",
            },
            "/offer": {
                "title": "Chess openings",
                "skill": "Chess",
                "description": "",
                "mode": "online",
                "ranges-0-start": "08:00",
                "ranges-0-end": "10:00",
                "session_minutes": "60",
            },
        }
        raced: list[int] = []
        for n in range(SUBMIT_ROUNDS):
            day = (datetime.now(UTC).date() + timedelta(days=5 + n)).isoformat()
            for path, fields in forms.items():
                form = {"csrf_token": token, "dates-0": day, **fields}
                outcomes = pool.run_round([(cookie, site.base + path, form)] * RACERS)
                raced.append(peak_in_flight(outcomes))
                assert set(_statuses(outcomes)) == {302}, (path, n, _statuses(outcomes))
                assert len({o["location"] for o in outcomes if o}) == 1, (path, n)
        _assert_raced(raced)
        mine = repo.schedule(me)
        assert len(mine.requests) == SUBMIT_ROUNDS, f"{len(mine.requests)} requests kept"
        assert len(mine.offers) == SUBMIT_ROUNDS, f"{len(mine.offers)} offers kept"
        _assert_quiet(site)
    finally:
        store.close()


# --- what gunicorn writes and says ----------------------------------------------------------


@pytest.mark.timeout(120)
def test_gunicorn_logs_no_feed_secret_and_names_no_version(site: Site) -> None:
    store = site.open_store()
    try:
        if not store.get("username/tutor"):  # run on its own, without the tests above
            _seed_people(site)[1].close()
    finally:
        store.close()
    _, token = site.login("tutor", "192.0.2.13")
    http = site.cookies["tutor"]
    made = http.post(
        site.base + "/calendar/feed",
        data={"csrf_token": token},
        allow_redirects=False,
        timeout=30,
    )
    assert made.status_code == 302
    profile = http.get(site.base + "/profile", timeout=30)
    feed_url = re.search(r'id="feed-url" value="([^"]+)"', profile.text)
    assert feed_url, "no feed address on the profile"
    secret = feed_url.group(1).rsplit("/", 1)[1].removesuffix(".ics")
    feed = requests.get(feed_url.group(1), timeout=30)
    assert feed.status_code == 200
    assert feed.headers["Server"] == "gunicorn"  # no version
    assert profile.headers["Cache-Control"] == "no-store"
    # The access line is written just after the answer is sent: wait for it, a little.
    deadline = time.monotonic() + 10
    while "/calendar/[redacted].ics" not in (log := site.server.log_tail(lines=100_000)):
        assert time.monotonic() < deadline, f"no access line for the feed:\n{log[-3000:]}"
        time.sleep(0.05)
    assert secret not in log

"""Waitlist races over real HTTP (issue 21): gunicorn with four worker processes, ten spawned
OS processes sending at once (the harness of tests/web/test_booking_race.py).

- A cancel racing direct bookings of the slot it frees, while someone waits: the hold is
  taken in the same atomic step that frees the slot, so no direct booker ever gets it; the
  person waiting holds it (and then books it).
- Two people waiting when one slot frees, both trying to book it as it frees: the first in
  line holds or books it, the second never gets it.
"""

from __future__ import annotations

import html
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from skillswap.domain.waitlist import HELD
from skillswap.repo import Repository
from tests.support.gunicorn_server import GunicornServer, HttpRacePool
from tests.web.test_booking_race import (
    JUST_BOOKED,
    SECRET,
    Person,
    Site,
    _assert_quiet_server,
    _book,
    _cancel_task,
    _csrf,
    _day,
)

pytestmark = pytest.mark.slow

WORKERS = 10
ROUNDS = 5
DAYS = [4 + i for i in range(ROUNDS)]  # one teaching day a round


@pytest.fixture(scope="module")
def race_pool() -> Iterator[HttpRacePool]:
    pool = HttpRacePool(WORKERS)
    try:
        yield pool
    finally:
        pool.stop()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, race_pool: HttpRacePool) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("waitlist-race")
    store_url = f"sqlite:///{folder / 'race.db'}"
    env = {
        "SECRET_KEY": SECRET,
        "RATELIMIT_ENABLED": "false",
        "SKILLSWAP_ALLOW_EMPTY_STORE": "1",
        "SKILLSWAP_STORE": store_url,
    }
    server = GunicornServer(env, folder / "gunicorn.log", workers=4)
    server.start()
    site = Site("sqlite", server.url, store_url, {}, server)
    try:
        for name in ["tutor", "bob", "ann", "dan", *(f"direct{i}" for i in range(5))]:
            site.signup(name)
        # One one-hour Welsh session a day at 10:00 UTC.
        site.publish(site.people["tutor"], "Welsh", [_day(d) for d in DAYS], "10:00", "11:00")
        yield site
    finally:
        for person in site.people.values():
            person.http.close()
        server.stop()


def _ask(site: Site, person: Person) -> str:
    """A request for Welsh on every race day, 09:00-12:00 UTC: its id."""
    form = {
        "csrf_token": _csrf(person.http, site.base + "/request"),
        "skill": "Welsh",
        "mode": "either",
        "ranges-0-start": "09:00",
        "ranges-0-end": "12:00",
    }
    form.update({f"dates-{i}": _day(d) for i, d in enumerate(DAYS)})
    response = person.http.post(site.base + "/request", data=form, allow_redirects=False)
    assert response.status_code == 302, response.text[-2000:]
    return response.headers["Location"].rstrip("/").rsplit("/", 1)[1]


def _join(site: Site, person: Person, request_id: str) -> None:
    form = {"csrf_token": person.csrf, "request_id": request_id, "teacher": "tutor"}
    response = person.http.post(
        site.base + "/waitlist/join", data=form, allow_redirects=False, timeout=30
    )
    assert response.status_code == 302, response.text[-2000:]


def _leave(site: Site, person: Person, tutor_id: str) -> None:
    form = {"csrf_token": person.csrf, "teacher": tutor_id, "skill": "welsh"}
    response = person.http.post(
        site.base + "/waitlist/leave", data=form, allow_redirects=False, timeout=30
    )
    assert response.status_code == 302, response.text[-2000:]


def _repo(site: Site) -> Repository:
    return Repository(site.open_store(), lambda: datetime.now(UTC))


def _ids(site: Site) -> dict[str, str]:
    repo = _repo(site)
    try:
        return {name: repo.find_user(name).id for name in site.people}  # type: ignore[union-attr]
    finally:
        repo.store.close()


def _problems(round_no: int, outcomes: list[dict[str, Any] | None]) -> list[str]:
    found = []
    for o in outcomes:
        if o is None or o["status"] not in (302, 409):
            status = None if o is None else o["status"]
            text = "" if o is None else o["text"][-2000:]
            found.append(f"round {round_no}: HTTP {status}\n{text}")
    return found


@pytest.mark.timeout(240)
def test_a_cancel_racing_direct_bookings_leaves_the_slot_held_for_the_one_waiting(
    site: Site, race_pool: HttpRacePool
) -> None:
    people = site.people
    bob, ann = people["bob"], people["ann"]
    direct = [people[f"direct{i}"] for i in range(5)]
    ids = _ids(site)
    request_id = _ask(site, ann)
    slots = site.free_slots(bob, "tutor", "welsh")
    assert len(slots) == ROUNDS
    problems: list[str] = []
    raced: list[bool] = []
    for round_no, slot in enumerate(slots):
        booking_id = _book(site, bob, "tutor", "welsh", slot)
        _join(site, ann, request_id)
        tasks = [_cancel_task(site, bob, booking_id)] * 5 + [
            site.booking_task(p, "tutor", "welsh", slot) for p in direct
        ]
        outcomes = race_pool.run_round(tasks)
        raced.append(_cancel_and_booking_in_flight(outcomes))
        problems += _problems(round_no, outcomes)
        for o in outcomes[5:]:
            if o is not None and o["status"] == 302:
                problems.append(f"round {round_no}: a direct booker took the slot")
            elif o is not None and not (
                JUST_BOOKED in o["text"] or HELD in html.unescape(o["text"])
            ):
                problems.append(f"round {round_no}: a 409 without its reason")
        repo = _repo(site)
        try:
            tutor = repo.schedule(ids["tutor"])
            holds = [h for h in tutor.holds if h.ref == slot]
            live = [
                b
                for b in tutor.bookings.values()
                if b.active and f"{b.offer_id}:{b.slot_id}" == slot
            ]
            if live or [h.learner for h in holds] != [ids["ann"]]:
                problems.append(f"round {round_no}: booked {live}, held {holds}")
        finally:
            repo.store.close()
        # The one waiting books it: her wait ends with it.
        _book(site, ann, "tutor", "welsh", slot)
    assert not problems, "\n".join(problems) + "\n" + site.server.log_tail()
    _assert_raced(raced)
    _assert_quiet_server(site)


def _assert_raced(raced: list[bool]) -> None:
    """The race these tests are about took place: in most rounds a cancel (which frees the
    slot) and a direct booking were both sent before any answer came back. (Half of all ten
    in flight, the booking races' floor, failed 2 of 19 runs of the first test and once in a
    full suite for the second: with 5 rounds one slow start is a fifth.)"""
    assert sum(raced) >= 0.8 * len(raced), f"a cancel and a booking in flight: {raced}"


def _cancel_and_booking_in_flight(outcomes: list[dict[str, Any] | None]) -> bool:
    """Were a cancel (the first five tasks) and a direct booking (the rest) both sent before
    the first answer came back?"""
    answered = [o for o in outcomes if o is not None]
    if not answered:
        return False
    first_answer = min(o["ended"] for o in answered)
    sent = [o is not None and o["started"] < first_answer for o in outcomes]
    return any(sent[:5]) and any(sent[5:])


@pytest.mark.timeout(240)
def test_two_waiting_when_one_slot_frees_the_first_in_line_gets_it(
    site: Site, race_pool: HttpRacePool
) -> None:
    people = site.people
    bob, ann, dan = people["bob"], people["ann"], people["dan"]
    ids = _ids(site)
    ann_request, dan_request = _ask(site, ann), _ask(site, dan)
    # The first test's rounds booked every day for ann: cancel hers to free them again.
    repo = _repo(site)
    try:
        mine = [b for b in repo.schedule(ids["ann"]).bookings.values() if b.active]
    finally:
        repo.store.close()
    for booking in mine:
        session = ann.http.post(
            f"{site.base}/booking/{booking.id}/cancel",
            data={"csrf_token": ann.csrf, "reason": ""},
            allow_redirects=False,
            timeout=30,
        )
        assert session.status_code == 302
    problems: list[str] = []
    raced: list[bool] = []
    for round_no, slot in enumerate(site.free_slots(bob, "tutor", "welsh")):
        booking_id = _book(site, bob, "tutor", "welsh", slot)
        _leave(site, dan, ids["tutor"])  # so that ann is first in line each round
        _join(site, ann, ann_request)
        _join(site, dan, dan_request)
        tasks = (
            [_cancel_task(site, bob, booking_id)] * 4
            + [site.booking_task(ann, "tutor", "welsh", slot)] * 3
            + [site.booking_task(dan, "tutor", "welsh", slot)] * 3
        )
        outcomes = race_pool.run_round(tasks)
        raced.append(_cancel_and_booking_in_flight(outcomes))
        problems += _problems(round_no, outcomes)
        if any(o is not None and o["status"] == 302 for o in outcomes[7:]):
            problems.append(f"round {round_no}: the second in line took the slot")
        # Ann's three clicks: one books the slot, and any answered after it go to that booking.
        ann_won = len(
            {o["location"] for o in outcomes[4:7] if o is not None and o["status"] == 302}
        )
        repo = _repo(site)
        try:
            tutor = repo.schedule(ids["tutor"])
            live = [
                b
                for b in tutor.bookings.values()
                if b.active and f"{b.offer_id}:{b.slot_id}" == slot
            ]
            holds = [h.learner for h in tutor.holds if h.ref == slot]
            if ann_won:
                ok = ann_won == 1 and [b.learner for b in live] == [ids["ann"]] and not holds
            else:
                ok = not live and holds == [ids["ann"]]
            if not ok:
                problems.append(f"round {round_no}: ann won {ann_won}, booked {live}, held {holds}")
        finally:
            repo.store.close()
        if not ann_won:
            _book(site, ann, "tutor", "welsh", slot)
    assert not problems, "\n".join(problems) + "\n" + site.server.log_tail()
    _assert_raced(raced)
    _assert_quiet_server(site)

"""Faults in the middle of things: crashes between the booking steps (simulated and a real
kill -9), and a Replit DB that answers 500/429/403 or hangs. The promise (DESIGN.md): a 503
page, never a traceback; at most a pending hold, settled on the next read; never a slot booked
twice; never half a booking."""

from __future__ import annotations

import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from skillswap.domain.records import Booking
from skillswap.repo import Repository
from skillswap.repo.indexes import rebuild_skill_index
from skillswap.repo.keys import new_id
from skillswap.services.booking import HOLD_GRACE
from skillswap.store.replit import ReplitStore
from skillswap.store.sqlite import SQLiteStore
from tests.support.app_fixtures import TEMPLATE_CODE, Clock, csrf_token, make_app
from tests.support.fake_replitdb import FakeReplitDB
from tests.support.faulty_store import Crash, FaultyStore
from tests.web.test_bookings import booked_id, free_slots, person, publish, text

ROOT = Path(__file__).resolve().parents[2]
UNAVAILABLE = "SkillSwap is briefly unavailable"


def repo_of(app: Flask) -> Repository:
    return app.extensions["skillswap.repo"]


def uid(app: Flask, username: str) -> str:
    return repo_of(app).find_user(username).id


def raw_schedule(app: Flask, username: str) -> dict:
    return repo_of(app).store.get(f"schedule/{uid(app, username)}") or {}


def statuses(app: Flask, username: str) -> dict[str, str]:
    return {k: b["status"] for k, b in raw_schedule(app, username).get("bookings", {}).items()}


def post_booking(client: FlaskClient, teacher: str, slot: str, token: str):
    return client.post(
        f"/book/{teacher}", data={"csrf_token": token, "skill": "python", "slot": slot}
    )


def assert_consistent(app: Flask, *usernames: str) -> None:
    """No pending holds, every booking the same in both documents, no slot taken twice, no
    person in two sessions at once, and the skill index what `flask reindex` would write."""
    repo = repo_of(app)
    schedules = {name: repo.schedule(uid(app, name)) for name in usernames}
    by_id = {s.owner: s for s in schedules.values()}
    taken: set[tuple[str, str, str]] = set()
    for schedule in schedules.values():
        assert not schedule.pending_holds()
        live = sorted((b.start, b.end) for b in schedule.bookings.values() if b.active)
        assert all(a[1] <= b[0] for a, b in itertools.pairwise(live))
        for booking in schedule.bookings.values():
            other = by_id[booking.other(schedule.owner)].bookings.get(booking.id)
            assert other is not None, f"{booking.id} is missing from the other document"
            assert (other.status, other.start, other.end, other.reviews) == (
                booking.status,
                booking.start,
                booking.end,
                booking.reviews,
            )
            if booking.active and booking.teacher == schedule.owner:
                slot = (booking.teacher, booking.offer_id, booking.slot_id)
                assert slot not in taken, f"{slot} booked twice"
                taken.add(slot)
    stored = {
        k.removeprefix("skill/"): v
        for k, v in repo.store.get_many(repo.store.keys("skill/")).items()
    }
    rebuilt = rebuild_skill_index(repo.store)
    assert {k: (v["teachers"], v["learners"]) for k, v in stored.items()} == {
        k: (v["teachers"], v["learners"]) for k, v in rebuilt.items()
    }


def active_holders(app: Flask, teacher: str, slot: str) -> list[str]:
    offer_id, _, slot_id = slot.partition(":")
    return [
        b["learner_name"]
        for b in raw_schedule(app, teacher).get("bookings", {}).values()
        if b["status"] != "cancelled" and (b["offer_id"], b["slot_id"]) == (offer_id, slot_id)
    ]


def past_grace(clock: Clock) -> None:
    clock.advance(seconds=HOLD_GRACE.total_seconds() + 1)


def _scratch() -> Path:
    shm = Path("/dev/shm")
    return Path(tempfile.mkdtemp(prefix="skillswap-faults-", dir=shm if shm.is_dir() else None))


# --- a crash between the steps, simulated --------------------------------------------------


@pytest.fixture
def faulty() -> Iterator[FaultyStore]:
    folder = _scratch()
    store = FaultyStore(SQLiteStore(str(folder / "kv.db")))
    try:
        yield store
    finally:
        store.close()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def fapp(faulty: FaultyStore, clock: Clock, tmp_path: Path) -> Flask:
    app = make_app(tmp_path, clock, STORE=faulty)
    app.jinja_env.bytecode_cache = TEMPLATE_CODE
    return app


@pytest.fixture
def three(fapp: Flask) -> tuple[FlaskClient, FlaskClient, FlaskClient]:
    """tess teaches (New York, 1 Dec 09:00-11:00, two hour-long slots); leo and xia learn."""
    tess = person(fapp, "tess", "America/New_York")
    publish(tess)
    return tess, person(fapp, "leo", "Europe/Berlin"), person(fapp, "xia", "Asia/Tokyo")


def test_crash_between_claim_and_confirm_is_confirmed_on_the_next_read(
    fapp: Flask, faulty: FaultyStore, clock: Clock, three
) -> None:
    _tess, leo, xia = three
    slot = free_slots(leo, "tess")[0]
    token = csrf_token(leo, "/logout")
    faulty.crash_on("update", 2, after=True, key_prefix="schedule/")  # right after the claim
    with pytest.raises(Crash):
        post_booking(leo, "tess", slot, token)
    faulty.revive()  # the restarted worker

    # What the crash left: a pending hold on the learner's side, the claim on the teacher's.
    [(booking_id, status)] = statuses(fapp, "leo").items()
    assert status == "pending"
    assert statuses(fapp, "tess") == {booking_id: "confirmed"}

    # Meanwhile nobody else gets the slot: it is claimed.
    assert slot not in free_slots(xia, "tess")
    refused = post_booking(xia, "tess", slot, csrf_token(xia, "/logout"))
    assert refused.status_code == 409
    assert "just booked by someone else" in text(refused)
    assert active_holders(fapp, "tess", slot) == ["leo"]

    # Within the grace period the hold may be a booking in flight: left alone, not shown.
    assert "Python with tess" not in text(leo.get("/dashboard"))
    assert statuses(fapp, "leo") == {booking_id: "pending"}

    past_grace(clock)
    page = leo.get("/dashboard")
    assert page.status_code == 200
    assert "tess" in text(page)
    assert statuses(fapp, "leo") == {booking_id: "confirmed"}
    assert_consistent(fapp, "tess", "leo", "xia")


def test_crash_after_the_hold_before_the_claim_is_released_on_the_next_read(
    fapp: Flask, faulty: FaultyStore, clock: Clock, three
) -> None:
    _tess, leo, xia = three
    slot = free_slots(leo, "tess")[0]
    token = csrf_token(leo, "/logout")
    faulty.crash_on("update", 1, after=True, key_prefix="schedule/")  # right after the hold
    with pytest.raises(Crash):
        post_booking(leo, "tess", slot, token)
    faulty.revive()

    assert list(statuses(fapp, "leo").values()) == ["pending"]
    assert statuses(fapp, "tess") == {}
    # The teacher never claimed it, so the slot is still free for someone else.
    assert slot in free_slots(xia, "tess")
    booked_id(post_booking(xia, "tess", slot, csrf_token(xia, "/logout")))

    past_grace(clock)
    page = leo.get("/dashboard")
    assert page.status_code == 200
    assert "No upcoming sessions booked." in text(page)
    assert statuses(fapp, "leo") == {}
    assert active_holders(fapp, "tess", slot) == ["xia"]
    assert_consistent(fapp, "tess", "leo", "xia")


def test_a_hold_left_by_a_crash_does_not_block_the_learner_forever(
    fapp: Flask, faulty: FaultyStore, clock: Clock, three
) -> None:
    """The stale hold overlaps the slot the learner tries again: after the grace period it is
    settled on that read and the new booking goes through."""
    _tess, leo, _xia = three
    slot = free_slots(leo, "tess")[0]
    faulty.crash_on("update", 1, after=True, key_prefix="schedule/")
    with pytest.raises(Crash):
        post_booking(leo, "tess", slot, csrf_token(leo, "/logout"))
    faulty.revive()
    past_grace(clock)
    leo.get("/dashboard")  # the read that settles it
    booked_id(post_booking(leo, "tess", slot, csrf_token(leo, "/logout")))
    assert_consistent(fapp, "tess", "leo", "xia")
    assert active_holders(fapp, "tess", slot) == ["leo"]


# --- a real kill -9 ------------------------------------------------------------------------

KILLER = r"""
import json, os, signal, sys
from datetime import datetime
from skillswap import services
from skillswap.domain.records import Booking
from skillswap.repo import Repository
from skillswap.store.sqlite import SQLiteStore

path, booking, kill_after, now = sys.argv[1:5]


class Dying:
    # The real store; the process kills itself right after the Nth schedule update returns.
    def __init__(self, inner):
        self.inner, self.name, self.updates = inner, inner.name, 0

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def update(self, key, fn):
        result = self.inner.update(key, fn)
        if key.startswith("schedule/"):
            self.updates += 1
            if self.updates == int(kill_after):
                os.kill(os.getpid(), signal.SIGKILL)
        return result


repo = Repository(Dying(SQLiteStore(path)), lambda: datetime.fromisoformat(now))
services.booking.book(repo, Booking(**json.loads(booking)))
print("survived")
"""


@pytest.mark.parametrize(
    ("kill_after", "settles_to"),
    [pytest.param(1, "released", id="after-hold"), pytest.param(2, "confirmed", id="after-claim")],
)
def test_kill_9_in_the_middle_of_a_booking(
    clock: Clock, tmp_path: Path, kill_after: int, settles_to: str
) -> None:
    db = tmp_path / "kv.db"  # a real file: the point is what survives on disk
    app = make_app(tmp_path, clock, STORE_URL=f"sqlite:///{db}")
    app.jinja_env.bytecode_cache = TEMPLATE_CODE
    try:
        tess = person(app, "tess", "America/New_York")
        publish(tess)
        leo = person(app, "leo", "Europe/Berlin")
        xia = person(app, "xia", "Asia/Tokyo")
        slot = free_slots(leo, "tess")[0]
        offer_id, _, slot_id = slot.partition(":")
        offer = repo_of(app).schedule(uid(app, "tess")).offers[offer_id]
        stored = offer.slot(slot_id)
        booking = Booking(
            id=new_id(),
            teacher=uid(app, "tess"),
            teacher_name="tess",
            learner=uid(app, "leo"),
            learner_name="leo",
            offer_id=offer_id,
            slot_id=slot_id,
            title=offer.title,
            skill=offer.skill,
            mode=offer.mode,
            start=stored.start,
            end=stored.end,
            created=clock.now.isoformat(),
        )
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        done = subprocess.run(
            [sys.executable, "-c", KILLER, str(db), json.dumps(asdict(booking)),
             str(kill_after), clock.now.isoformat()],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert done.returncode == -signal.SIGKILL, done.stderr[-2000:]
        assert "survived" not in done.stdout

        # On disk: at most a pending hold, and the slot claimed at most once.
        assert statuses(app, "leo") == {booking.id: "pending"}
        expected_teacher = {booking.id: "confirmed"} if kill_after == 2 else {}
        assert statuses(app, "tess") == expected_teacher
        assert len(active_holders(app, "tess", slot)) == kill_after - 1
        if kill_after == 2:
            refused = post_booking(xia, "tess", slot, csrf_token(xia, "/logout"))
            assert refused.status_code == 409

        past_grace(clock)
        assert leo.get("/dashboard").status_code == 200  # resolve_pending, on read
        want = {booking.id: "confirmed"} if settles_to == "confirmed" else {}
        assert statuses(app, "leo") == want
        result = app.test_cli_runner().invoke(args=["reindex"])
        assert result.exit_code == 0, result.output
        assert "indexes rebuilt" in result.output
        assert_consistent(app, "tess", "leo", "xia")
        if kill_after == 1:  # the slot is still free and bookable
            booked_id(post_booking(xia, "tess", slot, csrf_token(xia, "/logout")))
            assert active_holders(app, "tess", slot) == ["xia"]
    finally:
        app.extensions["skillswap.store"].close()


# --- a write that landed but whose answer was lost -----------------------------------------


def test_a_claim_that_landed_but_whose_answer_was_lost_is_not_half_a_booking(
    fapp: Flask, faulty: FaultyStore, clock: Clock, three
) -> None:
    _tess, leo, _xia = three
    slot = free_slots(leo, "tess")[0]
    token = csrf_token(leo, "/logout")
    faulty.fail_on("update", 2, after=True, key_prefix="schedule/")
    response = post_booking(leo, "tess", slot, token)
    assert response.status_code == 503
    past_grace(clock)
    leo.get("/dashboard")
    assert_consistent(fapp, "tess", "leo", "xia")


def test_a_cancel_that_fails_halfway_is_not_half_cancelled(
    fapp: Flask, faulty: FaultyStore, clock: Clock, three
) -> None:
    _tess, leo, _xia = three
    booking_id = booked_id(
        post_booking(leo, "tess", free_slots(leo, "tess")[0], csrf_token(leo, "/logout"))
    )
    path = f"/booking/{booking_id}/cancel"
    token = csrf_token(leo, path)
    faulty.fail_on("update", 2, key_prefix="schedule/")  # the teacher's side
    response = leo.post(path, data={"csrf_token": token, "reason": "ill"})
    assert response.status_code == 503
    assert UNAVAILABLE in text(response)
    leo.get("/dashboard")
    assert_consistent(fapp, "tess", "leo", "xia")


def test_a_cancel_left_halfway_is_finished_even_after_the_session_started(
    fapp: Flask, faulty: FaultyStore, clock: Clock, three
) -> None:
    """Read repair copies the cancel as it was made: the other copy is not cancelled anew
    (which a started session refuses), so the canceller's page does not fail for good."""
    _tess, leo, _xia = three
    booking_id = booked_id(
        post_booking(leo, "tess", free_slots(leo, "tess")[0], csrf_token(leo, "/logout"))
    )
    path = f"/booking/{booking_id}/cancel"
    token = csrf_token(leo, path)
    faulty.fail_on("update", 2, key_prefix="schedule/")  # the teacher's side
    assert leo.post(path, data={"csrf_token": token, "reason": "ill"}).status_code == 503
    clock.set(datetime(2026, 12, 1, 14, 30, tzinfo=UTC))  # the session would be under way
    assert leo.get("/dashboard").status_code == 200  # the read that finishes the cancel
    assert statuses(fapp, "tess") == statuses(fapp, "leo") == {booking_id: "cancelled"}
    assert_consistent(fapp, "tess", "leo", "xia")


def test_a_review_that_fails_halfway_is_not_half_saved(
    fapp: Flask, faulty: FaultyStore, clock: Clock, three
) -> None:
    _tess, leo, _xia = three
    booking_id = booked_id(
        post_booking(leo, "tess", free_slots(leo, "tess")[0], csrf_token(leo, "/logout"))
    )
    clock.advance(days=9)  # the session is over
    path = f"/booking/{booking_id}/review"
    token = csrf_token(leo, path)
    faulty.fail_on("update", 2, key_prefix="schedule/")  # the teacher's copy
    assert leo.post(path, data={"csrf_token": token, "rating": "9"}).status_code == 503
    # The rating was taken on leo's copy; his dashboard's read repair copies it to tess.
    leo.get("/dashboard")
    assert_consistent(fapp, "tess", "leo", "xia")
    again = leo.post(path, data={"csrf_token": token, "rating": "3"})
    assert again.status_code == 400
    assert "You have already rated this session." in text(again)
    assert_consistent(fapp, "tess", "leo", "xia")


# --- the fake Replit DB misbehaving --------------------------------------------------------

QUICK_RETRIES = 1
ATTEMPTS = QUICK_RETRIES + 1  # HTTP requests per store call before it gives up


@pytest.fixture
def replit_env(
    fake_replitdb: FakeReplitDB, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> dict[str, object]:
    """The URL only in REPLIT_DB_URL (the url_file does not exist), as on a fresh Replit."""
    monkeypatch.setenv("REPLIT_DB_URL", fake_replitdb.url)
    return {
        "STORE_URL": "replit",
        "REPLIT_DB_URL": fake_replitdb.url,
        "REPLIT_URL_FILE": str(tmp_path / "no-replitdb"),
        "REPLIT_LOCK_PATH": str(tmp_path / "replit.lock"),
        # REPLIT_DB_URL makes the settings think they are on Replit (HTTPS, preview frame);
        # the test client speaks plain HTTP.
        "SESSION_COOKIE_SECURE": False,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_PARTITIONED": False,
        "PROXY_FIX_HOPS": 0,
    }


@pytest.fixture
def rapp(replit_env: dict, clock: Clock, tmp_path: Path) -> Iterator[Flask]:
    """The app as configured for Replit: the client's own retries (3) and timeout."""
    app = make_app(tmp_path, clock, **replit_env)
    app.jinja_env.bytecode_cache = TEMPLATE_CODE
    assert app.extensions["skillswap.store"].name == "replit"
    yield app
    app.extensions["skillswap.store"].close()


@pytest.fixture
def quick(replit_env: dict, clock: Clock, tmp_path: Path) -> Iterator[tuple[Flask, FaultyStore]]:
    """The same, with a short timeout and one retry (so that outages fail fast), behind a
    FaultyStore that can switch the fake's failures on in the middle of a booking."""
    store = FaultyStore(
        ReplitStore(
            db_url=str(replit_env["REPLIT_DB_URL"]),
            url_file=str(replit_env["REPLIT_URL_FILE"]),
            lock_path=str(replit_env["REPLIT_LOCK_PATH"]),
            timeout=0.5,
            retries=QUICK_RETRIES,
            backoff=0.01,
        )
    )
    app = make_app(tmp_path, clock, **replit_env, STORE=store)
    app.jinja_env.bytecode_cache = TEMPLATE_CODE
    yield app, store
    store.close()


def assert_unavailable(response) -> None:
    body = response.get_data(as_text=True)
    assert response.status_code == 503
    assert UNAVAILABLE in body
    assert "Traceback" not in body and "StoreUnavailable" not in body
    assert "/v0/" not in body  # never the token URL


def test_a_few_500s_and_429s_are_retried_and_the_page_succeeds(
    rapp: Flask, fake_replitdb: FakeReplitDB
) -> None:
    tess = person(rapp, "tess", "America/New_York")
    publish(tess)
    leo = person(rapp, "leo", "Europe/Berlin")
    fake_replitdb.fail_next(500, 2)
    assert leo.get("/dashboard").status_code == 200
    slot = free_slots(leo, "tess")[0]
    token = csrf_token(leo, "/logout")
    fake_replitdb.fail_next(429, 3)  # the client's retries (3) just cover it
    booking_id = booked_id(post_booking(leo, "tess", slot, token))
    fake_replitdb.fail_next(503, 2)
    assert "tess" in text(leo.get("/dashboard"))
    assert statuses(rapp, "leo") == {booking_id: "confirmed"}
    assert statuses(rapp, "tess") == {booking_id: "confirmed"}
    assert_consistent(rapp, "tess", "leo")


@pytest.mark.parametrize("status", [500, 503])
def test_a_persistent_5xx_gives_the_503_page(
    quick: tuple[Flask, FaultyStore], fake_replitdb: FakeReplitDB, status: int
) -> None:
    app, _ = quick
    leo = person(app, "leo", "Europe/Berlin")
    anonymous = app.test_client()
    for client, path in ((leo, "/dashboard"), (leo, "/profile"), (anonymous, "/?q=python")):
        fake_replitdb.fail_next(status, ATTEMPTS)  # more than the client retries
        assert_unavailable(client.get(path))
    # Over: the next request is served normally.
    assert leo.get("/dashboard").status_code == 200


def test_403_with_no_new_token_gives_the_503_page(
    quick: tuple[Flask, FaultyStore], fake_replitdb: FakeReplitDB
) -> None:
    app, _ = quick
    leo = person(app, "leo", "Europe/Berlin")
    fake_replitdb.fail_next(403, 2)  # re-reading the URL finds the same token: refused again
    assert_unavailable(leo.get("/dashboard"))
    assert leo.get("/dashboard").status_code == 200


def test_a_rotated_token_is_picked_up_from_the_url_file(
    rapp: Flask, fake_replitdb: FakeReplitDB, replit_env: dict[str, object]
) -> None:
    """Replit rotates the token by rewriting /tmp/replitdb (the process's environment never
    changes): a 401 makes the client read the file again."""
    leo = person(rapp, "leo", "Europe/Berlin")
    Path(str(replit_env["REPLIT_URL_FILE"])).write_text(fake_replitdb.rotate_token() + "\n")
    assert leo.get("/dashboard").status_code == 200


@pytest.mark.timeout(60)
def test_a_store_that_hangs_gives_the_503_page(
    quick: tuple[Flask, FaultyStore], fake_replitdb: FakeReplitDB
) -> None:
    app, _ = quick
    leo = person(app, "leo", "Europe/Berlin")
    fake_replitdb.timeout_seconds = 2.0  # longer than the client's 0.5 s
    fake_replitdb.timeout_next(ATTEMPTS)
    assert_unavailable(leo.get("/dashboard"))
    assert leo.get("/dashboard").status_code == 200


@pytest.mark.parametrize(
    ("step", "outage"),
    [
        pytest.param(2, ATTEMPTS, id="claim-fails-release-works"),
        pytest.param(2, 10 * ATTEMPTS, id="claim-fails-release-fails"),
        pytest.param(3, 10 * ATTEMPTS, id="confirm-fails"),
    ],
)
def test_an_outage_in_the_middle_of_a_booking(
    quick: tuple[Flask, FaultyStore],
    fake_replitdb: FakeReplitDB,
    clock: Clock,
    step: int,
    outage: int,
) -> None:
    app, store = quick
    tess = person(app, "tess", "America/New_York")
    publish(tess)
    leo = person(app, "leo", "Europe/Berlin")
    xia = person(app, "xia", "Asia/Tokyo")
    slot = free_slots(leo, "tess")[0]
    token = csrf_token(leo, "/logout")
    # The fake starts failing just as the booking's Nth schedule update goes out.
    store.on_call(
        "update", step, lambda: fake_replitdb.fail_next(500, outage), key_prefix="schedule/"
    )
    assert_unavailable(post_booking(leo, "tess", slot, token))
    # Wait out the rest of the outage: a request that succeeds has used up what was left
    # (fewer failures than one store call's attempts).
    anonymous = app.test_client()
    for _ in range(outage):
        if anonymous.get("/?q=python").status_code == 200:
            break
    assert anonymous.get("/?q=python").status_code == 200

    claimed = step == 3
    assert statuses(app, "tess") == (
        {next(iter(statuses(app, "leo"))): "confirmed"} if claimed else {}
    )
    # The next normal requests do not trip over what is left.
    assert leo.get("/dashboard").status_code == 200
    assert tess.get("/dashboard").status_code == 200
    xia_books = post_booking(xia, "tess", slot, csrf_token(xia, "/logout"))
    assert xia_books.status_code == (409 if claimed else 302)

    past_grace(clock)
    assert leo.get("/dashboard").status_code == 200
    assert_consistent(app, "tess", "leo", "xia")
    assert active_holders(app, "tess", slot) == (["leo"] if claimed else ["xia"])

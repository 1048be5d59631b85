"""Each reminder goes out once however many senders run at the same moment: spawned processes,
each its own app instance (its own instance folder, retry queue and sender, as on separate
machines) on one shared store, released together by a Barrier, run `send_due_mail` against
one real SMTP server, and every reminder arrives exactly once.

The negative control runs the same workers with a claim that reads the person's schedule,
waits and then writes it (no atomic update): it must send duplicates, or the harness creates
no real contention and the passing race proves nothing.
"""

from __future__ import annotations

import queue
import time
import traceback
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from skillswap import create_app
from skillswap.domain.schedule import Schedule
from skillswap.repo.keys import schedule_key
from skillswap.services.mail import send_due_mail
from tests.support.app_fixtures import Clock, close_app, make_app
from tests.support.smtp import SMTPServer, link_in
from tests.support.spawned import SpawnedWorkers
from tests.web.booking_mail.conftest import confirm_address
from tests.web.test_bookings import DAY, book, booked_id, free_slots, person, publish

pytestmark = pytest.mark.slow

WORKERS = 3
SESSIONS = 4  # four teachers, each booked by one learner at the same hour: 8 reminders
BARRIER_TIMEOUT = 60
CONTROL_GAP = 0.3  # only the control waits between reading and writing a schedule
DAY_BEFORE = datetime(2026, 11, 30, 14, 0, 30, tzinfo=UTC)  # the 24-hour reminders are due


def _broken_claims(repo: Any) -> None:
    """The claim as it must not be done: read, decide, wait, write."""

    def change_schedule(uid: str, change: Any, *, grows: bool = False) -> Any:
        store = repo.store
        schedule = Schedule.from_doc(uid, store.get(schedule_key(uid)))
        result = change(schedule)
        time.sleep(CONTROL_GAP)
        store.put(schedule_key(uid), schedule.to_doc())
        return result

    repo.change_schedule = change_schedule


def _worker(index: int, commands: Any, barrier: Any, results: Any) -> None:
    """Runs (store URL, folder, SMTP port, moment, broken?) commands: build an app instance,
    wait at the barrier with the others, then send what is due."""
    while (command := commands.get()) is not None:
        store_url, folder, port, moment, broken = command
        app = None
        try:
            app = create_app(
                {
                    "TESTING": True,
                    "SECRET_KEY": "test-secret",
                    "STORE_URL": store_url,
                    "INSTANCE_PATH": f"{folder}/instance-{index}",
                    "CLOCK": Clock(moment),
                    "RATELIMIT_ENABLED": False,
                    "RATELIMIT_STORAGE_URI": "memory://",
                    "MAIL_SERVER": "127.0.0.1",
                    "MAIL_PORT": str(port),
                    "MAIL_USE_TLS": "false",
                    "MAIL_SENDER_THREAD": False,
                    "PUBLIC_URL": "https://skillswap.test",
                }
            )
            repo = app.extensions["skillswap.repo"]
            if broken:
                _broken_claims(repo)
            repo.store.keys("due/", limit=1)  # open the store before the barrier
            barrier.wait(BARRIER_TIMEOUT)
            done = send_due_mail(
                repo,
                app.extensions["skillswap.mailer"],
                moment,
                app.extensions["skillswap.notifier"],
            )
        except BaseException:
            barrier.abort()
            results.put(("error", index, traceback.format_exc()))
        else:
            results.put(("done", index, done.reminders.sent))
        finally:
            if app is not None:
                close_app(app)


@pytest.fixture(scope="module")
def pool() -> Iterator[SpawnedWorkers]:
    workers = SpawnedWorkers(_worker, WORKERS, "reminder-sender")
    yield workers
    workers.stop()


def _community(app: Flask) -> list[str]:
    """SESSIONS sessions at the same hour, each between a teacher and a learner (all with
    confirmed addresses); their booking ids."""
    booked = []
    for number in range(SESSIONS):
        teacher = person(app, f"teacher{number}", "America/New_York")
        publish(teacher, start="09:00", end="10:00", day=DAY)
        learner = person(app, f"learner{number}", "Europe/Berlin")
        confirm_address(app, f"teacher{number}")
        confirm_address(app, f"learner{number}")
        booked.append(
            booked_id(book(learner, f"teacher{number}", free_slots(learner, f"teacher{number}")[0]))
        )
    return booked


def _race(pool: SpawnedWorkers, tmp_path: Path, port: int, broken: bool) -> list[int]:
    moment = DAY_BEFORE
    store_url = f"sqlite:///{tmp_path / 'shared.db'}"
    for commands in pool.commands:
        commands.put((store_url, str(tmp_path), port, moment, broken))
    errors, sent = [], []
    for _ in range(WORKERS):
        try:
            status, index, detail = pool.results.get(timeout=100)
        except queue.Empty:
            pool.stop()
            pool.start()
            pytest.fail("reminder senders hung")
        if status == "error":
            errors.append(f"worker {index}:\n{detail}")
        else:
            sent.append(detail)
    if errors:
        pool.barrier.reset()
        pytest.fail("reminder senders failed:\n" + "\n".join(errors))
    return sent


def _setup(tmp_path: Path, smtp_server: SMTPServer) -> list[str]:
    clock = Clock()
    app = make_app(
        tmp_path, clock, STORE_URL=f"sqlite:///{tmp_path / 'shared.db'}", **smtp_server.app_config()
    )
    try:
        booked = _community(app)
    finally:
        close_app(app)
    smtp_server.received.clear()
    return booked


def _reminders(smtp_server: SMTPServer) -> Counter[tuple[str, str]]:
    """(recipient, session) of every reminder that arrived."""
    found: Counter[tuple[str, str]] = Counter()
    for received in smtp_server.received:
        assert "Reminder:" in str(received.message["Subject"])
        link = link_in(received.message, "/dashboard")
        found[(received.rcpt_tos[0], link.rpartition("/dashboard/session/")[2])] += 1
    return found


def test_each_reminder_arrives_exactly_once_with_senders_racing(
    pool: SpawnedWorkers, smtp_server: SMTPServer, tmp_path: Path
) -> None:
    booked = _setup(tmp_path, smtp_server)

    sent = _race(pool, tmp_path, smtp_server.port, broken=False)

    counts = _reminders(smtp_server)
    assert {session for _, session in counts} == set(booked)
    assert len(counts) == 2 * SESSIONS, "both people of every session"
    assert max(counts.values()) == 1, "no reminder arrived twice"
    assert sum(sent) == 2 * SESSIONS


def test_control_a_read_then_write_claim_sends_duplicates(
    pool: SpawnedWorkers, smtp_server: SMTPServer, tmp_path: Path
) -> None:
    _setup(tmp_path, smtp_server)

    _race(pool, tmp_path, smtp_server.port, broken=True)

    counts = _reminders(smtp_server)
    assert len(counts) == 2 * SESSIONS
    assert max(counts.values()) > 1, "the harness made no two senders meet"

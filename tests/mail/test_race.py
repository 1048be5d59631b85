"""The retry queue is shared and each mail is claimed once: spawned processes, released
together by a Barrier, call deliver_due at the same moment against one queue file and one real
SMTP server, and every mail arrives exactly once.

The negative control runs the same workers with a claim that reads, waits and then writes
(no "still unclaimed?" check in the write): it must send duplicates, or the harness creates no
real contention and the passing race proves nothing.
"""

from __future__ import annotations

import queue
import time
import traceback
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from email import message_from_bytes
from email.message import EmailMessage
from pathlib import Path
from typing import Any, cast

import pytest

from skillswap.mail import Mailer, Recipient, RetryQueue, SMTPTransport
from skillswap.mail.message import MAIL_POLICY
from skillswap.mail.retry import LEASE, QueuedMail
from tests.mail.conftest import SENDER, START
from tests.support.app_fixtures import Clock
from tests.support.smtp import SMTPServer
from tests.support.spawned import SpawnedWorkers

pytestmark = pytest.mark.slow

WORKERS = 4
MAILS = 24
BATCH = 10  # smaller than MAILS, so several workers find work in each round
BARRIER_TIMEOUT = 60
CONTROL_GAP = 0.2  # only the control waits between reading and writing


class ReadThenWriteQueue(RetryQueue):
    """The broken claim: what is due is read first and marked as taken later, without
    checking that nobody took it in between."""

    def claim_due(self, now: datetime, limit: int) -> list[QueuedMail]:
        db = self._db()
        rows = db.execute(
            "SELECT id, message, label, failures FROM mail"
            " WHERE due <= ? AND claimed_until IS NULL ORDER BY id LIMIT ?",
            (now.timestamp(), limit),
        ).fetchall()
        time.sleep(CONTROL_GAP)
        for row in rows:
            db.execute(
                "UPDATE mail SET claimed_until = ? WHERE id = ?",
                ((now + LEASE).timestamp(), row[0]),
            )
        return [
            QueuedMail(
                row_id,
                cast(EmailMessage, message_from_bytes(raw, policy=MAIL_POLICY)),
                label,
                failures,
            )
            for row_id, raw, label, failures in rows
        ]


def _worker(index: int, commands: Any, barrier: Any, results: Any) -> None:
    """Runs (queue path, SMTP port, moment, broken?) commands: wait at the barrier with the
    others, then deliver what is due."""
    while (command := commands.get()) is not None:
        path, port, now, broken = command
        kind = ReadThenWriteQueue if broken else RetryQueue
        retry_queue = kind(path)
        transport = SMTPTransport("127.0.0.1", port, security="none", timeout=20)
        mailer = Mailer(transport, retry_queue, SENDER, Clock(now))
        try:
            retry_queue.claim_due(now, limit=0)  # open the file before the barrier
            barrier.wait(BARRIER_TIMEOUT)
            report = mailer.deliver_due(now, limit=BATCH)
            while report.sent:  # like a sender loop: until nothing is left for this worker
                report = mailer.deliver_due(now, limit=BATCH)
        except BaseException:
            barrier.abort()
            results.put(("error", index, traceback.format_exc()))
        else:
            results.put(("done", index, None))
        finally:
            retry_queue.close()


@pytest.fixture(scope="module")
def pool() -> Iterator[SpawnedWorkers]:
    workers = SpawnedWorkers(_worker, WORKERS, "mail-sender")
    yield workers
    workers.stop()


def _fill(path: Path, clock: Clock) -> list[str]:
    retry_queue = RetryQueue(path)
    mailer = Mailer(SMTPTransport("127.0.0.1", 1), retry_queue, SENDER, clock)
    ids = []
    for number in range(MAILS):
        to = Recipient(f"Person {number}", f"p{number}@example.org", "Asia/Tokyo")
        message = mailer.compose(
            "password_reset", to, {"link": f"https://s.test/r/{number}", "expires_at": START}
        )
        mailer.enqueue(message)
        ids.append(str(message["Message-ID"]))
    retry_queue.close()
    return ids


def _race(pool: SpawnedWorkers, path: Path, port: int, broken: bool) -> None:
    now = START + timedelta(seconds=1)
    for commands in pool.commands:
        commands.put((str(path), port, now, broken))
    errors = []
    for _ in range(WORKERS):
        try:
            status, index, detail = pool.results.get(timeout=100)
        except queue.Empty:
            pool.stop()
            pool.start()
            pytest.fail("mail senders hung")
        if status == "error":
            errors.append(f"worker {index}:\n{detail}")
    if errors:
        pool.barrier.reset()
        pytest.fail("mail senders failed:\n" + "\n".join(errors))


def test_each_mail_is_delivered_exactly_once(
    pool: SpawnedWorkers, smtp_server: SMTPServer, tmp_path: Path, clock: Clock
) -> None:
    for round_no in range(3):
        smtp_server.received.clear()
        path = tmp_path / f"round-{round_no}.db"
        ids = _fill(path, clock)
        _race(pool, path, smtp_server.port, broken=False)

        counts = Counter(smtp_server.handler.message_ids())
        assert sorted(counts) == sorted(ids), "every mail arrived"
        assert max(counts.values()) == 1, "no mail arrived twice"
        assert len(RetryQueue(path)) == 0


def test_control_a_read_then_write_claim_sends_duplicates(
    pool: SpawnedWorkers, smtp_server: SMTPServer, tmp_path: Path, clock: Clock
) -> None:
    path = tmp_path / "control.db"
    ids = _fill(path, clock)
    _race(pool, path, smtp_server.port, broken=True)

    counts = Counter(smtp_server.handler.message_ids())
    assert set(counts) == set(ids)
    assert max(counts.values()) > 1, "the harness made no two senders meet"

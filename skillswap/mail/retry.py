"""The retry queue: mails the SMTP server did not take, waiting for their next try.

A small SQLite file in the instance folder (like the rate-limit counters in
``skillswap/web/auth/limit_storage.py``), so the queue survives a restart and every gunicorn
worker, a background sender and ``flask send-due-mail`` all see the same one. Deliberately not
the app's key-value store: on Replit DB each queued mail would cost a key and a round trip, and
a mail server that is down for an hour must not fill the store.

Bounded twice: at most ``MAX_QUEUED`` mails (the oldest are dropped first, with a log line), and
each mail is tried at most ``1 + len(BACKOFF)`` times in all.

Exactly one sender takes each due mail: ``claim_due`` marks a batch as claimed until a lease
expires in one write transaction, and only unclaimed (or expired) rows qualify. A sender that
dies mid-batch leaves its claims to expire, after which the mails are tried again, so a crash
between sending and ``remove`` can send a mail twice; nothing else can.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import EmailMessage
from pathlib import Path
from typing import cast

from skillswap.mail.message import MAIL_POLICY
from skillswap.store.sqlite import open_wal

log = logging.getLogger("skillswap.mail")

#: Waits before the second, third and fourth try; after the fourth failure a mail is dropped.
BACKOFF = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30))
MAX_QUEUED = 1000
#: How long a claim holds: longer than a batch can take (BATCH x the SMTP timeouts).
LEASE = timedelta(minutes=15)
BUSY_TIMEOUT_MS = 10_000


@dataclass(frozen=True)
class QueuedMail:
    id: int
    message: EmailMessage
    label: str  # Message-ID and recipient domain: enough for a log line, never the body
    failures: int  # tries that failed so far


def _seconds(instant: datetime) -> float:
    if instant.tzinfo is None:
        raise ValueError(f"now must be timezone-aware, got {instant!r}")
    return instant.timestamp()


class RetryQueue:
    def __init__(self, path: str | os.PathLike[str], max_queued: int = MAX_QUEUED) -> None:
        self.path = Path(path).resolve()
        self.max_queued = max_queued
        # One connection per thread and per process, opened on first use: never before
        # gunicorn forks, never shared by two threads.
        self._local = threading.local()

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None or self._local.pid != os.getpid():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = open_wal(
                self.path,
                busy_timeout_ms=BUSY_TIMEOUT_MS,
                synchronous="FULL",  # a queued mail survives a power cut
                schema=(
                    "CREATE TABLE IF NOT EXISTS mail ("
                    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
                    " message BLOB NOT NULL,"
                    " label TEXT NOT NULL,"
                    " failures INTEGER NOT NULL,"
                    " due REAL NOT NULL,"
                    " claimed_until REAL)",
                    "CREATE INDEX IF NOT EXISTS mail_due ON mail (due)",
                ),
            )
            self._local.db, self._local.pid = db, os.getpid()
        return db

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        # IMMEDIATE takes the write lock before reading, so a claim's "is it free?" and "it is
        # mine" happen with no other writer in between (the busy timeout waits for the lock).
        db = self._db()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def add(self, message: EmailMessage, label: str, *, due: datetime, failures: int) -> None:
        """Queue ``message`` for a try at ``due``; drops the oldest mails beyond the bound."""
        with self._write() as db:
            db.execute(
                "INSERT INTO mail (message, label, failures, due) VALUES (?, ?, ?, ?)",
                (message.as_bytes(), label, failures, _seconds(due)),
            )
            dropped = db.execute(
                "DELETE FROM mail WHERE id IN"
                " (SELECT id FROM mail ORDER BY id DESC LIMIT -1 OFFSET ?) RETURNING label",
                (self.max_queued,),
            ).fetchall()
        for (old,) in dropped:
            log.warning("mail queue full (%d): dropped the oldest mail %s", self.max_queued, old)

    def claim_due(self, now: datetime, limit: int) -> list[QueuedMail]:
        """Up to ``limit`` mails due at ``now`` that no other sender holds, now held by this
        caller until ``now + LEASE``."""
        moment = _seconds(now)
        with self._write() as db:
            rows = db.execute(
                "UPDATE mail SET claimed_until = ? WHERE id IN"
                " (SELECT id FROM mail WHERE due <= ?"
                "  AND (claimed_until IS NULL OR claimed_until <= ?)"
                "  ORDER BY due, id LIMIT ?)"
                " RETURNING id, message, label, failures",
                (moment + LEASE.total_seconds(), moment, moment, limit),
            ).fetchall()
        rows.sort()  # RETURNING has no order; oldest first
        return [
            QueuedMail(
                id=row_id,
                message=cast(EmailMessage, message_from_bytes(raw, policy=MAIL_POLICY)),
                label=label,
                failures=failures,
            )
            for row_id, raw, label, failures in rows
        ]

    def remove(self, mail: QueuedMail) -> None:
        """Forget a mail: delivered, or refused for good."""
        self._db().execute("DELETE FROM mail WHERE id = ?", (mail.id,))

    def retry_later(self, mail: QueuedMail, now: datetime) -> datetime | None:
        """Count one more failed try; returns when the next try is due, or None when that was
        the last one and the mail is gone."""
        failures = mail.failures + 1
        if failures > len(BACKOFF):
            self.remove(mail)
            return None
        due = now.astimezone(UTC) + BACKOFF[failures - 1]
        self._db().execute(
            "UPDATE mail SET failures = ?, due = ?, claimed_until = NULL WHERE id = ?",
            (failures, _seconds(due), mail.id),
        )
        return due

    def __len__(self) -> int:
        return int(self._db().execute("SELECT count(*) FROM mail").fetchone()[0])

    def close(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None and self._local.pid == os.getpid():
            db.close()
        self._local.db = None

"""Rate-limit counters in a local SQLite file: shared by every worker of an instance, with
nothing to install.

A storage class of the `limits` library (what Flask-Limiter counts with), registered under its
own URI scheme, `skillswap-sqlite:///path/to/file.db` (the default: `instance/ratelimits.db`).
`limits` ships no server-free storage shared between processes: its `memory://` counts per
gunicorn worker, so four workers allowed four times every limit. Redis or memcached
(RATELIMIT_STORAGE_URI) remain the choice when several instances must share limits.

Deliberately not the app's key-value store: on Replit DB every counter would be a key named by
whatever an attacker types, and a flood of logins would fill its 5,000 keys.

Each increment is one SQL statement (an upsert that starts a new window when the old one has
expired, returning the count), so of any number of parallel hits on one key across processes
each sees its own count: none can slip past a limit. Only the fixed-window strategy is
supported (Flask-Limiter's default, and all SkillSwap uses).
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from typing import ClassVar
from urllib.parse import unquote

from limits.storage import Storage

from skillswap.store.sqlite import open_wal

SCHEME = "skillswap-sqlite"
BUSY_TIMEOUT_MS = 10_000
PURGE_EVERY = 60.0  # seconds between sweeps of expired counters, per process


def clock() -> float:
    """Seconds since the epoch; tests replace it to let a window pass without sleeping."""
    return time.time()


class SQLiteLimitStorage(Storage):
    STORAGE_SCHEME: ClassVar[list[str]] = [SCHEME]  # how limits' registry finds this class

    def __init__(
        self, uri: str | None = None, wrap_exceptions: bool = False, **options: float | str | bool
    ) -> None:
        prefix = f"{SCHEME}:///"
        if not uri or not uri.startswith(prefix):
            raise ValueError(f"rate-limit storage URIs look like {prefix}path/to/file.db")
        self.path = os.path.abspath(unquote(uri.removeprefix(prefix)))
        # One connection per thread and per process, opened on first use: never before
        # gunicorn forks, never shared by two threads.
        self._local = threading.local()
        self._purged = 0.0
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)

    @property
    def base_exceptions(self) -> type[Exception]:
        return sqlite3.Error

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None or self._local.pid != os.getpid():
            os.makedirs(os.path.dirname(self.path), exist_ok=True)
            db = open_wal(
                self.path,
                busy_timeout_ms=BUSY_TIMEOUT_MS,
                # A counter lost to a power cut costs an attacker's next try nothing worth an
                # fsync.
                synchronous="NORMAL",
                schema=(
                    "CREATE TABLE IF NOT EXISTS counters"
                    " (key TEXT PRIMARY KEY, count INTEGER NOT NULL, expires REAL NOT NULL)",
                    "CREATE INDEX IF NOT EXISTS counters_expires ON counters (expires)",
                ),
            )
            self._local.db, self._local.pid = db, os.getpid()
        return db

    def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        now = clock()
        db = self._db()
        row = db.execute(
            "INSERT INTO counters (key, count, expires) VALUES (?, ?, ?)"
            " ON CONFLICT (key) DO UPDATE SET"
            "  count = CASE WHEN counters.expires <= ? THEN excluded.count"
            "          ELSE counters.count + excluded.count END,"
            "  expires = CASE WHEN counters.expires <= ? THEN excluded.expires"
            "            ELSE counters.expires END"
            " RETURNING count",
            (key, amount, now + expiry, now, now),
        ).fetchone()
        if now - self._purged >= PURGE_EVERY:
            self._purged = now
            db.execute("DELETE FROM counters WHERE expires <= ?", (now,))
        return int(row[0])

    def get(self, key: str) -> int:
        row = (
            self._db()
            .execute("SELECT count FROM counters WHERE key = ? AND expires > ?", (key, clock()))
            .fetchone()
        )
        return int(row[0]) if row else 0

    def get_expiry(self, key: str) -> float:
        now = clock()
        row = (
            self._db()
            .execute("SELECT expires FROM counters WHERE key = ? AND expires > ?", (key, now))
            .fetchone()
        )
        return float(row[0]) if row else now

    def check(self) -> bool:
        try:
            self._db().execute("SELECT 1").fetchone()
        except sqlite3.Error:
            return False
        return True

    def reset(self) -> int | None:
        return self._db().execute("DELETE FROM counters").rowcount

    def clear(self, key: str) -> None:
        self._db().execute("DELETE FROM counters WHERE key = ?", (key,))

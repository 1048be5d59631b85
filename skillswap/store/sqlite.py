"""Embedded SQLite backend: the default outside Replit.

One file in the instance folder, WAL so readers never block the writer, `synchronous=FULL`
so an acknowledged booking survives a power cut, and `BEGIN IMMEDIATE` for every write so
concurrent writers queue on the busy timeout instead of failing with SQLITE_BUSY. Safe across
gunicorn workers on one machine; never put the file on a network file system.
"""

from __future__ import annotations

import os
import random
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from urllib.parse import unquote

from skillswap.store import (
    MAX_VALUE_BYTES,
    KeyBudget,
    StoreUnavailable,
    Updater,
    Usage,
    Value,
    check_limits,
    prefix_upper_bound,
)
from skillswap.store.codec import decode, encode

BUSY_TIMEOUT_MS = 30_000
_BATCH = 500  # stays below SQLite's bound-parameter limit


def open_wal(
    path: str | os.PathLike[str],
    *,
    busy_timeout_ms: int,
    synchronous: str,
    schema: Sequence[str] = (),
) -> sqlite3.Connection:
    """A connection to the SQLite file at `path` in WAL mode, with its `schema` statements run
    (CREATE ... IF NOT EXISTS). Used by every SQLite file the app keeps: the store, the
    rate-limit counters and the mail queue, each opened once per process and thread.

    Switching a file to WAL while another connection is writing to it fails at once with
    "database is locked", without waiting out the busy timeout (SQLite will not wait where
    waiting could deadlock). gunicorn's workers open a new file together on their first
    requests, so one of them answered a sign-up with a 500; the set-up is tried again, with
    short pauses, until the busy timeout has passed."""
    deadline = time.monotonic() + busy_timeout_ms / 1000
    pause = 0.005
    while True:
        db = sqlite3.connect(path, timeout=busy_timeout_ms / 1000, isolation_level=None)
        try:
            db.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(f"PRAGMA synchronous={synchronous}")
            for statement in schema:
                db.execute(statement)
        except sqlite3.Error as exc:
            db.close()
            locked = isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc)
            if not locked or time.monotonic() + pause > deadline:
                raise
            time.sleep(pause * (1 + random.random()))  # apart, not in step with the others
            pause = min(pause * 2, 0.1)
        else:
            return db


class SQLiteStore:
    name = "sqlite"
    budget: KeyBudget | None = None

    def __init__(self, path: str, *, max_value_bytes: int = MAX_VALUE_BYTES) -> None:
        self.path = path
        self.max_value_bytes = max_value_bytes
        if path != ":memory:":
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        # One connection per thread (and per process: a connection is reopened after fork).
        self._local = threading.local()
        with self._write() as db:
            db.execute("CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL)")

    @classmethod
    def from_url(cls, url: str, *, max_value_bytes: int = MAX_VALUE_BYTES, **_: Any) -> SQLiteStore:
        """`sqlite:///relative.db` or `sqlite:////absolute/path.db`, as SQLAlchemy spells them."""
        if not url.startswith("sqlite:///"):
            raise ValueError(f"SQLite URLs look like sqlite:///path/to/file.db, not {url!r}")
        path = unquote(url.removeprefix("sqlite:///"))
        return cls(
            os.path.abspath(path) if path and path != ":memory:" else ":memory:",
            max_value_bytes=max_value_bytes,
        )

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        pid = getattr(self._local, "pid", None)
        if conn is None or pid != os.getpid():
            try:
                conn = open_wal(self.path, busy_timeout_ms=BUSY_TIMEOUT_MS, synchronous="FULL")
            except sqlite3.Error as exc:
                raise StoreUnavailable(f"cannot open SQLite file {self.path}: {exc}") from exc
            self._local.conn, self._local.pid = conn, os.getpid()
        return conn

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        db = self._conn()
        try:
            db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise StoreUnavailable(f"SQLite is busy or read-only: {exc}") from exc
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        else:
            db.execute("COMMIT")

    def get(self, key: str) -> Value | None:
        row = self._conn().execute("SELECT value FROM kv WHERE key = ?", (key,)).fetchone()
        return decode(row[0]) if row else None

    def get_many(self, keys: Iterable[str]) -> dict[str, Value]:
        wanted = list(dict.fromkeys(keys))
        found: dict[str, Value] = {}
        db = self._conn()
        for i in range(0, len(wanted), _BATCH):
            batch = wanted[i : i + _BATCH]
            marks = ",".join("?" * len(batch))
            for key, value in db.execute(
                f"SELECT key, value FROM kv WHERE key IN ({marks})", batch
            ):
                found[key] = decode(value)
        return found

    def put(self, key: str, value: Value) -> None:
        encoded = encode(value)
        check_limits(key, encoded, self.max_value_bytes)
        with self._write() as db:
            db.execute("INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?)", (key, encoded))

    def put_many(self, items: dict[str, Value]) -> None:
        rows = []
        for key, value in items.items():
            encoded = encode(value)
            check_limits(key, encoded, self.max_value_bytes)
            rows.append((key, encoded))
        with self._write() as db:
            db.executemany("INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?)", rows)

    def delete(self, key: str) -> None:
        with self._write() as db:
            db.execute("DELETE FROM kv WHERE key = ?", (key,))

    def keys(
        self, prefix: str = "", start: str | None = None, limit: int | None = None
    ) -> list[str]:
        # A range on the primary key (BINARY collation = byte order), never LIKE, which
        # ignores case and treats _ and % as wildcards.
        low = max(prefix, start) if start is not None else prefix
        high = prefix_upper_bound(prefix)
        sql, args = "SELECT key FROM kv WHERE key >= ?", [low]
        if high is not None:
            sql += " AND key < ?"
            args.append(high)
        sql += " ORDER BY key"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(limit)
        return [row[0] for row in self._conn().execute(sql, args)]

    def put_new(self, key: str, value: Value) -> bool:
        encoded = encode(value)
        check_limits(key, encoded, self.max_value_bytes)
        with self._write() as db:
            cur = db.execute(
                "INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT(key) DO NOTHING",
                (key, encoded),
            )
            return cur.rowcount == 1

    def update(self, key: str, fn: Updater) -> Value | None:
        check_limits(key)
        with self._write() as db:
            row = db.execute("SELECT value FROM kv WHERE key = ?", (key,)).fetchone()
            new = fn(decode(row[0]) if row else None)
            if new is None:
                db.execute("DELETE FROM kv WHERE key = ?", (key,))
            else:
                encoded = encode(new)
                check_limits(key, encoded, self.max_value_bytes)
                db.execute("INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?)", (key, encoded))
            return new

    def stats(self) -> Usage:
        row = (
            self._conn()
            .execute("SELECT count(*), coalesce(sum(length(key) + length(value)), 0) FROM kv")
            .fetchone()
        )
        return Usage(keys=row[0], bytes=row[1])

    def usage(self) -> Usage:
        return self.stats()

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def snapshot(self) -> Iterator[tuple[str, Value]]:
        # Its own connection, in one read transaction: under WAL it reads the database as it
        # was when the read began, while writers carry on, and the thread's own connection
        # stays free for writes meanwhile.
        own = self.path != ":memory:"
        db = (
            sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
            if own
            else self._conn()
        )
        try:
            db.execute("BEGIN")
            for key, value in db.execute("SELECT key, value FROM kv ORDER BY key"):
                yield key, decode(value)
            db.execute("COMMIT")
        finally:
            if own:
                db.close()

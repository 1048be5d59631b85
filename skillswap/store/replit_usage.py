"""How many keys and bytes this instance's Replit Database holds, without reading it all.

Replit DB has no size query: the exact figure means reading every value (`ReplitStore.stats`,
`flask store-stats`). Sign-ups and new offers must check the 90 % ceiling on every attempt, so
the store keeps a ledger of the size of each key it writes, in a small SQLite file beside its
write lock. Every write already holds that lock (one instance, any number of workers: see
replit.py), so the ledger changes in step with the database. `reconcile` compares the ledger
with a key listing (one request) and reads only the keys it does not know, so a lost ledger,
a reset database or a key written by hand heals itself; a value rewritten by another program
under an existing key is the one thing it misses until the next `flask store-stats`.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Callable, Iterable

from skillswap.store import Usage
from skillswap.store.sqlite import open_wal


class UsageLedger:
    def __init__(self, path: str) -> None:
        self.path = path
        self._local = threading.local()

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None or getattr(self._local, "pid", None) != os.getpid():
            conn = open_wal(
                self.path,
                busy_timeout_ms=30_000,
                synchronous="FULL",
                schema=("CREATE TABLE IF NOT EXISTS size (key TEXT PRIMARY KEY, bytes INT)",),
            )
            self._local.conn, self._local.pid = conn, os.getpid()
        return conn

    def record(self, sizes: Iterable[tuple[str, int | None]]) -> None:
        """Keys written (their new size in bytes, key included) or deleted (None)."""
        rows = list(sizes)
        db = self._conn()
        with db:
            db.executemany(
                "INSERT OR REPLACE INTO size VALUES (?, ?)",
                [(k, n) for k, n in rows if n is not None],
            )
            db.executemany("DELETE FROM size WHERE key = ?", [(k,) for k, n in rows if n is None])

    def replace_all(self, sizes: dict[str, int]) -> None:
        db = self._conn()
        with db:
            db.execute("DELETE FROM size")
            db.executemany("INSERT INTO size VALUES (?, ?)", list(sizes.items()))

    def reconcile(
        self, listed: list[str], sizes_of: Callable[[list[str]], dict[str, int]]
    ) -> Usage:
        """Bring the ledger in line with the keys the database lists, then total it."""
        db = self._conn()
        known = {row[0] for row in db.execute("SELECT key FROM size")}
        present = set(listed)
        gone = known - present
        unknown = sorted(present - known)
        if gone:
            self.record((key, None) for key in gone)
        if unknown:
            self.record(sizes_of(unknown).items())
        keys, total = db.execute("SELECT count(*), coalesce(sum(bytes), 0) FROM size").fetchone()
        return Usage(keys=int(keys), bytes=int(total))

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None and getattr(self._local, "pid", None) == os.getpid():
            conn.close()
        self._local.conn = None

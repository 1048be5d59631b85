"""Every SQLite file the app keeps (the store, the rate-limit counters, the mail queue, the
Replit DB usage ledger) opens while another process is writing to it: gunicorn's workers open
a new file together on their first requests. Switching to WAL then failed at once with
"database is locked", busy timeout or not, and a sign-up answered 500 (seen in a loaded run of
tests/web/test_http_races.py). A file that is no database is refused at once, not retried."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from skillswap.mail.retry import RetryQueue
from skillswap.store.replit_usage import UsageLedger
from skillswap.store.sqlite import SQLiteStore, open_wal
from skillswap.web.auth.limit_storage import SQLiteLimitStorage


def use_store(path: Path) -> None:
    SQLiteStore(str(path)).get("user/nobody")


def use_counters(path: Path) -> None:
    SQLiteLimitStorage(f"skillswap-sqlite:///{path}").incr("login/192.0.2.1", 60)


def use_usage_ledger(path: Path) -> None:
    UsageLedger(str(path)).record([("user/ada", 120)])


def use_mail_queue(path: Path) -> None:
    RetryQueue(path).claim_due(datetime.now(UTC), 1)


@pytest.mark.parametrize("use", [use_store, use_counters, use_mail_queue, use_usage_ledger])
def test_a_file_opens_while_another_connection_writes_to_it(
    tmp_path: Path, use: Callable[[Path], None]
) -> None:
    path = tmp_path / "shared.db"
    writer = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    writer.execute("CREATE TABLE other (x)")  # a file still in rollback-journal mode...
    writer.execute("BEGIN IMMEDIATE")  # ...with a write under way in another process
    done = threading.Timer(0.3, lambda: writer.execute("COMMIT"))
    done.start()
    try:
        use(path)
    finally:
        done.join()
        writer.close()
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_a_file_that_is_not_a_database_is_refused_at_once(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_bytes(b"not a database at all, and longer than a header " * 4)
    with pytest.raises(sqlite3.DatabaseError):
        open_wal(path, busy_timeout_ms=10_000, synchronous="FULL")

"""PostgreSQL backend: what several app instances on several machines share safely.

psycopg 3 with a `psycopg_pool.ConnectionPool` that is created lazily and re-created after a
fork, one `kv(key text COLLATE "C" PRIMARY KEY, value jsonb NOT NULL)` table created on first
use, and every failure to reach the server reported as `StoreUnavailable` (the web layer
answers 503) while the pool keeps reconnecting in the background.

Kept as one module over ~300 lines on purpose: the pool's fork handling, the row-lock
`update` and the outage mapping are one concern, read together when anything changes.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import ConnectionPool, PoolTimeout

from skillswap.store import (
    MAX_VALUE_BYTES,
    KeyBudget,
    StoreLimitError,
    StoreUnavailable,
    Updater,
    Usage,
    Value,
    check_limits,
    prefix_upper_bound,
)
from skillswap.store.codec import encode

log = logging.getLogger(__name__)

TABLE_SQL = 'CREATE TABLE IF NOT EXISTS kv (key text COLLATE "C" PRIMARY KEY, value jsonb NOT NULL)'
# Arbitrary constant: serialises table creation between processes that start together, because
# two concurrent CREATE TABLE IF NOT EXISTS can both pass the existence check and one then
# fails on the catalog's unique index.
_SCHEMA_LOCK_ID = 0x536B696C6C53_7761  # "SkillSwa"

_UPSERT_SQL = (
    "INSERT INTO kv (key, value) VALUES (%s, %s::jsonb)"
    " ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value"
)
# Locks the row for `update` whether or not it existed: an absent key gets a placeholder row
# (JSON null, read back as "missing") that only this transaction can see. See `update`.
_LOCK_ROW_SQL = (
    "INSERT INTO kv AS t (key, value) VALUES (%s, 'null'::jsonb)"
    " ON CONFLICT (key) DO UPDATE SET value = t.value RETURNING t.value"
)
_BATCH = 1000  # rows per transaction in put_many: bounded lock time and memory on big imports

# Guards lazy pool creation. Replaced in a forked child, where it may have been copied while
# another thread of the parent held it.
_pool_lock = threading.Lock()
# Pools inherited through a fork. The child keeps a reference so they are never garbage
# collected there: collecting one would stop worker threads that do not exist in the child and
# warn about connections that belong to the parent.
_inherited_pools: list[ConnectionPool[Any]] = []


def _reset_after_fork() -> None:
    global _pool_lock
    _pool_lock = threading.Lock()


os.register_at_fork(after_in_child=_reset_after_fork)


def _without_nul(bound: str) -> str:
    # PostgreSQL text cannot hold NUL, so no stored key contains one; the smallest NUL-free
    # string >= "ab\0..." is "ab\x01", which selects exactly the same keys.
    cut = bound.find("\x00")
    return bound if cut < 0 else bound[:cut] + "\x01"


def keys_query(
    prefix: str = "", start: str | None = None, limit: int | None = None
) -> tuple[str, list[Any]] | None:
    """SQL for `keys()`: a primary-key range, never LIKE (None: nothing can match).

    LIKE ignores the index under a non-C collation and treats `_` and `%` as wildcards; the
    column's "C" collation makes the range and ORDER BY byte (code point) order.
    """
    if "\x00" in prefix:
        return None
    low = max(prefix, start) if start is not None else prefix
    sql, args = "SELECT key FROM kv WHERE key >= %s", [_without_nul(low)]
    high = prefix_upper_bound(prefix)
    if high is not None:
        if "\ud800" <= high[-1] <= "\udfff":
            # Surrogates cannot be encoded as UTF-8; U+E000 is the next code point after them.
            high = high[:-1] + "\ue000"
        sql += " AND key < %s"
        args.append(high)
    sql += " ORDER BY key"
    if limit is not None:
        sql += " LIMIT %s"
        args.append(limit)
    return sql, args


class PostgresStore:
    name = "postgresql"
    budget: KeyBudget | None = None

    def __init__(
        self,
        conninfo: str,
        *,
        max_value_bytes: int = MAX_VALUE_BYTES,
        min_size: int = 1,
        max_size: int = 10,
        connect_timeout: float = 5.0,
        pool_timeout: float = 10.0,
        reconnect_timeout: float = 30.0,
    ) -> None:
        self.conninfo = conninfo
        self.max_value_bytes = max_value_bytes
        self.min_size = min_size
        self.max_size = max_size
        self.connect_timeout = connect_timeout
        self.pool_timeout = pool_timeout
        self.reconnect_timeout = reconnect_timeout
        params = conninfo_to_dict(conninfo)
        # Names the server in messages and logs; built field by field so it never holds the
        # password.
        self.where = "{}@{}:{}/{}".format(
            params.get("user", ""),
            params.get("host", "localhost"),
            params.get("port", "5432"),
            params.get("dbname", ""),
        )
        self._pool: ConnectionPool[Any] | None = None
        self._pid = os.getpid()
        self._table_ready = False
        self._last_connect_error: str | None = None

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        max_value_bytes: int = MAX_VALUE_BYTES,
        min_size: int = 1,
        max_size: int = 10,
        connect_timeout: float = 5.0,
        pool_timeout: float = 10.0,
        reconnect_timeout: float = 30.0,
        **_: Any,
    ) -> PostgresStore:
        """`postgresql://user:password@host:port/dbname?sslmode=require`, as libpq reads it.

        Options the other backends take are ignored, so the app can pass one set to any store.
        """
        if not url.startswith(("postgresql:", "postgres:")):
            raise ValueError("PostgreSQL URLs look like postgresql://user:password@host/dbname")
        return cls(
            url,
            max_value_bytes=max_value_bytes,
            min_size=min_size,
            max_size=max_size,
            connect_timeout=connect_timeout,
            pool_timeout=pool_timeout,
            reconnect_timeout=reconnect_timeout,
        )

    def __repr__(self) -> str:
        return f"<PostgresStore {self.where}>"

    # -- connections ---------------------------------------------------------------------

    def _get_pool(self) -> ConnectionPool[Any]:
        pid = os.getpid()
        pool = self._pool
        if pool is not None and self._pid == pid:
            return pool
        with _pool_lock:
            if self._pool is not None and self._pid != pid:
                # Inherited from the parent (gunicorn forks workers after create_app): its
                # sockets are the parent's, so using or closing them here would corrupt the
                # parent's sessions.
                _inherited_pools.append(self._pool)
                self._pool = None
            if self._pool is None:
                self._pool = self._new_pool()
                self._pid = pid
            return self._pool

    def _new_pool(self) -> ConnectionPool[Any]:
        store = self

        class RecordingConnection(psycopg.Connection[Any]):
            """Remembers why the last connection attempt failed.

            The pool connects in background threads and only says "couldn't get a connection
            after N sec"; the libpq error (refused, bad password, unknown database) makes the
            StoreUnavailable message actionable.
            """

            @classmethod
            def connect(cls, *args: Any, **kwargs: Any) -> RecordingConnection:
                try:
                    conn = super().connect(*args, **kwargs)
                except psycopg.Error as exc:
                    store._last_connect_error = str(exc).strip()
                    raise
                store._last_connect_error = None
                return conn

        pool: ConnectionPool[Any] = ConnectionPool(
            self.conninfo,
            connection_class=RecordingConnection,
            kwargs={
                "autocommit": True,
                "connect_timeout": max(1, round(self.connect_timeout)),
                "application_name": "skillswap",
            },
            min_size=self.min_size,
            max_size=self.max_size,
            timeout=self.pool_timeout,
            # Bounded so that after a long outage a failed slot is given up and the next
            # request grows the pool at once, instead of waiting out an ever longer backoff.
            reconnect_timeout=self.reconnect_timeout,
            # A round trip per checkout, but idle connections killed by a server restart are
            # discarded instead of failing the request that picks them up.
            check=ConnectionPool.check_connection,
            name=f"skillswap-{os.getpid()}",
            open=False,
        )
        # Not waiting: a server that is down at first use must cost one request a
        # StoreUnavailable, not hang the caller; the pool keeps connecting in the background.
        pool.open(wait=False)
        return pool

    def _unavailable(self, detail: str) -> StoreUnavailable:
        message = f"PostgreSQL at {self.where} is unavailable: {detail}"
        log.warning("%s", message)
        return StoreUnavailable(message)

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection[Any]]:
        try:
            with self._get_pool().connection() as conn:
                if not self._table_ready:
                    self._create_table(conn)
                yield conn
        except PoolTimeout as exc:
            reason = self._last_connect_error or (
                f"all {self.max_size} pooled connections stayed busy for {self.pool_timeout:g} s"
            )
            raise self._unavailable(reason) from exc
        except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
            raise self._unavailable(str(exc).strip() or type(exc).__name__) from exc
        except psycopg.errors.UndefinedTable as exc:
            # Dropped behind our back (a restore, a reset): create it again on the next call
            # rather than failing every request until a restart.
            self._table_ready = False
            raise self._unavailable(f"{exc}".strip()) from exc
        except psycopg.DataError as exc:
            # jsonb refuses what JSON text allows: "\u0000" in strings, NaN and Infinity.
            raise StoreLimitError(f"PostgreSQL cannot store this value: {exc}") from exc

    def _create_table(self, conn: psycopg.Connection[Any]) -> None:
        # Checking first means a role without CREATE on the schema can use a table an
        # administrator created, and a normal start takes no lock at all.
        exists = conn.execute("SELECT to_regclass('kv') IS NOT NULL").fetchone()
        if not (exists and exists[0]):
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK_ID,))
                conn.execute(TABLE_SQL)
        self._table_ready = True

    # -- the contract ----------------------------------------------------------------------

    def get(self, key: str) -> Value | None:
        if "\x00" in key:
            return None
        with self._connection() as conn:
            row = conn.execute("SELECT value FROM kv WHERE key = %s", (key,)).fetchone()
        return row[0] if row else None

    def get_many(self, keys: Iterable[str]) -> dict[str, Value]:
        wanted = [key for key in dict.fromkeys(keys) if "\x00" not in key]
        if not wanted:
            return {}
        with self._connection() as conn:
            rows = conn.execute("SELECT key, value FROM kv WHERE key = ANY(%s)", (wanted,))
            return dict(rows.fetchall())

    def put(self, key: str, value: Value) -> None:
        encoded = self._checked(key, value)
        with self._connection() as conn:
            conn.execute(_UPSERT_SQL, (key, encoded))

    def put_many(self, items: dict[str, Value]) -> None:
        rows = [(key, self._checked(key, value)) for key, value in items.items()]
        with self._connection() as conn:
            for i in range(0, len(rows), _BATCH):
                with conn.transaction(), conn.cursor() as cur:
                    cur.executemany(_UPSERT_SQL, rows[i : i + _BATCH])

    def delete(self, key: str) -> None:
        if "\x00" in key:
            return
        with self._connection() as conn:
            conn.execute("DELETE FROM kv WHERE key = %s", (key,))

    def keys(
        self, prefix: str = "", start: str | None = None, limit: int | None = None
    ) -> list[str]:
        query = keys_query(prefix, start, limit)
        if query is None:
            return []
        with self._connection() as conn:
            return [row[0] for row in conn.execute(query[0], query[1])]

    def put_new(self, key: str, value: Value) -> bool:
        encoded = self._checked(key, value)
        with self._connection() as conn:
            cur = conn.execute(
                "INSERT INTO kv (key, value) VALUES (%s, %s::jsonb) ON CONFLICT (key) DO NOTHING",
                (key, encoded),
            )
            return cur.rowcount == 1

    def update(self, key: str, fn: Updater) -> Value | None:
        """Atomic read-modify-write, including on a key that does not exist yet.

        `SELECT ... FOR UPDATE` locks no missing row, so two updates of an absent counter would
        both read None. Instead one upsert locks the row in every case: an existing row gets a
        no-op `DO UPDATE` (which takes its row lock and returns the latest committed value), an
        absent key gets a placeholder row only this transaction sees. Chosen over an advisory
        lock because the primary key itself is then the lock, so plain `put`, `put_new` and
        `delete` (which take no advisory lock) still serialise with `update`: an insert of the
        same key waits on the uncommitted placeholder, a write or delete of an existing row
        waits on its row lock. One round trip, no retry loop, and `fn` runs exactly once.
        A placeholder left by a failing `fn` disappears with the rollback.
        """
        check_limits(key)
        if "\x00" in key:
            raise StoreLimitError("PostgreSQL keys cannot contain NUL characters")
        with self._connection() as conn, conn.transaction():
            row = conn.execute(_LOCK_ROW_SQL, (key,)).fetchone()
            # JSON null means "absent" here, as it does for get(): put(key, None) reads back
            # as None too.
            current = row[0] if row else None
            new = fn(current)
            if new is None:
                conn.execute("DELETE FROM kv WHERE key = %s", (key,))
            else:
                encoded = self._checked(key, new)
                conn.execute("UPDATE kv SET value = %s::jsonb WHERE key = %s", (encoded, key))
            return new

    def stats(self) -> Usage:
        with self._connection() as conn:
            row = conn.execute(
                "SELECT count(*), coalesce(sum(octet_length(key) + octet_length(value::text)), 0)"
                " FROM kv"
            ).fetchone()
        assert row is not None  # an aggregate always returns a row
        return Usage(keys=int(row[0]), bytes=int(row[1]))

    def usage(self) -> Usage:
        return self.stats()

    def close(self) -> None:
        with _pool_lock:
            pool, self._pool = self._pool, None
        if pool is None:
            return
        if self._pid == os.getpid():
            pool.close()
        else:
            _inherited_pools.append(pool)

    def _checked(self, key: str, value: Value) -> str:
        encoded = encode(value)
        check_limits(key, encoded, self.max_value_bytes)
        if "\x00" in key:
            raise StoreLimitError("PostgreSQL keys cannot contain NUL characters")
        return encoded

    def snapshot(self) -> Iterator[tuple[str, Value]]:
        # One REPEATABLE READ transaction sees the table as it was at its first query; a
        # server-side cursor streams it without holding every row in memory.
        with self._connection() as conn, conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            with conn.cursor(name="skillswap_snapshot") as cursor:
                cursor.itersize = _BATCH
                cursor.execute("SELECT key, value FROM kv ORDER BY key")
                yield from cursor

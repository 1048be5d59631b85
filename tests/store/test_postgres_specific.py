"""What only the PostgreSQL backend has to get right; the shared contract suite covers the rest."""

from __future__ import annotations

import logging
import multiprocessing
import threading
import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from skillswap.store import StoreLimitError, StoreUnavailable, Usage
from skillswap.store.postgres import PostgresStore, keys_query
from tests.support.postgres import PostgresCluster, with_dbname

pytestmark = pytest.mark.postgres


@pytest.fixture
def store(fresh_postgres_url: str) -> Iterator[PostgresStore]:
    opened = PostgresStore.from_url(fresh_postgres_url, pool_timeout=5)
    yield opened
    opened.close()


def sql(url: str, query: str, *args: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(url, autocommit=True) as conn:
        cur = conn.execute(query, args)
        return cur.fetchall() if cur.description else []


def test_table_is_created_on_first_use_with_byte_order_keys(fresh_postgres_url: str) -> None:
    assert sql(fresh_postgres_url, "SELECT to_regclass('kv')") == [(None,)]
    store = PostgresStore.from_url(fresh_postgres_url)
    try:
        assert store.get("nothing") is None
        columns = sql(
            fresh_postgres_url,
            "SELECT a.attname, format_type(a.atttypid, a.atttypmod), c.collname, a.attnotnull"
            " FROM pg_attribute a LEFT JOIN pg_collation c ON c.oid = a.attcollation"
            " WHERE a.attrelid = 'kv'::regclass AND a.attnum > 0 ORDER BY a.attnum",
        )
        assert columns == [("key", "text", "C", True), ("value", "jsonb", None, True)]
        primary = sql(
            fresh_postgres_url,
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE conrelid = 'kv'::regclass AND contype = 'p'",
        )
        assert primary == [("PRIMARY KEY (key)",)]
    finally:
        store.close()


def test_processes_starting_together_all_get_the_table(fresh_postgres_url: str) -> None:
    # Separate stores = separate sessions, as separate gunicorn workers would have.
    stores = [PostgresStore.from_url(fresh_postgres_url) for _ in range(8)]
    barrier = threading.Barrier(len(stores))
    errors: list[BaseException] = []

    def first_call(store: PostgresStore, n: int) -> None:
        barrier.wait()
        try:
            store.put(f"k{n}", n)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=first_call, args=(s, n)) for n, s in enumerate(stores)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for store in stores:
        store.close()
    assert errors == []
    assert sql(fresh_postgres_url, "SELECT count(*) FROM kv") == [(8,)]


def test_keys_is_a_primary_key_range_scan(store: PostgresStore, fresh_postgres_url: str) -> None:
    store.put_many({f"user_{i:03}": i for i in range(50)})
    query = keys_query("user_%", start="user_%5", limit=10)
    assert query is not None
    text, args = query
    assert "like" not in text.lower()
    with psycopg.connect(fresh_postgres_url, autocommit=True) as conn:
        conn.execute("ANALYZE kv")
        # A 50-row table would be seq-scanned anyway; this asks whether an index plan exists.
        conn.execute("SET enable_seqscan = off")
        plan = "\n".join(row[0] for row in conn.execute("EXPLAIN " + text, args))
    assert "Index Only Scan using kv_pkey" in plan or "Index Scan using kv_pkey" in plan, plan
    assert "Seq Scan" not in plan and "Filter" not in plan, plan
    assert "Index Cond: ((key >= " in plan and "(key < " in plan, plan


def test_keys_are_byte_ordered_even_when_the_database_collation_is_not(
    postgres_url: str,
) -> None:
    # The session cluster uses the C locale, which would hide a missing COLLATE "C" on the
    # column; an ICU (or en_US) database sorts "a" < "B" and ignores "_" at first level.
    name = f"skillswap_icu_{int(time.time() * 1000)}"
    admin = with_dbname(postgres_url, "postgres")
    created = False
    for clause in ("LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C'", "LOCALE 'en_US.UTF-8'"):
        try:
            sql(admin, f"CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8' {clause}")
        except psycopg.Error:
            continue
        created = True
        break
    if not created:
        pytest.skip("this server offers neither ICU nor the en_US.UTF-8 locale")
    url = with_dbname(postgres_url, name)
    store = PostgresStore.from_url(url)
    try:
        assert sql(url, "SELECT 'a' < 'B' COLLATE \"default\"") == [(True,)]  # truly not C
        keys = ["p:B", "p:a", "p:_x", "p:%y", "p:Z", "p:é", "p:😀", "p:a_b", "p:ab", "q:a"]
        store.put_many(dict.fromkeys(keys, 1))
        assert store.keys("p:") == sorted(k for k in keys if k.startswith("p:"))
        assert store.keys("p:a_") == ["p:a_b"]
        assert store.keys("p:%") == ["p:%y"]
    finally:
        store.close()
        sql(admin, f"DROP DATABASE {name} WITH (FORCE)")


def test_update_of_a_missing_key_holds_off_a_concurrent_put_new(store: PostgresStore) -> None:
    # FOR UPDATE alone locks no missing row: put_new would slip in while fn runs, report
    # True, and then be overwritten by the update.
    inside_fn = threading.Event()
    release = threading.Event()
    put_new_result: list[bool] = []

    def slow_increment(current: int | None) -> int:
        inside_fn.set()
        assert release.wait(30)
        return (current or 0) + 1

    updater = threading.Thread(target=store.update, args=("counter", slow_increment))
    updater.start()
    assert inside_fn.wait(30)
    inserter = threading.Thread(target=lambda: put_new_result.append(store.put_new("counter", 100)))
    inserter.start()
    inserter.join(0.5)
    assert inserter.is_alive(), "put_new did not wait for the update holding the key"
    release.set()
    updater.join(30)
    inserter.join(30)
    assert put_new_result == [False]
    assert store.get("counter") == 1


def test_failed_update_leaves_no_trace_of_a_missing_key(store: PostgresStore) -> None:
    def refuse(current: Any) -> Any:
        raise LookupError("refused")

    with pytest.raises(LookupError):
        store.update("absent", refuse)
    assert store.get("absent") is None
    assert store.keys("abs") == []
    assert store.put_new("absent", 1) is True


def test_values_jsonb_cannot_hold_are_refused_clearly(store: PostgresStore) -> None:
    with pytest.raises(StoreLimitError, match="PostgreSQL cannot store"):
        store.put("nul", "a\x00b")
    with pytest.raises(StoreLimitError, match="PostgreSQL cannot store"):
        store.update("nan", lambda _: float("nan"))
    with pytest.raises(StoreLimitError, match="NUL"):
        store.put("a\x00b", 1)
    assert store.get("a\x00b") is None
    assert store.keys("a\x00") == []
    assert store.keys() == []


def test_stats_counts_keys_and_bytes(store: PostgresStore) -> None:
    assert store.stats() == Usage(keys=0, bytes=0)
    store.put("ab", "é")
    assert store.stats() == Usage(keys=1, bytes=2 + len('"é"'.encode()))


def test_a_dropped_table_is_recreated(store: PostgresStore, fresh_postgres_url: str) -> None:
    store.put("a", 1)
    sql(fresh_postgres_url, "DROP TABLE kv")
    with pytest.raises(StoreUnavailable, match="kv"):
        store.get("a")
    assert store.get("a") is None
    store.put("a", 2)
    assert store.get("a") == 2


def test_unavailable_while_the_server_is_down_then_recovers_by_itself(
    postgres_cluster: PostgresCluster, caplog: pytest.LogCaptureFixture
) -> None:
    password = "s3cret-pw"  # trust authentication accepts any password
    url = postgres_cluster.url("skillswap_test").replace("postgres@", f"postgres:{password}@")
    store = PostgresStore.from_url(url, pool_timeout=1, connect_timeout=2)
    try:
        store.put("survivor", {"n": 1})
        with postgres_cluster.stopped(), caplog.at_level(logging.WARNING):
            calls = [
                lambda: store.get("survivor"),
                lambda: store.get_many(["survivor"]),
                lambda: store.put("x", 1),
                lambda: store.put_new("x", 1),
                lambda: store.update("x", lambda v: 1),
                lambda: store.delete("x"),
                lambda: store.keys("s"),
            ]
            for call in calls:
                began = time.monotonic()
                with pytest.raises(StoreUnavailable) as raised:
                    call()
                assert time.monotonic() - began < 10
                message = str(raised.value)
                assert "127.0.0.1" in message and "refused" in message.lower()
                assert password not in message
        assert any("unavailable" in r.getMessage() for r in caplog.records)
        assert all(password not in r.getMessage() for r in caplog.records)

        # Same store object, never reopened: the pool reconnects on its own.
        deadline = time.monotonic() + 30
        while True:
            try:
                value = store.get("survivor")
                break
            except StoreUnavailable:
                assert time.monotonic() < deadline, "store did not recover after the restart"
                time.sleep(0.2)
        assert value == {"n": 1}
        store.put("after", 2)
        assert store.get_many(["survivor", "after"]) == {"survivor": {"n": 1}, "after": 2}
    finally:
        store.close()


def _backend_pid(store: PostgresStore) -> int:
    with store._connection() as conn:
        row = conn.execute("SELECT pg_backend_pid()").fetchone()
    assert row is not None
    return int(row[0])


def _child_uses_store(store: PostgresStore, parent_pid: int, out: Any) -> None:
    try:
        before = store.get("from-parent")
        store.put("from-child", before + 1)
        out.put(("ok", _backend_pid(store) != parent_pid))
    except BaseException as exc:
        out.put(("error", repr(exc)))


@pytest.mark.filterwarnings("ignore:.*fork.*:DeprecationWarning")
def test_a_forked_child_opens_its_own_pool(store: PostgresStore) -> None:
    # Like gunicorn: the store is used before the fork (app start-up checks), then by workers.
    store.max_size = 1  # one pooled connection, so "not the parent's" is decidable
    store.put("from-parent", 41)
    parent_pid = _backend_pid(store)
    context = multiprocessing.get_context("fork")
    out = context.Queue()
    child = context.Process(target=_child_uses_store, args=(store, parent_pid, out))
    child.start()
    status, detail = out.get(timeout=60)
    child.join(60)
    assert (status, detail) == ("ok", True)
    assert child.exitcode == 0
    # The parent's connection was not touched by the child.
    assert _backend_pid(store) == parent_pid
    assert store.get("from-child") == 42

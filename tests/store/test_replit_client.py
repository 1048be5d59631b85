"""The Replit DB client against the fake server's failure switches, and the fake's fidelity."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from skillswap.store import StoreError, StoreLimitError, StoreUnavailable, Usage, open_store
from skillswap.store.replit import ReplitStore
from tests.support.fake_replitdb import FakeReplitDB


@pytest.fixture
def url_file(fake_replitdb: FakeReplitDB, tmp_path: Path) -> Path:
    return fake_replitdb.write_url_file(tmp_path / "replitdb")


@pytest.fixture
def client_options(
    url_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> dict[str, Any]:
    monkeypatch.delenv("REPLIT_DB_URL", raising=False)
    # Quick backoff and a short timeout keep the failure tests fast.
    return {
        "url_file": str(url_file),
        "lock_path": str(tmp_path / "replit.lock"),
        "timeout": 0.5,
        "backoff": 0.01,
    }


@pytest.fixture
def client(client_options: dict[str, Any]) -> Iterator[ReplitStore]:
    store = ReplitStore.from_url("replit", **client_options)
    try:
        yield store
    finally:
        store.close()


def _assert_no_token(exc: BaseException, fake: FakeReplitDB, *old_tokens: str) -> None:
    text = f"{exc} {exc!r} {exc.__cause__!r} {exc.__context__!r}"
    for token in (fake.token, *old_tokens):
        assert token not in text
    assert "/v0/" not in text


# -- resolving the URL ------------------------------------------------------------------


def test_open_store_names_replit(client_options: dict[str, Any]) -> None:
    store = open_store("replit", **client_options)
    try:
        assert isinstance(store, ReplitStore)
        assert store.name == "replit"
        store.put("k", 1)
        assert store.get("k") == 1
    finally:
        store.close()


def test_url_with_token_in_store_url_is_refused(client_options: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="db_url"):
        ReplitStore.from_url("replit://kv.replit.com/v0/secret", **client_options)


def test_url_file_wins_over_env_and_option(
    fake_replitdb: FakeReplitDB, client_options: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REPLIT_DB_URL", "http://127.0.0.1:9/v0/wrong-env")
    store = ReplitStore(db_url="http://127.0.0.1:9/v0/wrong-option", **client_options)
    try:
        store.put("k", "via file")
        assert fake_replitdb.data == {"k": '"via file"'}
    finally:
        store.close()


def test_the_option_when_no_file_and_no_environment_read(
    fake_replitdb: FakeReplitDB, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The URL comes from the file Replit rewrites, else from the db_url option (which the
    settings fill from REPLIT_DB_URL): the store itself reads no environment variable."""
    monkeypatch.setenv("REPLIT_DB_URL", "http://127.0.0.1:9/v0/wrong-environment")
    monkeypatch.setenv("SKILLSWAP_REPLIT_LOCK", str(tmp_path / "env.lock"))
    store = ReplitStore(
        db_url=fake_replitdb.url,
        url_file=str(tmp_path / "absent"),
        lock_path=str(tmp_path / "option.lock"),
    )
    try:
        store.put("option", 2)
        assert store.lock_path == str(tmp_path / "option.lock")
        assert (tmp_path / "option.lock").exists()
        assert not (tmp_path / "env.lock").exists()
    finally:
        store.close()
    assert fake_replitdb.data["option"] == "2"


def test_no_url_anywhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REPLIT_DB_URL", raising=False)
    with pytest.raises(StoreUnavailable, match="REPLIT_DB_URL"):
        ReplitStore(url_file=str(tmp_path / "absent"), lock_path=str(tmp_path / "lock"))


def test_the_lock_path_option_is_created(url_file: Path, tmp_path: Path) -> None:
    store = ReplitStore(url_file=str(url_file), lock_path=str(tmp_path / "sub" / "a.lock"))
    try:
        store.put("k", 1)
        assert (tmp_path / "sub" / "a.lock").exists()
    finally:
        store.close()


# -- retries and failures ---------------------------------------------------------------


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_transient_status_is_retried(
    client: ReplitStore, fake_replitdb: FakeReplitDB, status: int
) -> None:
    fake_replitdb.fail_next(status, count=2)
    client.put("k", {"v": 1})
    assert fake_replitdb.request_count == 3
    fake_replitdb.fail_next(status, count=2)
    assert client.get("k") == {"v": 1}
    fake_replitdb.fail_next(status)
    assert client.keys() == ["k"]
    fake_replitdb.fail_next(status)
    client.delete("k")
    assert fake_replitdb.data == {}


def test_persistent_500_is_unavailable(client: ReplitStore, fake_replitdb: FakeReplitDB) -> None:
    fake_replitdb.fail_next(500, count=100)
    with pytest.raises(StoreUnavailable, match="HTTP 500") as caught:
        client.get("k")
    assert fake_replitdb.request_count == 4  # the first try and three retries
    _assert_no_token(caught.value, fake_replitdb)
    with pytest.raises(StoreUnavailable):
        client.put("k", 1)
    with pytest.raises(StoreUnavailable):
        client.update("k", lambda cur: 1)


@pytest.mark.parametrize("status", [401, 403])
def test_token_rotation_rereads_url_file(
    client: ReplitStore, fake_replitdb: FakeReplitDB, url_file: Path, status: int
) -> None:
    client.put("k", "before")
    old_token = fake_replitdb.token
    new_url = fake_replitdb.rotate_token()
    url_file.write_text(new_url, encoding="utf-8")  # what Replit does when it rotates
    if status == 403:
        fake_replitdb.fail_next(403)
    assert client.get("k") == "before"
    client.put("k", "after")
    assert client.get("k") == "after"
    assert old_token != fake_replitdb.token


def test_rotated_token_without_new_url_is_unavailable(
    client: ReplitStore, fake_replitdb: FakeReplitDB
) -> None:
    old_token = fake_replitdb.token
    fake_replitdb.rotate_token()
    with pytest.raises(StoreUnavailable, match="401") as caught:
        client.get("k")
    _assert_no_token(caught.value, fake_replitdb, old_token)
    assert fake_replitdb.request_count == 2  # retried exactly once


def test_timeout_is_unavailable(client: ReplitStore, fake_replitdb: FakeReplitDB) -> None:
    fake_replitdb.timeout_next(100)
    started = time.monotonic()
    with pytest.raises(StoreUnavailable, match="timed out") as caught:
        client.get("k")
    assert time.monotonic() - started < 10
    _assert_no_token(caught.value, fake_replitdb)


def test_one_timeout_is_retried(client: ReplitStore, fake_replitdb: FakeReplitDB) -> None:
    fake_replitdb.timeout_next(1)
    client.put("k", 1)
    assert fake_replitdb.data == {"k": "1"}


def test_unreachable_server_is_unavailable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REPLIT_DB_URL", raising=False)
    # A port nothing listens on: bind one, note it, close it.
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    token = "secret-token-that-must-not-leak"
    (tmp_path / "url").write_text(f"http://127.0.0.1:{port}/v0/{token}")
    store = ReplitStore(
        url_file=str(tmp_path / "url"), lock_path=str(tmp_path / "lock"), backoff=0.01
    )
    try:
        with pytest.raises(StoreUnavailable, match="connection failed") as caught:
            store.get("k")
        text = f"{caught.value} {caught.value!r} {caught.value.__cause__!r}"
        assert token not in text
    finally:
        store.close()


def test_token_never_logged(
    client: ReplitStore, fake_replitdb: FakeReplitDB, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        fake_replitdb.fail_next(503)
        client.put("k", 1)
        fake_replitdb.timeout_next(1)
        client.get("k")
        fake_replitdb.fail_next(500, count=10)
        with pytest.raises(StoreUnavailable):
            client.get("k")
    text = "\n".join(record.getMessage() for record in caplog.records)
    assert "Retry" in text  # urllib3 did log the retries, with the path redacted
    assert fake_replitdb.token not in text


def test_lock_timeout_is_unavailable(client_options: dict[str, Any]) -> None:
    import filelock

    store = ReplitStore(**client_options, lock_timeout=0.2)
    try:
        with (
            filelock.FileLock(client_options["lock_path"]),
            pytest.raises(StoreUnavailable, match="write lock"),
        ):
            store.put("k", 1)
        store.put("k", 2)  # released with the holder
        assert store.get("k") == 2
    finally:
        store.close()


def test_non_json_value_is_an_error(client: ReplitStore, fake_replitdb: FakeReplitDB) -> None:
    requests.post(fake_replitdb.url, data={"raw": "not json {"}, timeout=5).close()
    with pytest.raises(StoreError, match="not JSON"):
        client.get("raw")


def test_get_many_overlaps_requests(client: ReplitStore, fake_replitdb: FakeReplitDB) -> None:
    """Replit DB has no multi-get: get_many must keep several GETs in flight at once (counted
    at the server, not timed)."""
    client.put_many({f"k{i}": i for i in range(16)})
    fake_replitdb.latency = 0.05  # long enough for the GETs to meet at the server
    in_flight, most = 0, 0
    count = threading.Lock()
    handle = fake_replitdb.handle

    def counting(method: str, raw_path: str, body: bytes) -> tuple[int, str]:
        nonlocal in_flight, most
        with count:
            in_flight += 1
            most = max(most, in_flight)
        try:
            return handle(method, raw_path, body)
        finally:
            with count:
                in_flight -= 1

    fake_replitdb.handle = counting  # type: ignore[method-assign]
    try:
        assert client.get_many(f"k{i}" for i in range(16)) == {f"k{i}": i for i in range(16)}
    finally:
        fake_replitdb.handle = handle  # type: ignore[method-assign]
    assert most >= 8, most


def test_keys_is_one_request(client: ReplitStore, fake_replitdb: FakeReplitDB) -> None:
    client.put_many({f"k{i:02d}": i for i in range(30)})
    before = fake_replitdb.request_count
    assert client.keys("k", start="k05", limit=3) == ["k05", "k06", "k07"]
    assert fake_replitdb.request_count == before + 1


def test_put_many_batches_pairs(client: ReplitStore, fake_replitdb: FakeReplitDB) -> None:
    client.put_many({f"k{i}": i for i in range(450)})
    assert fake_replitdb.request_count == 3  # 200 pairs per POST
    assert len(fake_replitdb.data) == 450


def test_stats(client: ReplitStore) -> None:
    client.put_many({"a": "x", "日": [1, 2]})
    assert client.stats() == Usage(keys=2, bytes=1 + 3 + 3 + 5)


def test_usage_reads_a_listing_and_only_keys_it_does_not_know(
    client: ReplitStore, fake_replitdb: FakeReplitDB
) -> None:
    """The 90 % check runs on every sign-up and new offer: one key listing, not every value.
    Keys written behind the client's back (or a lost ledger) are read once, then known."""
    client.put_many({f"k{i}": "x" * i for i in range(20)})
    before = fake_replitdb.request_count
    assert client.usage() == client.stats()
    fake_replitdb.request_count = before
    assert client.usage().keys == 20
    assert fake_replitdb.request_count == before + 1  # the listing only
    fake_replitdb.data["by-hand"] = '"hello"'
    del fake_replitdb.data["k3"]
    before = fake_replitdb.request_count
    assert client.usage() == client.stats()
    assert client.usage().keys == 20


# -- the fake's limits, enforced server-side as by the real service ----------------------


def test_fake_refuses_key_5001(client: ReplitStore, fake_replitdb: FakeReplitDB) -> None:
    client.put_many({f"k{i:04d}": i for i in range(5000)})
    assert len(client.keys()) == 5000
    with pytest.raises(StoreLimitError, match="too many keys"):
        client.put("one-too-many", 1)
    with pytest.raises(StoreLimitError):
        client.put_new("one-too-many", 1)
    # Overwriting an existing key is still allowed; freeing one makes room again.
    client.put("k0000", "changed")
    client.delete("k0001")
    client.put("now-fits", 1)
    assert len(fake_replitdb.data) == 5000


def test_fake_refuses_beyond_50_mib(client: ReplitStore, fake_replitdb: FakeReplitDB) -> None:
    # Filled with pre-encoded raw POSTs: form-encoding 50 MiB in requests takes seconds.
    chunk = b"x" * (5 * 1024 * 1024 - 100)
    with requests.Session() as http:
        for i in range(10):
            response = http.post(fake_replitdb.url, data=b"big%d=" % i + chunk, timeout=10)
            assert response.status_code == 200
        assert 50 * 1024 * 1024 - fake_replitdb.total_bytes() < 2000
        with pytest.raises(StoreLimitError, match="database full"):
            client.put("one-more", "y" * 2000)
        # A refused multi-pair POST writes none of its pairs.
        response = http.post(fake_replitdb.url, data=b"small=1&big10=" + chunk, timeout=10)
        assert response.status_code == 413
        assert client.get("small") is None
        client.delete("big0")
        client.put("one-more", "y" * 2000)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("k" * 1001, "1", "key too long"),
        ("日" * 334, "1", "key too long"),
        ("k", "v" * (5 * 1024 * 1024 + 1), "value too large"),
    ],
)
def test_fake_refuses_oversized_pairs(
    fake_replitdb: FakeReplitDB, key: str, value: str, message: str
) -> None:
    # Sent raw, past the client's own check, to prove the fake enforces what Replit does.
    response = requests.post(fake_replitdb.url, data={key: value}, timeout=10)
    assert response.status_code == 413
    assert message in response.text
    assert fake_replitdb.data == {}


def test_fake_protocol(fake_replitdb: FakeReplitDB) -> None:
    base = fake_replitdb.url
    with requests.Session() as http:
        assert http.post(base, data=[("a b", "1"), ("c/d", "2"), ("e%f", "3")], timeout=5).ok
        assert http.get(f"{base}/a%20b", timeout=5).text == "1"
        assert http.get(f"{base}/c%2Fd", timeout=5).text == "2"
        assert http.get(f"{base}/missing", timeout=5).status_code == 404
        listing = http.get(base, params={"prefix": "", "encode": "true"}, timeout=5).text
        assert sorted(listing.split("\n")) == ["a%20b", "c%2Fd", "e%25f"]
        assert http.get(base, params={"prefix": "c"}, timeout=5).text == "c/d"
        assert http.get(base, params={"prefix": "zz", "encode": "true"}, timeout=5).text == ""
        assert http.delete(f"{base}/a%20b", timeout=5).status_code == 204
        assert http.get(f"{base}/a%20b", timeout=5).status_code == 404
        wrong = base.replace(fake_replitdb.token, "stale-token")
        assert http.get(f"{wrong}/c%2Fd", timeout=5).status_code == 401
        assert http.post(wrong, data={"x": "1"}, timeout=5).status_code == 401
    assert fake_replitdb.request_count == 11
    assert sorted(fake_replitdb.data) == ["c/d", "e%f"]

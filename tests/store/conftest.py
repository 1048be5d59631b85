"""The `store` fixture: one EMPTY store per test, for every backend.

`store_target` gives the `(url, options)` of that same store, so that worker processes (which
cannot inherit a connection) open their own with `open_store(url, **options)`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from skillswap.store import Store, open_store

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("replit", id="replit"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]

StoreSpec = tuple[str, dict[str, Any]]


def store_spec(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> StoreSpec:
    """Where a test's store of `backend` lives; picklable, for spawned worker processes."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'kv.db'}", {}
    if backend == "replit":
        fake = request.getfixturevalue("fake_replitdb")  # reset: empty, no failures pending
        url_file = fake.write_url_file(tmp_path / "replitdb")
        # Per test, so that a stuck test cannot hold up the next one, and never the real
        # /tmp/replitdb, which would make a later run believe it is on Replit.
        return "replit", {"url_file": str(url_file), "lock_path": str(tmp_path / "replit.lock")}
    if backend == "postgres":
        return request.getfixturevalue("postgres_url"), {}
    raise ValueError(f"unknown backend {backend!r}")


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def store_target(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> StoreSpec:
    return store_spec(backend, request, tmp_path)


@pytest.fixture
def store(store_target: StoreSpec) -> Iterator[Store]:
    url, options = store_target
    opened = open_store(url, **options)
    try:
        # PostgreSQL is one database for the whole session; the others start empty anyway.
        for key in opened.keys(""):
            opened.delete(key)
        assert opened.keys() == []
        yield opened
    finally:
        opened.close()

"""A repository over a real SQLite store in the test's folder, on a clock the test sets."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from skillswap.repo import Repository
from skillswap.store import open_store

NOW = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def repo(tmp_path: Path, clock: Clock) -> Repository:
    return Repository(open_store(f"sqlite:///{tmp_path / 'store.db'}"), clock, "secret")

"""The default rate-limit storage: counters in one SQLite file that every worker of an instance
shares (skillswap/limit_storage.py), registered with `limits` under its own URI scheme."""

from __future__ import annotations

from pathlib import Path

import pytest
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter

from skillswap.web.auth import limit_storage
from skillswap.web.auth.limit_storage import SQLiteLimitStorage


@pytest.fixture
def now(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The storage's clock, set by the test (a window passes without sleeping)."""
    moment = [1_800_000_000.0]
    monkeypatch.setattr(limit_storage, "clock", lambda: moment[0])
    return moment


def open_at(path: Path) -> SQLiteLimitStorage:
    storage = storage_from_string(f"skillswap-sqlite:///{path}")
    assert isinstance(storage, SQLiteLimitStorage)
    return storage


def test_two_workers_share_one_count(tmp_path: Path, now: list[float]) -> None:
    one, two = open_at(tmp_path / "limits.db"), open_at(tmp_path / "limits.db")
    assert [one.incr("k", 60), two.incr("k", 60), one.incr("k", 60)] == [1, 2, 3]
    assert two.get("k") == 3
    assert one.get_expiry("k") == now[0] + 60


def test_a_window_that_has_passed_starts_again(tmp_path: Path, now: list[float]) -> None:
    storage = open_at(tmp_path / "limits.db")
    storage.incr("k", 60)
    storage.incr("k", 60)
    now[0] += 60
    assert storage.get("k") == 0
    assert storage.get_expiry("k") == now[0]
    assert storage.incr("k", 60) == 1
    assert storage.get_expiry("k") == now[0] + 60


def test_hit_counts_before_it_answers(tmp_path: Path, now: list[float]) -> None:
    limiter = FixedWindowRateLimiter(open_at(tmp_path / "limits.db"))
    item = parse("3 per minute")
    assert [limiter.hit(item, "client") for _ in range(5)] == [True, True, True, False, False]
    assert limiter.test(item, "other")


def test_clear_reset_and_refund(tmp_path: Path, now: list[float]) -> None:
    storage = open_at(tmp_path / "limits.db")
    storage.incr("a", 60)
    storage.incr("a", 60)
    assert storage.incr("a", 60, amount=-1) == 1  # a refund (a successful login)
    storage.clear("a")
    assert storage.get("a") == 0
    storage.incr("b", 60)
    storage.incr("c", 60)
    assert storage.reset() == 2
    assert storage.check()


def test_the_path_is_where_the_uri_says(tmp_path: Path) -> None:
    storage = open_at(tmp_path / "deep" / "limits.db")
    storage.incr("k", 60)
    assert (tmp_path / "deep" / "limits.db").exists()
    with pytest.raises(ValueError, match="skillswap-sqlite:///"):
        SQLiteLimitStorage("sqlite:///x.db")

"""The due index on a real SQLite store: reminders in per-hour buckets that never pass their
piece's bound, read soonest first without looking at any bucket still ahead, and emptied
away as they are sent."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from skillswap.domain import limits
from skillswap.domain.reminders import DueEntry
from skillswap.domain.times import iso_utc
from skillswap.repo import Repository
from skillswap.store import REPLIT_BUDGET, open_store

NOW = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


@pytest.fixture
def repo(tmp_path: Path) -> Repository:
    return Repository(open_store(f"sqlite:///{tmp_path / 'store.db'}"), lambda: NOW, "secret")


def entry(number: int, moment: datetime, kind: str = "before-60") -> DueEntry:
    return DueEntry(f"b{number:04d}", kind, iso_utc(moment), f"t{number}", f"l{number}")


def test_a_full_piece_spills_into_numbered_pieces_up_to_the_ceiling(
    repo: Repository, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(limits, "DUE_PIECE_ENTRIES", 2)
    monkeypatch.setattr(limits, "DUE_MAX_PIECES", 3)
    moment = NOW.replace(minute=45)

    with caplog.at_level(logging.ERROR):
        repo.index_reminders([entry(n, moment) for n in range(7)])

    pieces = {key: repo.store.get(key) for key in repo.store.keys("due/")}
    assert list(pieces) == ["due/2026-12-01T09", "due/2026-12-01T09/1", "due/2026-12-01T09/2"]
    assert all(len(piece) == 2 for piece in pieces.values())
    assert "1 reminders not indexed" in caplog.text
    read = [e for _, entries in repo.due_pieces(NOW, limit=10) for e in entries]
    assert sorted(e.booking_id for e in read) == [f"b{n:04d}" for n in range(6)]


def test_indexing_the_same_reminder_twice_keeps_one(repo: Repository) -> None:
    repo.index_reminders([entry(1, NOW)])
    repo.index_reminders([entry(1, NOW)])
    assert repo.store.get("due/2026-12-01T09") == {"b0001 before-60": [iso_utc(NOW), "t1", "l1"]}


def test_only_buckets_whose_hour_began_are_read(repo: Repository) -> None:
    repo.index_reminders(
        [
            entry(1, NOW - timedelta(days=1)),  # a day late: still read, to be dropped
            entry(2, NOW + timedelta(minutes=20)),  # this hour, later
            entry(3, NOW + timedelta(hours=1)),  # the next hour: not read
            entry(4, NOW + timedelta(days=30)),
        ]
    )
    read = repo.due_pieces(NOW, limit=10)
    assert [key for key, _ in read] == ["due/2026-11-30T09", "due/2026-12-01T09"]
    assert [[e.booking_id for e in entries] for _, entries in read] == [["b0001"], ["b0002"]]


def test_emptied_pieces_are_removed_and_unindexing_finds_every_piece(
    repo: Repository, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(limits, "DUE_PIECE_ENTRIES", 2)
    entries = [entry(n, NOW) for n in range(5)]
    repo.index_reminders(entries)
    assert len(repo.store.keys("due/")) == 3

    repo.drop_due("due/2026-12-01T09", {entries[0].ref})
    repo.unindex_reminders(entries[1:])

    assert repo.store.keys("due/") == []


def test_where_keys_are_scarce_a_bucket_is_a_day(repo: Repository) -> None:
    repo.store.budget = REPLIT_BUDGET  # keys are scarce, as on Replit DB
    repo.index_reminders([entry(1, NOW), entry(2, NOW + timedelta(hours=5))])
    assert repo.store.keys("due/") == ["due/2026-12-01"]
    assert [len(entries) for _, entries in repo.due_pieces(NOW, limit=10)] == [2]

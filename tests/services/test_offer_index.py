"""The slot index that matching reads stays in step with a teacher's offers when two saves of
their offers run at once (two tabs): an outside race probe found one offer's times missing
from the index in 4 of 70 rounds, so learners asking for exactly those times were told
nobody was free, until the next change or `flask reindex`."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

import pytest

from skillswap import services
from skillswap.repo import Repository
from skillswap.repo.indexes import rebuild_slot_index
from tests.services.test_booking import NOW, publish, welsh_offer


def rows_of(docs: dict[str, Any], uid: str) -> list[str]:
    """Every slot-index row of `uid` in these documents (key -> slot index document)."""
    marker = f" {uid} "
    return sorted(
        line
        for key, doc in docs.items()
        if key.startswith("slots/") and doc
        for text in doc.get("days", {}).values()
        for line in text.split("\n")
        if marker in line
    )


def test_two_saves_at_once_leave_both_offers_in_the_index(
    repo: Repository, monkeypatch: pytest.MonkeyPatch
) -> None:
    teacher, first = publish(repo, "tess")  # Wed 3 March 2027
    second = welsh_offer(teacher, "tess", date(2027, 3, 4), "Welsh on Thursday")  # same week
    write_rows = repo._replace_slot_rows

    def second_saved_in_between(*args: Any) -> None:
        # The first save has read the document (without the second offer) and is about to
        # write its rows: the second save runs whole, then the first writes what it read.
        monkeypatch.setattr(repo, "_replace_slot_rows", write_rows)
        services.offers.save_offer(repo, second)
        write_rows(*args)

    monkeypatch.setattr(repo, "_replace_slot_rows", second_saved_in_between)
    services.offers.save_offer(repo, replace(first, title="Welsh on Wednesday"))

    stored = {key: repo.store.get(key) for key in repo.store.keys("slots/")}
    expected = rows_of(rebuild_slot_index(repo.store, NOW), teacher)
    assert len(expected) == 4  # two sessions of each offer
    assert rows_of(stored, teacher) == expected

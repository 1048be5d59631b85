"""`flask export` copies one moment of the store: a booking made while it reads appears in both
people's schedules or in neither. SQLite and PostgreSQL read in one read transaction; Replit DB
has none, so the export says which sessions it caught half-written and `flask import` mends
them (skillswap/domain/booking_pairs.py)."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from skillswap.domain.records import Booking
from skillswap.domain.schedule import Schedule
from skillswap.services.backup import export_records, import_records, read_export
from skillswap.store import Store, Value, open_store
from tests.store.conftest import StoreSpec

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)
LEARNER, TEACHER = "0000000000000001", "ffffffffffffffff"  # first and last schedule keys
FILLERS = 600  # more than one of the old export's 500-key batches between the two


class WriteWhileReading:
    """The store, running `write` once right after the export has read its first records."""

    def __init__(self, store: Store, write: Callable[[], None]) -> None:
        self._store = store
        self._write: Callable[[], None] | None = write

    def _once(self) -> None:
        if self._write is not None:
            write, self._write = self._write, None
            write()

    def get_many(self, keys: Any) -> dict[str, Value]:  # what the export read before
        found = self._store.get_many(keys)
        self._once()
        return found

    def snapshot(self) -> Iterator[tuple[str, Value]]:
        for n, item in enumerate(self._store.snapshot()):
            yield item
            if n == 0:
                self._once()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


def booking(booking_id: str) -> dict[str, Any]:
    start = NOW + timedelta(days=3)
    return Booking(
        id=booking_id,
        teacher=TEACHER,
        teacher_name="tess",
        learner=LEARNER,
        learner_name="leo",
        offer_id="o1",
        slot_id=f"s-{booking_id}",
        title="Chess",
        skill="Chess",
        mode="online",
        start=start.isoformat().replace("+00:00", "Z"),
        end=(start + timedelta(hours=1)).isoformat().replace("+00:00", "Z"),
        created=NOW.isoformat().replace("+00:00", "Z"),
        status="confirmed",
    ).to_dict()


def book(store: Store, booking_id: str) -> None:
    """Both copies of a new session, learner's first (as Repository.book writes them)."""
    for uid in (LEARNER, TEACHER):

        def add(doc: dict | None) -> dict:
            return {
                **(doc or {}),
                "bookings": {**(doc or {}).get("bookings", {}), booking_id: booking(booking_id)},
            }

        store.update(f"schedule/{uid}", add)


def community(store: Store) -> None:
    for uid, name in ((LEARNER, "leo"), (TEACHER, "tess")):
        store.put(f"user/{uid}", {"id": uid, "username": name})
    store.put_many({f"schedule/7{n:015d}": {"offers": {}} for n in range(FILLERS)})
    book(store, "b1")


def bookings_of(records: dict[str, Any], uid: str) -> set[str]:
    return set((records.get(f"schedule/{uid}") or {}).get("bookings", {}))


def export(store: Store) -> tuple[dict[str, Any], str, list]:
    out = io.StringIO()
    _, torn = export_records(store, out, NOW)
    text = out.getvalue()
    return {r["key"]: r["value"] for r in read_export(io.StringIO(text))}, text, torn


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_a_booking_made_during_the_export_is_in_both_copies_or_neither(
    store: Store, store_target: StoreSpec
) -> None:
    community(store)
    url, options = store_target
    writer = open_store(url, **options)  # another worker, booking while the export reads
    try:
        records, _, torn = export(WriteWhileReading(store, lambda: book(writer, "b2")))
    finally:
        writer.close()
    assert bookings_of(records, LEARNER) == bookings_of(records, TEACHER) == {"b1"}
    assert torn == []
    # The booking itself was made, after the moment the copy shows.
    assert set(store.get(f"schedule/{LEARNER}")["bookings"]) == {"b1", "b2"}


@pytest.mark.parametrize("backend", ["replit"])
def test_without_transactions_a_torn_pair_is_reported_and_mended_on_import(
    store: Store, tmp_path
) -> None:
    community(store)
    records, text, torn = export(WriteWhileReading(store, lambda: book(store, "b2")))
    assert bookings_of(records, LEARNER) == {"b1"}
    assert bookings_of(records, TEACHER) == {"b1", "b2"}  # caught half-written
    assert [(t.booking_id, t.source, t.target, t.problem) for t in torn] == [
        ("b2", TEACHER, LEARNER, "missing")
    ]

    target = open_store(f"sqlite:///{tmp_path / 'moved.db'}")
    try:
        _, _, mended, _ = import_records(target, read_export(io.StringIO(text)), False, NOW)
        assert mended == 1
        learner = Schedule.from_doc(LEARNER, target.get(f"schedule/{LEARNER}"))
        teacher = Schedule.from_doc(TEACHER, target.get(f"schedule/{TEACHER}"))
        assert set(learner.bookings) == set(teacher.bookings) == {"b1", "b2"}
        assert learner.bookings["b2"] == teacher.bookings["b2"]
    finally:
        target.close()


def test_snapshot_holds_every_key_in_order(store: Store) -> None:
    """The contract, on every backend: each key once, in byte order, with its value."""
    items = {"b/_%": {"n": 1}, "B/x": [1, 2], "a": "text", "é": {"deep": {"x": None}}}
    store.put_many(items)
    assert list(store.snapshot()) == sorted(items.items())

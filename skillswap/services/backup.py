"""Backups and moves between stores: every record as JSON lines (`flask export`), read from
one snapshot where the backend has read transactions, and loaded back (`flask import`), mending
sessions an export from Replit DB caught in one person's schedule only.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TextIO

import click

from skillswap.domain import booking_pairs
from skillswap.domain.booking_pairs import Torn
from skillswap.domain.schedule import Schedule
from skillswap.repo.keys import schedule_key
from skillswap.store import Store


def _schedules(records: dict[str, dict]) -> dict[str, Schedule]:
    """Everyone's bookings in these records, by user id (people without a user record have no
    copy to compare or mend)."""
    uids = [key.removeprefix("user/") for key in records if key.startswith("user/")]
    return {
        uid: Schedule.from_doc(
            uid, {"bookings": (records.get(schedule_key(uid)) or {}).get("bookings", {})}
        )
        for uid in uids
    }


def export_records(store: Store, out: TextIO, now: datetime) -> tuple[int, list[Torn]]:
    """Write every record as a JSON line, from one snapshot of the store; returns how many,
    and the booking pairs the copy caught half-written (only where the backend has no read
    transaction: Replit DB)."""
    count = 0
    kept: dict[str, dict] = {}  # user records (their keys) and schedules' bookings
    for key, value in store.snapshot():
        out.write(json.dumps({"key": key, "value": value}, ensure_ascii=False))
        out.write("\n")
        count += 1
        if key.startswith("user/"):
            kept[key] = {}
        elif key.startswith("schedule/") and isinstance(value, dict) and value.get("bookings"):
            kept[key] = {"bookings": value["bookings"]}
    return count, booking_pairs.torn_pairs(_schedules(kept), now)


def import_records(
    store: Store, lines: TextIO, overwrite: bool, now: datetime
) -> tuple[int, int, int]:
    """Load exported lines. Identical records are skipped (so importing twice is harmless);
    a different existing value is a conflict unless `overwrite`. Booking pairs the export
    caught half-written are mended first. Returns (written, unchanged, pairs mended)."""
    records = [json.loads(line) for line in lines if line.strip()]
    values = {r["key"]: r["value"] for r in records}
    schedules = _schedules(values)
    torn = booking_pairs.torn_pairs(schedules, now)
    for uid in booking_pairs.mend(schedules, torn):
        mended = schedules[uid].to_doc()["bookings"]
        values[schedule_key(uid)] = {**(values.get(schedule_key(uid)) or {}), "bookings": mended}
    records = [{"key": key, "value": value} for key, value in values.items()]
    existing = store.get_many([r["key"] for r in records])
    conflicts = [
        r["key"] for r in records if r["key"] in existing and existing[r["key"]] != r["value"]
    ]
    if conflicts and not overwrite:
        raise click.ClickException(
            f"{len(conflicts)} records differ from what the store holds (first: "
            f"{conflicts[0]!r}); nothing was written. Use --overwrite to replace them."
        )
    todo = {r["key"]: r["value"] for r in records if existing.get(r["key"]) != r["value"]}
    if todo:
        store.put_many(todo)
    return len(todo), len(records) - len(todo), len(torn)

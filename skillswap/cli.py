"""`flask` commands for operators: rebuild indexes, keep history in shape, show store usage,
export and import data."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from datetime import datetime
from typing import TextIO

import click
from flask import Flask, current_app

from skillswap.domain import booking_pairs, indexes
from skillswap.domain.booking_pairs import Torn
from skillswap.domain.indexes import ALL_WEEKS
from skillswap.domain.limits import SLOT_PIECE_ROWS, STORE_CEILING_SHARE
from skillswap.domain.schedule import Schedule
from skillswap.domain.users import User
from skillswap.repo import (
    SHARED,
    Repository,
    archive_key,
    schedule_key,
    shared_archives,
    skill_key,
    slot_index_records,
    user_key,
    weekly_slot_buckets,
)
from skillswap.store import REPLIT_BUDGET, Store
from skillswap.store.codec import encoded_size
from skillswap.web import now


def _store() -> Store:
    return current_app.extensions["skillswap.store"]


def _repo() -> Repository:
    return current_app.extensions["skillswap.repo"]


def everyone(store: Store, batch: int = 200) -> Iterator[tuple[User, Schedule]]:
    """Every person with their schedule, read `batch` people at a time."""
    uids = [key.removeprefix("user/") for key in store.keys("user/")]
    for start in range(0, len(uids), batch):
        chunk = uids[start : start + batch]
        docs = store.get_many([k for uid in chunk for k in (user_key(uid), schedule_key(uid))])
        for uid in chunk:
            if data := docs.get(user_key(uid)):
                yield User.from_dict(data), Schedule.from_doc(uid, docs.get(schedule_key(uid)))


def rebuild_skill_index(store: Store) -> dict[str, dict]:
    """The skill index as the primary records say it should be."""
    return indexes.build_skill_index(everyone(store))


def rebuild_slot_index(store: Store, now: datetime, cap: int = SLOT_PIECE_ROWS) -> dict[str, dict]:
    """The slot index documents as the primary records say they should be at `now`."""
    return slot_index_records(everyone(store), now, weekly_slot_buckets(store), cap)


def reindex(
    store: Store, now: datetime, skills: bool = True, cap: int = SLOT_PIECE_ROWS
) -> tuple[int, int]:
    """Rewrite every slot index document (and, `skills`, every skill index document) from the
    primary records; returns (written, removed). Slot buckets of weeks gone by are removed,
    and buckets are laid out in pieces of at most `cap` rows afresh."""
    people = list(everyone(store))
    wanted = slot_index_records(people, now, weekly_slot_buckets(store), cap)
    prefixes = ["slots/"]
    if skills:
        wanted.update(
            {skill_key(skill): doc for skill, doc in indexes.build_skill_index(people).items()}
        )
        prefixes.append("skill/")
    stale = [key for prefix in prefixes for key in store.keys(prefix) if key not in wanted]
    if wanted:
        store.put_many(wanted)
    for key in stale:
        store.delete(key)
    return len(wanted), len(stale)


def relayout_archives(store: Store) -> int:
    """Archive pieces laid out for this store: per person, or shared per quarter where keys are
    scarce. An export from the other kind of store is regrouped (records keep their keys, so
    nothing is counted twice). Returns how many pieces were written."""
    shared = shared_archives(store)
    keys = store.keys("archive/")
    foreign = [k for k in keys if (k.split("/")[1] == SHARED) != shared]
    if not foreign:
        return 0
    grouped: dict[tuple[str, str], dict[str, dict]] = {}
    for key, doc in store.get_many(foreign).items():
        period = key.split("/")[2]
        for record_key, record in doc["records"].items():
            owner = SHARED if shared else record_key.split("/")[0]
            grouped.setdefault((owner, period), {})[record_key] = record
    written = 0
    bound = current_app.extensions["skillswap.repo"].archive_piece_bytes
    for (owner, period), records in sorted(grouped.items()):
        number = len(store.keys(f"archive/{owner}/{period}/"))
        piece: dict[str, dict] = {}
        for record_key, record in sorted(records.items()):
            if piece and encoded_size({"records": {**piece, record_key: record}}) > bound:
                store.put(archive_key(owner, period, number), {"records": piece})
                number, piece, written = number + 1, {}, written + 1
            piece[record_key] = record
        if piece:
            store.put(archive_key(owner, period, number), {"records": piece})
            written += 1
    for key in foreign:
        store.delete(key)
    return written


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


def register(app: Flask) -> None:
    @app.cli.command("reindex")
    def reindex_command() -> None:
        """Rebuild the skill and slot indexes from users, offers and requests."""
        written, removed = reindex(_store(), now(), cap=_repo().slot_piece_rows)
        click.echo(f"indexes rebuilt: {written} documents written, {removed} stale removed")

    @app.cli.command("migrate")
    def migrate_command() -> None:
        """Bring every schedule to the current layout: archive the history that may leave
        the live documents (idempotent; run it again after an interruption)."""
        repo = _repo()
        uids = [key.removeprefix("user/") for key in _store().keys("user/")]
        batches = 0
        for number, uid in enumerate(uids, 1):
            batches += repo.maintain(uid)
            if number % 100 == 0:
                click.echo(f"{number} of {len(uids)} people…", err=True)
        click.echo(f"migrated {len(uids)} people: {batches} batches moved to the archive")

    @app.cli.command("store-stats")
    def store_stats_command() -> None:
        """Keys and bytes used, and what uses them, against the store's ceilings."""
        store = _store()
        stats = store.stats()
        keys = store.keys("")
        overflow = [k for k in keys if k.startswith("slots/") and k.count("/") == 3]
        click.echo(f"store: {store.name}")
        click.echo(f"users: {sum(1 for k in keys if k.startswith('user/'))}")
        click.echo(f"slot-index pieces: {sum(1 for k in keys if k.startswith('slots/'))} ")
        click.echo(f"  of which overflow pieces: {len(overflow)}")
        click.echo(f"archive pieces: {sum(1 for k in keys if k.startswith('archive/'))}")
        budget = store.budget or REPLIT_BUDGET
        label = "this store's" if store.budget else "Replit's"
        stop = int(STORE_CEILING_SHARE * 100)
        click.echo(
            f"keys: {stats.keys} of {label} {budget.max_keys} "
            f"({100 * stats.keys / budget.max_keys:.1f} %; new members and offers stop at {stop} %)"
        )
        click.echo(
            f"bytes: {stats.bytes} of {label} {budget.max_bytes} "
            f"({100 * stats.bytes / budget.max_bytes:.1f} %)"
        )

    @app.cli.command("export")
    @click.argument("path", default="-")
    def export_command(path: str) -> None:
        """Write every record as JSON lines to PATH (default: standard output)."""
        if path == "-":
            count, torn = export_records(_store(), sys.stdout, now())
        else:
            with open(path, "w", encoding="utf-8") as out:
                count, torn = export_records(_store(), out, now())
        click.echo(f"exported {count} records", err=True)
        if torn:
            click.echo(
                f"{len(torn)} session{'s' if len(torn) != 1 else ''} in this copy "
                f"{'are' if len(torn) != 1 else 'is'} in one person's schedule only, or "
                "differently in the other's (changed while the store was read: Replit DB has "
                "no read transaction). `flask import` mends them from the newer copy; or "
                "export again.",
                err=True,
            )

    @app.cli.command("import")
    @click.argument("path", default="-")
    @click.option("--overwrite", is_flag=True, help="Replace records that differ.")
    def import_command(path: str, overwrite: bool) -> None:
        """Load records exported with `flask export` into this app's store."""
        if path == "-":
            written, same, mended = import_records(_store(), sys.stdin, overwrite, now())
        else:
            with open(path, encoding="utf-8") as lines:
                written, same, mended = import_records(_store(), lines, overwrite, now())
        click.echo(f"imported {written} records ({same} already identical)", err=True)
        if mended:
            click.echo(
                f"mended {mended} session{'s' if mended != 1 else ''} the export had caught "
                "in one person's schedule only",
                err=True,
            )
        # Replit DB keeps a skill's slots in one document, other stores one a week: a dump
        # from the other kind of store gets its slot index laid out afresh for this one.
        store = _store()
        weekly = weekly_slot_buckets(store)
        if any((key.split("/")[2] == ALL_WEEKS) == weekly for key in store.keys("slots/")):
            rebuilt, _ = reindex(store, now(), skills=False, cap=_repo().slot_piece_rows)
            click.echo(f"slot index laid out for {store.name}: {rebuilt} written", err=True)
        if moved := relayout_archives(store):
            click.echo(f"archive laid out for {store.name}: {moved} pieces written", err=True)

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
from skillswap.repo.keys import email_key, schedule_key
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


#: Derived documents: rebuilt from the records (`flask reindex`), so a different copy of one in
#: the store is no conflict; `sweep/` is where a background round got to, moved every minute.
DERIVED = ("skill/", "skillhead/", "card/", "slots/", "due/", "sweep/")
#: Claims naming an account: an import may never point one at another account.
CLAIMS = ("username/", "email/")


def _uid(claim: object) -> object:
    return claim.get("uid") if isinstance(claim, dict) else None


def export_records(store: Store, out: TextIO, now: datetime) -> tuple[int, list[Torn]]:
    """Write every record as a JSON line, from one snapshot of the store, then an end line
    ({"end": <records>}) by which an import knows the file is whole; returns how many, and
    the booking pairs the copy caught half-written (only where the backend has no read
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
    out.write(json.dumps({"end": count}) + "\n")
    return count, booking_pairs.torn_pairs(_schedules(kept), now)


def read_export(lines: TextIO, check_end: bool = True) -> list[dict]:
    """The records of an export, refused (ClickException, so nothing is written) when a line
    is no record, or the end line is missing or counts other records: a file cut short or
    edited. `check_end=False` takes exports made before they had an end line."""
    records: list[dict] = []
    end = None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            raise click.ClickException(
                f"Line {number} is not JSON: the file was cut short or edited. Nothing was written."
            ) from None
        if end is not None:
            raise click.ClickException(f"Line {number} follows the end line. Nothing was written.")
        if isinstance(record, dict) and record.keys() == {"end"}:
            end = record["end"]
            if type(end) is not int:  # not True, not 409.0, not "409"
                raise click.ClickException(
                    f"Line {number}: the end line's count is not a whole number. Nothing was "
                    "written."
                )
        elif isinstance(record, dict) and isinstance(record.get("key"), str) and "value" in record:
            records.append(record)
        else:
            raise click.ClickException(
                f'Line {number} is not a record ({{"key": ..., "value": ...}}). Nothing was '
                "written."
            )
    if check_end and end is None:
        raise click.ClickException(
            "The file has no end line, so it may have been cut short. Nothing was written. "
            "(An export made before exports had one: import it with --no-end-check.)"
        )
    if check_end and end != len(records):
        raise click.ClickException(
            f"The end line counts {end} records, the file holds {len(records)}. Nothing was "
            "written."
        )
    return records


def import_records(
    store: Store, records: list[dict], overwrite: bool, now: datetime
) -> tuple[int, int, int, bool]:
    """Load exported records (read_export). Identical records are skipped (so importing twice
    is harmless); a different existing value is a conflict unless `overwrite`, except in
    derived documents (rebuilt anyway); a username or email claim naming another account is
    refused even then (two accounts would share one name). Booking pairs the export caught
    half-written are mended first. Returns (written, unchanged, pairs mended, whether the
    store held records of its own: then its indexes must be rebuilt from both)."""
    values = {r["key"]: r["value"] for r in records}
    try:
        schedules = _schedules(values)
    except (AttributeError, KeyError, TypeError, ValueError) as problem:
        raise click.ClickException(
            f"A schedule in the file cannot be read ({problem}). Nothing was written."
        ) from None
    torn = booking_pairs.torn_pairs(schedules, now)
    for uid in booking_pairs.mend(schedules, torn):
        mended = schedules[uid].to_doc()["bookings"]
        values[schedule_key(uid)] = {**(values.get(schedule_key(uid)) or {}), "bookings": mended}
    records = [{"key": key, "value": value} for key, value in values.items()]
    # An export from before email_identity may key an address in another form ("zoe" and a
    # combining diaeresis): its claim is checked against the one form's too.
    same_address = {
        r["key"]: email_key(r["key"].removeprefix("email/"))
        for r in records
        if r["key"].startswith("email/")
    }
    existing = store.get_many([r["key"] for r in records] + list(same_address.values()))
    differ = [r for r in records if r["key"] in existing and existing[r["key"]] != r["value"]]
    taken = [
        r["key"]
        for r in differ
        if r["key"].startswith(CLAIMS) and _uid(existing[r["key"]]) != _uid(r["value"])
    ]
    taken += [
        old
        for old, one in same_address.items()
        if one != old
        and one in existing
        and _uid(existing[one]) != _uid(values.get(old))
        and "deleted" not in existing[one]
    ]
    if taken:
        raise click.ClickException(
            f"{len(taken)} username or email claims name other accounts here (first: "
            f"{taken[0]!r}); importing them would give two accounts one name. Nothing was "
            "written."
        )
    conflicts = [r["key"] for r in differ if not r["key"].startswith(DERIVED)]
    if conflicts and not overwrite:
        raise click.ClickException(
            f"{len(conflicts)} records differ from what the store holds (first: "
            f"{conflicts[0]!r}); nothing was written. Use --overwrite to replace them."
        )
    todo = {r["key"]: r["value"] for r in records if existing.get(r["key"]) != r["value"]}
    merged = any(not key.startswith(DERIVED) for key in store.keys("") if key not in values)
    if todo:
        store.put_many(todo)
    return len(todo), len(records) - len(todo), len(torn), merged

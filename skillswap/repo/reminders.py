"""The due index: reminders waiting for their moment (due/<bucket>[/<piece>] keys), so the
sender finds what is due by reading the oldest buckets, never every schedule.

A bucket is one UTC hour, or one UTC day where keys are scarce (Replit DB: about one key per
day with a reminder ahead, rather than per hour). Its entries are {"<booking id> <kind>":
[moment, teacher, learner]} (domain/reminders.py: DueEntry), at most DUE_PIECE_ENTRIES to a
piece; a full piece spills into numbered pieces, up to DUE_MAX_PIECES. Keys sort by time, so
`keys("due/", limit=n)` gives the buckets soonest due, and each is emptied (and so removed) as
its reminders are sent or pass.

Entries are hints, never the truth: whether a reminder goes out is decided by its claim in the
person's own copy of the session (domain/reminders.py: claim). So an entry left behind (a
session cancelled or moved while its entry could not be removed) costs a look and no mail.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from skillswap.domain import limits
from skillswap.domain.reminders import (
    LATE_AFTER,
    DueEntry,
    bucket_start,
    due_bucket,
    due_entries,
)
from skillswap.domain.schedule import Schedule
from skillswap.repo.base import RepositoryBase
from skillswap.repo.keys import DUE_PREFIX, due_bucket_of, due_key
from skillswap.store import Store

log = logging.getLogger(__name__)


def hourly_due_buckets(store: Store) -> bool:
    """One bucket per hour, except where keys are scarce (one per day there)."""
    return store.budget is None


def _by_bucket(entries: Iterable[DueEntry], hourly: bool) -> dict[str, list[DueEntry]]:
    buckets: dict[str, list[DueEntry]] = {}
    for entry in entries:
        buckets.setdefault(due_bucket(entry.moment_at, hourly), []).append(entry)
    return buckets


def _entries(key: str, doc: dict | None) -> list[DueEntry]:
    found = []
    for ref, value in (doc or {}).items():
        entry = DueEntry.from_stored(ref, value)
        if entry is not None:
            found.append(entry)
    return found


def due_index_records(
    schedules: Iterable[Schedule], offsets: tuple[timedelta, ...], since: datetime, hourly: bool
) -> dict[str, dict]:
    """The due index as the sessions say it should be: each confirmed session's reminders
    with a moment after `since`, read from the teacher's copy (the truth about a slot)."""
    entries = [
        entry
        for schedule in schedules
        for booking in schedule.bookings.values()
        if booking.teacher == schedule.owner and booking.status == "confirmed"
        for entry in due_entries(booking, offsets, since)
    ]
    records: dict[str, dict] = {}
    cap = limits.DUE_PIECE_ENTRIES
    for bucket, found in _by_bucket(entries, hourly).items():
        found.sort(key=lambda e: (e.moment, e.ref))
        for piece, begin in enumerate(range(0, len(found), cap)):
            records[due_key(bucket, piece)] = {
                e.ref: e.stored() for e in found[begin : begin + cap]
            }
    return records


def reindex_due(store: Store, offsets: tuple[timedelta, ...], now: datetime) -> tuple[int, int]:
    """Rewrite the due index from the sessions (`flask reindex`, and after an import from a
    store of the other layout); returns (pieces written, pieces removed). Reminders due in
    the last LATE_AFTER are kept: the sender still sends those not sent yet (their claims
    say which)."""
    from skillswap.repo.indexes import everyone, replace_derived

    wanted = due_index_records(
        (schedule for _, schedule in everyone(store)),
        offsets,
        now - LATE_AFTER,
        hourly_due_buckets(store),
    )
    return len(wanted), replace_derived(store, (DUE_PREFIX,), wanted)


def due_layout_differs(store: Store) -> bool:
    """Whether the due index has buckets of the other layout (hourly on a store where keys
    are scarce, or daily elsewhere): an import from another kind of store."""
    hourly = hourly_due_buckets(store)
    return any((len(due_bucket_of(key)) == 13) != hourly for key in store.keys(DUE_PREFIX))


class DueIndex(RepositoryBase):
    @property
    def hourly_due(self) -> bool:
        return hourly_due_buckets(self.store)

    def index_reminders(self, entries: Iterable[DueEntry]) -> None:
        """Add reminders to their buckets (an entry already there stays as it is). Beyond
        DUE_MAX_PIECES full pieces a bucket takes no more: logged, and those reminders are
        not sent."""
        for bucket, found in _by_bucket(entries, self.hourly_due).items():
            waiting = found
            for piece in range(limits.DUE_MAX_PIECES):
                waiting = self._add(due_key(bucket, piece), waiting)
                if not waiting:
                    break
            else:
                log.error(
                    "due index bucket %s is full (%d pieces): %d reminders not indexed",
                    bucket,
                    limits.DUE_MAX_PIECES,
                    len(waiting),
                )

    def _add(self, key: str, entries: list[DueEntry]) -> list[DueEntry]:
        """Put what fits of `entries` in one piece; returns what did not fit."""
        left: list[DueEntry] = []

        def add(doc: dict | None) -> dict | None:
            doc = dict(doc or {})
            left.clear()  # the store may run this more than once
            for entry in entries:
                if entry.ref in doc:
                    continue
                if len(doc) >= limits.DUE_PIECE_ENTRIES:
                    left.append(entry)
                    continue
                doc[entry.ref] = entry.stored()
            return doc or None

        self.store.update(key, add)
        return list(left)

    def unindex_reminders(self, entries: Iterable[DueEntry]) -> None:
        """Take reminders out of their buckets (a session cancelled, or moved)."""
        for bucket, found in _by_bucket(entries, self.hourly_due).items():
            refs = {entry.ref for entry in found}
            for key in self._pieces(bucket):
                self.drop_due(key, refs)

    def _pieces(self, bucket: str) -> list[str]:
        base = due_key(bucket)
        return [k for k in self.store.keys(base) if k == base or k.startswith(base + "/")]

    def due_pieces(self, now: datetime, limit: int) -> list[tuple[str, list[DueEntry]]]:
        """The pieces of the oldest buckets whose hour (or day) has begun at `now`, oldest
        first, with their entries: at most `limit` pieces, two round trips."""
        keys = []
        for key in self.store.keys(DUE_PREFIX, limit=limit):
            began = bucket_start(due_bucket_of(key))
            if began is None:
                continue  # not a bucket this version knows: never read, never in the way
            if began > now:
                break  # keys sort by time: every later one is later still
            keys.append(key)
        docs = self.store.get_many(keys)
        return [(key, _entries(key, docs.get(key))) for key in keys]

    def drop_due(self, key: str, refs: set[str]) -> None:
        """Remove entries from a piece in one atomic step; an emptied piece is deleted."""
        if not refs:
            return

        def drop(doc: dict | None) -> dict | None:
            if doc is None:
                return None
            kept = {ref: value for ref, value in doc.items() if ref not in refs}
            return kept or None

        self.store.update(key, drop)

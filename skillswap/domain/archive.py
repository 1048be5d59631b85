"""History that does not slow anyone down: which records leave a person's live document, how a
batch of them moves to the archive without being lost or counted twice, and what the archive
adds up to. Pure: no Flask, no I/O (the repository owns the archive's keys and writes).

A live document holds what is upcoming and the recent past: sessions whose 14-day review
window is open and everything that ended in the last 30 days (LIVE_PAST). Older records move,
about weekly (ARCHIVE_SLACK), in batches of one calendar quarter:

1. `begin` (on the live document): the batch and the archive piece it goes to are written
   down (a few bytes whatever the batch's size), so a crash at any later point resumes the
   same batch into the same piece;
2. the repository copies the batch's records into that piece, keyed by owner, kind and id:
   copying twice writes the same keys again;
3. `finish` (on the live document): the records leave, the counters grow by what they held,
   and the batch is cleared, all in one atomic step. Counters therefore count each record once
   however often a crash repeats step 2.

Nothing in an archived record can change any more: a session over for 30 days can no longer be
cancelled or reviewed (reviews close after 14 days), so counting it when it leaves is final.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from skillswap.domain.attendance import HELD, final_outcome
from skillswap.domain.limits import LIVE_PAST, MAX_HIGHLIGHTS, PieceFull
from skillswap.domain.records import Booking, LearnRequest, Offer
from skillswap.domain.schedule import Schedule
from skillswap.domain.times import iso_utc
from skillswap.domain.upkeep import KINDS, ended, movable


def period_of(instant: str) -> str:
    """The calendar quarter an ISO UTC instant falls in: '2026-11-23T…' -> '2026Q4'."""
    return f"{instant[:4]}Q{(int(instant[5:7]) - 1) // 3 + 1}"


@dataclass(frozen=True)
class Plan:
    period: str
    through: tuple[str, str, str]  # (ended, kind, id) of the batch's last record
    size: int  # estimated bytes of the batch in the archive


def _ready(schedule: Schedule, now: datetime) -> list[tuple[str, str, str]]:
    """(ended, kind, id) of every record that may leave, oldest first."""
    cutoff = iso_utc(now - LIVE_PAST)
    ready = [
        (over, kind, rid)
        for kind in KINDS
        for rid, record in getattr(schedule, kind).items()
        if (over := ended(kind, record)) <= cutoff and movable(kind, record)
    ]
    ready.sort()
    return ready


def plan(
    schedule: Schedule, now: datetime, size_of: Callable[[dict], int], max_bytes: int
) -> Plan | None:
    """The next batch to archive: the oldest period's records that may leave, oldest first,
    adding up to at most `max_bytes` (always at least one record). None: nothing to move.

    A batch is named by its period and its last record, not by a list of ids, so writing it
    down costs the same few bytes however large it is (a document at its limit still can)."""
    ready = _ready(schedule, now)
    if not ready:
        return None
    period = period_of(ready[0][0])
    size = 0
    through = ready[0]
    for item in ready:
        over, kind, rid = item
        if period_of(over) != period:
            break
        record_size = size_of(archived_form(kind, getattr(schedule, kind)[rid]))
        if size and size + record_size > max_bytes:
            break
        through = item
        size += record_size
    return Plan(period, through, size)


def batch_ids(schedule: Schedule, batch: dict, now: datetime) -> dict[str, list[str]]:
    """The records a batch names: of its period, up to its last record. Old records no longer
    change, so this is the same set whenever it is asked."""
    through = tuple(batch["through"])
    ids: dict[str, list[str]] = {kind: [] for kind in KINDS}
    for item in _ready(schedule, now):
        if item > through:
            break
        if period_of(item[0]) == batch["period"]:
            ids[item[1]].append(item[2])
    return ids


def archived_form(kind: str, record: Any) -> dict:
    """A record as the archive keeps it: an offer without slots (its dates and time ranges as
    entered say when it was), the rest as they are."""
    data = record.to_dict()
    if kind == "offers":
        data["slots"] = []
        data["ends"] = record.last_end
    return data


def record_key(owner: str, kind: str, rid: str) -> str:
    """A record's key inside an archive piece; pieces on Replit DB hold many people."""
    return f"{owner}/{kind}/{rid}"


def add_records(
    doc: dict | None, records: dict[str, dict], size_of: Callable[[dict], int], max_bytes: int
) -> dict:
    """Step 2 on an archive piece: the records written in, by key, so copying again changes
    nothing. PieceFull when records new to the piece would take it past `max_bytes` (an empty
    piece takes any batch: a batch is at most half a piece)."""
    held = dict(doc["records"]) if doc else {}
    grows = any(key not in held for key in records)
    held.update(records)
    result = {"records": held}
    if doc and grows and size_of(result) > max_bytes:
        raise PieceFull
    return result


def batch_of(plan_: Plan, piece: str) -> dict:
    return {"period": plan_.period, "piece": piece, "through": list(plan_.through)}


def begin(schedule: Schedule, batch: dict) -> dict:
    """Step 1: write the batch down, or return the one a crash left unfinished."""
    if schedule.archiving:
        return schedule.archiving
    schedule.archiving = batch
    return schedule.archiving


def move_to(schedule: Schedule, batch: dict) -> dict:
    """The batch's piece filled up before the copy: it goes to another piece instead."""
    if schedule.archiving:
        schedule.archiving = batch
    return batch


def batch_records(schedule: Schedule, batch: dict, now: datetime) -> dict[str, dict]:
    """Step 2's input: the batch's records as the archive keeps them, by record key."""
    return {
        record_key(schedule.owner, kind, rid): archived_form(kind, getattr(schedule, kind)[rid])
        for kind, ids in batch_ids(schedule, batch, now).items()
        for rid in ids
    }


@dataclass
class Finished:
    offers: list[Offer]
    requests: list[LearnRequest]


def finish(schedule: Schedule, batch: dict, now: datetime) -> Finished:
    """Step 3: the batch leaves the live document and its counts join the counters. Only
    records still there count, so running it again counts nothing twice."""
    if schedule.archiving and schedule.archiving != batch:
        return Finished([], [])  # another batch is under way: it finishes first
    ids = batch_ids(schedule, batch, now)
    counters = dict(schedule.counters)
    highlights = list(schedule.highlights)
    leaving = [schedule.bookings.pop(rid) for rid in ids["bookings"]]
    for booking in leaving:
        add_booking(counters, highlights, booking, schedule.owner)
    # Their outcomes are final now (marks closed after 14 days): counted once, here.
    schedule.archive_outcomes(leaving, now)
    offers = [schedule.offers.pop(rid) for rid in ids["offers"]]
    requests = [schedule.requests.pop(rid) for rid in ids["requests"]]
    highlights.sort(key=lambda h: h["created"], reverse=True)
    schedule.counters = {k: v for k, v in counters.items() if v}
    schedule.highlights = highlights[:MAX_HIGHLIGHTS]
    schedule.archiving = {}
    schedule.drop_past_slots(now)
    return Finished(offers, requests)


def add_booking(counters: dict[str, int], highlights: list[dict], b: Booking, owner: str) -> None:
    """What one archived session adds: taught or attended when it was held (its final outcome,
    domain/attendance.py), and the other person's rating of the owner (visible by now: reviews
    show after 14 days at the latest; a disputed session may still carry one)."""
    if b.status != "confirmed":
        return
    if final_outcome(b) == HELD:
        role = "taught" if b.teacher == owner else "attended"
        counters[role] = counters.get(role, 0) + 1
    other = b.other(owner)
    review = b.reviews.get(other)
    if review is None:
        return
    counters["rating_sum"] = counters.get("rating_sum", 0) + review.rating
    counters["rating_count"] = counters.get("rating_count", 0) + 1
    highlights.append(
        {
            "booking": b.id,
            "skill": b.skill,
            "title": b.title,
            "by": b.other_name(owner),
            "start": b.start,
            "rating": review.rating,
            "feedback": review.feedback,
            "created": review.created,
            "role": b.role(owner),
        }
    )


def counters_of(owner: str, archived: Iterable[dict]) -> dict[str, int]:
    """What the counters should say, recomputed from archived booking records (the check the
    tests and `flask migrate --check` make)."""
    counters: dict[str, int] = {}
    for data in archived:
        add_booking(counters, [], Booking.from_dict(data), owner)
    return counters

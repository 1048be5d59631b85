"""Derived indexes, as pure functions of the primary records: no Flask, no I/O.

The skill index says who teaches and who wants to learn each skill (search, the directory, the
learners page). The slot index says *when*: for every skill, every published future slot of
everyone who teaches it, sorted by start, so a match reads the rows that can overlap the
request's windows (from LONGEST_SLOT before the first: a slot may start before a window and run
into it) and stops after a page of teachers instead of opening every teacher's documents.

A slot-index row is one line, "<start> <end> <uid> <offer id> <mode>", with start and end as
ten-digit Unix seconds: sorting the lines as text sorts them by start, and a bisect on the text
finds a window's first row. Rows carry what an offer *publishes*, never whether a slot is booked:
the index can only over-report, and every teacher it proposes is confirmed against their own
schedule before they are shown, so it cannot serve a stale booking.

Rows are grouped in buckets by start: one per skill and week (weeks start on Monday, UTC), or one
per skill in all (`ALL_WEEKS`) where keys are scarce (Replit DB holds 5,000). Inside a bucket's
document each UTC day's rows are one newline-joined string: decoding a few long strings is
cheap, and a match splits only the days it walks, so reading follows the answer, not the week.

A bucket is stored in pieces of at most SLOT_PIECE_ROWS rows (domain/limits.py), so no group of
accounts can grow one document past what a store holds: piece 0 is the bucket's own key and
says how many pieces there are ("pieces", when more than one); a piece that would pass the cap
spills into the next numbered one. All of one teacher's rows in a bucket live in one piece (at
most MAX_FUTURE_SLOTS of them), so replacing them touches one piece. Readers merge the pieces'
rows day by day, in start order.

One module over ~300 lines: the row format, the buckets and the pieces are one layout, and
every reader and writer of it must agree on all three at once.
"""

from __future__ import annotations

import bisect
import functools
import heapq
import itertools
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, timedelta
from itertools import islice

from skillswap.domain.limits import PieceFull
from skillswap.domain.matching import NEARBY, PARTIAL, WHOLE
from skillswap.domain.records import Offer
from skillswap.domain.schedule import Schedule
from skillswap.domain.skills import mode_compatible, normalise_skill
from skillswap.domain.times import LONGEST_SLOT, merge_intervals, parse_iso_utc
from skillswap.domain.users import User

ALL_WEEKS = "all"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_DATE = date(1970, 1, 1)
_DAY = 86400
_WEEK = 7 * _DAY
_MONDAY_OFFSET = 3 * _DAY  # 1970-01-01 was a Thursday: shift so buckets start on Mondays
_LONGEST = int(LONGEST_SLOT.total_seconds())


# --- the skill index ------------------------------------------------------------------------


# --- the slot index: rows and buckets ---------------------------------------------------------


def epoch(instant: datetime) -> int:
    return int((instant - _EPOCH).total_seconds())


def bucket_of(start: int, weekly: bool) -> str:
    """The bucket holding a row starting at `start` (Unix seconds): its week's Monday."""
    if not weekly:
        return ALL_WEEKS
    return _monday((start + _MONDAY_OFFSET) // _WEEK)


@functools.lru_cache(maxsize=4096)
def _monday(week: int) -> str:
    return (_EPOCH_DATE + timedelta(seconds=week * _WEEK - _MONDAY_OFFSET)).isoformat()


def buckets_between(first: int, last: int, weekly: bool) -> list[str]:
    """Every bucket a row starting in [first, last] can be in, in time order."""
    if not weekly:
        return [ALL_WEEKS]
    found = []
    for start in range(first - (first + _MONDAY_OFFSET) % _WEEK, last + 1, _WEEK):
        found.append(bucket_of(start, weekly))
    return found


def row(start: int, end: int, uid: str, offer_id: str, mode: str) -> str:
    return f"{start:010d} {end:010d} {uid} {offer_id} {mode}"


def row_uid(line: str) -> str:
    return line.split(" ", 3)[2]


def offer_rows(offer: Offer, after: int) -> list[str]:
    """Rows for an offer's slots starting after `after`, sorted."""
    rows = []
    for stored in offer.slots:
        start = epoch(parse_iso_utc(stored.start))
        if start > after:
            end = epoch(parse_iso_utc(stored.end))
            rows.append(row(start, end, offer.owner, offer.id, offer.mode))
    rows.sort()
    return rows


def teaches(teach_keys: set[str], offer: Offer, skill: str) -> bool:
    """Is this offer's time teachable for `skill`? An offer of it, or any offer of someone
    whose teach tags name it (the same rule as `Schedule.teachable_slots`)."""
    return skill in teach_keys or offer.skill_key == skill


def teacher_rows(schedule: Schedule, teach_keys: set[str], skill: str, after: int) -> list[str]:
    """One teacher's rows in `skill`'s index, sorted."""
    rows = [
        line
        for offer in schedule.offers.values()
        if teaches(teach_keys, offer, skill)
        for line in offer_rows(offer, after)
    ]
    rows.sort()
    return rows


def day_of(line: str) -> str:
    return _day(int(line[:10]) // _DAY)


@functools.lru_cache(maxsize=4096)
def _day(days: int) -> str:
    return (_EPOCH_DATE + timedelta(days=days)).isoformat()


def bucket_doc(rows: list[str], pieces: int = 1) -> dict:
    """A piece's stored document: its sorted rows, one newline-joined string per UTC day, and
    on piece 0 of a bucket in several pieces, how many there are."""
    days: dict[str, list[str]] = {}
    for line in rows:
        days.setdefault(day_of(line), []).append(line)
    doc: dict = {"days": {day: "\n".join(lines) for day, lines in sorted(days.items())}}
    if pieces > 1:
        doc["pieces"] = pieces
    return doc


def piece_count(head: dict | None) -> int:
    """How many pieces a bucket has, from its piece 0 (1 when it has none yet)."""
    return int(head.get("pieces", 1)) if head else 1


def holds_teacher(doc: dict | None, uid: str) -> bool:
    marker = f" {uid} "
    return bool(doc) and any(marker in text for text in doc["days"].values())


def replace_in_piece(
    doc: dict | None, uid: str, rows: list[str], after: int, cap: int, fresh: bool = False
) -> dict | None:
    """A piece with this teacher's rows replaced by `rows` (sorted), rows that started by
    `after` shed, or None when the piece is left empty and is not a bucket's header. Raises
    PieceFull when the result would pass `cap` and grow the piece; a `fresh` (new, empty)
    piece takes any one teacher's rows.

    Works day by day: a day neither this teacher nor the past touches is kept as the very
    string it was, so the cost follows what changes, not the size of a full piece."""
    days = doc["days"] if doc else {}
    first_future = f"{after + 1:010d}"
    first_day = _day((after + 1) // _DAY)
    marker = f" {uid} "
    adding: dict[str, list[str]] = {}
    for line in rows:
        adding.setdefault(day_of(line), []).append(line)
    kept: dict[str, str] = {}
    for day in sorted(days.keys() | adding.keys()):
        if day < first_day:
            continue
        text = days.get(day, "")
        new = adding.get(day, [])
        if text and day != first_day and marker not in text and not new:
            kept[day] = text
            continue
        lines = [
            line
            for line in (text.split("\n") if text else ())
            if line[:10] >= first_future and marker not in line
        ]
        if new:
            lines = list(heapq.merge(lines, new))
        if lines:
            kept[day] = "\n".join(lines)
    count = sum(text.count("\n") + 1 for text in kept.values())
    before = sum(text.count("\n") + 1 for text in days.values())
    if count > cap and count > before and not fresh:
        raise PieceFull
    pieces = piece_count(doc)
    if not kept and pieces == 1:
        return None
    result: dict = {"days": kept}
    if pieces > 1:
        result["pieces"] = pieces
    return result


def with_piece_count(doc: dict | None, pieces: int) -> dict:
    """Piece 0 saying the bucket has (at least) `pieces` pieces."""
    doc = dict(doc or {"days": {}})
    doc["pieces"] = max(piece_count(doc), pieces)
    return doc


def split_into_pieces(rows: list[str], cap: int) -> list[list[str]]:
    """A bucket's rows as pieces of at most `cap` rows, each teacher's rows in one piece
    (teachers in order of their first row): how a rebuild lays out a bucket."""
    by_teacher: dict[str, list[str]] = {}
    for line in rows:
        by_teacher.setdefault(row_uid(line), []).append(line)
    pieces: list[list[str]] = [[]]
    for teacher_rows in by_teacher.values():
        if pieces[-1] and len(pieces[-1]) + len(teacher_rows) > cap:
            pieces.append([])
        pieces[-1].extend(teacher_rows)
    return [sorted(piece) for piece in pieces]


def bucket_rows(doc: dict | None) -> list[str]:
    """Every row of a bucket's document, sorted."""
    if not doc:
        return []
    return [line for day in sorted(doc["days"]) for line in doc["days"][day].split("\n")]


def group_by_bucket(rows: Iterable[str], weekly: bool) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    for line in rows:
        groups.setdefault(bucket_of(int(line[:10]), weekly), []).append(line)
    return groups


def replace_teacher_rows(existing: list[str], uid: str, rows: list[str], after: int) -> list[str]:
    """A bucket's rows with this teacher's replaced by `rows`, and rows that started by `after`
    dropped (a bucket sheds the past whenever it is written)."""
    first_future = f"{after + 1:010d}"
    marker = f" {uid} "
    kept = [line for line in existing if line[:10] >= first_future and marker not in line]
    kept.extend(rows)
    kept.sort()
    return kept


def build_slot_index(
    people: Iterable[tuple[User, Schedule]], now: datetime, weekly: bool, cap: int
) -> dict[tuple[str, str, int], dict]:
    """(skill, bucket, piece) -> piece document for everyone's future slots: what `flask
    reindex` writes and the benchmark's generator loads."""
    after = epoch(now)
    buckets: dict[tuple[str, str], list[str]] = {}
    for user, schedule in people:
        tags = {key for tag in user.teach if (key := normalise_skill(tag))}
        for offer in schedule.offers.values():
            rows = offer_rows(offer, after)
            skills = tags | ({offer.skill_key} - {""})
            for line in rows:
                bucket = bucket_of(int(line[:10]), weekly)
                for skill in skills:
                    buckets.setdefault((skill, bucket), []).append(line)
    built: dict[tuple[str, str, int], dict] = {}
    for (skill, bucket), rows in buckets.items():
        pieces = split_into_pieces(sorted(rows), cap)
        for number, piece in enumerate(pieces):
            built[(skill, bucket, number)] = bucket_doc(piece, len(pieces) if number == 0 else 1)
    return built


# --- the slot index: reading ------------------------------------------------------------------


def _day_rows(pieces: list[dict], day: str, first: str) -> Iterable[str]:
    """A day's rows from `first` on, merged across a bucket's pieces in start order; only
    the pieces holding that day are split."""
    streams = []
    for doc in pieces:
        text = doc["days"].get(day)
        if text:
            rows = text.split("\n")
            streams.append(islice(rows, bisect.bisect_left(rows, first), None))
    return streams[0] if len(streams) == 1 else heapq.merge(*streams)


def _rows_between(buckets: list[list[dict]], first: int, stop: int) -> Iterator[str]:
    """The rows starting in [first, stop), in start order, read lazily: a day's rows are split
    only when the walk reaches that day."""
    if first >= stop:
        return
    low, high, first_day = f"{first:010d}", f"{stop:010d}", _day(first // _DAY)
    for pieces in buckets:
        for day in sorted({day for doc in pieces for day in doc["days"]}):
            if day < first_day:
                continue
            for line in _day_rows(pieces, day, low):
                if line >= high:
                    return
                yield line


def match_reach(windows: list[tuple[datetime, datetime]], now: datetime) -> tuple[int, int] | None:
    """The first and last start of a row that can overlap the windows after `now` (a slot
    starts at most LONGEST_SLOT before a window it runs into), or None when none can."""
    if not windows:
        return None
    first = max(epoch(now) + 1, epoch(min(a for a, _ in windows) - LONGEST_SLOT))
    last = epoch(max(b for _, b in windows)) - 1
    return (first, last) if first <= last else None


def nearby_reach(windows: list[tuple[datetime, datetime]], now: datetime) -> tuple[int, int] | None:
    """The first and last start of a row within NEARBY of the windows after `now`."""
    if not windows:
        return None
    first = max(epoch(now) + 1, epoch(min(a for a, _ in windows) - NEARBY - LONGEST_SLOT))
    last = epoch(max(b for _, b in windows) + NEARBY)
    return (first, last) if first <= last else None


def teachers_in_order(
    buckets: list[list[dict]],
    windows: list[tuple[datetime, datetime]],
    wanted_mode: str,
    exclude: str,
    now: datetime,
) -> Iterator[tuple[tuple[int, int], str]]:
    """((group, start), uid) for each teacher, in the order domain/matching.py ranks them,
    read lazily: first everyone with a row lying wholly inside one of the merged windows
    (WHOLE, at their first such row), soonest first; then everyone else with a row that
    overlaps one (PARTIAL, at their first such row), soonest first. Rows must start after
    `now` and suit the request's mode.

    `buckets` follow each other in time, each given as its pieces. Each pair is a lower bound
    of the teacher's `placement` once confirmed against their records: a booking can only
    take slots away, so their first whole fit can only come later or be gone (then they
    rank among the overlaps, further down).
    """
    merged = [(epoch(a), epoch(b)) for a, b in merge_intervals(windows)]
    if not merged:
        return
    ends = [b for _, b in merged]
    floor = epoch(now) + 1
    seen: set[str] = set()
    overlapping: list[str] = []  # rows that only overlap a window, kept for later
    # The rows starting inside the windows' span: whole fits go out as they come, and rows
    # that only overlap wait (unsplit) until every whole fit is known.
    for line in _rows_between(buckets, max(floor, merged[0][0]), merged[-1][1]):
        start, end = int(line[:10]), int(line[11:21])
        pos = bisect.bisect_right(ends, start)  # the first window ending after the row starts
        if pos == len(merged) or merged[pos][0] >= end:
            continue
        if start < merged[pos][0] or end > merged[pos][1]:
            overlapping.append(line)
            continue
        _, _, uid, _, mode = line.split(" ")
        if uid == exclude or uid in seen or not mode_compatible(mode, wanted_mode):
            continue
        seen.add(uid)
        yield (WHOLE, start), uid
    # Then the overlaps, soonest first: rows that start before the first window and run
    # into it (only read now: a page of whole fits never needs them), then the rest.
    early = _rows_between(buckets, max(floor, merged[0][0] - _LONGEST), merged[0][0])
    for line in itertools.chain(early, overlapping):
        if int(line[11:21]) <= merged[0][0]:
            continue  # an early row that ends before the first window starts
        _, _, uid, _, mode = line.split(" ")
        if uid == exclude or uid in seen or not mode_compatible(mode, wanted_mode):
            continue
        seen.add(uid)
        yield (PARTIAL, int(line[:10])), uid


def _gap(start: int, end: int, merged: list[tuple[int, int]], ends: list[int]) -> int:
    """Seconds from [start, end) to the nearest merged window; 0 when it overlaps one (the
    rule of `matching.gap`, on the index's Unix seconds)."""
    pos = bisect.bisect_right(ends, start)
    if pos < len(merged) and merged[pos][0] < end:
        return 0
    before = start - ends[pos - 1] if pos else None
    after = merged[pos][0] - end if pos < len(merged) else None
    return min(d for d in (before, after) if d is not None)


def teachers_nearby(
    buckets: list[list[dict]],
    windows: list[tuple[datetime, datetime]],
    wanted_mode: str,
    exclude: str,
    now: datetime,
) -> list[tuple[int, str]]:
    """(seconds from the windows, uid) for every teacher with a row starting after `now`,
    suiting the mode and within NEARBY of the windows, nearest first (then by uid). Each is a
    lower bound of how near the teacher's free time really comes (bookings only take away)."""
    merged = [(epoch(a), epoch(b)) for a, b in merge_intervals(windows)]
    reach = nearby_reach(windows, now)
    if not merged or reach is None:
        return []
    ends = [b for _, b in merged]
    limit = int(NEARBY.total_seconds())
    nearest: dict[str, int] = {}
    for line in _rows_between(buckets, reach[0], reach[1] + 1):
        distance = _gap(int(line[:10]), int(line[11:21]), merged, ends)
        if distance > limit:
            continue
        _, _, uid, _, mode = line.split(" ")
        if uid == exclude or not mode_compatible(mode, wanted_mode):
            continue
        if distance < nearest.get(uid, limit + 1):
            nearest[uid] = distance
    return sorted((distance, uid) for uid, distance in nearest.items())

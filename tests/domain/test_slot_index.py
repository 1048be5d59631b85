"""The slot index's pure parts: buckets, rows, replacing a teacher's rows, reading in order.

Whole-system agreement (index vs. scanning everyone) is in test_bench_index.py and the state
machine; these pin the pieces those rely on.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import islice

import pytest

from skillswap.domain import slot_index
from skillswap.domain.matching import PARTIAL, WHOLE
from skillswap.domain.slot_index import (
    ALL_WEEKS,
    bucket_of,
    buckets_between,
    epoch,
    replace_teacher_rows,
    row,
    row_uid,
    teachers_in_order,
)

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)  # a Monday


def at(day: int, hour: float) -> int:
    return epoch(NOW.replace(hour=0) + timedelta(days=day, hours=hour))


@pytest.mark.parametrize(
    ("instant", "monday"),
    [
        ("2026-11-23T00:00:00", "2026-11-23"),
        ("2026-11-29T23:59:59", "2026-11-23"),
        ("2026-11-30T00:00:00", "2026-11-30"),
        ("2027-01-01T12:00:00", "2026-12-28"),  # weeks cross years
        ("1970-01-01T00:00:00", "1969-12-29"),
    ],
)
def test_weekly_buckets_start_on_monday_utc(instant: str, monday: str) -> None:
    start = epoch(datetime.fromisoformat(instant).replace(tzinfo=UTC))
    assert bucket_of(start, weekly=True) == monday
    assert bucket_of(start, weekly=False) == ALL_WEEKS


def test_buckets_between_lists_every_week_touched_in_order() -> None:
    first, last = at(6, 23), at(15, 1)  # Sunday 29 Nov .. Wednesday 9 Dec
    assert buckets_between(first, last, weekly=True) == ["2026-11-23", "2026-11-30", "2026-12-07"]
    assert buckets_between(first, first, weekly=True) == ["2026-11-23"]
    assert buckets_between(first, last, weekly=False) == [ALL_WEEKS]


def test_rows_sort_by_start_as_text() -> None:
    early = row(at(1, 9), at(1, 10), "zz", "o1", "online")
    late = row(at(1, 10), at(1, 11), "aa", "o2", "offline")
    much_later = row(epoch(NOW + timedelta(days=4000)), 0, "aa", "o3", "online")
    assert sorted([much_later, late, early]) == [early, late, much_later]


def test_replacing_a_teachers_rows_keeps_others_and_sheds_the_past() -> None:
    after = epoch(NOW)
    past = row(at(0, 9), at(0, 10), "bob", "b1", "online")  # 09:00 today, before noon
    bobs = row(at(1, 9), at(1, 10), "bob", "b1", "online")
    old_ada = row(at(2, 9), at(2, 10), "ada", "a1", "online")
    new_ada = row(at(1, 8), at(1, 9), "ada", "a2", "offline")
    kept = replace_teacher_rows([past, bobs, old_ada], "ada", [new_ada], after)
    assert kept == [new_ada, bobs]
    assert replace_teacher_rows(kept, "ada", [], after) == [bobs]
    assert replace_teacher_rows([bobs], "bob", [], after) == []


def _buckets(*lines: str) -> list[list[dict]]:
    """Weekly buckets of these rows, each in one piece."""
    groups = slot_index.group_by_bucket(sorted(lines), weekly=True)
    return [[slot_index.bucket_doc(groups[key])] for key in sorted(groups)]


def test_a_bucket_document_holds_its_rows_by_day_and_gives_them_back() -> None:
    rows = sorted(
        [
            row(at(1, 9), at(1, 10), "ada", "a1", "online"),
            row(at(1, 23.5), at(2, 0.5), "bob", "b1", "online"),  # across midnight: its start day
            row(at(3, 9), at(3, 10), "ada", "a1", "online"),
        ]
    )
    doc = slot_index.bucket_doc(rows)
    assert sorted(doc["days"]) == ["2026-11-24", "2026-11-26"]
    assert doc["days"]["2026-11-24"] == "\n".join(rows[:2])
    assert slot_index.bucket_rows(doc) == rows
    assert slot_index.bucket_rows(None) == []


def test_teachers_come_once_each_soonest_first_across_buckets() -> None:
    rows = _buckets(
        row(at(1, 9), at(1, 10), "ada", "a1", "online"),
        row(at(1, 10), at(1, 11), "bob", "b1", "online"),
        row(at(2, 9), at(2, 10), "ada", "a1", "online"),
        row(at(8, 9), at(8, 10), "cy", "c1", "online"),  # next week's bucket
    )
    windows = [(NOW, NOW + timedelta(days=14))]
    found = list(teachers_in_order(rows, windows, "either", "", NOW))
    assert found == [
        ((WHOLE, at(1, 9)), "ada"),
        ((WHOLE, at(1, 10)), "bob"),
        ((WHOLE, at(8, 9)), "cy"),
    ]


def test_rows_must_meet_a_window_suit_the_mode_and_not_be_the_viewer() -> None:
    rows = _buckets(
        row(at(0, 11), at(0, 13), "past", "p", "online"),  # started before NOW
        row(at(1, 8), at(1, 10), "spills", "s", "online"),  # 08-10 overlaps a 09-12 window
        row(at(1, 9), at(1, 10), "offline", "f", "offline"),
        row(at(1, 10), at(1, 11), "me", "m", "online"),
        row(at(1, 11), at(1, 12), "fits", "t", "online"),
        row(at(1, 12), at(1, 13), "touching", "u", "online"),  # in the touching window
        row(at(1, 14), at(1, 15), "late", "l", "online"),
    )
    windows = [
        (NOW - timedelta(hours=2), NOW + timedelta(hours=1)),
        (NOW + timedelta(days=1, hours=-3), NOW + timedelta(days=1)),  # 09:00-12:00
        (NOW + timedelta(days=1), NOW + timedelta(days=1, hours=1)),  # 12:00-13:00
    ]
    found = list(teachers_in_order(rows, windows, "online", "me", NOW))
    # Whole fits first, then the row that only overlaps (issue 20).
    assert found == [
        ((WHOLE, at(1, 11)), "fits"),
        ((WHOLE, at(1, 12)), "touching"),
        ((PARTIAL, at(1, 8)), "spills"),
    ]
    either = [uid for _, uid in teachers_in_order(rows, windows, "either", "", NOW)]
    assert either == ["offline", "me", "fits", "touching", "spills"]
    assert list(teachers_in_order(rows, [], "either", "", NOW)) == []


def test_reading_is_lazy() -> None:
    """A page stops reading after its teachers: later days are never even split."""

    split: list[str] = []

    class Days(dict):
        def __getitem__(self, day: str) -> str:
            split.append(day)
            return super().__getitem__(day)

        def get(self, day: str, default: object = None) -> object:
            return self[day] if day in self else default  # noqa: SIM401 (goes through __getitem__)

    rows = [
        row(at(d, 9) + 60 * n, at(d, 9) + 60 * n + 60, f"t{d}-{n}", "o", "online")
        for d in range(1, 6)
        for n in range(100)
    ]
    doc = slot_index.bucket_doc(rows)
    doc["days"] = Days(doc["days"])
    found = teachers_in_order([[doc]], [(NOW, NOW + timedelta(days=6))], "either", "", NOW)
    assert [uid for _, uid in islice(found, 3)] == ["t1-0", "t1-1", "t1-2"]
    assert split == ["2026-11-24"]


# --- pieces: no bucket grows past its cap, whoever writes to it --------------------------------


def test_a_full_piece_refuses_to_grow_but_may_shrink_or_take_a_fresh_teacher() -> None:
    after = epoch(NOW)
    rows = [row(at(1, h), at(1, h + 1), f"t{h:02d}", "o", "online") for h in range(6)]
    doc = slot_index.bucket_doc(rows)
    newcomer = [row(at(2, 9), at(2, 10), "new", "o", "online")]
    with pytest.raises(slot_index.PieceFull):
        slot_index.replace_in_piece(doc, "new", newcomer, after, cap=6)
    # Replacing a teacher's rows with as many is no growth; removing them shrinks the piece.
    same = slot_index.replace_in_piece(
        doc, "t00", [row(at(3, 9), at(3, 10), "t00", "o", "online")], after, cap=6
    )
    assert len(slot_index.bucket_rows(same)) == 6
    assert (
        len(slot_index.bucket_rows(slot_index.replace_in_piece(doc, "t00", [], after, cap=6))) == 5
    )
    # A data set already over a new cap is kept as it is.
    assert (
        len(slot_index.bucket_rows(slot_index.replace_in_piece(doc, "t01", [], after, cap=2))) == 5
    )
    # A brand-new piece takes one teacher's rows whatever their number.
    many = [row(at(4, h), at(4, h + 1), "big", "o", "online") for h in range(9)]
    assert (
        slot_index.bucket_rows(slot_index.replace_in_piece(None, "big", many, after, 6, fresh=True))
        == many
    )


def test_an_emptied_header_piece_stays_while_it_has_overflow_pieces() -> None:
    after = epoch(NOW)
    head = slot_index.with_piece_count(
        slot_index.bucket_doc([row(at(1, 9), at(1, 10), "a", "o", "online")]), 3
    )
    assert slot_index.piece_count(head) == 3
    emptied = slot_index.replace_in_piece(head, "a", [], after, cap=10)
    assert emptied == {"days": {}, "pieces": 3}
    assert (
        slot_index.replace_in_piece(
            slot_index.bucket_doc([row(at(1, 9), at(1, 10), "a", "o", "online")]),
            "a",
            [],
            after,
            cap=10,
        )
        is None
    )


def test_a_rebuild_splits_a_bucket_keeping_each_teacher_in_one_piece() -> None:
    rows = sorted(
        row(at(1 + d % 5, 8 + d % 10), at(1 + d % 5, 9 + d % 10), f"t{d % 7}", "o", "online")
        for d in range(70)
    )
    pieces = slot_index.split_into_pieces(rows, cap=25)
    assert all(len(piece) <= 25 for piece in pieces)
    assert sorted(line for piece in pieces for line in piece) == rows
    owners = [{row_uid(line) for line in piece} for piece in pieces]
    assert all(not (a & b) for i, a in enumerate(owners) for b in owners[i + 1 :])


def test_teachers_in_order_merges_a_buckets_pieces_in_start_order() -> None:
    early = row(at(1, 9), at(1, 10), "ada", "a1", "online")
    middle = row(at(1, 10), at(1, 11), "bob", "b1", "online")
    late = row(at(1, 11), at(1, 12), "cy", "c1", "online")
    pieces = [slot_index.bucket_doc([middle], pieces=2), slot_index.bucket_doc([early, late])]
    windows = [(NOW, NOW + timedelta(days=6))]
    found = [uid for _, uid in teachers_in_order([pieces], windows, "either", "", NOW)]
    assert found == ["ada", "bob", "cy"]

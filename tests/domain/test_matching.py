"""Unit tests for skillswap.domain.matching: modes, skill keys, windows and free slots."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skillswap.domain.matching import free_slots, slots_in_windows
from skillswap.domain.skills import mode_compatible, normalise_skill
from skillswap.domain.times import UTC, Slot, expand_slots, expand_windows

PROPERTY_SETTINGS = settings(max_examples=200, deadline=None)
BASE = datetime(2026, 12, 1, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return BASE + timedelta(minutes=minutes)


def slot(start: int, end: int) -> Slot:
    return Slot(at(start), at(end), f"s{start}-{end}")


def span(start: int, end: int) -> tuple[datetime, datetime]:
    return at(start), at(end)


# --------------------------------------------------------------------------------------------
# mode_compatible


@pytest.mark.parametrize(
    ("offer", "wanted", "ok"),
    [
        ("online", "online", True),
        ("offline", "offline", True),
        ("online", "offline", False),
        ("offline", "online", False),
        ("online", "either", True),
        ("offline", "either", True),
        ("either", "either", False),  # an offer always has a concrete mode
        ("hybrid", "online", False),
        ("online", "sometimes", False),
        ("Online", "online", False),  # values are the form's canonical choices, not free text
    ],
)
def test_mode_compatible(offer: str, wanted: str, ok: bool) -> None:
    assert mode_compatible(offer, wanted) is ok


# --------------------------------------------------------------------------------------------
# normalise_skill


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("Python", "python"),
        (" python ", "python"),
        ("PYTHON", "python"),
        ("python!", "python"),
        ("Machine-Learning", "machine learning"),
        ("machine   learning", "machine learning"),
        ("machine_learning", "machine learning"),
        ("Node.js", "node js"),
        ("C++", "c plus plus"),
        ("c ++", "c plus plus"),
        ("C#", "c sharp"),
        ("C", "c"),
        ("Rubik's Cube", "rubiks cube"),
        ("Rubik’s cube", "rubiks cube"),
        ("Ｐｙｔｈｏｎ", "python"),  # full-width letters
        ("Straße", "strasse"),
        ("Hindi / हिन्दी", "hindi हिन्दी"),  # vowel signs and virama are marks: kept
        ("日本語 (会話)", "日本語 会話"),
        ("Ελληνικά", "ελληνικά"),
        ("3D printing", "3d printing"),
        # Invisible format characters join, they do not separate: "Bak\u200bing" looks like
        # "Baking" and must find it (it was "bak ing").
        ("Bak\u200bing", "baking"),  # zero-width space
        # Letters to Unicode that show as nothing (an outside probe): no skill at all.
        ("\u3164", ""),
        ("\uffa0\u115f", ""),
        ("Py\u3164thon", "python"),
        # Variation selectors and the grapheme joiner change nothing shown: one skill.
        ("Python\ufe0f", "python"),
        ("Py\u034fthon\U000e0100", "python"),
        ("Bak\u00ading", "baking"),  # soft hyphen
        ("\ufeffPython\u2060", "python"),  # byte order mark, word joiner
        ("", ""),
        ("?!…", ""),
    ],
)
def test_normalise_skill(text: str, key: str) -> None:
    assert normalise_skill(text) == key


def test_c_family_stays_distinct() -> None:
    keys = {normalise_skill(name) for name in ("C", "C++", "C#", "F#")}
    assert len(keys) == 4


@PROPERTY_SETTINGS
@given(st.text(alphabet=st.sampled_from("abcXYZ019 -_.,!?+#'"), max_size=30))
def test_property_skill_key_ignores_case_and_spacing(text: str) -> None:
    key = normalise_skill(text)
    assert normalise_skill(text.upper()) == key
    assert normalise_skill(f"  {text.replace(' ', '   ')}\t") == key
    assert key == key.strip() and "  " not in key


@PROPERTY_SETTINGS
@given(st.text(max_size=30))
def test_property_skill_key_is_a_fixed_point(text: str) -> None:
    # Stored keys may be normalised again (reindex); that must never move them.
    key = normalise_skill(text)
    assert normalise_skill(key) == key


# --------------------------------------------------------------------------------------------
# slots_in_windows


def test_slots_inside_windows() -> None:
    slots = [slot(0, 60), slot(60, 120), slot(90, 150), slot(300, 360), slot(-30, 30)]
    windows = [span(0, 120), span(300, 330)]
    assert slots_in_windows(slots, windows) == [slot(0, 60), slot(60, 120)]


def test_slot_spanning_touching_windows_fits() -> None:
    assert slots_in_windows([slot(90, 150)], [span(120, 240), span(0, 120)]) == [slot(90, 150)]


def test_slot_spanning_a_gap_between_windows_does_not_fit() -> None:
    assert slots_in_windows([slot(90, 150)], [span(0, 120), span(121, 240)]) == []


def test_no_windows_no_slots() -> None:
    assert slots_in_windows([slot(0, 60)], []) == []


def test_slots_in_windows_sorts_its_result() -> None:
    slots = [slot(120, 180), slot(0, 60)]
    assert slots_in_windows(slots, [span(0, 240)]) == [slot(0, 60), slot(120, 180)]


def test_new_york_offer_matches_berlin_request_in_utc() -> None:
    # A teacher in New York offers 09:00-12:00 (15:00-18:00 in Berlin) in hour sessions; a
    # learner in Berlin asks for 16:00-18:00 the same day: the 10:00 and 11:00 New York
    # sessions fit.
    day = date(2026, 12, 1)
    ny, berlin = ZoneInfo("America/New_York"), ZoneInfo("Europe/Berlin")
    offer = expand_slots([day], [(time(9), time(12))], ny, 60)
    windows = expand_windows([day], [(time(16), time(18))], berlin)
    assert [s.id for s in slots_in_windows(offer, windows)] == [
        "2026-12-01T1000-1100",
        "2026-12-01T1100-1200",
    ]


# --------------------------------------------------------------------------------------------
# free_slots


def test_free_slots_must_start_strictly_after_now() -> None:
    slots = [slot(0, 60), slot(60, 120), slot(-60, 0)]
    assert free_slots(slots, [], now=at(0)) == [slot(60, 120)]
    assert free_slots(slots, [], now=at(-1)) == [slot(0, 60), slot(60, 120)]


def test_free_slots_skip_busy_time_half_open() -> None:
    slots = [slot(0, 60), slot(60, 120), slot(120, 180), slot(180, 240)]
    busy = [span(60, 90), span(200, 210)]
    # 0-60 ends as busy starts and 120-180 starts after busy ended: both free.
    assert free_slots(slots, busy, now=at(-10)) == [slot(0, 60), slot(120, 180)]


def test_free_slots_with_busy_interval_covering_several_slots() -> None:
    slots = [slot(0, 60), slot(60, 120), slot(120, 180), slot(300, 360)]
    assert free_slots(slots, [span(30, 150), span(10, 20)], now=at(-10)) == [slot(300, 360)]


def test_free_slots_ignores_empty_busy_intervals_and_sorts() -> None:
    slots = [slot(120, 180), slot(0, 60)]
    assert free_slots(slots, [span(30, 30)], now=at(-10)) == [slot(0, 60), slot(120, 180)]


# --------------------------------------------------------------------------------------------
# Properties: compare with a brute-force minute-by-minute reading of the same rules.

SPANS = st.tuples(st.integers(0, 300), st.integers(1, 90)).map(lambda p: (p[0], p[0] + p[1]))


@PROPERTY_SETTINGS
@given(
    slot_spans=st.lists(SPANS, max_size=8),
    busy_spans=st.lists(SPANS, max_size=5),
    now_minute=st.integers(-10, 310),
)
def test_property_free_slots_never_overlap_busy_and_miss_nothing(
    slot_spans: list[tuple[int, int]], busy_spans: list[tuple[int, int]], now_minute: int
) -> None:
    slots = [slot(s, e) for s, e in slot_spans]
    busy = [span(s, e) for s, e in busy_spans]
    busy_minutes = {m for s, e in busy_spans for m in range(s, e)}
    result = free_slots(slots, busy, now=at(now_minute))
    for chosen in result:
        assert chosen.start > at(now_minute)
        assert not any(chosen.start < b_end and b_start < chosen.end for b_start, b_end in busy)
    expected = sorted(
        slot(s, e) for s, e in slot_spans if s > now_minute and not busy_minutes & set(range(s, e))
    )
    assert result == expected


@PROPERTY_SETTINGS
@given(slot_spans=st.lists(SPANS, max_size=8), window_spans=st.lists(SPANS, max_size=5))
def test_property_slots_in_windows_means_every_minute_is_covered(
    slot_spans: list[tuple[int, int]], window_spans: list[tuple[int, int]]
) -> None:
    covered = {m for s, e in window_spans for m in range(s, e)}
    result = slots_in_windows(
        [slot(s, e) for s, e in slot_spans], [span(s, e) for s, e in window_spans]
    )
    expected = sorted(slot(s, e) for s, e in slot_spans if set(range(s, e)) <= covered)
    assert result == expected

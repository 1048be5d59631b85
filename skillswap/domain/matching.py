"""The pure core of matching: which teacher slots fit a learner's request.

The web layer reads candidate offers from the skill's index (never a scan of every user), then
uses these functions to keep the slots that fit the request's mode and windows and are still
free. No Flask, no store: plain values in, plain values out.
"""

from __future__ import annotations

import bisect
import functools
import re
import unicodedata
from collections.abc import Iterable
from datetime import datetime

from skillswap.domain.times import Slot, merge_intervals

OFFER_MODES = ("online", "offline")
WANTED_MODES = ("online", "offline", "either")

# "+" and "#" carry meaning in skill names ("C++", "C#", "F#"): spell them out before
# punctuation is stripped, so they stay distinct from plain "C".
_SPELLED = {"+": " plus ", "#": " sharp "}
# Apostrophes join a word rather than split it: "Rubik's cube" and "Rubiks cube" are one skill.
_APOSTROPHES = re.compile(r"['’ʼ`]")
_SPACES = re.compile(r"\s+")


def mode_compatible(offer_mode: str, wanted: str) -> bool:
    """True when an offer given ``offer_mode`` (online/offline) suits a learner who wants
    ``wanted`` (online/offline/either). Unknown values never match."""
    if offer_mode not in OFFER_MODES:
        return False
    if wanted == "either":
        return True
    return offer_mode == wanted


@functools.lru_cache(maxsize=4096)  # every page normalises the same few hundred skill names
def normalise_skill(text: str) -> str:
    """The index key of a skill name: case, spacing and punctuation do not matter.

    " Python ", "PYTHON" and "python!" give "python"; "Machine-Learning" and
    "machine  learning" give "machine learning"; "C++" gives "c plus plus" and "C#" gives
    "c sharp". Letters, digits and combining marks of every script are kept (Devanagari vowel
    signs are marks, and dropping them would change the word). Returns "" when nothing is left.
    """
    # NFKC folds full-width and compatibility forms ("Ｐｙｔｈｏｎ" -> "Python"); casefold is the
    # Unicode-aware lower() ("Straße" and "STRASSE" agree).
    folded = unicodedata.normalize("NFKC", text or "").casefold()
    folded = _APOSTROPHES.sub("", folded)
    chars: list[str] = []
    for char in folded:
        if char in _SPELLED:
            chars.append(_SPELLED[char])
        elif unicodedata.category(char)[0] in "LNM":
            chars.append(char)
        else:
            chars.append(" ")
    return _SPACES.sub(" ", "".join(chars)).strip()


def slots_in_windows(slots: Iterable[Slot], windows: list[tuple[datetime, datetime]]) -> list[Slot]:
    """The slots lying entirely inside the request's windows, sorted.

    Windows that touch or overlap are merged first: they are one stretch of the learner's free
    time, so a slot from 11:30 to 12:30 fits windows 10:00-12:00 and 12:00-14:00.
    """
    merged = merge_intervals(windows)
    starts = [start for start, _ in merged]
    fitting: list[Slot] = []
    for slot in slots:
        # The only window that can contain the slot is the last one starting at or before it.
        pos = bisect.bisect_right(starts, slot.start) - 1
        if pos >= 0 and slot.end <= merged[pos][1]:
            fitting.append(slot)
    fitting.sort()
    return fitting


def free_slots(
    slots: Iterable[Slot], busy: list[tuple[datetime, datetime]], now: datetime
) -> list[Slot]:
    """Slots that start after ``now`` (strictly) and overlap no busy interval, sorted.

    Overlap is half-open, so a slot may start exactly when a busy interval ends.
    """
    merged = merge_intervals((start, end) for start, end in busy if start < end)
    starts = [start for start, _ in merged]
    free: list[Slot] = []
    for slot in slots:
        if slot.start <= now:
            continue
        # Merged busy intervals are disjoint and sorted, so only the last one starting before
        # the slot ends can reach into it.
        pos = bisect.bisect_left(starts, slot.end) - 1
        if pos >= 0 and merged[pos][1] > slot.start:
            continue
        free.append(slot)
    free.sort()
    return free

"""Skills: when two spellings are one skill, and which session types suit a learner.

Skills match on a normalised key: case, spacing and punctuation do not matter, so "Python",
" python " and "PYTHON!" are one skill, while "C++" and "C#" stay apart from "C".
"""

from __future__ import annotations

import functools
import re
import unicodedata

from skillswap.domain.text import BLANKS, IGNORED_MARKS

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
    signs are marks, and dropping them would change the word); invisible format characters
    (zero-width space, soft hyphen), blanks (Hangul fillers) and marks that change nothing
    shown (variation selectors; both in domain/text.py) are dropped, so "Bak\u200bing" is
    "baking" and "Python\ufe0f" is "python", as they look.
    Returns "" when nothing is left.
    """
    # NFKC folds full-width and compatibility forms ("Ｐｙｔｈｏｎ" -> "Python"); casefold is the
    # Unicode-aware lower() ("Straße" and "STRASSE" agree).
    folded = unicodedata.normalize("NFKC", text or "").casefold()
    folded = _APOSTROPHES.sub("", folded)
    chars: list[str] = []
    for char in folded:
        category = unicodedata.category(char)
        if char in _SPELLED:
            chars.append(_SPELLED[char])
        elif category == "Cf" or char in BLANKS or char in IGNORED_MARKS:
            continue  # invisible, so it joins what is around it: "Bak\u200bing" is "baking"
        elif category[0] in "LNM":
            chars.append(char)
        else:
            chars.append(" ")
    return _SPACES.sub(" ", "".join(chars)).strip()

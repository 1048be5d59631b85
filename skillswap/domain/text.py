"""Text as people meant it: one Unicode form, and no invisible characters that change what
others see. Pure: no Flask, no I/O.

A NUL or another control character breaks what is built from the text (a calendar file, a log
line); bidirectional overrides and isolates (U+202E and friends) make "https://\u202emoc.live"
display as something else than it is. Neither is ever typed on purpose in a name, a title, a
tag or a link, so they are refused with a message rather than silently dropped.
"""

from __future__ import annotations

import unicodedata

# Explicit direction controls: embeddings, overrides, isolates, and the marks that act alone.
BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
# What a multi-line field (a bio, a description) may keep; \r only as part of \r\n.
LINE_BREAKS = frozenset("\n\t")


# Characters Unicode counts as letters or symbols that show as nothing: the Hangul fillers
# (and their half-width and compatibility forms), the blank braille pattern and the musical
# null notehead. With format characters, spaces and lone combining marks, they make a name or
# a skill that is there and cannot be seen. Unassigned code points are not among them: to
# this Python's Unicode tables, emoji newer than they are unassigned.
BLANKS = frozenset("\u115f\u1160\u3164\uffa0\u2800\U0001d159")
# Marks that change nothing shown: variation selectors (emoji or text style, and the
# ideographic ones), Mongolian free variation selectors, the combining grapheme joiner.
# Kept in a name (they belong to the letter before them), dropped from a skill's key so
# "Python\ufe0f" is Python.
IGNORED_MARKS = frozenset(
    "\u034f\u180b\u180c\u180d\u180f"
    + "".join(map(chr, range(0xFE00, 0xFE10)))
    + "".join(map(chr, range(0xE0100, 0xE01F0)))
)
_UNSEEN_CATEGORIES = frozenset({"Cc", "Cf", "Co", "Cs", "Mn", "Me", "Zl", "Zp", "Zs"})


def _unassigned_but_blank(code: int) -> bool:
    """Code points Unicode has set aside to show nothing, whether or not assigned yet (the
    default-ignorable ones), and those never to be assigned at all."""
    return (
        code == 0x2065
        or 0xFFF0 <= code <= 0xFFF8
        or 0xE0000 <= code <= 0xE0FFF
        or 0xFDD0 <= code <= 0xFDEF
        or code & 0xFFFE == 0xFFFE
    )


def _shows(char: str) -> bool:
    if char in BLANKS:
        return False
    category = unicodedata.category(char)
    if category == "Cn":  # to this Python's tables; may be an emoji newer than they are
        return not _unassigned_but_blank(ord(char))
    return category not in _UNSEEN_CATEGORIES


def is_visible(text: str | None) -> bool:
    """Whether `text` shows anything at all: "\u200b" or "\u3164" alone does not."""
    if not text:
        return False
    if text.isascii() and text.isprintable():  # most names: shown unless all spaces
        return not text.isspace()
    return any(map(_shows, text))


def normalise(text: str) -> str:
    """NFC, with browsers' \\r\\n line ends as \\n: "é" typed either way is stored one way."""
    return unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))


def _describe(char: str) -> str:
    name = unicodedata.name(char, "")
    label = f" ({name.lower()})" if name else ""
    return f"U+{ord(char):04X}{label}"


def text_problem(text: str, multiline: bool = False) -> str | None:
    """Why this text cannot be stored as typed, or None. `multiline` allows new lines and tabs."""
    for char in text:
        if multiline and char in LINE_BREAKS:
            continue
        if char in BIDI_CONTROLS:
            return (
                f"Remove the invisible direction character {_describe(char)}: it makes the text "
                "show differently from what it is"
            )
        if unicodedata.category(char) == "Cc":
            if char in "\n\r" and not multiline:
                return "Keep this on one line"
            return f"Remove the control character {_describe(char)}: it cannot be shown"
    return None

"""How values become text in the stores, and back: one definition for every backend.

Writing uses the standard library (compact, UTF-8 as is): orjson would write NaN as null,
silently. Reading uses orjson, several times faster at what pages do most (decoding a few dozen
schedule documents), and falls back to the standard library for the little orjson refuses (NaN,
Infinity, integers beyond 64 bits), so every value ever written reads back exactly as before.
`encoded_size` measures with orjson: a budget check needs the size, not the text.
"""

from __future__ import annotations

import json
from typing import Any

import orjson


def encode(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def encoded_size(value: Any) -> int:
    """Bytes `value` takes in a store (UTF-8 of `encode`), without decoding them to text."""
    try:
        return len(orjson.dumps(value))
    except (orjson.JSONEncodeError, TypeError):
        return len(encode(value).encode("utf-8"))


def decode(text: str | bytes) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)

"""How values become text in the stores, and back: one definition for every backend.

Writing uses the standard library (compact, UTF-8 as is). Reading uses orjson, several times
faster at what pages do most (decoding a few dozen schedule documents), and falls back to the
standard library for the little orjson refuses (NaN, Infinity, integers beyond 64 bits), so
every value ever written reads back exactly as before.
"""

from __future__ import annotations

import json
from typing import Any

import orjson


def encode(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def decode(text: str | bytes) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)

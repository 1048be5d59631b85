"""The key-value contract the whole app is written against, and the registry of backends.

Values are JSON-compatible Python objects (dict, list, str, int, float, bool). Keys are
strings; `keys(prefix)` returns them in byte (UTF-8 code point) order. Every backend honours
every call; `tests/store/test_contract.py` runs one suite against all of them.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

Value = Any
Updater = Callable[[Value | None], Value | None]

# Replit Database limits; the other backends enforce the same so that data which works on
# one backend works on all of them (and `flask export`/`import` never meets a surprise).
MAX_KEY_BYTES = 1000
MAX_VALUE_BYTES = 5 * 1024 * 1024
REPLIT_MAX_KEYS = 5000
REPLIT_MAX_BYTES = 50 * 1024 * 1024


class StoreError(Exception):
    """Base of every store failure."""


class StoreUnavailable(StoreError):
    """The backend cannot be reached or keeps failing; the web layer answers 503."""


class StoreLimitError(StoreError, ValueError):
    """A key or value is larger than the store holds: refused before anything is sent, so
    nothing was written. `key` names what was refused (for the log, never the page)."""

    def __init__(self, message: str, key: str = "") -> None:
        super().__init__(message)
        self.key = key


@dataclass(frozen=True)
class KeyBudget:
    """Hard ceilings of a backend on its keys and bytes in all (Replit DB's 5,000 keys and
    50 MiB). The app treats them as product rules: it stops growing well before them."""

    max_keys: int
    max_bytes: int


@dataclass(frozen=True)
class Usage:
    keys: int
    bytes: int


REPLIT_BUDGET = KeyBudget(REPLIT_MAX_KEYS, REPLIT_MAX_BYTES)


@runtime_checkable
class Store(Protocol):
    """What every backend provides. `update` and `put_new` are atomic across processes."""

    name: str
    # Values larger than this are refused (StoreLimitError) before anything is sent.
    max_value_bytes: int
    # None: no ceiling worth planning for (SQLite, PostgreSQL). Set: keys are scarce, so the
    # repository shares documents between people (slot index per skill, archives per period).
    budget: KeyBudget | None

    def get(self, key: str) -> Value | None: ...

    def get_many(self, keys: Iterable[str]) -> dict[str, Value]:
        """Found keys only; one round trip on SQL backends."""
        ...

    def put(self, key: str, value: Value) -> None: ...

    def put_many(self, items: dict[str, Value]) -> None:
        """Bulk write (imports, benchmark loading); not atomic as a whole."""
        ...

    def delete(self, key: str) -> None:
        """Remove a key; deleting a missing key is not an error."""
        ...

    def keys(
        self, prefix: str = "", start: str | None = None, limit: int | None = None
    ) -> list[str]:
        """Keys starting with `prefix`, in byte order, beginning at `start` (inclusive)."""
        ...

    def put_new(self, key: str, value: Value) -> bool:
        """Insert if absent. Of N concurrent callers on one key exactly one gets True."""
        ...

    def update(self, key: str, fn: Updater) -> Value | None:
        """Atomic read-modify-write: `fn(current or None)` returns the new value.

        Returning None deletes the key. If `fn` raises, nothing is written and the exception
        propagates (domain refusals use this). `fn` may run more than once on backends that
        retry, so it must be pure. Returns what `fn` returned.
        """
        ...

    def stats(self) -> Usage:
        """Exact keys and bytes used: may read everything (`flask store-stats`)."""
        ...

    def usage(self) -> Usage:
        """Keys and bytes used, cheaply enough to check on a sign-up or a new offer (on
        Replit DB from a local ledger of what this instance wrote; see replit.py)."""
        ...

    def close(self) -> None: ...

    def snapshot(self) -> Iterator[tuple[str, Value]]:
        """Every key with its value, in key order, for `flask export`: read in one read
        transaction where the backend has one (SQLite, PostgreSQL), so the copy is the store
        as it was at one moment even while others write. Replit DB has no transactions: there
        it is read batch by batch and a write meanwhile can be caught half (the export checks
        booking pairs for that: skillswap/domain/booking_pairs.py)."""
        ...


def check_limits(
    key: str, encoded_value: bytes | str | None = None, max_value_bytes: int = MAX_VALUE_BYTES
) -> None:
    """Raise StoreLimitError with a message naming the limit that was exceeded."""
    key_bytes = len(key.encode("utf-8"))
    if not key or key_bytes > MAX_KEY_BYTES:
        raise StoreLimitError(
            f"key {key[:60]!r} must be 1 to {MAX_KEY_BYTES} bytes, got {key_bytes}", key
        )
    if encoded_value is not None:
        size = len(
            encoded_value.encode("utf-8") if isinstance(encoded_value, str) else encoded_value
        )
        if size > max_value_bytes:
            raise StoreLimitError(
                f"value for {key[:60]!r} is {size} bytes; the limit is {max_value_bytes}", key
            )


def prefix_upper_bound(prefix: str) -> str | None:
    """Smallest string greater than every string starting with `prefix` (None: no bound).

    Lets SQL backends answer `keys(prefix)` with a primary-key range scan instead of LIKE.
    """
    chars = list(prefix)
    while chars:
        last = chars.pop()
        if ord(last) < 0x10FFFF:
            return "".join(chars) + chr(ord(last) + 1)
    return None


# The backends, by the scheme their URLs start with (CTFd-style registry): nothing outside
# this package asks which backend runs. Each is imported only when used, so the app never
# imports psycopg or urllib3 for a backend it does not open.
BACKENDS: dict[str, str] = {
    "sqlite": "skillswap.store.sqlite:SQLiteStore",
    "replit": "skillswap.store.replit:ReplitStore",
    "postgresql": "skillswap.store.postgres:PostgresStore",
    "postgres": "skillswap.store.postgres:PostgresStore",
}


def open_store(url: str, **options: Any) -> Store:
    """Open the backend a URL names: `sqlite:///path`, `replit`, `postgresql://...`. Options
    a backend does not take are ignored, so the app can pass one set to any of them."""
    scheme = url.split(":", 1)[0]
    target = BACKENDS.get(scheme)
    if target is None:
        raise ValueError(
            f"unknown store URL {url!r}: use sqlite:///path, replit or postgresql://..."
        )
    module, _, name = target.partition(":")
    backend = getattr(importlib.import_module(module), name)
    return backend.from_url(url, **options)

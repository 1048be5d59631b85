"""A Store that counts the calls (round trips) made through it, around any real store.

Every contract call is one round trip to the backend as the app sees it (`get_many` is one query
on the SQL backends and one burst of concurrent GETs on Replit DB), so a page's cost in round
trips is the number of calls it made. The wrapper also keeps the call log, each entry naming the
method and the keys (or prefix) it touched, so a test that finds a page's count growing can say
which calls grew and with how many keys.

    store = CountingStore(open_store(url))
    app = make_app(tmp_path, clock, STORE=store)
    store.reset()
    client.get("/dashboard")
    store.total, store.calls["get"], store.log
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from skillswap.store import KeyBudget, Store, Updater, Usage, Value


@dataclass(frozen=True)
class Call:
    method: str
    keys: tuple[str, ...]  # the keys read or written; for `keys()`, the prefix

    def __str__(self) -> str:
        shown = ", ".join(self.keys[:3]) + (
            f", … ({len(self.keys)} keys)" if len(self.keys) > 3 else ""
        )
        return f"{self.method}({shown})"


class CountingStore:
    """Implements the Store protocol by delegating to `inner`, counting every call."""

    def __init__(self, inner: Store) -> None:
        self.inner = inner
        self.name = inner.name
        self.calls: Counter[str] = Counter()
        self.log: list[Call] = []

    # --- counting ------------------------------------------------------------------------

    def reset(self) -> None:
        self.calls.clear()
        self.log.clear()

    @property
    def total(self) -> int:
        return sum(self.calls.values())

    @property
    def keys_read(self) -> int:
        """Documents fetched by get/get_many/update (what grows when a page reads too much)."""
        return sum(len(c.keys) for c in self.log if c.method in ("get", "get_many", "update"))

    def summary(self) -> str:
        return "; ".join(str(c) for c in self.log) or "(no calls)"

    def _count(self, method: str, keys: Iterable[str]) -> None:
        self.calls[method] += 1
        self.log.append(Call(method, tuple(keys)))

    # --- the contract --------------------------------------------------------------------

    def get(self, key: str) -> Value | None:
        self._count("get", [key])
        return self.inner.get(key)

    def get_many(self, keys: Iterable[str]) -> dict[str, Value]:
        wanted = list(keys)
        self._count("get_many", wanted)
        return self.inner.get_many(wanted)

    def put(self, key: str, value: Value) -> None:
        self._count("put", [key])
        self.inner.put(key, value)

    def put_many(self, items: dict[str, Value]) -> None:
        self._count("put_many", items)
        self.inner.put_many(items)

    def delete(self, key: str) -> None:
        self._count("delete", [key])
        self.inner.delete(key)

    def keys(
        self, prefix: str = "", start: str | None = None, limit: int | None = None
    ) -> list[str]:
        self._count("keys", [prefix])
        return self.inner.keys(prefix, start=start, limit=limit)

    def put_new(self, key: str, value: Value) -> bool:
        self._count("put_new", [key])
        return self.inner.put_new(key, value)

    def update(self, key: str, fn: Updater) -> Value | None:
        self._count("update", [key])
        return self.inner.update(key, fn)

    def stats(self) -> Usage:
        self._count("stats", [])
        return self.inner.stats()

    def usage(self) -> Usage:
        self._count("usage", [])
        return self.inner.usage()

    @property
    def budget(self) -> KeyBudget | None:
        return self.inner.budget

    @property
    def max_value_bytes(self) -> int:
        return self.inner.max_value_bytes

    def close(self) -> None:
        self.inner.close()

    def __getattr__(self, name: str) -> Any:
        # Anything beyond the contract would bypass the count: fail loudly instead.
        raise AttributeError(f"CountingStore does not wrap {name!r}; add it so it is counted")

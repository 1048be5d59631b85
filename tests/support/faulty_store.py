"""A Store wrapper for fault injection: fail or "crash" on the Nth call of a method.

- `fail_on(method, nth)`: the Nth call (counted from now) raises StoreUnavailable, before
  touching the inner store (a request that never arrived) or, with `after=True`, after the
  inner call has done its work (a write that landed but whose answer was lost).
- `crash_on(method, nth, after=True)`: the process "dies" there: `Crash` (a BaseException) is
  raised and the store stays dead, so every later call in that process (the repository's
  `except BaseException: release` clean-up included) raises `Crash` too and writes nothing.
  `revive()` is the restart.
- `on_call(method, nth, action)`: run `action()` just before the Nth call (say, tell the fake
  Replit DB to start answering 500 in the middle of a booking).

`key_prefix` counts only calls on keys starting with it (`"schedule/"`: the booking steps).
Every other attribute is the inner store's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from skillswap.store import KeyBudget, Store, StoreUnavailable, Usage

METHODS = ("get", "get_many", "put", "put_many", "delete", "keys", "put_new", "update", "usage")


class Crash(BaseException):
    """The process died here (kill -9, power cut): nothing after this point runs."""


def worker_dies(*args: object, **kwargs: object) -> None:
    """Monkeypatched over one step of an operation (a repository method, a service call): the
    worker dies there, after the steps before it were written. Test with
    `pytest.raises(RuntimeError)`, then `monkeypatch.undo()` for the restarted worker."""
    raise RuntimeError("the worker died here")


@dataclass
class _Fault:
    method: str
    nth: int
    kind: str  # "fail" | "crash" | "action"
    after: bool = False
    key_prefix: str = ""
    action: Callable[[], None] | None = None
    seen: int = 0


class FaultyStore:
    def __init__(self, inner: Store) -> None:
        self.inner = inner
        self.name = inner.name
        self.dead = False
        self.calls: list[tuple[str, str]] = []  # (method, first key), every call
        self._faults: list[_Fault] = []

    # --- switches ------------------------------------------------------------------------

    def fail_on(
        self, method: str, nth: int = 1, *, after: bool = False, key_prefix: str = ""
    ) -> None:
        self._add(_Fault(method, nth, "fail", after, key_prefix))

    def crash_on(
        self, method: str, nth: int = 1, *, after: bool = True, key_prefix: str = ""
    ) -> None:
        self._add(_Fault(method, nth, "crash", after, key_prefix))

    def on_call(
        self, method: str, nth: int, action: Callable[[], None], *, key_prefix: str = ""
    ) -> None:
        self._add(_Fault(method, nth, "action", False, key_prefix, action))

    def revive(self) -> None:
        """The restarted process: nothing pending, nothing dead."""
        self.dead = False
        self._faults.clear()

    def _add(self, fault: _Fault) -> None:
        if fault.method not in METHODS:
            raise ValueError(f"unknown store method {fault.method!r}")
        self._faults.append(fault)

    # --- plumbing ------------------------------------------------------------------------

    def _call(self, method: str, key: Any, *args: Any, **kwargs: Any) -> Any:
        if self.dead:
            raise Crash(f"{method} after the process died")
        first = key if isinstance(key, str) else next(iter(key), "") if key is not None else ""
        self.calls.append((method, str(first)))
        due: list[_Fault] = []
        for fault in list(self._faults):
            if fault.method == method and str(first).startswith(fault.key_prefix):
                fault.seen += 1
                if fault.seen == fault.nth:
                    self._faults.remove(fault)
                    due.append(fault)
        for fault in due:
            if fault.kind == "action" and fault.action is not None:
                fault.action()
            elif not fault.after:
                self._trip(fault, method)
        target = getattr(self.inner, method)
        result = target(key, *args, **kwargs) if key is not None else target(*args, **kwargs)
        for fault in due:
            if fault.kind != "action" and fault.after:
                self._trip(fault, method)
        return result

    def _trip(self, fault: _Fault, method: str) -> None:
        if fault.kind == "crash":
            self.dead = True
            raise Crash(f"killed {'after' if fault.after else 'before'} {method} #{fault.nth}")
        raise StoreUnavailable(f"injected failure of {method} #{fault.nth}")

    # --- the Store contract --------------------------------------------------------------

    def get(self, key: str) -> Any:
        return self._call("get", key)

    def get_many(self, keys: Any) -> dict[str, Any]:
        return self._call("get_many", list(keys))

    def put(self, key: str, value: Any) -> None:
        return self._call("put", key, value)

    def put_many(self, items: dict[str, Any]) -> None:
        return self._call("put_many", items)

    def delete(self, key: str) -> None:
        return self._call("delete", key)

    def keys(
        self, prefix: str = "", start: str | None = None, limit: int | None = None
    ) -> list[str]:
        return self._call("keys", prefix, start=start, limit=limit)

    def put_new(self, key: str, value: Any) -> bool:
        return self._call("put_new", key, value)

    def update(self, key: str, fn: Any) -> Any:
        return self._call("update", key, fn)

    def stats(self) -> Usage:
        return self.inner.stats()

    def usage(self) -> Usage:
        return self._call("usage", None)

    @property
    def budget(self) -> KeyBudget | None:
        return self.inner.budget

    @property
    def max_value_bytes(self) -> int:
        return self.inner.max_value_bytes

    def close(self) -> None:
        self.inner.close()

"""The other side of a race run whole at a chosen point of this side, in one process: what
two servers do when two people act at once, made repeatable. (Real races between processes
are in tests/support/gunicorn_server.py.)"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest


def runs_first(
    monkeypatch: pytest.MonkeyPatch, owner: object, name: str, other_side: Callable[..., Any]
) -> list[Any]:
    """Patch `owner.name` so that its next call puts it back, runs `other_side` with the same
    arguments (the other request, from start to end), then does itself. Returns the list that
    then holds what `other_side` returned."""
    real = getattr(owner, name)
    results: list[Any] = []

    def first(*args: Any, **kwargs: Any) -> Any:
        monkeypatch.setattr(owner, name, real)
        results.append(other_side(*args, **kwargs))
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, first)
    return results

"""A rating is stored once, the same on both copies, whatever two tries of one review do in
between each other's steps. (The same over real HTTP, ten tries at once: test_http_races.py.)

The interleaving that tore it: try A passes its checks and writes the other person's copy;
try B, checking the rater's copy before A has written it, passes too and writes the rater's
copy. A is then told "already rated", yet the other person's copy, their average and their
dashboard keep A's rating while the rater's copy keeps B's.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from skillswap.store import Store
from tests.support.app_fixtures import Clock
from tests.web.test_bookings import rate, schedule, text, uid


class BeforeFirstUpdate:
    """The store, running `interleave` once, just before the first `update` of `key`."""

    def __init__(self, store: Store, key: str, interleave) -> None:
        self._store = store
        self._key = key
        self._interleave = interleave

    def update(self, key: str, fn: Any) -> Any:
        if key == self._key and self._interleave is not None:
            interleave, self._interleave = self._interleave, None
            interleave()
        return self._store.update(key, fn)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


def test_a_review_raced_by_another_try_keeps_one_rating(
    app: Flask, clock: Clock, session: str, leo: FlaskClient, tess: FlaskClient
) -> None:
    clock.advance(days=9)  # the session is over
    repo = app.extensions["skillswap.repo"]
    leo_id = uid(app, "leo")
    other_try: list[Any] = []

    def try_b() -> None:
        # A second tab: the same person's review, sent while the first is between its steps.
        other_try.append(rate(leo, session, "10"))

    store = repo.store
    # Before the fix A's first write was tess's copy and its last leo's; after it, A's first
    # write claims leo's copy. Either way B runs just before A writes leo's copy.
    repo.store = BeforeFirstUpdate(store, f"schedule/{leo_id}", try_b)
    try:
        first = rate(leo, session, "1")
    finally:
        repo.store = store
    second = other_try[0]

    statuses = sorted([first.status_code, second.status_code])
    assert statuses == [302, 400], (text(first)[-500:], text(second)[-500:])
    accepted = "1" if first.status_code == 302 else "10"
    refused = second if first.status_code == 302 else first
    assert "You have already rated this session." in text(refused)

    learner_copy = schedule(app, "leo").bookings[session].reviews[leo_id]
    teacher_copy = schedule(app, "tess").bookings[session].reviews[leo_id]
    assert learner_copy.rating == teacher_copy.rating == int(accepted)
    reviewed = [n for n in schedule(app, "tess").notifications if n.kind == "reviewed"]
    assert len(reviewed) == 1
    assert repo.find_user("tess").unread == schedule(app, "tess").unread

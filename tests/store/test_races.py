"""Real multi-process races on every backend.

Eight spawned OS processes, each with its own store handle, are released together by a
Barrier every round. Each race is paired with a negative control that uses a deliberately
non-atomic get-then-put on the same backend with the same workers: the control must lose,
otherwise the harness creates no real contention (on two cores that is easy to get wrong) and
the passing race proves nothing.
"""

from __future__ import annotations

import queue
import time
import traceback
from collections.abc import Iterator
from typing import Any

import pytest

from skillswap.store import Store, open_store
from tests.support.spawned import SpawnedWorkers

pytestmark = pytest.mark.slow

WORKERS = 8
PUT_NEW_ROUNDS = 20
INCREMENTS = 50
CONTROL_PUT_NEW_ROUNDS = 5
CONTROL_INCREMENT_ROUNDS = 10
# Only the controls sleep: it widens their read-to-write window past the time it takes for
# all eight processes to get through the barrier on a busy two-core machine.
CONTROL_GAP = 0.05
BARRIER_TIMEOUT = 60


Program = list[tuple[str, str, int]]  # (operation, key, rounds)
Result = tuple[str, int, Any]  # (operation, round, outcome)


def _increment(current: Any) -> int:
    return (current or 0) + 1


def _run_program(
    index: int, url: str, options: dict[str, Any], program: Program, barrier: Any, results: Any
) -> None:
    store = open_store(url, **options)
    try:
        for op, key, rounds in program:
            for round_no in range(rounds):
                barrier.wait(BARRIER_TIMEOUT)
                round_key = f"{key}:{round_no}"
                if op == "put_new":
                    results.put((op, round_no, store.put_new(round_key, index)))
                elif op == "put_new_control":
                    won = False
                    if store.get(round_key) is None:
                        time.sleep(CONTROL_GAP)
                        store.put(round_key, index)
                        won = True
                    results.put((op, round_no, won))
                elif op == "update":
                    store.update(key, _increment)
                elif op == "update_control":
                    current = store.get(key)
                    time.sleep(CONTROL_GAP)
                    store.put(key, _increment(current))
                else:
                    raise ValueError(op)
    finally:
        store.close()


def _worker(index: int, commands: Any, barrier: Any, results: Any) -> None:
    """A persistent worker: runs each (url, options, program) it is sent, in lockstep."""
    while (command := commands.get()) is not None:
        url, options, program = command
        try:
            _run_program(index, url, options, program, barrier, results)
        except BaseException:
            barrier.abort()  # release the others at once instead of after the barrier timeout
            results.put(("error", index, traceback.format_exc()))
        else:
            results.put(("done", index, None))


class RacePool(SpawnedWorkers):
    """WORKERS spawned processes, started once per module: spawning eight interpreters that
    import the app costs seconds on two cores, far more than the races themselves."""

    def __init__(self) -> None:
        super().__init__(_worker, WORKERS, "race-worker")

    def run(self, target: tuple[str, dict[str, Any]], program: Program) -> list[Result]:
        """Every worker runs `program` against `target`; returns their per-round results."""
        url, options = target
        for commands in self.commands:
            commands.put((url, options, program))
        collected: list[Result] = []
        errors: list[str] = []
        finished = 0
        deadline = time.monotonic() + 100
        while finished < WORKERS:
            try:
                item = self.results.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                self.stop()
                self.start()  # the next test gets fresh workers
                pytest.fail(f"race workers hung: {finished} of {WORKERS} finished")
            if item[0] in ("done", "error"):
                finished += 1
                if item[0] == "error":
                    errors.append(f"worker {item[1]}:\n{item[2]}")
            else:
                collected.append(item)
        if errors:
            self.barrier.reset()  # every worker is idle again, so the barrier can be reused
            pytest.fail("race workers failed:\n" + "\n".join(errors))
        return collected


@pytest.fixture(scope="module")
def race_pool() -> Iterator[RacePool]:
    pool = RacePool()
    try:
        yield pool
    finally:
        pool.stop()


def _winners_per_round(results: list[tuple[str, int, Any]], op: str, rounds: int) -> list[int]:
    wins = [0] * rounds
    answers = 0
    for got_op, round_no, won in results:
        if got_op == op:
            answers += 1
            wins[round_no] += bool(won)
    assert answers == rounds * WORKERS
    return wins


def test_put_new_has_exactly_one_winner(
    race_pool: RacePool, store: Store, store_target: Any
) -> None:
    program = [
        ("put_new_control", "control", CONTROL_PUT_NEW_ROUNDS),
        ("put_new", "slot", PUT_NEW_ROUNDS),
    ]
    results = race_pool.run(store_target, program)
    control = _winners_per_round(results, "put_new_control", CONTROL_PUT_NEW_ROUNDS)
    race = _winners_per_round(results, "put_new", PUT_NEW_ROUNDS)
    # Negative control: check-then-insert without atomicity lets several processes "win".
    assert max(control) > 1, f"no contention was produced: {control}"
    assert race == [1] * PUT_NEW_ROUNDS
    for round_no in range(PUT_NEW_ROUNDS):
        assert store.get(f"slot:{round_no}") in range(WORKERS)


def test_update_loses_no_increment(race_pool: RacePool, store: Store, store_target: Any) -> None:
    program = [
        ("update_control", "control-counter", CONTROL_INCREMENT_ROUNDS),
        # The counter does not exist yet: the first updates race on a missing key.
        ("update", "counter", INCREMENTS),
    ]
    assert store.get("counter") is None
    race_pool.run(store_target, program)
    control = store.get("control-counter")
    assert control is not None
    # Negative control: get-then-put loses increments under the same contention.
    assert control < CONTROL_INCREMENT_ROUNDS * WORKERS, "no contention was produced"
    assert store.get("counter") == INCREMENTS * WORKERS

"""Spawned worker processes for the races: one shared Barrier, a command queue each, and one
results queue. The store races and the HTTP booking races both run on this; only what a worker
does with a command differs."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from typing import Any

# target(index, commands, barrier, results): runs each command until it receives None.
Worker = Callable[[int, Any, Any, Any], None]


class SpawnedWorkers:
    """`size` spawned processes running `worker`, started at once (spawn: nothing of the
    parent's state, locks or connections is inherited)."""

    def __init__(self, worker: Worker, size: int, name: str) -> None:
        self.size = size
        self._worker = worker
        self._name = name
        self._ctx = multiprocessing.get_context("spawn")
        self.start()

    def start(self) -> None:
        ctx = self._ctx
        self.barrier = ctx.Barrier(self.size)
        self.results = ctx.Queue()
        self.commands = [ctx.Queue() for _ in range(self.size)]
        self._processes = [
            ctx.Process(
                target=self._worker,
                args=(i, self.commands[i], self.barrier, self.results),
                name=f"{self._name}-{i}",
                daemon=True,
            )
            for i in range(self.size)
        ]
        for process in self._processes:
            process.start()

    def stop(self) -> None:
        for commands, process in zip(self.commands, self._processes, strict=True):
            if process.is_alive():
                commands.put(None)
        for process in self._processes:
            process.join(timeout=10)
            if process.is_alive():
                process.terminate()
                process.join(timeout=5)
        for q in [self.results, *self.commands]:
            q.close()
            q.join_thread()

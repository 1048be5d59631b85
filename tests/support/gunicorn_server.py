"""Start and stop a real gunicorn serving `main:app` on a free loopback port; race it.

`GunicornServer` runs the server. `HttpRacePool` is a set of persistent spawned processes that
are released together by a `multiprocessing.Barrier` and each send one HTTP request: a real
race against the server's worker processes, not threads sharing one interpreter. It lives here,
in a module that imports nothing heavier than `requests`, because each spawned process imports
the module its target is defined in; importing the app's test modules would cost ~2 s a process.

The listening socket is created here and handed to gunicorn (`--bind fd://N`), so there is no
window in which another process could take the port between choosing it and binding it, and
requests sent before the workers have booted simply wait in the accept queue.

Gunicorn runs in the project folder, so it loads the project's `gunicorn.conf.py` as the
deployment does; the command line overrides the bind address, worker count and timeouts.
The environment is built from scratch on top of the caller's: every variable that would make the
app believe it is on Replit or point it at another store is removed first, then `env` is applied.
Output goes to a log file whose tail is shown when the server fails to come up or dies.
"""

from __future__ import annotations

import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import requests

from tests.support.spawned import SpawnedWorkers

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = Path(sys.executable).with_name("gunicorn")
# Anything inherited that could redirect the app's store or switch on Replit behaviour.
SCRUBBED = (
    "SKILLSWAP_STORE",
    "DATABASE_URL",
    "REPLIT_DB_URL",
    "REPL_ID",
    "REPLIT_DEPLOYMENT",
    "SKILLSWAP_REPLIT_URL_FILE",
    "SKILLSWAP_REPLIT_LOCK",
    "SECRET_KEY",
    "RATELIMIT_ENABLED",
    "PROXY_FIX_HOPS",
    "SESSION_COOKIE_SECURE",
    "SKILLSWAP_ALLOW_EMPTY_STORE",
    # Mail: never to a server the caller's environment names (the instance's outbox instead).
    "MAIL_SERVER",
    "MAIL_PORT",
    "MAIL_USERNAME",
    "MAIL_PASSWORD",
    "MAIL_USE_TLS",
    "MAIL_USE_SSL",
    "MAIL_FROM",
    "MAIL_OUTBOX",
    "MAIL_QUEUE",
    # Read by the project's gunicorn.conf.py.
    "HOST",
    "PORT",
    "WEB_CONCURRENCY",
    "GUNICORN_THREADS",
    "GUNICORN_ACCESS_LOG",
    "GUNICORN_LOG_LEVEL",
)


class GunicornServer:
    """`with GunicornServer(env, log_path) as server:` ... `server.url` ... (stopped on exit)."""

    def __init__(
        self,
        env: Mapping[str, str],
        log_path: Path,
        *,
        workers: int = 4,
        app: str = "main:app",
        start_timeout: float = 60,
    ) -> None:
        self.log_path = log_path
        self.workers = workers
        self.app = app
        self.start_timeout = start_timeout
        self._env = {k: v for k, v in os.environ.items() if k not in SCRUBBED}
        # Mail beside the log, never into the checkout's own instance folder.
        self._env["MAIL_OUTBOX"] = str(log_path.parent / f"{log_path.stem}-outbox")
        self._env["MAIL_QUEUE"] = str(log_path.parent / f"{log_path.stem}-mail-queue.db")
        self._env.update(env)
        self._process: subprocess.Popen[bytes] | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> GunicornServer:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            listener.bind(("127.0.0.1", 0))
            listener.listen(128)
            self.port = listener.getsockname()[1]
            fd = listener.fileno()
            with open(self.log_path, "ab") as log:
                self._process = subprocess.Popen(
                    [
                        str(GUNICORN),
                        "--workers",
                        str(self.workers),
                        "--bind",
                        f"fd://{fd}",
                        "--chdir",
                        str(ROOT),
                        "--graceful-timeout",
                        "5",
                        "--timeout",
                        "60",
                        # Gunicorn 27 otherwise opens ~/.gunicorn/gunicorn.ctl, one path shared
                        # by every server on the machine (two test runs would fight over it).
                        "--no-control-socket",
                        self.app,
                    ],
                    cwd=ROOT,
                    env=self._env,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    pass_fds=(fd,),
                )
        finally:
            listener.close()  # gunicorn holds its own copy of the listening socket now
        try:
            self._wait_until_answering()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_until_answering(self) -> None:
        assert self._process is not None
        deadline = time.monotonic() + self.start_timeout
        with requests.Session() as http:
            while True:
                if self._process.poll() is not None:
                    raise RuntimeError(
                        f"gunicorn exited with {self._process.returncode}:\n{self.log_tail()}"
                    )
                try:
                    response = http.get(self.url + "/login", timeout=5)
                except requests.RequestException:
                    response = None
                if response is not None:
                    response.close()
                    if response.status_code == 200:
                        return
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"gunicorn did not answer within {self.start_timeout}s:\n{self.log_tail()}"
                    )
                time.sleep(0.1)

    def alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def log_tail(self, lines: int = 60) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """SIGTERM (graceful: workers finish their request), then SIGKILL if it hangs."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)

    def __enter__(self) -> GunicornServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --- racing it ----------------------------------------------------------------------------

# (Cookie header, URL, form fields[, other headers]) for one POST, or None: wait at the
# barrier, send nothing.
Task = tuple[str, str, dict[str, str]] | tuple[str, str, dict[str, str], dict[str, str]] | None
BARRIER_TIMEOUT = 60
ROUND_TIMEOUT = 90


def _post(task: tuple[Any, ...]) -> dict[str, Any]:
    cookie, url, form, *more = task
    headers = {"Cookie": cookie, **(more[0] if more else {})}
    started = time.monotonic()  # CLOCK_MONOTONIC: comparable across processes on Linux
    # requests.post: a fresh connection (gunicorn's sync workers close it anyway) and no cookie
    # jar, so the one cookie sent is the one this process was given.
    response = requests.post(url, data=form, headers=headers, allow_redirects=False, timeout=60)
    ended = time.monotonic()
    response.close()
    return {
        "status": response.status_code,
        "location": response.headers.get("Location", ""),
        "text": response.text,
        "started": started,
        "ended": ended,
    }


def _racer(index: int, commands: Any, barrier: Any, results: Any) -> None:
    """One browser tab: waits for the round, then POSTs at the same moment as the others."""
    while (command := commands.get()) is not None:
        round_id, task = command
        try:
            barrier.wait(BARRIER_TIMEOUT)
            outcome = None if task is None else _post(task)
        except threading.BrokenBarrierError:
            results.put((round_id, index, "error", "barrier broken"))
        except BaseException:
            barrier.abort()  # release the others at once instead of after the barrier timeout
            results.put((round_id, index, "error", traceback.format_exc()))
        else:
            results.put((round_id, index, "ok", outcome))


def peak_in_flight(outcomes: list[dict[str, Any] | None]) -> int:
    """The most requests of a round in flight at one moment: sent and not yet answered.

    The proof that a round raced. Counting those sent before the first answer came back
    (as tests here did) measured the racers' start-up more than the race: on two busy cores,
    thirty processes leave the barrier over some 20 ms while a worker answers in a few, and
    whole-suite runs saw [6, 10, 4] of 30 although the requests queued together at gunicorn."""
    steps = sorted(
        [(o["started"], 1) for o in outcomes if o is not None]
        + [(o["ended"], -1) for o in outcomes if o is not None]
    )  # at one instant, an answer (-1) sorts before a send (+1): no false overlap
    peak = now = 0
    for _, step in steps:
        now += step
        peak = max(peak, now)
    return peak


class HttpRacePool(SpawnedWorkers):
    """`size` spawned processes, started once and released together round after round.

    Each round every process gets a Task and answers with the status, Location, body and the
    monotonic times the request was sent and answered (so a test can check that the requests
    really were in flight together), or None when it sat the round out.
    """

    def __init__(self, size: int) -> None:
        super().__init__(_racer, size, "http-racer")
        self._round = 0

    def run_round(self, tasks: list[Task]) -> list[dict[str, Any] | None]:
        if len(tasks) != self.size:
            raise ValueError(f"{len(tasks)} tasks for {self.size} racers")
        self._round += 1
        for commands, task in zip(self.commands, tasks, strict=True):
            commands.put((self._round, task))
        outcomes: list[dict[str, Any] | None] = [None] * self.size
        errors: list[str] = []
        deadline = time.monotonic() + ROUND_TIMEOUT
        for _ in range(self.size):
            try:
                round_id, index, kind, payload = self.results.get(
                    timeout=max(0.1, deadline - time.monotonic())
                )
            except queue.Empty:
                raise AssertionError(f"HTTP racers hung in round {self._round}") from None
            if round_id != self._round:
                raise AssertionError(f"racer {index} answered round {round_id} in {self._round}")
            if kind == "error":
                errors.append(f"racer {index}: {payload}")
            else:
                outcomes[index] = payload
        if errors:
            self.barrier.reset()  # every racer is idle again, so the barrier can be reused
            raise AssertionError("HTTP racers failed:\n" + "\n".join(errors))
        return outcomes

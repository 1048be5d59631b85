"""A throwaway PostgreSQL cluster for the test session.

`postgres_url` points at an external server when `SKILLSWAP_TEST_DATABASE_URL` is set;
otherwise it runs the Debian/Ubuntu server binaries (`/usr/lib/postgresql/<version>/bin`, not on
PATH) on a free loopback port, with the socket in a temp folder and durability off, and removes
everything at the end. initdb refuses to run as root, so as root the cluster runs as the
`postgres` user through runuser. `postgres_cluster` lets a test stop and restart that server.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlsplit

import psycopg
import pytest

URL_ENV = "SKILLSWAP_TEST_DATABASE_URL"
DATABASE = "skillswap_test"


def find_bindir() -> Path | None:
    """Newest installed server version, so a machine with several picks one deterministically."""
    found = glob.glob("/usr/lib/postgresql/*/bin/initdb")

    def version(path: str) -> tuple[int, ...]:
        name = Path(path).parent.parent.name
        return tuple(int(part) for part in name.split(".") if part.isdigit())

    return Path(max(found, key=version)).parent if found else None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class PostgresCluster:
    bindir: Path
    root: Path
    port: int = 0
    running: bool = False
    as_postgres: bool = field(default_factory=lambda: os.geteuid() == 0)

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def logfile(self) -> Path:
        return self.root / "server.log"

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def _run(self, program: str, *args: str) -> subprocess.CompletedProcess[str]:
        command = [str(self.bindir / program), *args]
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=90, check=False)
        if result.returncode != 0:
            log = self.logfile.read_text(errors="replace") if self.logfile.exists() else ""
            raise RuntimeError(
                f"{' '.join(command)} failed ({result.returncode}):\n"
                f"{result.stdout}{result.stderr}\n--- server log ---\n{log[-3000:]}"
            )
        return result

    def init(self) -> None:
        # --locale=C exists everywhere and, unlike an unset LANG, never yields SQL_ASCII.
        self._run(
            "initdb",
            "-D", str(self.data),
            "-A", "trust",
            "-U", "postgres",
            "-E", "UTF8",
            "--locale=C",
            "--no-sync",
        )  # fmt: skip

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root}"
            " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        # -l: without a log file the server inherits our pipes and subprocess.run never returns.
        self._run("pg_ctl", "-w", "-t", "60", "-D", str(self.data), "-l", str(self.logfile),
                  "-o", options, "start")  # fmt: skip
        self.running = True

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (sessions are ended, as in a real restart); `start()` brings it back.

        "fast" by default, because with synchronous_commit=off an "immediate" stop loses the
        last commits, so a test would find data (even the table) gone after the restart.
        """
        self._run("pg_ctl", "-w", "-D", str(self.data), "-m", mode, "stop")
        self.running = False

    @contextmanager
    def stopped(self) -> Iterator[None]:
        """The server is down inside the block and up again after it, even if the block fails."""
        self.stop()
        try:
            yield
        finally:
            self.start()

    def create_database(self, name: str) -> str:
        with psycopg.connect(self.url(), autocommit=True, connect_timeout=10) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def destroy(self) -> None:
        # postmaster.pid rather than `running`: a start that failed half-way may have left a
        # server behind.
        if (self.data / "postmaster.pid").exists():
            with suppress(RuntimeError):
                self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


def start_cluster() -> PostgresCluster:
    bindir = find_bindir()
    if bindir is None:
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql)")
    # Not pytest's tmp_path: its parents are mode 0700, so the postgres user could not reach it.
    root = Path(tempfile.mkdtemp(prefix="skillswap-pg-"))
    cluster = PostgresCluster(bindir=bindir, root=root)
    try:
        if cluster.as_postgres:
            subprocess.run(
                ["install", "-d", "-o", "postgres", "-g", "postgres", "-m", "0700", str(root)],
                check=True,
                capture_output=True,
            )
        cluster.init()
        # The port is free when chosen but could be taken before the server binds it.
        for attempt in range(3):
            cluster.port = free_port()
            try:
                cluster.start()
                break
            except RuntimeError:
                if attempt == 2:
                    raise
        cluster.create_database(DATABASE)
    except BaseException:
        cluster.destroy()
        raise
    return cluster


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    """The session's own server, for tests that stop and restart it."""
    if os.environ.get(URL_ENV):
        pytest.skip(f"{URL_ENV} names an external server, which the tests cannot stop")
    cluster = start_cluster()
    try:
        yield cluster
    finally:
        cluster.destroy()


@pytest.fixture(scope="session")
def postgres_url(request: pytest.FixtureRequest) -> str:
    """URL of an empty-at-start database; shared by the whole session."""
    external = os.environ.get(URL_ENV)
    if external:
        return external
    cluster: PostgresCluster = request.getfixturevalue("postgres_cluster")
    return cluster.url(DATABASE)


@pytest.fixture
def fresh_postgres_url(postgres_url: str) -> Iterator[str]:
    """The same database seen through a new, empty schema (dropped afterwards).

    A schema rather than a database: CREATE DATABASE takes one to two seconds on a loaded
    machine, a schema milliseconds, and the URL's search_path makes the store's unqualified
    `kv` land in it.
    """
    schema = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_url, autocommit=True, connect_timeout=10) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    yield with_search_path(postgres_url, schema)
    drop_schema(postgres_url, schema)


def with_search_path(url: str, schema: str) -> str:
    parts = urlsplit(url)
    option = "options=" + quote(f"-csearch_path={schema}")
    return parts._replace(query=f"{parts.query}&{option}" if parts.query else option).geturl()


def drop_schema(url: str, schema: str) -> None:
    # Retried because a server just restarted by a test may still be starting.
    deadline = time.monotonic() + 30
    while True:
        try:
            with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def with_dbname(url: str, dbname: str) -> str:
    """The same server and credentials, another database (still a URL, as open_store wants)."""
    return urlsplit(url)._replace(path="/" + dbname).geturl()

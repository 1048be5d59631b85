"""A protocol-faithful fake Replit Database on loopback, as a pytest plugin.

Speaks what the real service speaks: `POST /v0/<token>` with a form body of one or more
`key=value` pairs; `GET /v0/<token>/<quoted key>` (404 when missing); `DELETE` likewise;
`GET /v0/<token>?prefix=<p>&encode=true` listing url-encoded keys, newline-separated, in no
promised order (this fake answers newest first, so a client that forgets to sort is caught).
A wrong or rotated token gets 401. Replit's limits (1,000-byte keys, 5 MiB values, 50 MiB in
total, 5,000 keys) are refused with 413 and a short text body; a POST is applied all or nothing.

Switches for failure tests: `fail_next(status, count)`, `timeout_next(count)`, `latency`,
`rotate_token()`, `reset()`, `request_count`.

Fixtures: `fake_replitdb_server` (session) and `fake_replitdb` (reset per test).
Clients must be pointed at it through a url_file inside tmp_path (`write_url_file`), never
through the real /tmp/replitdb, so no later run believes it is on Replit.
"""

from __future__ import annotations

import secrets
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, parse_qsl, quote, unquote, urlsplit

import pytest

MAX_KEY_BYTES = 1000
MAX_VALUE_BYTES = 5 * 1024 * 1024
MAX_TOTAL_BYTES = 50 * 1024 * 1024
MAX_KEYS = 5000


class FakeReplitDB:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.data: dict[str, str] = {}
        self._total = 0  # bytes of keys and values, kept as Replit counts its 50 MiB
        self.token = secrets.token_urlsafe(24)
        self.latency = 0.0
        # Longer than any client timeout the tests use, short enough not to pile up threads.
        self.timeout_seconds = 3.0
        self.request_count = 0
        self.max_keys = MAX_KEYS
        self.max_total_bytes = MAX_TOTAL_BYTES
        self._failures: list[int] = []
        self._timeouts = 0
        self._wake = threading.Event()
        self._server = _Server(("127.0.0.1", 0), _handler_for(self))
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="fake-replitdb", daemon=True
        )

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v0/{self.token}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._wake.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    # -- switches ----------------------------------------------------------------------

    def reset(self) -> None:
        with self._lock:
            self.data.clear()
            self._total = 0
            self.latency = 0.0
            self.timeout_seconds = 3.0
            self.request_count = 0
            self.max_keys = MAX_KEYS
            self.max_total_bytes = MAX_TOTAL_BYTES
            self._failures.clear()
            self._timeouts = 0
            # Wake handlers still sleeping for the previous test's timeout_next.
            self._wake.set()
            self._wake = threading.Event()

    def fail_next(self, status: int, count: int = 1) -> None:
        """Answer the next `count` requests with `status` (whatever their token)."""
        with self._lock:
            self._failures.extend([status] * count)

    def timeout_next(self, count: int = 1) -> None:
        """Hold the next `count` requests for `timeout_seconds` before answering 504."""
        with self._lock:
            self._timeouts += count

    def rotate_token(self) -> str:
        """Issue a new token, as Replit does; the old URL gets 401 from now on."""
        with self._lock:
            self.token = secrets.token_urlsafe(24)
        return self.url

    def write_url_file(self, path: Path) -> Path:
        path.write_text(self.url + "\n", encoding="utf-8")
        return path

    def total_bytes(self) -> int:
        with self._lock:
            return self._total

    # -- request handling (called from handler threads) ---------------------------------

    def _before(self) -> tuple[int, float, threading.Event] | None:
        """Count the request; return (status, delay, wake) if a switch decides the answer."""
        with self._lock:
            self.request_count += 1
            if self._timeouts:
                self._timeouts -= 1
                return 504, self.timeout_seconds, self._wake
            if self._failures:
                return self._failures.pop(0), 0.0, self._wake
            return None

    def handle(self, method: str, raw_path: str, body: bytes) -> tuple[int, str]:
        if self.latency:
            self._wake.wait(self.latency)
        switched = self._before()
        if switched is not None:
            status, delay, wake = switched
            if delay:
                wake.wait(delay)
            return status, f"injected {status}"
        parts = urlsplit(raw_path)
        head, _, token_and_key = parts.path.partition("/v0/")
        token, _, quoted_key = token_and_key.partition("/")
        if head or not secrets.compare_digest(token, self.token):
            return 401, "Unauthorized"
        key = unquote(quoted_key)
        if method == "POST":
            return self._post(body)
        if method == "GET" and not key:
            query = parse_qs(parts.query, keep_blank_values=True)
            return self._list(query.get("prefix", [""])[0], query.get("encode", [""])[0])
        if method == "GET":
            with self._lock:
                value = self.data.get(key)
            return (404, "Not Found") if value is None else (200, value)
        if method == "DELETE" and key:
            with self._lock:
                old = self.data.pop(key, None)
                if old is not None:
                    self._total -= _total({key: old})
            return 204, ""
        return 405, "Method Not Allowed"

    def _post(self, body: bytes) -> tuple[int, str]:
        try:
            pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=True)
        except (UnicodeDecodeError, ValueError):
            return 400, "malformed form body"
        for key, value in pairs:
            if not key or len(key.encode("utf-8")) > MAX_KEY_BYTES:
                return 413, f"key too long: the limit is {MAX_KEY_BYTES} bytes"
            if len(value.encode("utf-8")) > MAX_VALUE_BYTES:
                return 413, f"value too large: the limit is {MAX_VALUE_BYTES} bytes"
        batch = dict(pairs)  # the last pair for a key wins, as in a form
        with self._lock:
            new_keys = sum(1 for key in batch if key not in self.data)
            if len(self.data) + new_keys > self.max_keys:
                return 413, f"too many keys: the limit is {self.max_keys}"
            growth = _total(batch) - _total({k: self.data[k] for k in batch if k in self.data})
            if self._total + growth > self.max_total_bytes:
                return 413, f"database full: the limit is {self.max_total_bytes} bytes"
            self.data.update(batch)
            self._total += growth
        return 200, ""

    def _list(self, prefix: str, encode: str) -> tuple[int, str]:
        with self._lock:
            found = [key for key in reversed(self.data) if key.startswith(prefix)]
        if encode == "true":
            found = [quote(key, safe="") for key in found]
        return 200, "\n".join(found)


def _total(data: dict[str, str]) -> int:
    return sum(len(k.encode("utf-8")) + len(v.encode("utf-8")) for k, v in data.items())


def _handler_for(db: FakeReplitDB) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        # Keep-alive, as the real service: the client's pooled connections get exercised.
        protocol_version = "HTTP/1.1"
        timeout = 30

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            status, text = db.handle(self.command, self.path, body)
            payload = text.encode("utf-8")
            try:
                self.send_response(status)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if payload:
                    self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                # The client gave up first (timeout_next): that is the point.
                self.close_connection = True

        do_GET = do_POST = do_DELETE = _serve

        def setup(self) -> None:
            super().setup()
            # Headers and body go out in two writes; without this, Nagle plus the client's
            # delayed ACK adds ~40 ms to every response.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def log_message(self, format: str, *args: object) -> None:
            pass  # the URL carries the token, and test output should stay quiet

    return Handler


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # Eight racing processes plus a get_many pool connect at once; the default backlog of 5
    # would drop SYNs and add one-second retransmits.
    request_queue_size = 128

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # clients hanging up mid-request is expected in failure tests


@pytest.fixture(scope="session")
def fake_replitdb_server() -> Iterator[FakeReplitDB]:
    server = FakeReplitDB()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def fake_replitdb(fake_replitdb_server: FakeReplitDB) -> Iterator[FakeReplitDB]:
    fake_replitdb_server.reset()
    yield fake_replitdb_server
    fake_replitdb_server.reset()

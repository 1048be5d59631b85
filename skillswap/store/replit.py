"""Replit Database backend: a plain HTTP key-value service, spoken to with urllib3.

Protocol (the base URL carries a token that Replit rotates):

- `POST <base>` with a form body `key=value` (several pairs allowed) writes;
- `GET <base>/<url-quoted key>` reads (404: missing);
- `DELETE <base>/<url-quoted key>` removes;
- `GET <base>?prefix=<p>&encode=true` lists keys, newline-separated and url-encoded.

Values are stored as JSON text. The base URL is looked up in `url_file` (Replit rewrites
`/tmp/replitdb` when the token rotates), then in the `db_url` option (the settings pass
`REPLIT_DB_URL`; this module reads no environment variable); on 401/403 it is looked up again
and the request retried once. 429 and 5xx are retried with backoff by urllib3; what still
fails becomes `StoreUnavailable`. The URL (and so the token) never appears in an exception
message, and urllib3's log records are scrubbed of it.

Replit DB has no transactions and no compare-and-set. `put`, `put_many`, `delete`, `put_new`
and `update` therefore serialise through an OS file lock at a fixed path (`lock_path`, never
derived from the token URL), taken per call and never held across a fork. Under that lock
`put_new` is GET then POST and `update` is GET, fn, POST (or DELETE).

THIS IS CORRECT ONLY FOR ONE INSTANCE (one machine) WITH ANY NUMBER OF WORKER PROCESSES AND NO
OTHER WRITER. Two VMs, Autoscale deployments, or another program writing the same database
break `put_new` and `update` silently; use PostgreSQL there.

Kept as one module over ~300 lines on purpose: the lock, the token lookup and the retry
policy are one protocol, and each operation is correct only with all three in view.

Replit's limits (5,000 keys, 1,000-byte keys, 5 MiB values, 50 MiB in total) are checked
before sending where the client can know them (key and value size); the server's refusals of
the totals come back as `StoreLimitError`.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlencode, urlsplit

import certifi
import filelock
import urllib3
from urllib3.exceptions import (
    HTTPError,
    MaxRetryError,
    NewConnectionError,
    ProtocolError,
    ProxyError,
    SSLError,
)
from urllib3.util import Retry, make_headers

from skillswap.store import (
    MAX_VALUE_BYTES,
    REPLIT_BUDGET,
    KeyBudget,
    StoreError,
    StoreLimitError,
    StoreUnavailable,
    Updater,
    Usage,
    Value,
    check_limits,
)
from skillswap.store.codec import decode, encode
from skillswap.store.replit_usage import UsageLedger

DEFAULT_URL_FILE = "/tmp/replitdb"
DEFAULT_LOCK_PATH = "/tmp/skillswap-replitdb.lock"
GET_MANY_THREADS = 16  # a page confirms about a dozen teachers: two documents each
RETRY_STATUSES = (429, 500, 502, 503, 504)
# One POST carries several pairs; keep bodies well below what a proxy might refuse.
_POST_BATCH_BYTES = 4 * 1024 * 1024
_POST_BATCH_PAIRS = 200
# Values run to 5 MiB of JSON: let the service compress them if it will.
_HEADERS = make_headers(accept_encoding=True)
_FORM_HEADERS = {**_HEADERS, "Content-Type": "application/x-www-form-urlencoded"}


class _Redactor(logging.Filter):
    """Removes every base URL (and its token path) this process has used from urllib3's logs.

    urllib3 logs the request path on retries (WARNING) and on every request (DEBUG); that path
    is the token.
    """

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def add(self, base_url: str) -> None:
        self.secrets.add(base_url)
        path = urlsplit(base_url).path.strip("/")
        # A bare "/" or tiny path would redact innocent text; tokens are long.
        if len(path) >= 8:
            self.secrets.add(path)

    def redact(self, text: str) -> str:
        for secret in sorted(self.secrets, key=len, reverse=True):
            text = text.replace(secret, "<redacted>")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            message = record.getMessage()
            cleaned = self.redact(message)
            if cleaned != message:
                record.msg, record.args = cleaned, ()
        return True


_REDACTOR = _Redactor()
for _name in (
    "urllib3.connection",
    "urllib3.connectionpool",
    "urllib3.util.retry",
    "urllib3.poolmanager",
):
    logging.getLogger(_name).addFilter(_REDACTOR)


def _describe(exc: HTTPError) -> str:
    """A cause for the message without the URL that urllib3 puts in its exceptions' text."""
    cause = (exc.reason or exc) if isinstance(exc, MaxRetryError) else exc  # the last failure
    # NewConnectionError (refused, unresolved) is a subclass of ConnectTimeoutError.
    if isinstance(cause, NewConnectionError | ProtocolError | SSLError | ProxyError):
        return "connection failed"
    if isinstance(cause, urllib3.exceptions.TimeoutError):
        return "timed out"
    return type(cause).__name__


def _size(key: str, encoded: str) -> int:
    return len(key.encode("utf-8")) + len(encoded.encode("utf-8"))


class ReplitStore:
    name = "replit"
    budget: KeyBudget | None = REPLIT_BUDGET

    def __init__(
        self,
        *,
        db_url: str | None = None,
        max_value_bytes: int = MAX_VALUE_BYTES,
        url_file: str = DEFAULT_URL_FILE,
        lock_path: str | None = None,
        timeout: float = 10,
        lock_timeout: float | None = None,
        retries: int = 3,
        backoff: float = 0.2,
    ) -> None:
        self._explicit_url = db_url.rstrip("/") if db_url else None
        self.max_value_bytes = max_value_bytes
        self._url_file = url_file
        self.lock_path = lock_path or DEFAULT_LOCK_PATH
        self._timeout = timeout
        # Waiting on the lock means waiting behind other workers' HTTP calls, each bounded by
        # `timeout` (times the retries), so a lock wait is allowed to be a few of them.
        self._lock_timeout = lock_timeout if lock_timeout is not None else 3 * timeout
        self._retries = retries
        os.makedirs(os.path.dirname(os.path.abspath(self.lock_path)), exist_ok=True)
        # Beside the lock: whoever holds the lock writes both (see replit_usage.py).
        self.ledger = UsageLedger(self.lock_path + ".usage.sqlite")
        self._base = self._find_base_url()
        self._retry = Retry(
            total=retries,
            status_forcelist=RETRY_STATUSES,
            backoff_factor=backoff,
            backoff_max=5,
            # Every request here is idempotent: POST writes a fixed value.
            allowed_methods=frozenset({"GET", "POST", "DELETE"}),
            raise_on_status=False,
            respect_retry_after_header=True,
        )
        # Lazily made, and made again in a forked child: see _http and _threads.
        self._lock = threading.Lock()
        self._connections: urllib3.PoolManager | None = None
        self._connections_pid: int | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._executor_pid: int | None = None

    @classmethod
    def from_url(cls, url: str, **options: Any) -> ReplitStore:
        """`replit`; the database URL comes from `url_file`, else the `db_url` option."""
        if url not in ("replit", "replit:", "replit://"):
            # A token-bearing URL in the store URL would end up in config dumps and logs.
            raise ValueError(
                "the Replit store URL is just 'replit'; pass the database URL as db_url or"
                " let it be read from the url_file"
            )
        return cls(**options)

    # -- plumbing ------------------------------------------------------------------------

    def _find_base_url(self) -> str:
        try:
            text = Path(self._url_file).read_text(encoding="utf-8").strip()
        except OSError:
            text = ""
        url = text or self._explicit_url
        if not url:
            raise StoreUnavailable(
                f"no Replit DB URL: {self._url_file} is missing or empty and no db_url (from"
                " REPLIT_DB_URL) was given"
            )
        url = url.rstrip("/")
        _REDACTOR.add(url)
        return url

    def _http(self) -> urllib3.PoolManager:
        """This process's keep-alive connections; urllib3 rather than requests, whose
        per-request work (sessions, hooks, cookies) doubled the client CPU of a GET."""
        # Pooled sockets must not be shared with a forked child.
        with self._lock:
            if self._connections is None or self._connections_pid != os.getpid():
                if self._connections is not None:
                    # Inherited from the parent: closing only drops this process's copies of
                    # the pooled sockets, and avoids ResourceWarnings when it is collected.
                    self._connections.clear()
                self._connections = urllib3.PoolManager(
                    # One host, and a second for the moment a rotated URL moves it.
                    num_pools=2,
                    # get_many's threads plus the worker's own request threads; more are
                    # opened when needed, but closed after use rather than kept.
                    maxsize=GET_MANY_THREADS * 2,
                    headers=_HEADERS,
                    retries=self._retry,
                    timeout=urllib3.Timeout(connect=self._timeout, read=self._timeout),
                    # certifi's CA bundle, not the system's, which a minimal image may lack.
                    ca_certs=certifi.where(),
                )
                self._connections_pid = os.getpid()
            return self._connections

    def _threads(self) -> ThreadPoolExecutor:
        """get_many's threads, kept: starting a thread waits for the GIL's 5 ms switch
        interval while its siblings work, which cost a fresh pool ~50 ms a page."""
        with self._lock:
            if self._executor is None or self._executor_pid != os.getpid():
                # Threads do not survive fork: an inherited pool is only an empty shell.
                self._executor = ThreadPoolExecutor(GET_MANY_THREADS, "replitdb-get")
                self._executor_pid = os.getpid()
            return self._executor

    def _request(
        self,
        method: str,
        key: str | None = None,
        *,
        params: dict[str, str] | None = None,
        data: list[tuple[str, str]] | None = None,
    ) -> urllib3.BaseHTTPResponse:
        """The answer, read in full (so its connection is back in the pool), after urllib3's
        retries and one retry with a re-read URL on 401/403."""
        body = None if data is None else urlencode(data)
        headers = None if data is None else _FORM_HEADERS
        for attempt in (1, 2):
            base = self._base
            url = base if key is None else f"{base}/{quote(key, safe='')}"
            response: urllib3.BaseHTTPResponse | None = None
            try:
                response = self._http().request(
                    method, url, body=body, fields=params, headers=headers
                )
            except HTTPError as exc:
                failure = _describe(exc)
            if response is None:
                # Raised outside the except block: urllib3's exception text holds the token
                # URL and would otherwise travel along as __context__ into tracebacks.
                raise StoreUnavailable(
                    f"Replit DB {method} {failure} (timeout {self._timeout}s,"
                    f" {self._retries} retries)"
                )
            if response.status in (401, 403):
                if attempt == 1:
                    # The token rotated: Replit has rewritten the URL file by now.
                    self._base = self._find_base_url()
                    continue
                raise StoreUnavailable(
                    f"Replit DB refused the token (HTTP {response.status}) even after"
                    f" re-reading {self._url_file}"
                )
            if response.status in RETRY_STATUSES:
                raise StoreUnavailable(
                    f"Replit DB answered HTTP {response.status} to {method}"
                    f" after {self._retries} retries"
                )
            if response.status == 413:
                raise StoreLimitError(f"Replit DB refused the write: {self._body(response)}")
            return response
        raise AssertionError("unreachable")

    @staticmethod
    def _body(response: urllib3.BaseHTTPResponse) -> str:
        text = response.data.decode("utf-8", "replace")[:300].strip()
        return _REDACTOR.redact(text) or response.reason or ""

    def _unexpected(self, response: urllib3.BaseHTTPResponse, what: str) -> StoreError:
        return StoreError(
            f"Replit DB answered HTTP {response.status} to {what}: {self._body(response)}"
        )

    @contextmanager
    def _locked(self) -> Iterator[None]:
        # A new lock object per call: nothing is held (or inherited) across fork. flock locks
        # belong to the open file, so threads of one process exclude each other too.
        lock = filelock.FileLock(
            self.lock_path,
            timeout=self._lock_timeout,
            poll_interval=0.005,
            thread_local=False,
            fallback_to_soft=False,
        )
        try:
            lock.acquire()
        except filelock.Timeout:
            raise StoreUnavailable(
                f"waited {self._lock_timeout}s for the Replit DB write lock {self.lock_path}"
            ) from None
        try:
            yield
        finally:
            lock.release()

    def _get_raw(self, key: str) -> str | None:
        response = self._request("GET", key)
        if response.status == 404:
            return None
        if response.status != 200:
            raise self._unexpected(response, "GET")
        return response.data.decode("utf-8")

    def _decode(self, key: str, raw: str | None) -> Value | None:
        if raw is None:
            return None
        try:
            return decode(raw)
        except ValueError:
            raise StoreError(
                f"value of {key[:60]!r} is not JSON; was it written by another program?"
            ) from None

    def _post(self, pairs: list[tuple[str, str]]) -> None:
        response = self._request("POST", data=pairs)
        if response.status not in (200, 204):
            raise self._unexpected(response, "POST")

    def _delete(self, key: str) -> None:
        response = self._request("DELETE", key)
        if response.status not in (200, 204, 404):
            raise self._unexpected(response, "DELETE")

    # -- the contract --------------------------------------------------------------------

    def get(self, key: str) -> Value | None:
        return self._decode(key, self._get_raw(key))

    def _get_many_raw(self, keys: Iterable[str]) -> dict[str, str]:
        wanted = list(dict.fromkeys(keys))
        if len(wanted) <= 1:
            pairs = [(key, self._get_raw(key)) for key in wanted]
        else:
            # No multi-get in the protocol: overlap the round trips instead.
            pairs = list(zip(wanted, self._threads().map(self._get_raw, wanted), strict=True))
        return {key: raw for key, raw in pairs if raw is not None}

    def get_many(self, keys: Iterable[str]) -> dict[str, Value]:
        return {key: self._decode(key, raw) for key, raw in self._get_many_raw(keys).items()}

    def put(self, key: str, value: Value) -> None:
        encoded = encode(value)
        check_limits(key, encoded, self.max_value_bytes)
        with self._locked():
            self._post([(key, encoded)])
            self.ledger.record([(key, _size(key, encoded))])

    def put_many(self, items: dict[str, Value]) -> None:
        batches: list[list[tuple[str, str]]] = [[]]
        size = 0
        for key, value in items.items():
            encoded = encode(value)
            check_limits(key, encoded, self.max_value_bytes)
            pair_size = _size(key, encoded)
            batch = batches[-1]
            if batch and (size + pair_size > _POST_BATCH_BYTES or len(batch) >= _POST_BATCH_PAIRS):
                batches.append([])
                size = 0
            batches[-1].append((key, encoded))
            size += pair_size
        for batch in batches:
            if batch:
                # Per batch, so a long import does not starve the app's writers.
                with self._locked():
                    self._post(batch)
                    self.ledger.record((k, _size(k, v)) for k, v in batch)

    def delete(self, key: str) -> None:
        with self._locked():
            self._delete(key)
            self.ledger.record([(key, None)])

    def keys(
        self, prefix: str = "", start: str | None = None, limit: int | None = None
    ) -> list[str]:
        response = self._request("GET", params={"prefix": prefix, "encode": "true"})
        if response.status != 200:
            raise self._unexpected(response, "a key listing")
        # The service promises no order; str order is code point order, i.e. UTF-8 byte order.
        found = sorted(
            key
            for key in (unquote(line) for line in response.data.decode("utf-8").split("\n") if line)
            if key.startswith(prefix) and (start is None or key >= start)
        )
        return found if limit is None else found[:limit]

    def put_new(self, key: str, value: Value) -> bool:
        encoded = encode(value)
        check_limits(key, encoded, self.max_value_bytes)
        with self._locked():
            if self._get_raw(key) is not None:
                return False
            self._post([(key, encoded)])
            self.ledger.record([(key, _size(key, encoded))])
            return True

    def update(self, key: str, fn: Updater) -> Value | None:
        check_limits(key, max_value_bytes=self.max_value_bytes)
        with self._locked():
            current = self.get(key)
            new = fn(current)
            if new is None:
                if current is not None:
                    self._delete(key)
                    self.ledger.record([(key, None)])
            else:
                encoded = encode(new)
                check_limits(key, encoded, self.max_value_bytes)
                self._post([(key, encoded)])
                self.ledger.record([(key, _size(key, encoded))])
            return new

    def stats(self) -> Usage:
        """Exact: reads every value (and sets the usage ledger to what it found)."""
        sizes = {k: _size(k, v) for k, v in self._get_many_raw(self.keys()).items()}
        self.ledger.replace_all(sizes)
        return Usage(keys=len(sizes), bytes=sum(sizes.values()))

    def usage(self) -> Usage:
        """One key listing, plus a read of any key the ledger does not know."""

        def sizes_of(keys: list[str]) -> dict[str, int]:
            return {k: _size(k, v) for k, v in self._get_many_raw(keys).items()}

        return self.ledger.reconcile(self.keys(), sizes_of)

    def close(self) -> None:
        self.ledger.close()
        with self._lock:
            if self._connections is not None:
                self._connections.clear()
                self._connections = None
            if self._executor is not None and self._executor_pid == os.getpid():
                self._executor.shutdown(wait=False)
            self._executor = None

    def snapshot(self) -> Iterator[tuple[str, Value]]:
        # No transactions here: batch by batch (see Store.snapshot).
        keys = self.keys("")
        for start in range(0, len(keys), 500):
            batch = keys[start : start + 500]
            values = self.get_many(batch)
            yield from ((key, values[key]) for key in batch if key in values)

"""Transports: how a finished mail leaves the app. SMTP for real deployments; the outbox folder
when no server is configured, so `make run` needs nothing and a newcomer can read every mail.

A transport either delivers or raises ``DeliveryFailed``, which says whether trying again can
help; the retry policy itself lives in ``skillswap.mail.sending``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import smtplib
import socket
import ssl
import tempfile
from base64 import b64encode
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from functools import lru_cache
from pathlib import Path
from secrets import token_hex
from typing import Literal, Protocol

import certifi

log = logging.getLogger("skillswap.mail")

Security = Literal["starttls", "ssl", "none"]


class DeliveryFailed(Exception):
    """A mail did not go out. ``permanent``: trying again cannot help (every recipient refused
    with a 5xx). ``unreachable``: the server could not be reached at all, so the other mails of a
    batch need not try either. The message never holds a password or a mail body."""

    def __init__(self, reason: str, *, permanent: bool = False, unreachable: bool = False) -> None:
        super().__init__(reason)
        self.permanent = permanent
        self.unreachable = unreachable


class Transport(Protocol):
    def deliver(self, message: EmailMessage) -> None:
        """Hand ``message`` on, or raise ``DeliveryFailed``."""


@lru_cache(maxsize=1)
def _tls_context() -> ssl.SSLContext:
    # The system's CAs plus certifi's: minimal images (Replit's) may ship no CA bundle at all.
    context = ssl.create_default_context()
    context.load_verify_locations(cafile=certifi.where())
    return context


@lru_cache(maxsize=1)
def _local_hostname() -> str:
    # smtplib looks this up for every connection; the lookup can take seconds without DNS.
    return socket.getfqdn()


def _server_text(exc: smtplib.SMTPResponseException) -> str:
    # Servers echo addresses, never passwords; still, a line is enough for the log.
    raw = exc.smtp_error
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    return " ".join(text.split())[:120]


@dataclass(frozen=True)
class SMTPTransport:
    """One SMTP connection per delivery: mail is rare (a reset, a booking), and a fresh
    connection never inherits a half-broken session from the last one."""

    host: str
    port: int
    username: str = ""
    password: str = field(default="", repr=False)
    security: Security = "starttls"
    timeout: float = 10.0

    def _connect(self) -> smtplib.SMTP:
        if self.security == "ssl":
            return smtplib.SMTP_SSL(
                self.host,
                self.port,
                local_hostname=_local_hostname(),
                timeout=self.timeout,
                context=_tls_context(),
            )
        return smtplib.SMTP(
            self.host, self.port, local_hostname=_local_hostname(), timeout=self.timeout
        )

    def _login(self, smtp: smtplib.SMTP) -> None:
        try:
            (self.username + self.password).encode("ascii")
        except UnicodeEncodeError:
            # smtplib encodes credentials as ASCII and fails on "pässword" (CPython issue
            # 29750); AUTH PLAIN is defined on UTF-8 (RFC 4616), so send that by hand.
            smtp.ehlo_or_helo_if_needed()
            credentials = f"\0{self.username}\0{self.password}".encode()
            code, reply = smtp.docmd("AUTH", "PLAIN " + b64encode(credentials).decode("ascii"))
            if code != 235:
                raise smtplib.SMTPAuthenticationError(code, reply) from None
        else:
            smtp.login(self.username, self.password)

    def deliver(self, message: EmailMessage) -> None:
        where = f"{self.host}:{self.port}"
        try:
            with self._connect() as smtp:
                if self.security == "starttls":
                    smtp.starttls(context=_tls_context())
                if self.username:
                    self._login(smtp)
                refused = smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = sorted({code for code, _ in exc.recipients.values()})
            raise DeliveryFailed(
                f"{where} refused every recipient ({', '.join(map(str, codes))})",
                permanent=all(code >= 500 for code in codes),
            ) from None
        except smtplib.SMTPAuthenticationError as exc:
            raise DeliveryFailed(f"{where} refused the login ({exc.smtp_code})") from None
        except smtplib.SMTPConnectError as exc:
            raise DeliveryFailed(
                f"{where} refused the connection ({exc.smtp_code} {_server_text(exc)})",
                unreachable=True,
            ) from None
        except smtplib.SMTPResponseException as exc:
            raise DeliveryFailed(f"{where} answered {exc.smtp_code} {_server_text(exc)}") from None
        except smtplib.SMTPNotSupportedError as exc:
            # STARTTLS (or AUTH) not offered: never fall back to sending the password in clear.
            hint = ""
            if "STARTTLS" in str(exc):
                hint = "; set MAIL_USE_SSL for port 465, or MAIL_USE_TLS=false for a local relay"
            raise DeliveryFailed(f"{where}: {str(exc).rstrip('.')}{hint}") from None
        except OSError as exc:
            # Refused connections, timeouts, unknown hosts, TLS failures, a dropped connection
            # (every smtplib error derives from OSError; the specific ones are caught above).
            raise DeliveryFailed(
                f"{where} unreachable ({type(exc).__name__}: {exc})", unreachable=True
            ) from None
        if refused:
            # Some recipients took it, so it is delivered; the others will never take it.
            log.warning(
                "mail %s refused by %s for %d recipients",
                message["Message-ID"],
                where,
                len(refused),
            )


#: Mails the outbox folder keeps; the oldest go beyond this, so a development instance that
#: runs for months (or a benchmark signing up thousands) never fills its disk with them.
MAX_OUTBOX_FILES = 500


@dataclass(frozen=True)
class OutboxTransport:
    """Each mail becomes ``<folder>/<UTC timestamp>-<random>.eml``, written to a temporary name
    and renamed, so a reader (or a test) never sees half a file. The newest ``keep`` stay."""

    folder: Path
    clock: Callable[[], datetime]
    keep: int = MAX_OUTBOX_FILES

    def _prune(self) -> None:
        # Names start with the UTC time, so the oldest sort first.
        names = sorted(name for name in os.listdir(self.folder) if name.endswith(".eml"))
        for name in names[: max(0, len(names) - self.keep)]:
            with contextlib.suppress(FileNotFoundError):  # another worker pruned it first
                os.unlink(self.folder / name)

    def deliver(self, message: EmailMessage) -> None:
        stamp = self.clock().astimezone(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        path = self.folder / f"{stamp}-{token_hex(4)}.eml"
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd, temporary = tempfile.mkstemp(dir=self.folder, prefix=".", suffix=".tmp")
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(message.as_bytes())
                os.replace(temporary, path)
            except BaseException:
                os.unlink(temporary)
                raise
        except OSError as exc:
            raise DeliveryFailed(f"could not write to {self.folder} ({exc})") from None
        log.info("no MAIL_SERVER set: mail %s written to %s", message["Message-ID"], path.resolve())
        try:
            self._prune()
        except OSError as exc:  # the mail is delivered; tidying up can wait for the next one
            log.warning("could not prune the outbox %s: %s", self.folder, exc)

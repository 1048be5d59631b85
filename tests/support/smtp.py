"""A real SMTP server in-process (aiosmtpd), for the mail tests and the web tests of the
flows that send mail.

The server records what it receives, and can be told to refuse: a reply to MAIL FROM, RCPT TO
or DATA ("451 ..."), or to be stopped altogether (connection refused) and started again on the
same port, as a mail server that comes back.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any, cast

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from flask import Flask

from skillswap.mail import SMTPTransport
from tests.support.app_fixtures import Clock, close_app, make_app

USERNAME = "skillswap"
PASSWORD = "s3cret-pässword"  # smtplib alone cannot send this one
ASCII_PASSWORD = "s3cret-password"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    login: str | None  # who logged in for this mail, None without AUTH


@dataclass
class Recorder:
    """aiosmtpd handler: keeps every mail, or answers with a canned reply."""

    received: list[Received] = field(default_factory=list)
    mail_reply: str | None = None
    rcpt_reply: str | None = None
    data_reply: str | None = None

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list
    ) -> str:
        if self.mail_reply:
            return self.mail_reply
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list
    ) -> str:
        if self.rcpt_reply:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.data_reply:
            return self.data_reply
        auth = session.auth_data
        content = cast(bytes, envelope.original_content or envelope.content)
        self.received.append(
            Received(
                mail_from=str(envelope.mail_from),
                rcpt_tos=list(envelope.rcpt_tos),
                message=cast(EmailMessage, message_from_bytes(content, policy=default_policy)),
                login=auth.login.decode() if isinstance(auth, LoginPassword) else None,
            )
        )
        return "250 OK"

    def message_ids(self) -> list[str]:
        return [str(r.message["Message-ID"]) for r in self.received]


def _authenticate(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
) -> AuthResult:
    ok = (
        isinstance(data, LoginPassword)
        and data.login == USERNAME.encode()
        and data.password in (PASSWORD.encode(), ASCII_PASSWORD.encode())
    )
    # handled=False: aiosmtpd answers 535 itself (its default, True, answers nothing).
    return AuthResult(success=ok, handled=False, auth_data=data if ok else None)


class SMTPServer:
    """aiosmtpd's Controller on 127.0.0.1 at a fixed free port, so it can go down and come
    back where the mailer expects it. AUTH is offered without TLS (loopback only)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.handler = Recorder()
        self._controller: Controller | None = None

    def start(self) -> None:
        self._controller = Controller(
            self.handler,
            hostname="127.0.0.1",
            port=self.port,
            authenticator=_authenticate,
            auth_require_tls=False,
        )
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    @property
    def received(self) -> list[Received]:
        return self.handler.received

    def transport(self, **options: Any) -> SMTPTransport:
        settings: dict[str, Any] = {"security": "none", "timeout": 5.0} | options
        return SMTPTransport(host="127.0.0.1", port=self.port, **settings)

    def app_config(self) -> dict[str, str]:
        """MAIL_* settings that point an app at this server (plain SMTP on loopback)."""
        return {
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": str(self.port),
            "MAIL_USE_TLS": "false",
            "MAIL_TIMEOUT": "5",
        }

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """The mails received once there are `count` of them, for mail another thread sends
        (a deadline for a stuck thread, not a measurement: it returns as soon as they are in)."""
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(self.received) >= count, f"{len(self.received)} of {count} mails arrived"
        return self.received


@pytest.fixture
def smtp_server() -> Iterator[SMTPServer]:
    """A real SMTP server on a loopback port, running for the test."""
    server = SMTPServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def mail_app(tmp_path: Path, clock: Clock, smtp_server: SMTPServer) -> Iterator[Flask]:
    """The app sending its mail to `smtp_server`."""
    app = make_app(tmp_path, clock, **smtp_server.app_config())
    yield app
    close_app(app)


# --- reading mails as a person would -------------------------------------------------------


def text_of(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None, "no text/plain part"
    return str(part.get_content())


def html_of(message: EmailMessage) -> str:
    part = message.get_body(("html",))
    assert part is not None, "no text/html part"
    return str(part.get_content())


def link_in(message: EmailMessage, path: str) -> str:
    """The one link in the mail's text whose path starts with `path` (e.g. "/reset-password/");
    the HTML part must carry the same link."""
    links = [
        word
        for word in text_of(message).split()
        if word.startswith(("http://", "https://")) and path in word
    ]
    assert len(links) == 1, f"expected one {path} link in the mail, found {links}"
    assert f'href="{links[0]}"' in html_of(message)
    return links[0]


def outbox_mails(folder: str | os.PathLike[str]) -> list[EmailMessage]:
    """The mails written to an outbox folder, oldest first (their names start with the time;
    mails of one instant, as on a test's frozen clock, in no particular order)."""
    found = sorted(Path(folder).glob("*.eml")) if Path(folder).is_dir() else []
    return [
        cast(EmailMessage, message_from_bytes(path.read_bytes(), policy=default_policy))
        for path in found
    ]

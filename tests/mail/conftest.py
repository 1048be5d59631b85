"""The mail tests' fixtures: a clock, a retry queue in a temporary instance folder, and a mailer
sending to the real SMTP server in-process (`smtp_server`, tests/support/smtp.py)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from email.headerregistry import Address
from pathlib import Path

import pytest

from skillswap.mail import Mailer, RetryQueue
from tests.support.app_fixtures import Clock
from tests.support.smtp import SMTPServer

SENDER = Address("SkillSwap", "no-reply", "skillswap.test")
# Across Europe/Berlin's change to summer time (2026-03-29, 02:00 -> 03:00).
START = datetime(2026, 3, 27, 12, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> Clock:
    return Clock(START)


@pytest.fixture
def queue(tmp_path: Path) -> Iterator[RetryQueue]:
    retry_queue = RetryQueue(tmp_path / "instance" / "mail-queue.db")
    yield retry_queue
    retry_queue.close()


@pytest.fixture
def mailer(smtp_server: SMTPServer, queue: RetryQueue, clock: Clock) -> Mailer:
    return Mailer(smtp_server.transport(), queue, SENDER, clock)

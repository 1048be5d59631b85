"""With no MAIL_SERVER, mails become readable .eml files in the instance folder, and the log
says where: what a newcomer with only `make run` sees."""

from __future__ import annotations

import logging
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path

import pytest

from skillswap.mail import (
    Mailer,
    OutboxTransport,
    Outcome,
    Recipient,
    mailer_from_config,
    settings_from_environment,
)
from tests.mail.conftest import START
from tests.support.app_fixtures import Clock

ZOE = Recipient("Zoë", "zoe@example.org", "Europe/Berlin")
RESET = {"link": "https://skillswap.test/reset/abc", "expires_at": START}


@pytest.fixture
def outbox_mailer(tmp_path: Path, clock: Clock) -> Mailer:
    config = settings_from_environment({}, str(tmp_path / "instance"))
    mailer = mailer_from_config(config, clock)
    assert isinstance(mailer.transport, OutboxTransport)
    return mailer


def test_a_mail_becomes_a_readable_eml_file_and_the_log_says_where(
    outbox_mailer: Mailer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="skillswap.mail")  # what `make run` shows
    message = outbox_mailer.compose("password_reset", ZOE, RESET)
    assert outbox_mailer.send(message) is Outcome.SENT

    outbox = tmp_path / "instance" / "outbox"
    (path,) = outbox.iterdir()
    assert path.name.startswith("20260327T120000000000Z-")
    assert path.suffix == ".eml"
    assert str(path.resolve()) in caplog.text
    assert "no MAIL_SERVER set" in caplog.text
    saved = message_from_bytes(path.read_bytes(), policy=default_policy)
    assert saved["Message-ID"] == message["Message-ID"]
    assert saved["Subject"] == "Reset your SkillSwap password"
    text = saved.get_body(("plain",)).get_content()
    assert "https://skillswap.test/reset/abc" in text
    assert "Hi Zoë," in text
    assert "(Europe/Berlin)" in text


def test_each_mail_gets_its_own_file_and_no_temporary_file_stays(
    outbox_mailer: Mailer, tmp_path: Path
) -> None:
    for _ in range(3):
        outbox_mailer.send(outbox_mailer.compose("password_reset", ZOE, RESET))
    names = sorted(p.name for p in (tmp_path / "instance" / "outbox").iterdir())
    assert len(names) == 3
    assert all(name.endswith(".eml") and not name.startswith(".") for name in names)


def test_an_outbox_that_cannot_be_written_queues_the_mail(
    outbox_mailer: Mailer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    instance = tmp_path / "instance"
    instance.mkdir(exist_ok=True)
    (instance / "outbox").write_text("a file where the folder should be")

    message = outbox_mailer.compose("password_reset", ZOE, RESET)
    assert outbox_mailer.send(message) is Outcome.QUEUED
    assert f"could not write to {instance / 'outbox'}" in caplog.text
    assert len(outbox_mailer.queue) == 1
    outbox_mailer.queue.close()

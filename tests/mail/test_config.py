"""MAIL_* settings: the environment's defaults, the transport they choose, and settings that
stop start-up instead of the first mail."""

from __future__ import annotations

from pathlib import Path

import pytest

from skillswap.mail import (
    MailSettings,
    OutboxTransport,
    SMTPTransport,
    settings_from_environment,
    transport_from_config,
)
from tests.support.app_fixtures import Clock


def settings(instance: Path, **environ: str) -> MailSettings:
    return MailSettings.from_config(settings_from_environment(environ, str(instance)))


def test_nothing_configured_writes_to_the_outbox_in_the_instance_folder(
    tmp_path: Path, clock: Clock
) -> None:
    config = settings_from_environment({}, str(tmp_path))
    assert config["MAIL_SERVER"] == ""
    assert config["MAIL_OUTBOX"] == str(tmp_path / "outbox")
    assert config["MAIL_QUEUE"] == str(tmp_path / "mail-queue.db")
    assert config["MAIL_FROM"] == "SkillSwap <skillswap@localhost>"
    transport = transport_from_config(config, clock)
    assert transport == OutboxTransport(tmp_path / "outbox", clock)


@pytest.mark.parametrize(
    ("environ", "security", "port"),
    [
        ({}, "starttls", 587),
        ({"MAIL_USE_TLS": "true"}, "starttls", 587),
        ({"MAIL_USE_SSL": "1"}, "ssl", 465),
        ({"MAIL_USE_TLS": "false"}, "none", 25),
        ({"MAIL_USE_TLS": "no", "MAIL_PORT": "2525"}, "none", 2525),
        ({"MAIL_USE_SSL": "yes", "MAIL_USE_TLS": "off"}, "ssl", 465),
    ],
)
def test_a_server_chooses_smtp_with_safe_defaults(
    tmp_path: Path, clock: Clock, environ: dict[str, str], security: str, port: int
) -> None:
    environ = {"MAIL_SERVER": " smtp.example.org ", **environ}
    transport = transport_from_config(settings_from_environment(environ, str(tmp_path)), clock)
    assert isinstance(transport, SMTPTransport)
    assert (transport.host, transport.port, transport.security) == (
        "smtp.example.org",
        port,
        security,
    )
    assert transport.timeout == 10.0
    assert transport.username == ""


def test_every_variable_is_read(tmp_path: Path) -> None:
    read = settings(
        tmp_path,
        MAIL_SERVER="smtp.example.org",
        MAIL_PORT="465",
        MAIL_USERNAME="apikey",
        MAIL_PASSWORD="hunter2",
        MAIL_USE_SSL="true",
        MAIL_FROM="Skill Swap <hello@skillswap.example>",
        MAIL_TIMEOUT="2.5",
        MAIL_OUTBOX="/srv/outbox",
        MAIL_QUEUE="/srv/queue.db",
    )
    assert (read.server, read.port, read.username, read.password) == (
        "smtp.example.org",
        465,
        "apikey",
        "hunter2",
    )
    assert (read.security, read.timeout) == ("ssl", 2.5)
    assert str(read.sender) == "Skill Swap <hello@skillswap.example>"
    assert (str(read.outbox), str(read.queue)) == ("/srv/outbox", "/srv/queue.db")


def test_the_password_is_never_in_a_repr(tmp_path: Path, clock: Clock) -> None:
    environ = {"MAIL_SERVER": "smtp.example.org", "MAIL_PASSWORD": "hunter2"}
    config = settings_from_environment(environ, str(tmp_path))
    assert "hunter2" not in repr(MailSettings.from_config(config))
    assert "hunter2" not in repr(transport_from_config(config, clock))


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"MAIL_USE_TLS": "1", "MAIL_USE_SSL": "1"}, "not both"),
        ({"MAIL_USE_TLS": "maybe"}, "MAIL_USE_TLS must be true or false"),
        ({"MAIL_PORT": "smtp"}, "MAIL_PORT must be a number"),
        ({"MAIL_PORT": "0"}, "MAIL_PORT must be positive"),
        ({"MAIL_TIMEOUT": "-1"}, "MAIL_TIMEOUT must be positive"),
        ({"MAIL_FROM": "SkillSwap"}, "MAIL_FROM must be one address"),
        ({"MAIL_FROM": "a@b.test, c@d.test"}, "MAIL_FROM must be one address"),
    ],
)
def test_a_wrong_setting_stops_start_up_with_a_specific_message(
    tmp_path: Path, environ: dict[str, str], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        settings(tmp_path, MAIL_SERVER="smtp.example.org", **environ)


def test_a_mapping_without_folders_is_refused(clock: Clock) -> None:
    with pytest.raises(ValueError, match="MAIL_OUTBOX is missing"):
        transport_from_config({"MAIL_SERVER": ""}, clock)

"""How the app sends: a page never fails because mail failed, queued mail goes out later from
`flask send-due-mail` or the background sender, and with no MAIL_SERVER every mail lands in
the instance's outbox folder with a log line saying where.
"""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from flask import Flask

from skillswap.mail.retry import BACKOFF
from tests.support.app_fixtures import AuthActions, Clock, close_app, csrf_token, make_app
from tests.support.smtp import SMTPServer, link_in, outbox_mails, text_of
from tests.web.test_auth import location, page, repo

NEW_PASSWORD = "Zq7!a-new-pass-phrase"


def ask_for_reset(app: Flask, email: str):
    client = app.test_client()
    token = csrf_token(client, "/forgot-password")
    return client.post("/forgot-password", data={"email": email, "csrf_token": token})


def send_due_mail(app: Flask) -> str:
    result = app.test_cli_runner().invoke(args=["send-due-mail"])
    assert result.exit_code == 0, result.output
    return result.output


def queued(app: Flask) -> int:
    return len(app.extensions["skillswap.mailer"].queue)


# --- SMTP down --------------------------------------------------------------------------------


def test_with_the_mail_server_down_sign_up_still_works_and_the_mail_follows(
    mail_app: Flask, smtp_server: SMTPServer, clock: Clock
) -> None:
    smtp_server.stop()
    auth = AuthActions(mail_app.test_client())

    response = auth.signup("ada")

    assert response.status_code == 302
    assert location(response) == "/profile"
    assert repo(mail_app).find_user("ada") is not None
    assert queued(mail_app) == 1

    smtp_server.start()
    assert "0 sent" in send_due_mail(mail_app)  # not due yet: the first retry waits a minute
    clock.advance(seconds=BACKOFF[0].total_seconds())
    assert "1 sent" in send_due_mail(mail_app)

    (received,) = smtp_server.received
    assert received.rcpt_tos == ["ada@example.com"]
    assert queued(mail_app) == 0


def test_a_reset_asked_for_while_the_server_is_down_arrives_later_and_works(
    mail_app: Flask, smtp_server: SMTPServer, clock: Clock
) -> None:
    AuthActions(mail_app.test_client()).signup("ada")
    smtp_server.stop()
    smtp_server.received.clear()

    response = ask_for_reset(mail_app, "ada@example.com")
    assert location(response) == "/forgot-password/sent"

    clock.advance(seconds=BACKOFF[0].total_seconds())
    assert "1 to retry later" in send_due_mail(mail_app)  # still down: tried, kept
    smtp_server.start()
    clock.advance(seconds=BACKOFF[1].total_seconds())
    send_due_mail(mail_app)

    (received,) = smtp_server.received
    link = urlsplit(link_in(received.message, "/reset-password/")).path
    client = mail_app.test_client()
    token = page(client.get(link)).value("csrf_token")
    done = client.post(
        link,
        data={
            "new_password": NEW_PASSWORD,
            "new_password_again": NEW_PASSWORD,
            "csrf_token": token,
        },
    )
    assert location(done) == "/login"


def test_a_mail_the_server_never_takes_is_dropped_with_a_log_line(
    mail_app: Flask, smtp_server: SMTPServer, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    smtp_server.stop()
    AuthActions(mail_app.test_client()).signup("ada")

    with caplog.at_level(logging.ERROR, logger="skillswap.mail"):
        for wait in BACKOFF:
            clock.advance(seconds=wait.total_seconds())
            send_due_mail(mail_app)

    assert queued(mail_app) == 0
    assert any("dropped after 4 tries" in r.getMessage() for r in caplog.records)


# --- the background sender --------------------------------------------------------------------


def test_the_background_sender_delivers_what_pages_queue(
    tmp_path: Path, clock: Clock, smtp_server: SMTPServer
) -> None:
    app = make_app(tmp_path, clock, MAIL_SENDER_THREAD=True, **smtp_server.app_config())
    try:
        AuthActions(app.test_client()).signup("ada")

        (received,) = smtp_server.wait_for(1)
        assert received.rcpt_tos == ["ada@example.com"]
        assert "/verify-email/" in text_of(received.message)
    finally:
        close_app(app)


def test_the_background_sender_retries_when_the_server_is_back(
    tmp_path: Path, clock: Clock, smtp_server: SMTPServer
) -> None:
    app = make_app(tmp_path, clock, MAIL_SENDER_THREAD=True, **smtp_server.app_config())
    sender = app.extensions["skillswap.mail_sender"]
    try:
        smtp_server.stop()
        AuthActions(app.test_client()).signup("ada")
        mailer = app.extensions["skillswap.mailer"]
        # The thread's first try fails and puts the mail back with a wait: wait for that.
        sender.stop()
        assert len(mailer.queue) == 1

        smtp_server.start()
        clock.advance(seconds=BACKOFF[0].total_seconds())
        sender.start()
        sender.wake()

        (received,) = smtp_server.wait_for(1)
        assert received.rcpt_tos == ["ada@example.com"]
    finally:
        close_app(app)


# --- nothing configured: the outbox -----------------------------------------------------------


def test_without_a_mail_server_mails_go_to_the_outbox_and_the_log_says_where(
    tmp_path: Path, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="skillswap"):
        app = make_app(tmp_path, clock)
    try:
        outbox = Path(app.config["MAIL_OUTBOX"])
        assert outbox == tmp_path / "instance" / "outbox"
        assert any(str(outbox.resolve()) in r.getMessage() for r in caplog.records)
        AuthActions(app.test_client()).signup("ada")
        caplog.clear()

        with caplog.at_level(logging.INFO, logger="skillswap.mail"):
            ask_for_reset(app, "ada@example.com")

        subjects = sorted(str(mail["Subject"]) for mail in outbox_mails(outbox))
        assert subjects == [
            "Confirm your email address for SkillSwap",
            "Reset your SkillSwap password",
        ]
        (reset,) = [m for m in outbox_mails(outbox) if "Reset" in str(m["Subject"])]
        assert str(reset["To"]) == "ada <ada@example.com>"
        (written,) = [r.getMessage() for r in caplog.records if "written to" in r.getMessage()]
        assert str(outbox.resolve()) in written
    finally:
        close_app(app)

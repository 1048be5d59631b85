"""SMTP failures never reach the page: the mail is queued, retried with backoff by
deliver_due(now), delivered once the server is back, and dropped after the last try."""

from __future__ import annotations

from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest

from skillswap.mail import DeliveryFailed, Mailer, Outcome, Recipient, RetryQueue
from skillswap.mail.retry import BACKOFF, LEASE, MAX_QUEUED
from tests.mail.conftest import SENDER, START
from tests.support.app_fixtures import Clock
from tests.support.smtp import SMTPServer

ANN = Recipient("Ann Example", "ann.private@example.org", "Europe/Berlin")
BODY_WORD = "Xylophone"  # in the subject and the body; never in a log line


def reminder(mailer: Mailer, number: int = 0) -> EmailMessage:
    return mailer.compose(
        "session_reminder",
        ANN,
        {
            "title": f"{BODY_WORD} {number}",
            "skill": f"{BODY_WORD} {number}",
            "mode": "Online",
            "teaching": False,
            "other_name": "Ben",
            "start": START + timedelta(days=1),
            "end": START + timedelta(days=1, hours=1),
            "link": "https://skillswap.test/b/1",
        },
    )


def test_backoff_and_bound_are_what_the_issue_asks() -> None:
    assert [step.total_seconds() / 60 for step in BACKOFF] == [1, 5, 30]
    assert MAX_QUEUED == 1000


def test_a_server_that_is_down_does_not_fail_the_caller(
    mailer: Mailer, smtp_server: SMTPServer, queue: RetryQueue, caplog: pytest.LogCaptureFixture
) -> None:
    smtp_server.stop()  # connection refused
    assert mailer.send(reminder(mailer)) is Outcome.QUEUED
    assert len(queue) == 1
    assert "unreachable (ConnectionRefusedError" in caplog.text
    assert "next try at 2026-03-27T12:01:00+00:00" in caplog.text


def test_retries_back_off_and_deliver_once_the_server_is_back(
    mailer: Mailer, smtp_server: SMTPServer, queue: RetryQueue, clock: Clock
) -> None:
    smtp_server.stop()
    message = reminder(mailer)
    mailer.send(message)

    def at(**delta: float) -> tuple[int, int, int]:
        report = mailer.deliver_due(START + timedelta(**delta))
        return report.sent, report.retrying, report.dropped

    assert at(seconds=59) == (0, 0, 0), "not due before a minute has passed"
    assert at(minutes=1) == (0, 1, 0)  # second try; the next is 5 minutes later
    assert at(minutes=5, seconds=59) == (0, 0, 0)
    assert at(minutes=6) == (0, 1, 0)  # third try; the next is 30 minutes later
    smtp_server.start()
    assert at(minutes=35) == (0, 0, 0)
    assert at(minutes=36) == (1, 0, 0)
    assert smtp_server.handler.message_ids() == [message["Message-ID"]]
    assert len(queue) == 0
    assert at(hours=5) == (0, 0, 0), "delivered means gone from the queue"


def test_dropped_after_the_last_try_with_a_log_line_and_no_body(
    mailer: Mailer, smtp_server: SMTPServer, queue: RetryQueue, caplog: pytest.LogCaptureFixture
) -> None:
    smtp_server.stop()
    message = reminder(mailer)
    mailer.send(message)
    for minutes in (1, 6):
        assert mailer.deliver_due(START + timedelta(minutes=minutes)).retrying == 1
    assert mailer.deliver_due(START + timedelta(minutes=36)).dropped == 1

    assert len(queue) == 0
    assert f"mail {message['Message-ID']} to @example.org dropped after 4 tries" in caplog.text
    smtp_server.start()
    assert mailer.deliver_due(START + timedelta(days=1)).sent == 0
    assert smtp_server.received == []
    for secret in (BODY_WORD, "ann.private", "Ann Example"):
        assert secret not in caplog.text


@pytest.mark.parametrize(
    ("stage", "reply"),
    [
        ("data_reply", "451 4.3.0 Try again later"),
        ("mail_reply", "421 4.7.0 Too busy"),
        ("mail_reply", "554 5.7.1 Relay access denied"),  # a setting someone will fix
        ("rcpt_reply", "450 4.2.1 Mailbox busy"),
    ],
)
def test_a_refusal_that_may_pass_is_retried(
    mailer: Mailer,
    smtp_server: SMTPServer,
    queue: RetryQueue,
    caplog: pytest.LogCaptureFixture,
    stage: str,
    reply: str,
) -> None:
    setattr(smtp_server.handler, stage, reply)
    assert mailer.send(reminder(mailer)) is Outcome.QUEUED
    assert reply.split()[0] in caplog.text
    setattr(smtp_server.handler, stage, None)
    assert mailer.deliver_due(START + timedelta(minutes=1)).sent == 1
    assert len(smtp_server.received) == 1


def test_an_address_refused_for_good_is_dropped_at_once(
    mailer: Mailer, smtp_server: SMTPServer, queue: RetryQueue, caplog: pytest.LogCaptureFixture
) -> None:
    smtp_server.handler.rcpt_reply = "550 5.1.1 No such user"
    assert mailer.send(reminder(mailer)) is Outcome.DROPPED
    assert len(queue) == 0
    assert "refused every recipient (550)" in caplog.text


def test_the_queue_survives_a_restart(
    smtp_server: SMTPServer, tmp_path: Path, clock: Clock
) -> None:
    path = tmp_path / "instance" / "mail-queue.db"
    before = Mailer(smtp_server.transport(), RetryQueue(path), SENDER, clock)
    smtp_server.stop()
    message = reminder(before)
    before.send(message)
    before.queue.close()

    smtp_server.start()
    after = Mailer(smtp_server.transport(), RetryQueue(path), SENDER, clock)
    assert after.deliver_due(START + timedelta(minutes=1)).sent == 1
    assert smtp_server.handler.message_ids() == [message["Message-ID"]]
    after.queue.close()


def test_a_full_queue_drops_its_oldest_mails(
    mailer: Mailer, smtp_server: SMTPServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    mailer.queue = RetryQueue(tmp_path / "small.db", max_queued=3)
    messages = [reminder(mailer, n) for n in range(5)]
    for message in messages:
        mailer.enqueue(message)

    assert len(mailer.queue) == 3
    for dropped in messages[:2]:
        assert f"dropped the oldest mail {dropped['Message-ID']}" in caplog.text
    assert mailer.deliver_due(START).sent == 3
    ids = [str(m["Message-ID"]) for m in messages[2:]]
    assert smtp_server.handler.message_ids() == ids
    mailer.queue.close()


def test_enqueue_leaves_the_sending_to_deliver_due(mailer: Mailer, smtp_server: SMTPServer) -> None:
    assert mailer.enqueue(reminder(mailer)) is Outcome.QUEUED
    assert smtp_server.received == []
    assert mailer.deliver_due(START).sent == 1
    assert len(smtp_server.received) == 1


class CountingTransport:
    def __init__(self, failure: Exception) -> None:
        self.failure = failure
        self.calls = 0

    def deliver(self, message: EmailMessage) -> None:
        self.calls += 1
        raise self.failure


def test_an_unreachable_server_costs_one_try_per_batch(queue: RetryQueue, clock: Clock) -> None:
    down = CountingTransport(DeliveryFailed("host:25 unreachable", unreachable=True))
    mailer = Mailer(down, queue, SENDER, clock)
    for number in range(3):
        mailer.enqueue(reminder(mailer, number))

    report = mailer.deliver_due(START)
    assert (report.sent, report.retrying, down.calls) == (0, 3, 1)


def test_a_bug_in_a_transport_never_reaches_the_page(
    queue: RetryQueue, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    broken = CountingTransport(RuntimeError("a bug"))
    mailer = Mailer(broken, queue, SENDER, clock)
    assert mailer.send(reminder(mailer)) is Outcome.QUEUED
    assert "unexpected error while sending" in caplog.text
    assert "RuntimeError: a bug" in caplog.text


def test_a_claim_holds_until_its_lease_expires(mailer: Mailer, queue: RetryQueue) -> None:
    mailer.enqueue(reminder(mailer))
    (claimed,) = queue.claim_due(START, limit=10)
    assert queue.claim_due(START, limit=10) == [], "another sender must not take it"
    assert queue.claim_due(START + LEASE - timedelta(seconds=1), limit=10) == []
    # The first sender died without a word: after the lease the mail is tried again.
    (again,) = queue.claim_due(START + LEASE, limit=10)
    assert again.id == claimed.id
    assert again.message["Message-ID"] == claimed.message["Message-ID"]


def test_a_queued_mail_goes_out_as_it_was_composed(mailer: Mailer, smtp_server: SMTPServer) -> None:
    message = reminder(mailer)
    mailer.enqueue(message)
    mailer.deliver_due(START)
    (got,) = smtp_server.received
    for header in ("From", "To", "Subject", "Date", "Message-ID"):
        # strip(): Python's parser keeps the space of a header folded right after its colon.
        assert got.message[header].strip() == message[header]
    for subtype in ("plain", "html"):
        sent = got.message.get_body((subtype,)).get_content().replace("\r\n", "\n")
        assert sent == message.get_body((subtype,)).get_content()

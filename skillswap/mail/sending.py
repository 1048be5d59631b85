"""Sending that never fails a page: ``Mailer.send`` tries once, and whatever goes wrong the
mail lands in the retry queue (or, refused for good, in a log line), never in an exception.
``Mailer.deliver_due(now)`` sends what the queue holds once it is due; a background sender or
``flask send-due-mail`` calls it."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from enum import StrEnum
from typing import Any

from skillswap.mail.message import Attachment, CalendarInvite, Recipient, compose
from skillswap.mail.retry import BACKOFF, QueuedMail, RetryQueue
from skillswap.mail.transports import DeliveryFailed, Transport

log = logging.getLogger("skillswap.mail")

#: Mails one deliver_due() call takes on; the rest wait for the next call.
BATCH = 20


class Outcome(StrEnum):
    SENT = "sent"
    QUEUED = "queued"  # the server did not take it; it will be tried again
    DROPPED = "dropped"  # refused for good, or it could not even be queued (logged)


@dataclass
class Delivery:
    """What one deliver_due() call did."""

    sent: int = 0
    retrying: int = 0
    dropped: int = 0


def describe(message: EmailMessage) -> str:
    """Enough to find a mail in a log (its Message-ID and the recipients' domains), and
    nothing more: no body, no subject, no local part of an address."""
    domains = sorted(
        {
            address.domain
            for field in ("To", "Cc", "Bcc")
            for address in getattr(message[field], "addresses", ())
        }
    )
    return f"{message['Message-ID'] or '(no Message-ID)'} to @{', @'.join(domains) or '?'}"


class Mailer:
    """The transport, the retry queue, the From address and the app's clock together: what
    the rest of the app holds on to (``app.extensions["skillswap.mailer"]``)."""

    def __init__(
        self,
        transport: Transport,
        queue: RetryQueue,
        sender: Address,
        clock: Callable[[], datetime],
    ) -> None:
        self.transport = transport
        self.queue = queue
        self.sender = sender
        self.clock = clock

    def compose(
        self,
        kind: str,
        to: Recipient,
        context: Mapping[str, Any],
        *,
        headers: Mapping[str, str] | None = None,
        invite: CalendarInvite | None = None,
        attachments: Sequence[Attachment] = (),
    ) -> EmailMessage:
        """``message.compose`` from this mailer's address, dated by its clock."""
        return compose(
            kind,
            to,
            context,
            sender=self.sender,
            now=self.clock(),
            headers=headers,
            invite=invite,
            attachments=attachments,
        )

    def _try(self, message: EmailMessage) -> DeliveryFailed | None:
        try:
            self.transport.deliver(message)
        except DeliveryFailed as exc:
            return exc
        except Exception:
            # A bug in a transport must not fail the page either; the traceback has no body.
            log.exception("mail %s: unexpected error while sending", describe(message))
            return DeliveryFailed("unexpected error")
        return None

    def send(self, message: EmailMessage) -> Outcome:
        """Try to deliver ``message`` now; on failure queue it for later. Never raises."""
        failure = self._try(message)
        if failure is None:
            log.info("mail %s sent", describe(message))
            return Outcome.SENT
        if failure.permanent or not BACKOFF:
            log.error("mail %s dropped: %s", describe(message), failure)
            return Outcome.DROPPED
        due = self.clock() + BACKOFF[0]
        try:
            self.queue.add(message, describe(message), due=due, failures=1)
        except Exception:
            log.exception(
                "mail %s dropped: not sent (%s) and not queued", describe(message), failure
            )
            return Outcome.DROPPED
        log.warning(
            "mail %s not sent (%s); next try at %s", describe(message), failure, due.isoformat()
        )
        return Outcome.QUEUED

    def enqueue(self, message: EmailMessage) -> Outcome:
        """Leave ``message`` to the next ``deliver_due``, for callers that must not wait for an
        SMTP server (a page answering while a background sender delivers). Never raises."""
        try:
            self.queue.add(message, describe(message), due=self.clock(), failures=0)
        except Exception:
            log.exception("mail %s dropped: could not be queued", describe(message))
            return Outcome.DROPPED
        return Outcome.QUEUED

    def deliver_due(self, now: datetime, limit: int = BATCH) -> Delivery:
        """Send up to ``limit`` queued mails due at ``now``. Each is claimed first, so any
        number of workers, threads and cron jobs may call this at once: each mail goes out
        once. When the server cannot be reached the rest of the batch is not tried (it counts
        as a failed try for them too: the server was down when they were due)."""
        report = Delivery()
        down: DeliveryFailed | None = None
        for mail in self.queue.claim_due(now, limit):
            failure = down or self._try(mail.message)
            if failure is None:
                self.queue.remove(mail)
                report.sent += 1
                log.info("mail %s sent after %d failed tries", mail.label, mail.failures)
                continue
            if failure.unreachable:
                down = failure
            self._after_failure(mail, failure, now, report)
        return report

    def _after_failure(
        self, mail: QueuedMail, failure: DeliveryFailed, now: datetime, report: Delivery
    ) -> None:
        if failure.permanent:
            self.queue.remove(mail)
            report.dropped += 1
            log.error("mail %s dropped: %s", mail.label, failure)
            return
        due = self.queue.retry_later(mail, now)
        if due is None:
            report.dropped += 1
            log.error("mail %s dropped after %d tries: %s", mail.label, mail.failures + 1, failure)
        else:
            report.retrying += 1
            log.warning(
                "mail %s not sent (%s); next try at %s", mail.label, failure, due.isoformat()
            )

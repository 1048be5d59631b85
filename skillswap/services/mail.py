"""Mail as the app sends it: to a person (only where they may be mailed, and only the kinds they
left on), handed on without keeping a page waiting, and what is due (reminders, retries) sent
by one entry point, `send_due_mail`, which the background sender and `flask send-due-mail` both
call.

The mail core (building, transports, the retry queue, tokens) is `skillswap.mail`; this module
decides who may be mailed (domain/users.py: may_mail) and when sending happens.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any

from skillswap.domain.users import User, may_mail, wants_mail
from skillswap.mail import CalendarInvite, Delivery, Mailer, OutboxTransport, Outcome, Recipient
from skillswap.mail.retry import MAX_QUEUED
from skillswap.mail.sending import BATCH
from skillswap.repo import Repository
from skillswap.services.upkeep import refresh_search_cards

if TYPE_CHECKING:
    from skillswap.services.notify import Notifier

log = logging.getLogger("skillswap.mail")

#: How often the background sender looks for due mail when nothing wakes it sooner. The first
#: retry waits a minute (mail/retry.py: BACKOFF), so half of that is soon enough.
SENDER_INTERVAL = 30.0


@dataclass
class Reminded:
    """What one round of reminders did."""

    sent: int = 0  # reminder mails handed on
    late: int = 0  # reminders whose moment passed while no sender ran: dropped, not sent


@dataclass
class DueMail:
    """What one `send_due_mail` did: reminders, then the retry queue."""

    reminders: Reminded = field(default_factory=Reminded)
    delivery: Delivery = field(default_factory=Delivery)


def send_due_mail(
    repo: Repository, mailer: Mailer, now: datetime, notifier: Notifier | None = None
) -> DueMail:
    """Send everything due at `now`: the reminders due (services/notify.py, when there is a
    `notifier`), then the retry queue, batch by batch, until a batch finds nothing more to
    send. The one entry point for whatever sends on a schedule (the background sender, `flask
    send-due-mail`): any number of them may run at once, each reminder and each queued mail
    goes out once.

    Bounded: at most MAX_QUEUED mails can be waiting, so at most that many batches' worth."""
    done = DueMail()
    if notifier is not None:
        try:
            done.reminders = notifier.send_reminders(now)
        except Exception:  # the queue must still go out; reminders try again next round
            log.exception("reminders: sending failed; trying again next round")
    done.delivery = _deliver_queue(mailer, now)
    return done


def _deliver_queue(mailer: Mailer, now: datetime) -> Delivery:
    total = Delivery()
    for _ in range(MAX_QUEUED // BATCH + 1):
        done = mailer.deliver_due(now)
        total.sent += done.sent
        total.retrying += done.retrying
        total.dropped += done.dropped
        if done.sent + done.retrying + done.dropped < BATCH or done.retrying:
            # A short batch: nothing more is due. A failure: the server is struggling, and
            # the rest can wait for the next round rather than fail one after another now.
            break
    return total


class MailSender:
    """A daemon thread in this process that calls `send_due_mail` (reminders and the retry
    queue) every SENDER_INTERVAL, and at once when woken (a page just queued a mail); and,
    once an interval, brings a batch of search cards up to date (`refresh_search_cards`). For the
    single-instance default; where a scheduler runs `flask send-due-mail`, set
    MAIL_SENDER_THREAD=false.

    Started as each server process starts (main.py, gunicorn.conf.py) or on its first request,
    never before gunicorn forks (a thread does not survive a fork). Several processes, even on
    several machines, each running one is fine: the queue hands each mail to exactly one of
    them (mail/retry.py: claim_due), and each reminder is claimed in the person's schedule
    before it is sent (domain/reminders.py: claim)."""

    def __init__(
        self,
        repo: Repository,
        mailer: Mailer,
        interval: float = SENDER_INTERVAL,
        notifier: Notifier | None = None,
    ):
        self.repo = repo
        self.mailer = mailer
        self.interval = interval
        self.notifier = notifier  # set once the app has one: reminders are sent too
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid = 0

    def start(self) -> None:
        """Run the thread in this process, if it is not running yet (cheap to call often)."""
        if self._pid == os.getpid() and self._thread is not None and self._thread.is_alive():
            return
        with self._lock:
            if self._pid == os.getpid() and self._thread is not None and self._thread.is_alive():
                return
            self._stop.clear()
            self._thread = threading.Thread(
                target=self._run, name="skillswap-mail-sender", daemon=True
            )
            self._pid = os.getpid()
            self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None and self._pid == os.getpid():
            self._thread.join(timeout)
        self._thread = None

    def _run(self) -> None:
        log.info("mail sender thread started (every %.0f s)", self.interval)
        refreshed = time.monotonic()
        while not self._stop.is_set():
            self._wake.wait(self.interval)
            self._wake.clear()
            if self._stop.is_set():
                break
            try:
                send_due_mail(self.repo, self.mailer, self.mailer.clock(), self.notifier)
            except Exception:  # the thread must outlive a bad round (a full disk, a bug)
                log.exception("mail sender: sending due mail failed; trying again later")
            # Once an interval, however often mail wakes the thread: a batch of search cards.
            if time.monotonic() - refreshed >= self.interval:
                refreshed = time.monotonic()
                try:
                    refresh_search_cards(self.repo)
                except Exception:
                    log.exception("mail sender: refreshing search cards failed")


def hand_on(mailer: Mailer, message: EmailMessage, sender: MailSender | None) -> Outcome:
    """Send `message` without ever failing the caller. With a background sender and a real
    server, the page does not wait for SMTP at all: the mail is queued and the sender woken.
    Otherwise (no sender, or the outbox folder, which is local and quick) it is sent now, and
    queued for a retry if that fails."""
    if sender is None or isinstance(mailer.transport, OutboxTransport):
        return mailer.send(message)
    sender.start()
    outcome = mailer.enqueue(message)
    sender.wake()
    return outcome


def mail_person(
    mailer: Mailer,
    sender: MailSender | None,
    user: User,
    kind: str,
    context: Mapping[str, Any],
    *,
    address: str | None = None,
    headers: Mapping[str, str] | None = None,
    invite: CalendarInvite | None = None,
) -> Outcome | None:
    """Mail `user` a `kind` of mail at `address` (default: their address), in their name and
    zone. None, and nothing sent, where they may not be mailed (an unconfirmed address gets
    only verification and reset mail) or turned that kind of mail off (domain/users.py)."""
    to = address or user.email
    if not may_mail(user, kind, to):
        log.info("no %s mail for account %s: its address is not confirmed", kind, user.id)
        return None
    if not wants_mail(user, kind):
        log.info("no %s mail for account %s: turned off in its mail settings", kind, user.id)
        return None
    recipient = Recipient(user.name, to, user.timezone)
    message = mailer.compose(kind, recipient, context, headers=headers, invite=invite)
    return hand_on(mailer, message, sender)

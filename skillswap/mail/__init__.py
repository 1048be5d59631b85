"""Mail: building, sending and retrying the mails SkillSwap sends, and the signed tokens in
their links.

Why the standard library (``email`` + ``smtplib``) and not Flask-Mailman: a calendar invite is
a ``text/calendar; method=REQUEST|CANCEL`` part inside multipart/alternative *and* an attachment,
which ``EmailMessage`` builds directly and a Django-style wrapper only approximates; the retry
queue must store and resend the exact bytes of a mail, which needs the message object, not a
wrapper; ``smtplib`` is exactly what aiosmtpd tests against in-process; and it is one dependency
fewer. What Flask-Mailman adds (backends chosen by a string, a Flask extension object) is the
twenty lines of ``transport_from_config``.

Use::

    mailer = mailer_from_config(app.config, clock)   # once, in create_app
    message = mailer.compose("password_reset", Recipient(name, email, zone),
                             {"link": url, "expires_at": expires})
    mailer.send(message)                             # never raises; queues on failure
    mailer.deliver_due(now)                          # from a background sender or a command

With no MAIL_SERVER, every mail is written to ``<instance>/outbox/`` and the log says where.

Wiring (left to the app): ``settings.from_environment`` merges
``settings_from_environment(os.environ, instance_path)``; ``create_app`` keeps
``mailer_from_config(app.config, clock)`` in ``app.extensions["skillswap.mailer"]``; something
calls ``deliver_due(clock())`` every minute or so (a background thread, or ``flask
send-due-mail`` from cron), or nothing queued is ever retried.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from skillswap.mail.config import MailSettings, settings_from_environment, transport_from_config
from skillswap.mail.message import (
    KINDS,
    Attachment,
    CalendarInvite,
    Recipient,
    compile_mail_templates,
    compose,
    render,
)
from skillswap.mail.retry import RetryQueue
from skillswap.mail.sending import Delivery, Mailer, Outcome
from skillswap.mail.tokens import (
    MAX_AGE,
    BadToken,
    ExpiredToken,
    StaleToken,
    Token,
    make_token,
    read_token,
)
from skillswap.mail.transports import DeliveryFailed, OutboxTransport, SMTPTransport, Transport

__all__ = [
    "KINDS",
    "MAX_AGE",
    "Attachment",
    "BadToken",
    "CalendarInvite",
    "Delivery",
    "DeliveryFailed",
    "ExpiredToken",
    "MailSettings",
    "Mailer",
    "OutboxTransport",
    "Outcome",
    "Recipient",
    "RetryQueue",
    "SMTPTransport",
    "StaleToken",
    "Token",
    "Transport",
    "compile_mail_templates",
    "compose",
    "mailer_from_config",
    "make_token",
    "read_token",
    "render",
    "settings_from_environment",
    "transport_from_config",
]


def mailer_from_config(config: Mapping[str, Any], clock: Callable[[], datetime]) -> Mailer:
    """The app's mailer from MAIL_* keys (see ``skillswap.mail.config``): checks them all, so
    a wrong setting stops start-up instead of the first mail."""
    settings = MailSettings.from_config(config)
    return Mailer(
        transport=transport_from_config(config, clock),
        queue=RetryQueue(settings.queue),
        sender=settings.sender,
        clock=clock,
    )

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
"""

from __future__ import annotations

from skillswap.mail.config import MailSettings, settings_from_environment, transport_from_config
from skillswap.mail.message import KINDS, Attachment, CalendarInvite, Recipient, compose, render
from skillswap.mail.transports import DeliveryFailed, OutboxTransport, SMTPTransport, Transport

__all__ = [
    "KINDS",
    "Attachment",
    "CalendarInvite",
    "DeliveryFailed",
    "MailSettings",
    "OutboxTransport",
    "Recipient",
    "SMTPTransport",
    "Transport",
    "compose",
    "render",
    "settings_from_environment",
    "transport_from_config",
]

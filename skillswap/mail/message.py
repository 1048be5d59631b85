"""Building a mail: a plain-text part and an HTML part rendered from the templates in
``skillswap/templates/mail/``, addressed to a person by name, with any time in that person's
own zone, and optionally a calendar invite or other attachments.

Each kind of mail is a pair of templates, ``<kind>.txt`` and ``<kind>.html``. The text one also
holds the subject in a ``{% block subject %}``. Both get the caller's context plus:

- ``recipient``: the ``Recipient`` (``recipient.name``),
- ``when(start, end=None)``: an instant or a range in the recipient's zone, zone named,
- ``unsubscribe_url`` if the caller gave one (the footer then offers it),
- ``calendar_invite``: whether an invite is attached.

The HTML templates are autoescaped; the text ones are not escaped, because they are not HTML and
must never contain any (a name such as "Ann <3" is shown as typed).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.header import Header
from email.headerregistry import Address, BaseHeader, HeaderRegistry
from email.message import EmailMessage
from email.policy import EmailPolicy
from email.utils import format_datetime, make_msgid
from functools import lru_cache
from typing import Any, Literal

from email_validator import EmailNotValidError, validate_email
from jinja2 import Environment, PackageLoader, StrictUndefined, Template, select_autoescape

from skillswap.domain.display import format_instant, format_range
from skillswap.domain.zones import zone_or_utc

#: Every kind with its templates; compose() refuses any other name, so a typo fails in tests.
KINDS = frozenset(
    {
        "password_reset",
        "password_changed",
        "verify_email",
        "email_change_notice",
        "booking_confirmed",
        "booking_changed",
        "booking_cancelled",
        "session_reminder",
        "review_reminder",
        "review_received",
        "waitlist_hold",
    }
)


class KeptHeaderClasses(HeaderRegistry):
    """The standard header registry, keeping the class it makes for each header name: the
    stock one makes a new class (``type(...)``) for every header it parses, about 20 µs each
    and some sixty a mail with an invite, though the class depends on the name alone."""

    def __init__(self) -> None:
        super().__init__()
        self.classes: dict[str, type[BaseHeader]] = {}

    def map_to_type(self, name: str, cls: type) -> None:
        super().map_to_type(name, cls)
        self.classes.pop(name.lower(), None)

    def __getitem__(self, name: str) -> type[BaseHeader]:
        key = name.lower()
        cls = self.classes.get(key)
        if cls is None:
            cls = self.classes[key] = super().__getitem__(name)
        return cls


#: Headers written on one line as they are (RFC 2369 wants the address as written; RFC 5322
#: allows 998 characters a line).
UNFOLDED = frozenset({"list-unsubscribe", "list-unsubscribe-post"})
MAX_LINE = 998


class MailPolicy(EmailPolicy):
    """The standard policy, with its own fold for two kinds of header the standard library
    folds wrongly (Python 3.11):

    - A URL longer than a line has no space to fold at, so the library writes it as RFC 2047
      encoded words: no mail provider reads List-Unsubscribe so, and the one-click button
      never showed. Those headers go out on one line.
    - Folding a non-ASCII Subject, it sometimes dropped the space between an encoded word and
      the next word ("— ünïcödé" arrived as "—ünïcödé"). Such a subject is encoded whole, in
      encoded words that break between characters, so every space travels inside one.
    """

    def fold(self, name: str, value: str) -> str:
        own = self._own_fold(name, value)
        return super().fold(name, value) if own is None else own

    def fold_binary(self, name: str, value: str) -> bytes:
        own = self._own_fold(name, value)
        return super().fold_binary(name, value) if own is None else own.encode("ascii")

    def _own_fold(self, name: str, value: str) -> str | None:
        text = str(value)
        if "\r" in text or "\n" in text:
            return None  # compose() refuses these; nothing here writes a line break
        key = name.lower()
        if key in UNFOLDED and text.isascii() and len(name) + 2 + len(text) <= MAX_LINE:
            return f"{name}: {text}{self.linesep}"
        if key == "subject" and not text.isascii():
            words = Header(text, "utf-8", header_name=name).encode(linesep=self.linesep)
            return f"{name}: {words}{self.linesep}"
        return None


#: Body parts are 7-bit (quoted-printable or base64 when needed), so no relay has to support
#: 8BITMIME; headers with non-ASCII names are RFC 2047 encoded by the policy.
MAIL_POLICY = MailPolicy(cte_type="7bit", header_factory=KeptHeaderClasses())

# Headers compose() writes itself; extra headers may not set them a second time.
_OWN_HEADERS = frozenset({"from", "to", "subject", "date", "message-id", "mime-version"})


def header_text(text: str) -> str:
    """Typed text (a title, a person's name) made fit for a header: one line, no control
    characters, and inert. The email package decodes an RFC 2047 encoded word found in a
    header it is given ("=?utf-8?q?...=0D=0ABcc:...?="), CR and LF included, and Pythons
    before 3.11.10 and 3.12.5 then write them out raw (CVE-2024-6923): a title could add
    recipients or start the body. A word joiner after each "=" of "=?" leaves the text
    looking as typed, and never an encoded word."""
    kept = "".join(c for c in text if c.isspace() or unicodedata.category(c) != "Cc")
    return " ".join(kept.split()).replace("=?", "=\u2060?")


@dataclass(frozen=True)
class Recipient:
    """Who a mail is for: the display name, the address, and the IANA zone of their profile
    (unknown or empty zones read as UTC, as on the pages)."""

    name: str
    address: str
    zone: str = "UTC"

    def when(self, start: datetime, end: datetime | None = None) -> str:
        """An instant ("Tue 1 Dec 2026, 09:00 (Europe/Berlin)") or a range in this person's
        zone, always naming the zone."""
        zone = zone_or_utc(self.zone)
        return format_instant(start, zone) if end is None else format_range(start, end, zone)

    def header(self) -> Address:
        local, _, domain = self.address.rpartition("@")
        if not local or not domain:
            raise ValueError(f"not an email address: {self.address!r}")
        # A Unicode domain ("bücher.de") in its IDNA form: every mail server takes that, while
        # only those that offer SMTPUTF8 take it as typed. An address that does not validate
        # goes as stored: the server has the last word.
        with suppress(EmailNotValidError):
            domain = validate_email(self.address, check_deliverability=False).ascii_domain
        # A display name is text, never header syntax (Address quotes what needs it).
        return Address(display_name=header_text(self.name), username=local, domain=domain)


@dataclass(frozen=True)
class Attachment:
    """A file attached to a mail, e.g. ``Attachment(pdf, "application/pdf", "notes.pdf")``."""

    data: bytes
    mimetype: str
    filename: str
    params: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CalendarInvite:
    """An iCalendar object (RFC 5545 bytes, e.g. from ``icalendar``) sent as an iMIP invite
    (RFC 6047): ``REQUEST`` adds or updates the event, ``CANCEL`` removes it. The method must
    match the METHOD inside the calendar, or calendar apps ignore it (or keep a cancelled
    event as an update)."""

    ics: bytes
    method: Literal["REQUEST", "CANCEL"]
    filename: str = "invite.ics"

    def __post_init__(self) -> None:
        if self.method not in ("REQUEST", "CANCEL"):
            raise ValueError(f"calendar method must be REQUEST or CANCEL, not {self.method!r}")
        unfolded = self.ics.replace(b"\r\n ", b"").replace(b"\r\n", b"\n")
        if f"\nMETHOD:{self.method}\n".encode() not in b"\n" + unfolded:
            raise ValueError(f"the calendar has no METHOD:{self.method} line")


@lru_cache(maxsize=1)
def template_environment() -> Environment:
    """The Jinja environment of mail templates: independent of Flask, so a background sender
    or a CLI command renders mail without a request or an app context."""
    return Environment(
        loader=PackageLoader("skillswap", "templates/mail"),
        autoescape=select_autoescape(enabled_extensions=("html",), default=False),
        undefined=StrictUndefined,  # a missing context value is a bug, not an empty line
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def compile_mail_templates() -> None:
    """Compile every mail template now (a server starting): compiled on first use, the first
    booking in each worker waited ~60 ms for its two mails' templates, and every booking
    racing it queued behind."""
    env = template_environment()
    for name in env.list_templates(extensions=["txt", "html"]):
        env.get_template(name)


def _render(template: Template, values: dict[str, Any]) -> str:
    return template.render(values).strip() + "\n"


def _subject(template: Template, values: dict[str, Any]) -> str:
    block = template.blocks.get("subject")
    if block is None:
        raise ValueError(f"{template.name} has no {{% block subject %}}")
    return header_text("".join(block(template.new_context(values))))


def render(
    kind: str, to: Recipient, context: Mapping[str, Any], *, calendar_invite: bool = False
) -> tuple[str, str, str]:
    """(subject, text, html) of a ``kind`` of mail for ``to``."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind of mail {kind!r}; known: {', '.join(sorted(KINDS))}")
    values: dict[str, Any] = {"unsubscribe_url": None, **context}
    values |= {"recipient": to, "when": to.when, "calendar_invite": calendar_invite}
    env = template_environment()
    text_template = env.get_template(f"{kind}.txt")
    html_template = env.get_template(f"{kind}.html")
    subject = _subject(text_template, values)
    return (
        subject,
        _render(text_template, values),
        _render(html_template, values | {"subject": subject}),
    )


def compose(
    kind: str,
    to: Recipient,
    context: Mapping[str, Any],
    *,
    sender: Address,
    now: datetime,
    headers: Mapping[str, str] | None = None,
    invite: CalendarInvite | None = None,
    attachments: Sequence[Attachment] = (),
) -> EmailMessage:
    """A finished mail: multipart/alternative (text, HTML and the invite's text/calendar part)
    inside multipart/mixed when there is anything attached.

    ``headers`` adds e.g. List-Unsubscribe and List-Unsubscribe-Post (RFC 8058); the headers
    compose() sets itself cannot be replaced. An invite is also attached as ``invite.ics``:
    some calendar apps read the alternative part, others only the attachment.
    """
    subject, text, html = render(kind, to, context, calendar_invite=invite is not None)
    message = EmailMessage(policy=MAIL_POLICY)
    message["From"] = sender
    message["To"] = to.header()
    message["Subject"] = subject
    message["Date"] = format_datetime(now.astimezone(UTC))
    # The sender's domain, not make_msgid()'s default host name lookup (slow without DNS).
    message["Message-ID"] = make_msgid(domain=sender.domain or "localhost")
    # RFC 3834: tells vacation responders not to answer a machine.
    message["Auto-Submitted"] = "auto-generated"
    for name, value in (headers or {}).items():
        if name.lower() in _OWN_HEADERS or name.lower() == "auto-submitted":
            raise ValueError(f"compose() sets {name} itself")
        message[name] = value
    # The last word on header_text: no header may hold a line break once parsed.
    for name, value in message.items():
        if "\r" in value or "\n" in value:
            raise ValueError(f"the {name} header would hold a line break")
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    if invite is not None:
        calendar = invite.ics.decode("utf-8")
        params = {"method": invite.method}
        message.add_alternative(calendar, subtype="calendar", params=params)
        message.add_attachment(
            calendar, subtype="calendar", params=params, filename=invite.filename
        )
    for attachment in attachments:
        maintype, _, subtype = attachment.mimetype.partition("/")
        message.add_attachment(
            attachment.data,
            maintype=maintype,
            subtype=subtype,
            filename=attachment.filename,
            params=dict(attachment.params),
        )
    return message

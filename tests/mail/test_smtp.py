"""What a real SMTP server receives from SkillSwap: the parts, the names, the times in each
recipient's zone, the invite, the headers; with and without logging in."""

from __future__ import annotations

from datetime import timedelta
from email.message import EmailMessage

import pytest

from skillswap.mail import CalendarInvite, Mailer, Outcome, Recipient, RetryQueue
from tests.mail.conftest import SENDER, START
from tests.support.app_fixtures import Clock
from tests.support.smtp import ASCII_PASSWORD, PASSWORD, USERNAME, SMTPServer

# aiosmtpd 1.4.6 warns about its own Session.login_data (set by its AUTH code) on every
# successful login; nothing of ours uses it.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Session.login_data is deprecated:DeprecationWarning"
)

ZOE = Recipient("Zoë Ångström", "zoe@example.org", "Europe/Berlin")
BEN = Recipient("Ben O'Neil", "ben@example.com", "America/New_York")
# A session on each side of Berlin's change to summer time (Sun 29 Mar 2026, 01:00 UTC).
BEFORE = START.replace(day=28, hour=9)  # 10:00 in Berlin (CET), 05:00 in New York (EDT)
AFTER = START.replace(day=30, hour=9)  # 11:00 in Berlin (CEST), 05:00 in New York (EDT)


def booking(start=BEFORE, **extra: object) -> dict[str, object]:
    return {
        "title": "Watercolour for beginners",
        "skill": "Watercolour",
        "mode": "Online",
        "other_name": "Ann",
        "teaching": False,
        "start": start,
        "end": start + timedelta(hours=1),
        "link": "https://skillswap.test/bookings/b1",
    } | extra


def ics(method: str, sequence: int = 0) -> bytes:
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//SkillSwap//EN\r\n"
        f"METHOD:{method}\r\nBEGIN:VEVENT\r\nUID:booking-b1@skillswap.test\r\n"
        f"SEQUENCE:{sequence}\r\nDTSTART:20260328T090000Z\r\nDTEND:20260328T100000Z\r\n"
        "SUMMARY:Watercolour\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    ).encode()


def parts(message: EmailMessage) -> dict[str, EmailMessage]:
    """The leaf parts by content type (attachments under "attachment:<type>")."""
    found: dict[str, EmailMessage] = {}
    for part in message.walk():
        if part.is_multipart():
            continue
        key = part.get_content_type()
        if part.get_content_disposition() == "attachment":
            key = f"attachment:{key}"
        assert key not in found, f"two {key} parts"
        found[key] = part
    return found


def test_a_mail_arrives_with_text_and_html_alternatives(
    mailer: Mailer, smtp_server: SMTPServer
) -> None:
    assert mailer.send(mailer.compose("booking_confirmed", ZOE, booking())) is Outcome.SENT

    (got,) = smtp_server.received
    assert got.mail_from == "no-reply@skillswap.test"
    assert got.rcpt_tos == ["zoe@example.org"]
    message = got.message
    assert message.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "Your session with Ann is booked." in text
    assert "<" not in text, "the text part holds no HTML"
    assert "<p>Your session with Ann is booked.</p>" in html
    assert "https://skillswap.test/bookings/b1" in text
    assert 'href="https://skillswap.test/bookings/b1"' in html


def test_headers_name_the_recipient_encoded_and_date_the_mail(
    mailer: Mailer, smtp_server: SMTPServer, clock: Clock
) -> None:
    mailer.send(mailer.compose("booking_confirmed", ZOE, booking()))

    (got,) = smtp_server.received
    raw = got.message.as_bytes()
    assert b"Zo\xc3\xab" not in raw, "non-ASCII names travel RFC 2047-encoded"
    (to,) = got.message["To"].addresses
    assert (to.display_name, to.addr_spec) == ("Zoë Ångström", "zoe@example.org")
    assert str(got.message["From"]) == "SkillSwap <no-reply@skillswap.test>"
    assert got.message["Date"].datetime == clock.now
    assert got.message["Message-ID"].endswith("@skillswap.test>")
    assert got.message["Auto-Submitted"] == "auto-generated"
    assert got.message["Subject"] == (
        "Booked: Watercolour for beginners with Ann, Sat 28 Mar 2026, 10:00 (Europe/Berlin)"
    )


def test_a_name_that_looks_like_an_address_stays_a_name(
    mailer: Mailer, smtp_server: SMTPServer
) -> None:
    sneaky = Recipient('Eve <eve@evil.test>, "x"\r\nBcc: all@evil.test', "eve@example.org")
    mailer.send(
        mailer.compose(
            "password_changed",
            sneaky,
            {"changed_at": START, "reset_url": "https://skillswap.test/reset"},
        )
    )

    (got,) = smtp_server.received
    assert got.rcpt_tos == ["eve@example.org"]
    (to,) = got.message["To"].addresses
    assert to.addr_spec == "eve@example.org"
    assert got.message["Bcc"] is None


@pytest.mark.parametrize(
    ("start", "berlin", "new_york"),
    [
        (BEFORE, "Sat 28 Mar 2026, 10:00–11:00 (Europe/Berlin)", "05:00–06:00 (America/New_York)"),
        (AFTER, "Mon 30 Mar 2026, 11:00–12:00 (Europe/Berlin)", "05:00–06:00 (America/New_York)"),
    ],
)
def test_times_are_in_each_recipients_zone_across_a_dst_change(
    mailer: Mailer, smtp_server: SMTPServer, start, berlin: str, new_york: str
) -> None:
    mailer.send(mailer.compose("booking_confirmed", ZOE, booking(start)))
    mailer.send(mailer.compose("booking_confirmed", BEN, booking(start, teaching=True)))

    zoe, ben = (r.message for r in smtp_server.received)
    for message, expected in ((zoe, berlin), (ben, new_york)):
        text = message.get_body(("plain",)).get_content()
        html = message.get_body(("html",)).get_content()
        assert expected in text
        assert expected in html
    assert "Ann booked a session with you." in ben.get_body(("plain",)).get_content()


def test_an_invite_travels_as_text_calendar_with_its_method(
    mailer: Mailer, smtp_server: SMTPServer
) -> None:
    for method, kind in (("REQUEST", "booking_confirmed"), ("CANCEL", "booking_cancelled")):
        context = booking(reason="Ill, sorry", by_you=False)
        invite = CalendarInvite(ics(method, sequence=int(method == "CANCEL")), method)
        mailer.send(mailer.compose(kind, ZOE, context, invite=invite))

    booked, cancelled = (r.message for r in smtp_server.received)
    for message, method in ((booked, "REQUEST"), (cancelled, "CANCEL")):
        assert message.get_content_type() == "multipart/mixed"
        found = parts(message)
        assert set(found) == {
            "text/plain",
            "text/html",
            "text/calendar",
            "attachment:text/calendar",
        }
        for key in ("text/calendar", "attachment:text/calendar"):
            part = found[key]
            assert part.get_param("method") == method
            assert f"METHOD:{method}" in part.get_content()
            assert "UID:booking-b1@skillswap.test" in part.get_content()
        assert found["attachment:text/calendar"].get_filename() == "invite.ics"
    assert "Reason:  Ill, sorry" in cancelled.get_body(("plain",)).get_content()
    assert "removes the session from your calendar" in cancelled.get_body(("plain",)).get_content()


def test_unsubscribe_headers_and_link_reach_the_server(
    mailer: Mailer, smtp_server: SMTPServer
) -> None:
    url = "https://skillswap.test/unsubscribe/tok"
    headers = {
        "List-Unsubscribe": f"<{url}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
    context = booking() | {"unsubscribe_url": url}
    mailer.send(mailer.compose("session_reminder", ZOE, context, headers=headers))

    (got,) = smtp_server.received
    assert got.message["List-Unsubscribe"] == f"<{url}>"
    assert got.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert url in got.message.get_body(("plain",)).get_content()
    assert f'href="{url}"' in got.message.get_body(("html",)).get_content()


@pytest.mark.parametrize("password", [PASSWORD, ASCII_PASSWORD])
def test_logs_in_when_a_username_is_set(
    smtp_server: SMTPServer, queue: RetryQueue, clock: Clock, password: str
) -> None:
    transport = smtp_server.transport(username=USERNAME, password=password)
    mailer = Mailer(transport, queue, SENDER, clock)
    assert mailer.send(mailer.compose("booking_confirmed", ZOE, booking())) is Outcome.SENT
    assert [r.login for r in smtp_server.received] == [USERNAME]


def test_sends_without_logging_in_when_no_username_is_set(
    mailer: Mailer, smtp_server: SMTPServer
) -> None:
    assert mailer.send(mailer.compose("booking_confirmed", ZOE, booking())) is Outcome.SENT
    assert [r.login for r in smtp_server.received] == [None]


def test_a_refused_login_queues_the_mail_and_logs_no_password(
    smtp_server: SMTPServer, queue: RetryQueue, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    transport = smtp_server.transport(username=USERNAME, password="wrong-" + PASSWORD)
    mailer = Mailer(transport, queue, SENDER, clock)
    assert mailer.send(mailer.compose("booking_confirmed", ZOE, booking())) is Outcome.QUEUED
    assert smtp_server.received == []
    assert len(queue) == 1
    assert "refused the login (535)" in caplog.text
    assert PASSWORD not in caplog.text
    assert PASSWORD not in repr(transport)


def test_starttls_required_but_not_offered_sends_nothing_in_clear(
    smtp_server: SMTPServer, queue: RetryQueue, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    transport = smtp_server.transport(security="starttls", username=USERNAME, password=PASSWORD)
    mailer = Mailer(transport, queue, SENDER, clock)
    assert mailer.send(mailer.compose("booking_confirmed", ZOE, booking())) is Outcome.QUEUED
    assert smtp_server.received == []
    assert "STARTTLS extension not supported by server; set MAIL_USE_SSL" in caplog.text

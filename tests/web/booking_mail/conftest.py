"""The booking-mail tests' people: Tess teaches from New York, Leo learns from Berlin, both
with confirmed addresses, on an app that mails a real SMTP server in-process (aiosmtpd)."""

from __future__ import annotations

from email.message import EmailMessage

import pytest
from flask import Flask
from flask.testing import FlaskClient
from icalendar import Calendar, Event

from tests.support.smtp import SMTPServer
from tests.web.test_bookings import book, booked_id, free_slots, person, publish, uid

TESS = "tess@example.com"  # teaches from New York
LEO = "leo@example.com"  # learns from Berlin


def confirm_address(app: Flask, username: str) -> None:
    """As if they had opened the link in their confirmation mail."""
    repo = app.extensions["skillswap.repo"]
    repo.change_user(uid(app, username), lambda data: {**data, "email_verified": True})


@pytest.fixture
def tess(mail_app: Flask) -> FlaskClient:
    """Teaches "Intro to Python" from New York: 1 Dec 09:00-11:00 local (14:00-16:00 UTC)."""
    client = person(mail_app, "tess", "America/New_York")
    publish(client)
    confirm_address(mail_app, "tess")
    return client


@pytest.fixture
def leo(mail_app: Flask, smtp_server: SMTPServer) -> FlaskClient:
    client = person(mail_app, "leo", "Europe/Berlin")
    confirm_address(mail_app, "leo")
    return client


@pytest.fixture
def booked(tess: FlaskClient, leo: FlaskClient, smtp_server: SMTPServer) -> str:
    """Leo has booked Tess's first session; the mails before it (sign-up links) are gone."""
    smtp_server.received.clear()
    return booked_id(book(leo, "tess", free_slots(leo, "tess")[0]))


def mail_to(smtp_server: SMTPServer, address: str) -> EmailMessage:
    found = [r.message for r in smtp_server.received if r.rcpt_tos == [address]]
    assert len(found) == 1, f"{len(found)} mails to {address}"
    return found[0]


def invite_of(message: EmailMessage) -> tuple[str, Event, str]:
    """(METHOD, the event, the calendar as sent) of a mail's invite, as a calendar app reads
    it: the text/calendar alternative and the attached invite.ics say the same."""
    calendars = [
        part
        for part in message.walk()
        if not part.is_multipart() and part.get_content_type() == "text/calendar"
    ]
    assert len(calendars) == 2, "the invite travels as an alternative and as an attachment"
    first, second = (part.get_content() for part in calendars)
    assert first == second
    calendar = Calendar.from_ical(first)
    [event] = calendar.walk("VEVENT")
    method = str(calendar["METHOD"])
    assert all(part.get_param("method") == method for part in calendars)
    return method, event, first


def send_due_mail(app: Flask) -> str:
    """What cron or a Replit Scheduled Deployment runs: `flask send-due-mail`."""
    result = app.test_cli_runner().invoke(args=["send-due-mail"])
    assert result.exit_code == 0, result.output
    return result.output


def due_keys(app: Flask) -> list[str]:
    return app.extensions["skillswap.store"].keys("due/")

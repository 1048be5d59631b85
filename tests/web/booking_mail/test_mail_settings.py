"""Choosing which mail to get: four switches on /account, and a one-click unsubscribe link in
every optional mail (RFC 8058) that works without logging in, whose page changes nothing
until its button is pressed (mail scanners open links), and which a mail app may POST to
directly with no cookies and no CSRF token."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlsplit

from flask import Flask
from flask.testing import FlaskClient

from skillswap.mail.tokens import MAX_AGE
from tests.support.app_fixtures import Clock, csrf_token
from tests.support.smtp import SMTPServer, html_of, text_of
from tests.web.booking_mail.conftest import LEO, TESS, mail_to
from tests.web.test_bookings import book, cancel, free_slots, person, text, uid

CHOICES = ("bookings", "cancellations", "reminders", "reviews")


def mail_off(app: Flask, username: str) -> list[str]:
    return app.extensions["skillswap.repo"].get_user(uid(app, username)).mail_off


def save_settings(client: FlaskClient, **on: bool):
    data = {"csrf_token": csrf_token(client, "/account")}
    data |= {name: "y" for name in CHOICES if on.get(name, True)}
    return client.post("/account/mail", data=data)


def unsubscribe_link(message) -> str:
    """The link in the mail's footer, which its List-Unsubscribe header names too."""
    header = str(message["List-Unsubscribe"])
    assert header.startswith("<") and header.endswith(">")
    url = header[1:-1]
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert url in text_of(message)
    assert f'href="{url}"' in html_of(message)
    return urlsplit(url).path


# --- /account ---------------------------------------------------------------------------------


def test_account_page_shows_every_kind_of_mail_switched_on(mail_app: Flask, leo: FlaskClient):
    page = leo.get("/account").get_data(as_text=True)
    for name in CHOICES:
        box = re.search(rf'<input[^>]*id="{name}"[^>]*>', page)
        assert box, f"no box for {name}"
        assert "checked" in box.group(0)
        assert f'<label for="{name}">' in page
    assert "Mail me about" in page


def test_switching_booking_mail_off_stops_it_for_that_person_only(
    mail_app: Flask, tess: FlaskClient, leo: FlaskClient, smtp_server: SMTPServer
) -> None:
    response = save_settings(tess, bookings=False)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/account#mail")
    assert mail_off(mail_app, "tess") == ["bookings"]
    page = tess.get("/account").get_data(as_text=True)
    assert "checked" not in re.search(r'<input[^>]*id="bookings"[^>]*>', page).group(0)
    smtp_server.received.clear()

    booking = book(leo, "tess", free_slots(leo, "tess")[0])

    assert [r.rcpt_tos for r in smtp_server.received] == [[LEO]]
    smtp_server.received.clear()
    booking_id = booking.headers["Location"].rpartition("#booking-")[2]
    cancel(leo, booking_id, "Sorry")  # cancellations are still on for her
    assert sorted(r.rcpt_tos[0] for r in smtp_server.received) == [LEO, TESS]

    save_settings(tess)  # and back on
    assert mail_off(mail_app, "tess") == []


def test_mail_settings_need_a_valid_form(mail_app: Flask, leo: FlaskClient) -> None:
    response = leo.post("/account/mail", data={"bookings": "y"})  # no CSRF token
    assert response.status_code == 400
    assert "This form had expired" in text(response)
    assert mail_off(mail_app, "leo") == []


# --- one-click unsubscribe --------------------------------------------------------------------


def test_optional_mail_has_an_unsubscribe_link_and_account_mail_has_not(
    mail_app: Flask, tess: FlaskClient, leo: FlaskClient, smtp_server: SMTPServer
) -> None:
    smtp_server.received.clear()
    person(mail_app, "ada", "UTC")
    [verification] = [r.message for r in smtp_server.received]
    assert verification["List-Unsubscribe"] is None
    assert "/unsubscribe/" not in text_of(verification)
    smtp_server.received.clear()

    book(leo, "tess", free_slots(leo, "tess")[0])

    for address in (TESS, LEO):
        assert unsubscribe_link(mail_to(smtp_server, address)).startswith("/unsubscribe/")


def test_opening_the_link_changes_nothing_until_the_button_is_pressed(
    mail_app: Flask, booked: str, smtp_server: SMTPServer
) -> None:
    path = unsubscribe_link(mail_to(smtp_server, TESS))
    stranger = mail_app.test_client()  # no login: read on a phone

    page = stranger.get(path)
    assert page.status_code == 200
    assert "Stop mail about sessions booked with you or by you" in text(page)
    assert "tess@example.com" in text(page)
    assert mail_off(mail_app, "tess") == [], "opening a link (a scanner) changes nothing"

    done = stranger.post(path, data={"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200
    assert "You are unsubscribed" in text(done)
    assert mail_off(mail_app, "tess") == ["bookings"]
    assert "Already unsubscribed" in text(stranger.get(path))


def test_a_mail_app_posts_one_click_without_cookies_or_csrf_token(
    mail_app: Flask, booked: str, smtp_server: SMTPServer
) -> None:
    path = unsubscribe_link(mail_to(smtp_server, LEO))
    client = mail_app.test_client(use_cookies=False)
    # RFC 8058's own example sends multipart/form-data; Gmail sends a urlencoded body.
    for content_type in ("multipart/form-data", "application/x-www-form-urlencoded"):
        response = client.post(
            path, data={"List-Unsubscribe": "One-Click"}, content_type=content_type
        )
        assert response.status_code == 200
    assert mail_off(mail_app, "leo") == ["bookings"]


def test_unsubscribing_stops_that_kind_only(
    mail_app: Flask,
    booked: str,
    tess: FlaskClient,
    leo: FlaskClient,
    smtp_server: SMTPServer,
) -> None:
    path = unsubscribe_link(mail_to(smtp_server, TESS))
    mail_app.test_client().post(path, data={"List-Unsubscribe": "One-Click"})
    smtp_server.received.clear()

    cancel(leo, booked, "")
    assert sorted(r.rcpt_tos[0] for r in smtp_server.received) == [LEO, TESS]
    cancel_mail = mail_to(smtp_server, TESS)
    smtp_server.received.clear()

    booked_again = book(leo, "tess", free_slots(leo, "tess")[0])
    assert booked_again.status_code == 302
    assert [r.rcpt_tos for r in smtp_server.received] == [[LEO]]

    # The cancellation's own link turns cancellations off, not bookings on.
    mail_app.test_client().post(unsubscribe_link(cancel_mail))
    assert mail_off(mail_app, "tess") == ["bookings", "cancellations"]


def test_a_broken_or_old_link_says_so_and_changes_nothing(
    mail_app: Flask, booked: str, smtp_server: SMTPServer, clock: Clock
) -> None:
    path = unsubscribe_link(mail_to(smtp_server, TESS))
    client = mail_app.test_client()

    tampered = path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB")
    assert client.get(tampered).status_code == 400
    assert client.post(tampered).status_code == 400

    clock.advance(seconds=(MAX_AGE["unsubscribe"] + timedelta(days=1)).total_seconds())
    expired = client.post(path)
    assert expired.status_code == 410
    assert "expired" in text(expired)
    assert mail_off(mail_app, "tess") == []

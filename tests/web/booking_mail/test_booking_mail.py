"""Booking mail as the two people receive it from a real SMTP server (aiosmtpd in-process): a
booking and a cancellation each reach both confirmed people, with a calendar invite a
calendar app can act on (REQUEST, then CANCEL with the same UID and a higher SEQUENCE, times
in UTC), words in each one's own zone, and nothing about the booking depends on mail.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient

from skillswap import services
from skillswap.domain.reviews import RATING_MAX
from skillswap.web.common import notifier, repo
from tests.support.app_fixtures import AuthActions, Clock, csrf_token
from tests.support.interleave import runs_first
from tests.support.smtp import SMTPServer, html_of, text_of
from tests.web.booking_mail.conftest import LEO, TESS, confirm_address, invite_of, mail_to
from tests.web.test_bookings import (
    active,
    book,
    booked_id,
    cancel,
    free_slots,
    person,
    publish,
    rate,
)

# --- booked ---------------------------------------------------------------------------------


def test_a_booking_mails_both_people_an_invite(booked: str, smtp_server: SMTPServer) -> None:
    assert sorted(r.rcpt_tos[0] for r in smtp_server.received) == [LEO, TESS]
    for address in (TESS, LEO):
        message = mail_to(smtp_server, address)
        method, event, raw = invite_of(message)
        assert method == "REQUEST"
        assert str(event["UID"]) == f"booking-{booked}@skillswap"
        assert event["SEQUENCE"] == 0
        assert event.status == "CONFIRMED"
        # UTC on the wire, whatever the reader's zone.
        assert "DTSTART:20261201T140000Z" in raw and "DTEND:20261201T150000Z" in raw
        assert event.start == datetime(2026, 12, 1, 14, 0, tzinfo=UTC)
        # Addressed to the reader, from SkillSwap: what calendar apps act on.
        [attendee] = event.attendees
        assert str(attendee) == f"mailto:{address}"
        assert str(event.organizer) == "mailto:skillswap@localhost"
        assert "Intro to Python" in message["Subject"]
        # The session's lasting link (its dashboard tab when the mail is read).
        assert f"/dashboard/session/{booked}" in text_of(message)


def test_each_person_reads_the_time_in_their_own_zone(booked: str, smtp_server: SMTPServer) -> None:
    tess, leo = mail_to(smtp_server, TESS), mail_to(smtp_server, LEO)
    assert "Tue 1 Dec 2026, 09:00–10:00 (America/New_York)" in text_of(tess)
    assert "Tue 1 Dec 2026, 09:00–10:00 (America/New_York)" in html_of(tess)
    assert "leo booked a session with you." in text_of(tess)
    assert "Tue 1 Dec 2026, 15:00–16:00 (Europe/Berlin)" in text_of(leo)
    assert "Your session with tess is booked." in text_of(leo)
    # (Python folds a subject this long onto its own line; mail apps unfold it.)
    assert (
        leo["Subject"].strip()
        == "Booked: Intro to Python with tess, Tue 1 Dec 2026, 15:00 (Europe/Berlin)"
    )


def test_times_across_a_dst_change_are_the_sessions_own(
    mail_app: Flask, clock: Clock, smtp_server: SMTPServer
) -> None:
    # Booked in February (New York on EST, UTC-5) for 10 March, two days after New York moved
    # to EDT (UTC-4) and before Berlin moves (29 March): the offset at booking time would say
    # 08:00 in New York, an hour early.
    clock.set(datetime(2026, 2, 20, 12, 0, tzinfo=UTC))
    tess = person(mail_app, "tess", "America/New_York")
    publish(tess, start="09:00", end="10:00", day="2026-03-10")
    leo = person(mail_app, "leo", "Europe/Berlin")
    confirm_address(mail_app, "tess")
    confirm_address(mail_app, "leo")
    smtp_server.received.clear()

    booked_id(book(leo, "tess", free_slots(leo, "tess")[0]))

    assert "Tue 10 Mar 2026, 09:00–10:00 (America/New_York)" in text_of(mail_to(smtp_server, TESS))
    assert "Tue 10 Mar 2026, 14:00–15:00 (Europe/Berlin)" in text_of(mail_to(smtp_server, LEO))
    _, _, raw = invite_of(mail_to(smtp_server, LEO))
    assert "DTSTART:20260310T130000Z" in raw


def test_only_confirmed_addresses_get_booking_mail(
    mail_app: Flask, tess: FlaskClient, smtp_server: SMTPServer
) -> None:
    leo = person(mail_app, "leo", "Europe/Berlin")  # never opened the confirmation link
    smtp_server.received.clear()

    booked_id(book(leo, "tess", free_slots(leo, "tess")[0]))

    assert [r.rcpt_tos for r in smtp_server.received] == [[TESS]]


# --- cancelled ------------------------------------------------------------------------------


def test_a_cancel_mails_both_a_cancel_for_the_same_event(
    booked: str, leo: FlaskClient, smtp_server: SMTPServer
) -> None:
    requests = {a: invite_of(mail_to(smtp_server, a)) for a in (TESS, LEO)}
    smtp_server.received.clear()

    assert cancel(leo, booked, "Flu, sorry").status_code == 302

    assert sorted(r.rcpt_tos[0] for r in smtp_server.received) == [LEO, TESS]
    for address in (TESS, LEO):
        message = mail_to(smtp_server, address)
        method, event, raw = invite_of(message)
        _, before, _ = requests[address]
        assert method == "CANCEL"
        assert event["UID"] == before["UID"]
        assert event["SEQUENCE"] > before["SEQUENCE"]
        assert event.status == "CANCELLED"
        assert "DTSTART:20261201T140000Z" in raw
        assert "Flu, sorry" in text_of(message)
        assert message["Subject"].strip().startswith("Cancelled: Intro to Python with ")
    assert "leo cancelled your session." in text_of(mail_to(smtp_server, TESS))
    assert "You cancelled your session with tess; they have been told." in text_of(
        mail_to(smtp_server, LEO)
    )


def test_cancelling_twice_mails_once(
    booked: str, leo: FlaskClient, smtp_server: SMTPServer
) -> None:
    smtp_server.received.clear()
    cancel(leo, booked)
    cancel(leo, booked)
    assert len(smtp_server.received) == 2


def cancels_as_the_route_does(username: str, booking_id: str, reason: str) -> tuple[str, bool]:
    """`username`'s cancel as the cancel page makes it (service, then mail when it is
    theirs), run inside another person's request: a nested test-client request would share
    that request's app context, and with it its logged-in user. Who cancelled, and whether
    this call did."""
    person = repo().find_user(username)
    assert person is not None
    cancelled, cancelled_now = services.booking.cancel(repo(), person.id, booking_id, reason)
    if cancelled_now:
        notifier().booking_cancelled(cancelled)
    return cancelled.cancelled_by == person.id, cancelled_now


def test_a_cancel_that_lands_after_the_other_persons_mails_nothing(
    booked: str,
    leo: FlaskClient,
    smtp_server: SMTPServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Leo's page read the session while Tess's cancel went through: his cancel then changed
    nothing, yet it mailed both people a second cancel (an outside review)."""
    path = f"/booking/{booked}/cancel"
    leo_token = csrf_token(leo, path)
    smtp_server.received.clear()
    tess_saw = runs_first(
        monkeypatch,
        services.booking,
        "cancel",
        lambda *_: cancels_as_the_route_does("tess", booked, "Busy"),
    )
    assert leo.post(path, data={"csrf_token": leo_token, "reason": "Ill"}).status_code == 302
    assert tess_saw == [(True, True)]
    assert sorted(r.rcpt_tos[0] for r in smtp_server.received) == [LEO, TESS]
    assert "Busy" in text_of(mail_to(smtp_server, LEO))
    assert "tess cancelled your session." in text_of(mail_to(smtp_server, LEO))


def test_two_cancels_that_cross_end_as_the_first_and_mail_once(
    booked: str,
    tess: FlaskClient,
    leo: FlaskClient,
    smtp_server: SMTPServer,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Leo's cancel is written to his document; a second later, before it is copied to
    Tess's, hers is written to hers. Each copy used to keep its own cancel, so the two
    disagreed on who cancelled, and both people were mailed twice (a reasoned race)."""
    path = f"/booking/{booked}/cancel"
    leo_token = csrf_token(leo, path)
    smtp_server.received.clear()

    def tess_a_second_later(*_: object) -> tuple[bool, bool]:
        clock.advance(seconds=1)
        return cancels_as_the_route_does("tess", booked, "Busy")

    tess_saw = runs_first(monkeypatch, services.booking, "copy_cancel", tess_a_second_later)
    assert leo.post(path, data={"csrf_token": leo_token, "reason": "Ill"}).status_code == 302
    # Hers did not stand; her call took Leo's into her copy first, so it is hers that mails
    # his cancel, and his call mails nothing (services/booking.py copy_cancel).
    assert tess_saw == [(False, True)]
    for address in (TESS, LEO):
        assert "Ill" in text_of(mail_to(smtp_server, address))  # one mail each: Leo's
    assert "leo cancelled your session." in text_of(mail_to(smtp_server, TESS))
    for client, by in ((tess, "by leo"), (leo, "by you")):
        assert f"{by}: “Ill”" in client.get("/dashboard").get_data(as_text=True)


def test_a_cancel_crossed_by_an_earlier_one_says_so_and_mails_nothing(
    booked: str,
    tess: FlaskClient,
    smtp_server: SMTPServer,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Tess's cancel is written first, but Leo's server stamped his a second earlier (two
    servers' clocks): his stands on both copies, and her page says so."""
    path = f"/booking/{booked}/cancel"
    tess_token = csrf_token(tess, path)
    smtp_server.received.clear()

    def leo_a_second_earlier(*_: object) -> None:
        clock.advance(seconds=-1)
        person = repo().find_user("leo")
        assert person is not None
        services.booking.cancel(repo(), person.id, booked, "Ill")  # his mail is not this test's

    runs_first(monkeypatch, services.booking, "copy_cancel", leo_a_second_earlier)
    sent = tess.post(path, data={"csrf_token": tess_token, "reason": "Busy"})
    assert sent.status_code == 302
    assert smtp_server.received == []
    page = tess.get("/dashboard").get_data(as_text=True)
    assert "leo cancelled Python with you a moment before you did." in page
    assert "by leo: “Ill”" in page


def test_a_booking_cancelled_before_its_mail_goes_is_not_mailed_as_booked(
    mail_app: Flask, booked: str, smtp_server: SMTPServer
) -> None:
    """The teacher's deletion cancelled the session, and mailed that, between the booking and
    its mail: the learner's last mail said "Booked" (an outside race probe: 1 in 33)."""
    with mail_app.test_request_context():
        tess, leo = repo().find_user("tess"), repo().find_user("leo")
        assert tess is not None and leo is not None
        as_booked = repo().schedule(leo.id).bookings[booked]
        services.booking.cancel(repo(), tess.id, booked, "account deleted")
        smtp_server.received.clear()
        notifier().booking_confirmed(as_booked)
    assert smtp_server.received == []


def test_deleting_an_account_mails_the_other_person_a_cancel(
    mail_app: Flask, booked: str, tess: FlaskClient, smtp_server: SMTPServer
) -> None:
    smtp_server.received.clear()
    response = tess.post(
        "/account/delete",
        data={
            "csrf_token": csrf_token(tess, "/account"),
            "delete_password": "correct horse battery",
            "confirm_username": "tess",
        },
    )
    assert response.status_code == 302

    message = mail_to(smtp_server, LEO)
    assert invite_of(message)[0] == "CANCEL"
    assert "account deleted" in text_of(message)
    assert len(smtp_server.received) == 1


def test_a_deletion_cut_short_loses_nobodys_cancel_mail(
    mail_app: Flask,
    booked: str,
    tess: FlaskClient,
    leo: FlaskClient,
    smtp_server: SMTPServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """tess teaches leo twice. Her deletion stops after leo's copy of the first session was
    cancelled: the mails went out only once the deletion returned, so the rerun mailed the
    second session alone and leo's calendar kept the first (an outside probe)."""
    second = booked_id(book(leo, "tess", free_slots(leo, "tess")[0]))
    smtp_server.received.clear()
    real = services.accounts.copy_cancel
    calls: list[str] = []

    def second_call_crashes(repo: object, owner: str, booking: object) -> tuple[bool, object]:
        calls.append(owner)
        if len(calls) == 2:
            raise RuntimeError("the worker died here")
        return real(repo, owner, booking)  # type: ignore[arg-type]

    monkeypatch.setattr(services.accounts, "copy_cancel", second_call_crashes)
    data = {"delete_password": "correct horse battery", "confirm_username": "tess"}
    with pytest.raises(RuntimeError):
        tess.post("/account/delete", data={**data, "csrf_token": csrf_token(tess, "/account")})
    monkeypatch.undo()
    again = mail_app.test_client()
    assert AuthActions(again).login("tess").status_code == 302  # she logs in and deletes again
    response = again.post(
        "/account/delete", data={**data, "csrf_token": csrf_token(again, "/account")}
    )
    assert response.status_code == 302

    cancels = [r for r in smtp_server.received if r.rcpt_tos == [LEO]]
    assert sorted(invite_of(r.message)[1].uid for r in cancels) == sorted(
        f"booking-{b}@skillswap" for b in (booked, second)
    )
    assert all(r.rcpt_tos == [LEO] for r in smtp_server.received)  # nothing to tess


# --- reviewed -------------------------------------------------------------------------------


def test_a_review_is_mailed_but_stays_hidden_until_both_have_rated(
    booked: str, tess: FlaskClient, leo: FlaskClient, clock: Clock, smtp_server: SMTPServer
) -> None:
    clock.set(datetime(2026, 12, 1, 15, 30, tzinfo=UTC))
    smtp_server.received.clear()

    assert rate(leo, booked, "9", "Patient and clear").status_code == 302
    first = mail_to(smtp_server, TESS)
    assert "leo reviewed your session" in text_of(first)
    assert "Patient and clear" not in first.as_string(), "the review is hidden from her yet"
    assert " 9 out of" not in text_of(first)
    assert f"/booking/{booked}/review" in text_of(first)

    smtp_server.received.clear()
    assert rate(tess, booked, "8", "Came prepared").status_code == 302
    second = mail_to(smtp_server, LEO)  # he rated first: hers shows to him at once
    session = "Intro to Python on Tue 1 Dec 2026, 15:00–16:00 (Europe/Berlin)"
    assert f"tess rated your session, {session}: 8 out of {RATING_MAX}." in text_of(second)
    assert "Came prepared" in text_of(second)
    # "See the review" goes where the review is shown: the dashboard's reviews tab.
    assert "See the review: http://127.0.0.1:5000/dashboard/reviews" in text_of(second)


# --- mail never decides a booking -----------------------------------------------------------


def test_a_booking_stands_when_the_mail_server_is_down(
    mail_app: Flask, tess: FlaskClient, leo: FlaskClient, smtp_server: SMTPServer
) -> None:
    smtp_server.stop()
    response = book(leo, "tess", free_slots(leo, "tess")[0])
    assert response.status_code == 302
    assert len(active(mail_app, "leo")) == 1
    assert len(mail_app.extensions["skillswap.mailer"].queue) == 2  # tried again later


def test_a_booking_stands_when_building_its_mail_fails(
    mail_app: Flask,
    tess: FlaskClient,
    leo: FlaskClient,
    smtp_server: SMTPServer,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug in a mail template")

    monkeypatch.setattr(mail_app.extensions["skillswap.mailer"], "compose", broken)
    smtp_server.received.clear()

    response = book(leo, "tess", free_slots(leo, "tess")[0])
    [booking] = active(mail_app, "leo")
    assert response.status_code == 302
    assert booking.status == "confirmed"
    assert cancel(leo, booking.id, "").status_code == 302
    assert active(mail_app, "leo") == []
    assert smtp_server.received == []
    assert "the change it is about stands" in caplog.text

"""Reminders, as the two people receive them from a real SMTP server: 24 hours and 1 hour
before a session, "rate your session" when it ends and 3 days before reviews close; each at
most once, never for a cancelled session, dropped rather than sent late, found through the
due index (never a scan of every schedule), sent by `flask send-due-mail` and by the
background sender alike.

Tess's session with Leo: Tue 1 Dec 2026, 14:00-15:00 UTC (09:00 in New York, 15:00 in Berlin).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from skillswap import services
from skillswap.domain.reminders import DueEntry
from skillswap.domain.times import iso_utc
from skillswap.web.common import notifier
from tests.support.app_fixtures import Clock, close_app, csrf_token, make_app
from tests.support.interleave import runs_first
from tests.support.smtp import SMTPServer, html_of, link_in, text_of
from tests.web.booking_mail.conftest import (
    LEO,
    TESS,
    confirm_address,
    due_keys,
    invite_of,
    mail_to,
    send_due_mail,
)
from tests.web.test_bookings import book, booked_id, cancel, free_slots, person, publish, rate, uid
from tests.web.test_reschedule import form_of, move, slot_at

DAY_BEFORE = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)  # the 24-hour reminder
HOUR_BEFORE = datetime(2026, 12, 1, 13, 0, tzinfo=UTC)  # the 1-hour reminder
END = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)  # "rate your session"
CLOSING = datetime(2026, 12, 12, 15, 0, tzinfo=UTC)  # 3 days before reviews close


def at(clock: Clock, moment: datetime, smtp_server: SMTPServer, app: Flask) -> str:
    clock.set(moment)
    smtp_server.received.clear()
    return send_due_mail(app)


def recipients(smtp_server: SMTPServer) -> list[str]:
    return sorted(r.rcpt_tos[0] for r in smtp_server.received)


def test_both_people_are_reminded_a_day_and_an_hour_before(
    mail_app: Flask, booked: str, clock: Clock, smtp_server: SMTPServer
) -> None:
    output = at(clock, DAY_BEFORE, smtp_server, mail_app)

    assert "reminders: 2 mailed" in output
    assert recipients(smtp_server) == [LEO, TESS]
    tess, leo = mail_to(smtp_server, TESS), mail_to(smtp_server, LEO)
    assert tess["Subject"].strip().startswith("Reminder: Intro to Python with leo")
    assert "Tue 1 Dec 2026, 09:00–10:00 (America/New_York)" in text_of(tess)
    assert "Tue 1 Dec 2026, 15:00–16:00 (Europe/Berlin)" in text_of(leo)
    assert link_in(leo, "/dashboard").endswith(f"/dashboard/session/{booked}")
    assert leo["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    assert "reminders: 2 mailed" in at(clock, HOUR_BEFORE, smtp_server, mail_app)
    assert recipients(smtp_server) == [LEO, TESS]


def test_nothing_is_sent_before_its_moment(
    mail_app: Flask, booked: str, clock: Clock, smtp_server: SMTPServer
) -> None:
    before = due_keys(mail_app)
    smtp_server.received.clear()
    clock.set(datetime(2026, 11, 30, 13, 59, 59, tzinfo=UTC))
    assert "reminders: 0 mailed" in send_due_mail(mail_app)
    assert smtp_server.received == []
    assert due_keys(mail_app) == before


def test_each_reminder_goes_once_however_often_the_sender_runs(
    mail_app: Flask, booked: str, clock: Clock, smtp_server: SMTPServer
) -> None:
    at(clock, DAY_BEFORE, smtp_server, mail_app)
    for minutes in (0, 1, 20, 59):
        clock.set(DAY_BEFORE.replace(minute=minutes))
        send_due_mail(mail_app)
    assert recipients(smtp_server) == [LEO, TESS]


def test_a_run_that_lost_its_due_entry_race_sends_nothing_twice(
    mail_app: Flask, booked: str, clock: Clock, smtp_server: SMTPServer
) -> None:
    # Two senders that both read the bucket before either emptied it: the second finds the
    # reminder claimed in each person's copy.
    repo = mail_app.extensions["skillswap.repo"]
    entry = DueEntry(
        booked, "before-1440", iso_utc(DAY_BEFORE), uid(mail_app, "tess"), uid(mail_app, "leo")
    )
    at(clock, DAY_BEFORE, smtp_server, mail_app)
    repo.index_reminders([entry])  # as the second sender still sees it
    assert "reminders: 0 mailed" in send_due_mail(mail_app)
    assert recipients(smtp_server) == [LEO, TESS]


def test_a_reminder_that_failed_midway_is_tried_again_next_round(
    mail_app: Flask,
    booked: str,
    clock: Clock,
    smtp_server: SMTPServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    repo = mail_app.extensions["skillswap.repo"]
    real = repo.get_users
    failures = [RuntimeError("the store went away for a moment")]

    def flaky(uids: list[str]):  # type: ignore[no-untyped-def]
        if failures:
            raise failures.pop()
        return real(uids)

    monkeypatch.setattr(repo, "get_users", flaky)
    assert "reminders: 0 mailed" in at(clock, DAY_BEFORE, smtp_server, mail_app)
    clock.set(DAY_BEFORE.replace(minute=1))
    assert "reminders: 2 mailed" in send_due_mail(mail_app)
    assert recipients(smtp_server) == [LEO, TESS]


def test_no_reminder_for_a_cancelled_session(
    mail_app: Flask, booked: str, leo: FlaskClient, clock: Clock, smtp_server: SMTPServer
) -> None:
    assert due_keys(mail_app)
    cancel(leo, booked, "Something came up")
    assert due_keys(mail_app) == [], "a cancel takes its reminders out of the due index"

    for moment in (DAY_BEFORE, HOUR_BEFORE, END):
        at(clock, moment, smtp_server, mail_app)
        assert smtp_server.received == []


def test_no_reminder_for_a_cancelled_session_even_if_its_entry_stayed(
    mail_app: Flask, booked: str, leo: FlaskClient, clock: Clock, smtp_server: SMTPServer
) -> None:
    repo = mail_app.extensions["skillswap.repo"]
    entry = DueEntry(
        booked, "before-1440", iso_utc(DAY_BEFORE), uid(mail_app, "tess"), uid(mail_app, "leo")
    )
    cancel(leo, booked, "")
    repo.index_reminders([entry])  # as if taking it out had failed

    assert "reminders: 0 mailed" in at(clock, DAY_BEFORE, smtp_server, mail_app)
    assert smtp_server.received == []


def test_a_reminder_whose_moment_passed_is_dropped_not_sent_late(
    mail_app: Flask, booked: str, clock: Clock, smtp_server: SMTPServer
) -> None:
    # No sender ran from a day before until two hours later (an outage): "in 24 hours" would
    # now be wrong, so it is dropped; the 1-hour reminder still comes at its time.
    output = at(clock, DAY_BEFORE.replace(hour=16), smtp_server, mail_app)
    assert "reminders: 0 mailed, 1 too late to send (dropped)" in output
    assert smtp_server.received == []

    assert "reminders: 2 mailed" in at(clock, HOUR_BEFORE.replace(minute=10), smtp_server, mail_app)


def test_a_one_hour_reminder_never_comes_after_half_its_lead(
    mail_app: Flask, booked: str, clock: Clock, smtp_server: SMTPServer
) -> None:
    at(clock, DAY_BEFORE, smtp_server, mail_app)
    output = at(clock, HOUR_BEFORE.replace(minute=31), smtp_server, mail_app)
    assert "1 too late" in output
    assert smtp_server.received == []


def test_rate_your_session_after_it_ends_and_before_reviews_close(
    mail_app: Flask,
    booked: str,
    tess: FlaskClient,
    leo: FlaskClient,
    clock: Clock,
    smtp_server: SMTPServer,
) -> None:
    at(clock, END, smtp_server, mail_app)
    assert recipients(smtp_server) == [LEO, TESS]
    message = mail_to(smtp_server, LEO)
    assert message["Subject"].strip() == "How was Intro to Python with tess?"
    assert link_in(message, "/review").endswith(f"/booking/{booked}/review")
    assert "Reviews are open until Tue 15 Dec 2026, 16:00 (Europe/Berlin)" in text_of(message)

    rate(leo, booked, "9")
    output = at(clock, CLOSING, smtp_server, mail_app)
    assert "reminders: 1 mailed" in output
    assert recipients(smtp_server) == [TESS], "only whoever has not rated yet"
    assert "close in 3 days" in text_of(mail_to(smtp_server, TESS))


def test_a_person_who_turned_reminders_off_gets_none(
    mail_app: Flask, booked: str, tess: FlaskClient, clock: Clock, smtp_server: SMTPServer
) -> None:
    data = {"csrf_token": csrf_token(tess, "/account"), "bookings": "y", "cancellations": "y"}
    tess.post("/account/mail", data=data)

    at(clock, DAY_BEFORE, smtp_server, mail_app)
    assert recipients(smtp_server) == [LEO]


def test_an_unconfirmed_address_gets_no_reminder(
    mail_app: Flask, tess: FlaskClient, clock: Clock, smtp_server: SMTPServer
) -> None:
    leo = person(mail_app, "leo", "Europe/Berlin")
    booked_id(book(leo, "tess", free_slots(leo, "tess")[0]))

    at(clock, DAY_BEFORE, smtp_server, mail_app)
    assert recipients(smtp_server) == [TESS]


# --- the due index ------------------------------------------------------------------------------


def test_the_due_index_holds_one_bucket_per_hour_and_empties_as_hours_pass(
    mail_app: Flask, booked: str, clock: Clock, smtp_server: SMTPServer
) -> None:
    assert due_keys(mail_app) == [
        "due/2026-11-30T14",
        "due/2026-12-01T13",
        "due/2026-12-01T15",
        "due/2026-12-12T15",
    ]
    for moment in (DAY_BEFORE, HOUR_BEFORE, END, CLOSING):
        at(clock, moment, smtp_server, mail_app)
    assert due_keys(mail_app) == []


def test_where_keys_are_scarce_the_due_index_is_one_key_a_day(
    tmp_path: Path, clock: Clock, fake_replitdb, smtp_server: SMTPServer
) -> None:
    app = make_app(
        tmp_path,
        clock,
        STORE_URL="replit",
        REPLIT_URL_FILE=str(fake_replitdb.write_url_file(tmp_path / "replitdb")),
        REPLIT_LOCK_PATH=str(tmp_path / "replit.lock"),
        **smtp_server.app_config(),
    )
    try:
        tess = person(app, "tess", "America/New_York")
        publish(tess)
        leo = person(app, "leo", "Europe/Berlin")
        for name in ("tess", "leo"):
            confirm_address(app, name)
        booked_id(book(leo, "tess", free_slots(leo, "tess")[0]))

        assert due_keys(app) == ["due/2026-11-30", "due/2026-12-01", "due/2026-12-12"]
        assert "reminders: 2 mailed" in at(clock, HOUR_BEFORE, smtp_server, app)
        assert "reminders: 2 mailed" in at(clock, END, smtp_server, app)
        assert due_keys(app) == ["due/2026-12-12"]  # past days are removed once done
    finally:
        close_app(app)


def test_reindex_rebuilds_the_due_index_from_the_sessions(
    mail_app: Flask, booked: str, clock: Clock, smtp_server: SMTPServer
) -> None:
    store = mail_app.extensions["skillswap.store"]
    before = {key: store.get(key) for key in due_keys(mail_app)}
    for key in before:
        store.delete(key)

    result = mail_app.test_cli_runner().invoke(args=["reindex"])
    assert "due index rebuilt: 4 pieces written" in result.output
    assert {key: store.get(key) for key in due_keys(mail_app)} == before
    assert "reminders: 2 mailed" in at(clock, DAY_BEFORE, smtp_server, mail_app)


# --- a session moved -----------------------------------------------------------------------------


def test_a_moved_session_is_mailed_with_an_updated_invite_and_reminded_at_its_new_time(
    mail_app: Flask, booked: str, clock: Clock, smtp_server: SMTPServer
) -> None:
    """What a reschedule does after moving both copies (issue 20): booking_changed."""
    repo = mail_app.extensions["skillswap.repo"]
    notifier = mail_app.extensions["skillswap.notifier"]
    first = invite_of(mail_to(smtp_server, LEO))[1]
    tess_id, leo_id = uid(mail_app, "tess"), uid(mail_app, "leo")

    def move(schedule):
        copy = schedule.bookings[booked]
        copy.start, copy.end = "2026-12-02T14:00:00Z", "2026-12-02T15:00:00Z"
        copy.sequence += 1
        return copy

    for who in (tess_id, leo_id):
        moved = repo.change_schedule(who, move)
    smtp_server.received.clear()
    notifier.booking_changed(moved, "2026-12-01T14:00:00Z", "2026-12-01T15:00:00Z", by=tess_id)

    for address in (TESS, LEO):
        method, event, raw = invite_of(mail_to(smtp_server, address))
        assert method == "REQUEST"
        assert event["UID"] == first["UID"]
        assert event["SEQUENCE"] > first["SEQUENCE"]
        assert "DTSTART:20261202T140000Z" in raw
    leo_mail = text_of(mail_to(smtp_server, LEO))
    assert "tess moved your session to another time." in leo_mail
    assert "Now:     Wed 2 Dec 2026, 15:00–16:00 (Europe/Berlin)" in leo_mail
    assert "Was:     Tue 1 Dec 2026, 15:00–16:00 (Europe/Berlin)" in leo_mail
    assert "You moved your session" in text_of(mail_to(smtp_server, TESS))

    assert "reminders: 0 mailed" in at(clock, DAY_BEFORE, smtp_server, mail_app)
    assert "reminders: 2 mailed" in at(
        clock, DAY_BEFORE.replace(day=1, month=12), smtp_server, mail_app
    )


# --- what sends them ------------------------------------------------------------------------------


def test_the_background_sender_sends_reminders_too(
    tmp_path: Path, clock: Clock, smtp_server: SMTPServer
) -> None:
    app = make_app(tmp_path, clock, MAIL_SENDER_THREAD=True, **smtp_server.app_config())
    try:
        app.extensions["skillswap.mail_sender"].stop()  # started by the sign-ups' requests
        tess = person(app, "tess", "America/New_York")
        publish(tess)
        leo = person(app, "leo", "Europe/Berlin")
        for name in ("tess", "leo"):
            confirm_address(app, name)
        booked_id(book(leo, "tess", free_slots(leo, "tess")[0]))
        sender = app.extensions["skillswap.mail_sender"]
        sender.stop()
        already = len(smtp_server.received)  # sign-up links, the booking mails
        clock.set(DAY_BEFORE)

        sender.start()
        sender.wake()
        received = smtp_server.wait_for(already + 2)

        reminders = [r for r in received[already:] if "Reminder:" in str(r.message["Subject"])]
        assert sorted(r.rcpt_tos[0] for r in reminders) == [LEO, TESS]
    finally:
        close_app(app)


def test_reminder_links_use_public_url_without_a_request(
    tmp_path: Path, clock: Clock, smtp_server: SMTPServer
) -> None:
    app = make_app(
        tmp_path, clock, PUBLIC_URL="https://skillswap.example.org", **smtp_server.app_config()
    )
    try:
        tess = person(app, "tess", "America/New_York")
        publish(tess)
        leo = person(app, "leo", "Europe/Berlin")
        for name in ("tess", "leo"):
            confirm_address(app, name)
        booked = booked_id(book(leo, "tess", free_slots(leo, "tess")[0]))

        at(clock, DAY_BEFORE, smtp_server, app)
        message = mail_to(smtp_server, LEO)
        link = link_in(message, "/dashboard")
        assert link == f"https://skillswap.example.org/dashboard/session/{booked}"
        assert str(message["List-Unsubscribe"]).startswith(
            "<https://skillswap.example.org/unsubscribe/"
        )
    finally:
        close_app(app)


def test_without_public_url_a_reminder_still_links_somewhere_and_the_log_says_why(
    mail_app: Flask,
    booked: str,
    clock: Clock,
    smtp_server: SMTPServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    at(clock, DAY_BEFORE, smtp_server, mail_app)
    assert link_in(mail_to(smtp_server, LEO), "/dashboard").startswith("http://127.0.0.1:5000/")
    # Said once, by the first mail with a link: the booking's, while setting up.
    said = caplog.get_records("setup") + caplog.get_records("call")
    assert any("PUBLIC_URL is not set" in r.getMessage() for r in said)


def test_one_move_form_sent_from_two_tabs_at_once_mails_once(
    mail_app: Flask,
    booked: str,
    tess: FlaskClient,
    smtp_server: SMTPServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Both tabs read the session before either moved it; the second found the move made and
    answered as if it had made it, mailing both people the moved invite again (an outside
    race probe: 2 or 3 "Moved" mails each in 10 of 20 rounds of four tabs)."""
    later = slot_at(mail_app, "2026-12-01T15:00:00Z")
    form = form_of(tess, booked)
    smtp_server.received.clear()
    real = services.reschedule.reschedule

    def other_tab(*args: Any) -> None:  # the same move, as its page makes it
        moved, moved_now = real(*args)
        assert moved_now
        notifier().booking_changed(moved, *moved.moved["from"], moved.teacher)

    runs_first(monkeypatch, services.reschedule, "reschedule", other_tab)
    assert move(tess, booked, later, form=form).status_code == 302
    assert recipients(smtp_server) == [LEO, TESS]  # one each


def test_a_reschedule_mails_both_the_moved_invite_and_moves_the_reminders(
    mail_app: Flask,
    booked: str,
    tess: FlaskClient,
    leo: FlaskClient,
    clock: Clock,
    smtp_server: SMTPServer,
) -> None:
    """Issue 20's reschedule, through the page: booking_changed is its mail."""
    first = invite_of(mail_to(smtp_server, TESS))[1]
    smtp_server.received.clear()

    later = slot_at(mail_app, "2026-12-01T15:00:00Z")  # 10:00 in New York
    assert move(tess, booked, later, "Running late, sorry").status_code == 302

    for address in (TESS, LEO):
        method, event, raw = invite_of(mail_to(smtp_server, address))
        assert (method, event["UID"]) == ("REQUEST", first["UID"])
        assert event["SEQUENCE"] > first["SEQUENCE"]
        assert "DTSTART:20261201T150000Z" in raw
    moved = invite_of(mail_to(smtp_server, LEO))[1]
    leo_mail = text_of(mail_to(smtp_server, LEO))
    assert "tess moved your session to another time." in leo_mail
    assert "Now:     Tue 1 Dec 2026, 16:00–17:00 (Europe/Berlin)" in leo_mail
    # The form says the message is "sent to the other person with the new time" (an
    # outside review found it on the page only).
    assert "Message: Running late, sorry" in leo_mail
    assert "Running late, sorry" in html_of(mail_to(smtp_server, LEO))

    # The day-before reminder follows the session to 15:00 UTC; nothing at the old 14:00.
    assert "reminders: 0 mailed" in at(clock, DAY_BEFORE, smtp_server, mail_app)
    assert "reminders: 2 mailed" in at(clock, DAY_BEFORE.replace(hour=15), smtp_server, mail_app)

    # Then cancelled: the CANCEL is newer than the move's REQUEST.
    smtp_server.received.clear()
    cancel(leo, booked, "")
    method, event, _ = invite_of(mail_to(smtp_server, TESS))
    assert method == "CANCEL"
    assert event["SEQUENCE"] > moved["SEQUENCE"]

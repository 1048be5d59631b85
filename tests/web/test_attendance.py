"""Did it happen, through the test client: marking a past session from the dashboard (refused
before the end, by an outsider, without a token), marking again and changing the mark, what
both dashboards show (disputed), the rating a no-show report rules out, a crash between the
two copies, declining an invitation, and the record on profiles."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from flask import Flask
from flask.testing import FlaskClient

from tests.support.app_fixtures import Clock, csrf_token
from tests.support.faulty_store import FaultyStore
from tests.web.test_bookings import (
    book,
    booked_id,
    free_slots,
    person,
    publish,
    rate,
    schedule,
    stats_text,
    text,
    uid,
)
from tests.web.test_dashboard import entry, words

ENDED = datetime(2026, 12, 1, 15, 5, tzinfo=UTC)  # the `session` fixture ends at 15:00 UTC


def mark(client: FlaskClient, booking_id: str, what: str):
    token = csrf_token(client, "/logout")
    return client.post(
        f"/booking/{booking_id}/attendance", data={"csrf_token": token, "mark": what}
    )


def marks(app: Flask, username: str, booking_id: str) -> dict[str, str]:
    """The marks on this person's copy, by marker's username."""
    names = {uid(app, n): n for n in ("tess", "leo")}
    booking = schedule(app, username).bookings[booking_id]
    return {names[k]: v["mark"] for k, v in booking.attendance.items()}


def row(client: FlaskClient, booking_id: str, *tabs: str) -> str:
    """The words of the session's entry on the dashboard (or on `tabs`)."""
    return words(entry(client, booking_id, *([tabs] if tabs else [])))


def test_marking_before_the_end_is_refused_with_a_clear_message(
    app: Flask, clock: Clock, tess: FlaskClient, session: str
) -> None:
    clock.set(datetime(2026, 12, 1, 14, 30, tzinfo=UTC))  # in progress
    response = mark(tess, session, "happened")
    assert response.status_code == 409
    assert "You can say whether this session happened once it has ended." in text(response)
    html = response.get_data(as_text=True)
    assert "<title>Error: Not saved" in html  # a refusal says so first, and takes the focus
    assert 'class="error-summary" role="alert" tabindex="-1"' in html
    assert marks(app, "tess", session) == {}
    assert "Did it happen?" not in row(tess, session)


def test_a_mark_reaches_both_copies_and_counts_the_session_at_once(
    app: Flask, clock: Clock, tess: FlaskClient, leo: FlaskClient, session: str
) -> None:
    clock.set(ENDED)
    assert "Did it happen?" in row(leo, session)
    assert "Not marked yet" in row(leo, session)
    assert stats_text(tess.get("/dashboard")).startswith("0 sessions taught")
    response = mark(leo, session, "happened")
    assert response.status_code == 302
    assert marks(app, "tess", session) == marks(app, "leo", session) == {"leo": "happened"}
    assert stats_text(tess.get("/dashboard")).startswith("1 session taught")
    assert stats_text(leo.get("/dashboard")).startswith("0 sessions taught | 1 session attended")
    assert "leo said: “It happened”" in row(tess, session)
    assert 'value="happened" class="button small" aria-pressed="true"' in leo.get(
        "/dashboard/past"
    ).get_data(as_text=True)


def test_marking_twice_changes_nothing_and_a_change_makes_it_disputed_on_both_dashboards(
    app: Flask, clock: Clock, tess: FlaskClient, leo: FlaskClient, session: str
) -> None:
    clock.set(ENDED)
    assert mark(tess, session, "happened").status_code == 302
    before = schedule(app, "tess").bookings[session].attendance
    assert mark(tess, session, "happened").status_code == 302
    assert schedule(app, "tess").bookings[session].attendance == before
    assert mark(leo, session, "they_missed").status_code == 302
    for client in (tess, leo):
        assert "Disputed" in row(client, session)
        assert "counts for neither" in row(client, session)
    assert stats_text(tess.get("/dashboard")).startswith("0 sessions taught")
    # leo changes his mind: held again, on both copies.
    assert mark(leo, session, "happened").status_code == 302
    assert marks(app, "tess", session) == {"tess": "happened", "leo": "happened"}
    assert "Disputed" not in row(tess, session)
    assert stats_text(tess.get("/dashboard")).startswith("1 session taught")


def test_someone_not_in_the_session_cannot_mark_it(
    app: Flask, clock: Clock, xia: FlaskClient, session: str
) -> None:
    clock.set(ENDED)
    assert mark(xia, session, "happened").status_code == 403
    assert mark(xia, "no-such-session", "happened").status_code == 403
    assert marks(app, "tess", session) == {}


def test_a_mark_needs_a_token_and_a_known_choice(
    app: Flask, clock: Clock, tess: FlaskClient, session: str
) -> None:
    clock.set(ENDED)
    response = tess.post(f"/booking/{session}/attendance", data={"mark": "happened"})
    assert response.status_code == 400
    assert "expired" in text(response)
    response = mark(tess, session, "maybe")
    assert response.status_code == 400
    assert "Choose whether the session happened" in text(response)
    assert marks(app, "tess", session) == {}


def test_reporting_a_no_show_rules_out_rating_and_counts_against_the_absent(
    app: Flask, clock: Clock, tess: FlaskClient, leo: FlaskClient, xia: FlaskClient, session: str
) -> None:
    clock.set(ENDED)
    assert mark(tess, session, "they_missed").status_code == 302
    assert "Rate leo" not in row(tess, session)
    assert "you reported that it did not take place" in row(tess, session)
    response = rate(tess, session, "2")
    assert response.status_code == 400
    assert "You reported that this session did not take place, so you cannot rate it." in text(
        response
    )
    assert "Rate tess" in row(leo, session)  # leo reported nothing: he may still rate
    assert "You did not come." in row(leo, session)
    clock.advance(days=8)
    public = text(xia.get("/user/leo"))
    assert "1 no-show reported and not disputed" in public
    assert "0 no-shows reported" in text(xia.get("/user/tess"))
    assert stats_text(xia.get("/user/tess")).startswith("0 sessions taught")


def test_a_no_show_report_tells_the_person_named_who_may_answer_it_for_seven_days(
    app: Flask, clock: Clock, tess: FlaskClient, leo: FlaskClient, session: str
) -> None:
    """Found by probing: a report one minute before marks closed (14 days after the session)
    told leo nothing and left him no way to say it did happen."""
    clock.set(ENDED + timedelta(days=14) - timedelta(minutes=6))
    assert mark(tess, session, "they_missed").status_code == 302
    notices = text(leo.get("/notifications"))
    assert "tess said you did not come to" in notices
    assert "If it did take place, say so on your dashboard by" in notices
    # The link goes to the session on the dashboard's past tab, where the answer is.
    assert f'href="/dashboard/past#booking-{session}"' in leo.get("/notifications").get_data(
        as_text=True
    )
    clock.advance(days=3)  # marks have closed for tess, not for leo's answer
    assert "It happened" in row(leo, session)
    assert mark(tess, session, "happened").status_code == 409
    assert mark(leo, session, "happened").status_code == 302
    assert marks(app, "tess", session) == {"tess": "they_missed", "leo": "happened"}
    # Nothing is left for tess to do: the session has moved from her dashboard to her history.
    assert "disputed" in row(tess, session, "/history").lower()
    clock.advance(days=5)  # seven days after the report: closed for him too
    assert mark(leo, session, "i_missed").status_code == 409


def test_a_mark_a_crash_left_on_one_copy_is_copied_by_read_repair(
    fapp: Flask, faulty: FaultyStore, clock: Clock
) -> None:
    tess = person(fapp, "tess", "America/New_York")
    publish(tess)
    leo = person(fapp, "leo", "Europe/Berlin")
    booking_id = booked_id(book(leo, "tess", free_slots(leo, "tess")[0]))
    clock.set(ENDED)
    token = csrf_token(leo, "/logout")
    faulty.fail_on("update", 2, key_prefix="schedule/")  # the teacher's copy
    response = leo.post(
        f"/booking/{booking_id}/attendance", data={"csrf_token": token, "mark": "i_missed"}
    )
    assert response.status_code == 503
    assert marks(fapp, "leo", booking_id) == {"leo": "i_missed"}
    assert marks(fapp, "tess", booking_id) == {}
    leo.get("/dashboard")  # read repair
    assert marks(fapp, "tess", booking_id) == {"leo": "i_missed"}
    assert schedule(fapp, "leo").bookings[booking_id].attendance[uid(fapp, "leo")]["copied"]


def _invite(
    app: Flask,
    tess: FlaskClient,
    learner: FlaskClient,
    name: str,
    when: tuple[str, str, str] = ("2026-12-01", "14:00", "18:00"),
) -> None:
    """`learner` asks for Python at `when` (in their zone); tess invites them."""
    day, start, end = when
    response = learner.post(
        "/request",
        data={
            "csrf_token": csrf_token(learner, "/request"),
            "skill": "python",
            "mode": "either",
            "dates-0": day,
            "ranges-0-start": start,
            "ranges-0-end": end,
        },
    )
    assert response.status_code == 302
    [request_id] = schedule(app, name).requests
    assert f'value="{request_id}"' in tess.get("/learners").get_data(as_text=True)
    data = {"csrf_token": csrf_token(tess, "/learners"), "request_id": request_id}
    assert tess.post("/learners/invite", data=data).status_code == 302


def _decline_path(leo: FlaskClient) -> str:
    found = re.search(
        r'action="(/invitations/[^"]+/decline)"', leo.get("/notifications").get_data(True)
    )
    assert found, "no Decline button"
    return found.group(1)


def test_declining_an_invitation_answers_it_once(
    app: Flask, tess: FlaskClient, leo: FlaskClient, xia: FlaskClient
) -> None:
    _invite(app, tess, leo, "leo")
    path = _decline_path(leo)
    assert leo.post(path).status_code == 400  # no token: nothing answered
    token = csrf_token(leo, "/notifications")
    response = leo.post(path, data={"csrf_token": token}, follow_redirects=True)
    assert "You declined tess's invitation to learn python." in text(response)
    page = text(leo.get("/notifications"))
    assert "Declined" in page and "Book a time" not in page
    assert 'action="/invitations/' not in leo.get("/notifications").get_data(as_text=True)
    again = leo.post(path, data={"csrf_token": token}, follow_redirects=True)
    assert "You have already declined this invitation." in text(again)
    assert xia.post(path, data={"csrf_token": csrf_token(xia, "/logout")}).status_code == 404
    assert "100% of invitations answered within 7 days (1 of 1)" in text(xia.get("/user/leo"))


def test_booking_answers_the_invitation_and_an_ignored_one_counts_after_seven_days(
    app: Flask, clock: Clock, tess: FlaskClient, leo: FlaskClient, xia: FlaskClient
) -> None:
    _invite(app, tess, leo, "leo")
    # Open for less than 7 days: not counted either way yet.
    assert "invitations answered" not in text(xia.get("/user/leo"))
    booked_id(book(leo, "tess", free_slots(leo, "tess")[0]))
    page = text(leo.get("/notifications"))
    assert "Booked" in page
    assert "100% of invitations answered within 7 days (1 of 1)" in text(xia.get("/user/leo"))
    _invite(app, tess, xia, "xia", ("2026-12-02", "00:00", "02:00"))  # Tokyo; she ignores it
    clock.advance(days=8)
    assert "0% of invitations answered within 7 days (0 of 1)" in text(leo.get("/user/xia"))


def test_profiles_show_the_reliability_record(
    app: Flask, clock: Clock, tess: FlaskClient, leo: FlaskClient, xia: FlaskClient, session: str
) -> None:
    clock.set(ENDED)
    mark(leo, session, "happened")
    for client, path in ((tess, "/profile"), (xia, "/user/tess")):
        page = text(client.get(path))
        assert "Reliability, last 90 days" in page
        assert "1 session held" in page
        assert "0 late cancellations" in page
        assert "0 no-shows reported and not disputed" in page
    clock.set(ENDED + timedelta(days=97))
    assert "0 sessions held" in text(xia.get("/user/tess"))
    assert stats_text(xia.get("/user/tess")).startswith("1 session taught")  # all time


def test_after_rating_only_it_happened_is_offered(
    app: Flask, clock: Clock, leo: FlaskClient, session: str
) -> None:
    """A rating says the session took place: "They didn't come" and "I couldn't come" were
    still offered, and always refused (an outside probe with JavaScript off)."""
    clock.set(ENDED)
    assert "They didn&#39;t come" in row(leo, session)
    assert rate(leo, session, "8").status_code == 302
    shown = row(leo, session)
    assert "It happened" in shown
    assert "They didn&#39;t come" not in shown and "I couldn&#39;t come" not in shown

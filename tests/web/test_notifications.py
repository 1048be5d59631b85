"""Notifications and teachers finding learners, through the test client."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient

from skillswap.domain.limits import MAX_NOTIFICATIONS
from tests.support.app_fixtures import Clock, csrf_token
from tests.web.test_bookings import cancel, publish, rate, text


def unread_badge(client: FlaskClient) -> str:
    match = re.search(r'<span class="count">(\d+)', client.get("/").get_data(as_text=True))
    return match.group(1) if match else ""


def ask_for_python(client: FlaskClient, day: str, start: str, end: str) -> None:
    """A request for Python on `day`, `start`-`end` in the client's own zone."""
    response = client.post(
        "/request",
        data={
            "csrf_token": csrf_token(client, "/request"),
            "skill": "python",
            "mode": "either",
            "dates-0": day,
            "ranges-0-start": start,
            "ranges-0-end": end,
        },
    )
    assert response.status_code == 302, text(response)[-2000:]


def first_lead(teacher: FlaskClient) -> str:
    """The id of the first request on the teacher's /learners page."""
    found = re.search(
        r'name="request_id" value="([^"]+)"', teacher.get("/learners").get_data(as_text=True)
    )
    assert found
    return found.group(1)


def test_the_teacher_is_told_of_a_new_booking_in_their_zone(
    tess: FlaskClient, session: str
) -> None:
    assert unread_badge(tess) == "1"
    page = text(tess.get("/notifications"))
    assert (
        "leo booked “Intro to Python” (Python) with you: Tue 1 Dec 2026, 09:00–10:00"
        " (America/New_York)"
    ) in page
    assert "New" in page


def test_marking_read_clears_the_badge_and_needs_csrf(tess: FlaskClient, session: str) -> None:
    assert tess.post("/notifications/read").status_code == 400
    assert unread_badge(tess) == "1"
    token = csrf_token(tess, "/notifications")
    assert tess.post("/notifications/read", data={"csrf_token": token}).status_code == 302
    assert unread_badge(tess) == ""
    notices = text(tess.get("/notifications"))
    assert "leo booked “Intro to Python” (Python)" in notices  # kept, now read


def test_the_other_side_is_told_of_a_cancellation_with_the_reason(
    tess: FlaskClient, leo: FlaskClient, session: str
) -> None:
    assert unread_badge(leo) == ""
    assert cancel(tess, session, "I am ill").status_code == 302
    assert unread_badge(leo) == "1"
    assert (
        "tess cancelled “Intro to Python” (Python) on Tue 1 Dec 2026, 15:00–16:00 (Europe/Berlin):"
        " “I am ill”" in text(leo.get("/notifications"))
    )
    # Cancelling again tells nobody twice.
    cancel(leo, session)
    assert unread_badge(leo) == "1"


def test_a_review_is_announced_without_giving_it_away(
    app: Flask, clock: Clock, tess: FlaskClient, leo: FlaskClient, session: str
) -> None:
    clock.advance(days=10)
    assert rate(leo, session, "9", "Brilliant").status_code == 302
    page = text(tess.get("/notifications"))
    assert "leo rated your “Intro to Python” (Python) session. Rate them too to see it" in page
    assert "Brilliant" not in page and "9/10" not in page
    # Once she has rated too, the notice no longer asks her to (an outside walkthrough).
    assert rate(tess, session, "8").status_code == 302
    page = text(tess.get("/notifications"))
    assert "Rate them too" not in page
    assert "You rated it too: it is among the reviews you received" in page


def test_notifications_are_private(client: FlaskClient) -> None:
    assert client.get("/notifications").status_code == 302


def test_a_teacher_sees_learners_whose_request_their_free_time_fits(
    app: Flask, tess: FlaskClient, leo: FlaskClient, xia: FlaskClient
) -> None:
    # leo (Berlin) wants Python on 1 Dec 14:00-18:00 Berlin = 13:00-17:00 UTC: tess's 14:00
    # and 15:00 UTC sessions fit. xia wants Python only on 2 Dec: nothing fits.
    ask_for_python(leo, "2026-12-01", "14:00", "18:00")
    ask_for_python(xia, "2026-12-02", "09:00", "12:00")
    page = text(tess.get("/learners"))
    assert "leo" in page and "xia" not in page
    assert "Tue 1 Dec 2026, 09:00–10:00 (America/New_York)" in page

    request_id = first_lead(tess)
    token = csrf_token(tess, "/learners")
    assert (
        tess.post(
            "/learners/invite", data={"csrf_token": token, "request_id": request_id}
        ).status_code
        == 302
    )
    assert unread_badge(leo) == "1"
    invite = text(leo.get("/notifications"))
    # The first fitting time in leo's zone (Berlin), not tess's (New York).
    assert (
        "tess can teach you python when you are free (2 times fit, the first "
        "Tue 1 Dec 2026, 15:00 (Europe/Berlin))" in invite
    )
    link = re.search(r'href="(/book/tess[^"]*)"', leo.get("/notifications").get_data(as_text=True))
    assert link and leo.get(link.group(1).replace("&amp;", "&")).status_code == 200
    # A second invitation for the same request is not sent.
    tess.post("/learners/invite", data={"csrf_token": token, "request_id": request_id})
    assert unread_badge(leo) == "1"
    assert "Invited" in text(tess.get("/learners"))


def test_an_invitations_link_chooses_the_first_time_that_fits_the_request(
    app: Flask, tess: FlaskClient, leo: FlaskClient
) -> None:
    """tess also teaches at 03:00 New York (09:00 in leo's Berlin), before leo's window: the
    invitation says "the first 15:00" and its link chose the 09:00 (the page's first time),
    one tap from booking leo a time he never asked for."""
    publish(tess, "03:00", "04:00", title="Early Python")
    ask_for_python(leo, "2026-12-01", "14:00", "18:00")
    request_id = first_lead(tess)
    tess.post(
        "/learners/invite",
        data={"csrf_token": csrf_token(tess, "/learners"), "request_id": request_id},
    )
    link = re.search(r'href="(/book/tess[^"]*)"', leo.get("/notifications").get_data(as_text=True))
    assert link

    booking_page = leo.get(link.group(1).replace("&amp;", "&")).get_data(as_text=True)

    (checked,) = re.findall(r"<li><label><input[^>]*checked[^>]*>\s*([^<]*)", booking_page)
    assert checked.startswith("Tue 1 Dec 2026, 15:00–16:00 (Europe/Berlin)")
    # The page starts at the chosen time; the earlier one is a link away.
    assert "09:00–10:00 (Europe/Berlin)" not in booking_page
    assert ">First times</a>" in booking_page


def test_inviting_for_a_request_that_does_not_fit_is_404(
    tess: FlaskClient, xia: FlaskClient
) -> None:
    token = csrf_token(tess, "/logout")
    response = tess.post("/learners/invite", data={"csrf_token": token, "request_id": "nope"})
    assert response.status_code == 404
    assert unread_badge(xia) == ""


def test_a_teacher_sees_learners_whose_window_their_free_time_only_overlaps(
    tess: FlaskClient, leo: FlaskClient
) -> None:
    """leo (Berlin) wants Python on 1 Dec 15:30-16:30 Berlin = 14:30-15:30 UTC: each of
    tess's sessions (14:00 and 15:00 UTC) shares half an hour with it. The rule of the
    matches page: they are listed, with the shared time in tess's zone, and the invitation
    says how they meet the request."""
    ask_for_python(leo, "2026-12-01", "15:30", "16:30")
    page = text(tess.get("/learners"))
    assert "leo" in page
    assert "Your free times that overlap their window (2)" in page
    assert (
        "free Tue 1 Dec 2026, 09:00–10:00 (America/New_York), overlaps their window 09:30–10:00"
        in page
    )
    request_id = first_lead(tess)
    token = csrf_token(tess, "/learners")
    tess.post("/learners/invite", data={"csrf_token": token, "request_id": request_id})
    assert "(2 overlap, the first Tue 1 Dec 2026, 15:00 (Europe/Berlin))" in text(
        leo.get("/notifications")
    )


def test_the_badge_never_counts_more_than_the_list_keeps(app: Flask, tess: FlaskClient) -> None:
    """An outside probe booked one teacher 70 times: the badge said 70 while the page keeps
    the newest 50 notices (MAX_NOTIFICATIONS), so 20 "new" ones could never be found."""
    repo = app.extensions["skillswap.repo"]
    uid = repo.find_user("tess").id
    for _ in range(MAX_NOTIFICATIONS + 20):
        repo.count_unread(uid, +1)
    assert unread_badge(tess) == str(MAX_NOTIFICATIONS)


def test_inviting_for_a_request_gone_meanwhile_says_so(tess: FlaskClient, leo: FlaskClient) -> None:
    """The learner deleted the request while the teacher's /learners page was open: the
    invite answered "page or person does not exist" (an outside probe)."""
    ask_for_python(leo, "2026-12-01", "14:00", "18:00")
    request_id = first_lead(tess)
    token = csrf_token(tess, "/learners")
    gone = leo.post(
        f"/request/{request_id}/delete",
        data={"csrf_token": csrf_token(leo, "/request"), "confirmed": "yes"},
    )
    assert gone.status_code == 302
    response = tess.post("/learners/invite", data={"csrf_token": token, "request_id": request_id})
    assert response.status_code == 404
    said = text(response)
    assert "This request is no longer on your list" in said
    assert 'href="/learners"' in response.get_data(as_text=True)

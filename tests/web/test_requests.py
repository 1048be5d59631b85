"""Learning requests through the test client: save, validation with input kept, matches, delete."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.support.app_fixtures import Clock, csrf_token
from tests.web.test_auth import assert_field_error, location, page
from tests.web.test_offers import (
    assert_group_error,
    assert_kept,
    errors_at,
    form_values,
    grouped,
    person,
    post_offer,
    repo,
    submit,
    summary_text,
    uid,
)

REQUEST: dict[str, str] = {
    "skill": "Python",
    "mode": "either",
    "dates-0": "2026-12-01",
    "ranges-0-start": "14:00",
    "ranges-0-end": "18:00",
}


def post_request(client: FlaskClient, fields: Mapping[str, str | None] = {}):
    return submit(client, "/request", REQUEST, fields)


def only_request(app: Flask, username: str = "lea"):
    requests = list(repo(app).schedule(uid(app, username)).requests.values())
    assert len(requests) == 1
    return requests[0]


@pytest.fixture
def lea(app: Flask) -> FlaskClient:
    """A learner in Berlin (UTC+1 in December)."""
    return person(app, "lea", "Europe/Berlin")


def _refused(app: Flask, client: FlaskClient, fields: Mapping[str, str | None]):
    response = post_request(client, fields)
    assert response.status_code == 400
    assert repo(app).schedule(uid(app, "lea")).requests == {}
    return page(response)


# --- saving --------------------------------------------------------------------------------


def test_request_page_needs_login(client: FlaskClient) -> None:
    response = client.get("/request")
    assert response.status_code == 302
    assert location(response).startswith("/login")


def test_request_form_defaults_to_either(lea: FlaskClient) -> None:
    p = page(lea.get("/request"))
    assert form_values(p)["mode"] == "either"
    assert "Europe/Berlin" in p.main_text


def test_request_is_saved_with_utc_windows_and_opens_matches(app: Flask, lea: FlaskClient) -> None:
    fields = {"dates-1": "2026-12-03", "ranges-1-start": "18:00", "ranges-1-end": "19:00"}
    response = post_request(lea, fields)
    assert response.status_code == 302
    saved = only_request(app)
    assert location(response) == f"/request/{saved.id}"
    assert saved.user == "lea"
    assert saved.skill == "Python"
    assert saved.mode == "either"
    assert saved.timezone == "Europe/Berlin"
    assert saved.dates == ["2026-12-01", "2026-12-03"]
    assert saved.time_ranges == [["14:00", "18:00"], ["18:00", "19:00"]]
    assert saved.timestamp == "2026-11-23T12:00:00Z"
    # Berlin is UTC+1; touching ranges on one date merge into one window.
    assert saved.windows == [
        ["2026-12-01T13:00:00Z", "2026-12-01T18:00:00Z"],
        ["2026-12-03T13:00:00Z", "2026-12-03T18:00:00Z"],
    ]
    raw = app.extensions["skillswap.store"].get(f"schedule/{uid(app, 'lea')}")
    assert list(raw["requests"]) == [saved.id]

    p = page(lea.get(location(response)))
    assert "Your request is saved" in p.main_text
    assert "Teachers for “Python”" in p.main_text
    assert "No teachers are free then yet" in p.main_text


def test_request_with_a_preset(app: Flask, lea: FlaskClient) -> None:
    fields = {
        "preset": "weekends",
        "preset_first": "2026-11-30",
        "preset_last": "2026-12-13",
        "dates-0": "",
    }
    assert post_request(lea, fields).status_code == 302
    assert only_request(app).dates == ["2026-12-05", "2026-12-06", "2026-12-12", "2026-12-13"]


def test_request_shows_on_the_profile_as_upcoming_then_past(
    app: Flask, clock: Clock, lea: FlaskClient
) -> None:
    post_request(lea, {"skill": "Welsh", "mode": "offline"})
    p = page(lea.get("/profile"))
    assert grouped(p, "requests") == {"Upcoming": ["Welsh"], "Past": []}
    card = next(n for n in p.by_id("requests").walk() if "request-card" in n.attrs.get("class", ""))
    for fact in ("Offline", "2026-12-01", "14:00–18:00", "Europe/Berlin"):
        assert fact in card.text
    clock.set(datetime(2026, 12, 2, tzinfo=UTC))
    assert grouped(page(lea.get("/profile")), "requests") == {"Upcoming": [], "Past": ["Welsh"]}


# --- validation: the same rules as offers --------------------------------------------------


def test_past_date(app: Flask, lea: FlaskClient) -> None:
    fields = {"dates-0": "2026-11-22", "dates-1": "2026-12-01"}
    p = _refused(app, lea, fields)
    assert_field_error(p, "dates-0", "2026-11-22 is in the past; pick a date from today on")
    assert_kept(p, {**REQUEST, **fields})


def test_range_already_started_today_in_the_learners_zone(app: Flask, lea: FlaskClient) -> None:
    # 12:00 UTC is 13:00 in Berlin: 12:30 Berlin time has passed.
    fields = {"dates-0": "2026-11-23", "ranges-0-start": "12:30", "ranges-0-end": "15:00"}
    p = _refused(app, lea, fields)
    assert_field_error(p, "ranges-0-start", "12:30 today has already passed")
    assert_kept(p, {**REQUEST, **fields})


def test_end_before_start_and_overlap(app: Flask, lea: FlaskClient) -> None:
    fields = {
        "ranges-0-start": "10:00",
        "ranges-0-end": "12:00",
        "ranges-1-start": "11:00",
        "ranges-1-end": "13:00",
        "ranges-2-start": "16:00",
        "ranges-2-end": "15:00",
    }
    p = _refused(app, lea, fields)
    assert_field_error(p, "ranges-1-start", "This time range overlaps 10:00–12:00")
    assert_field_error(p, "ranges-2-start", "End time must be after the start time")
    assert_kept(p, {**REQUEST, **fields})


def test_dst_gap(app: Flask) -> None:
    nyc = person(app, "nyc", "America/New_York")
    fields = {"dates-0": "2027-03-14", "ranges-0-start": "02:30", "ranges-0-end": "03:30"}
    response = post_request(nyc, fields)
    assert response.status_code == 400
    p = page(response)
    assert_field_error(p, "ranges-0-start", "does not exist")
    assert_kept(p, {**REQUEST, **fields})
    assert repo(app).schedule(uid(app, "nyc")).requests == {}


def test_malformed_date_and_time(app: Flask, lea: FlaskClient) -> None:
    fields = {"dates-0": "2026-13-45", "ranges-0-end": "25:00"}
    p = _refused(app, lea, fields)
    assert_field_error(p, "dates-0", "not a real date")
    assert_field_error(p, "ranges-0-end", "25:00 is not a valid time")
    assert_kept(p, {**REQUEST, **fields})


def test_no_dates_and_no_ranges(app: Flask, lea: FlaskClient) -> None:
    fields = {"dates-0": "", "ranges-0-start": "", "ranges-0-end": ""}
    p = _refused(app, lea, fields)
    assert_group_error(p, "dates", "Add at least one date")
    assert_group_error(p, "ranges", "Add at least one time range")


def test_preset_span_over_sixty_days(app: Flask, lea: FlaskClient) -> None:
    fields = {"preset": "everyday", "preset_first": "2026-12-01", "preset_last": "2027-02-01"}
    p = _refused(app, lea, fields)
    assert_field_error(p, "preset_last", "Pick a date range of at most 60 days")
    assert_kept(p, {**REQUEST, **fields})


def test_missing_skill(app: Flask, lea: FlaskClient) -> None:
    fields = {"skill": ""}
    p = _refused(app, lea, fields)
    assert_field_error(p, "skill", "Which skill do you want to learn?")
    assert_kept(p, {**REQUEST, **fields})


def test_blank_skill_is_refused(app: Flask, lea: FlaskClient) -> None:
    """Spaces only is no skill: a request for "" can never match anyone."""
    response = post_request(lea, {"skill": "   "})
    assert response.status_code == 400
    assert_field_error(page(response), "skill", "Which skill do you want to learn?")


@pytest.mark.parametrize(
    ("mode", "message"),
    [("hybrid", "Choose Either, Online or Offline"), (None, "Choose a session type")],
)
def test_invalid_mode(app: Flask, lea: FlaskClient, mode: str | None, message: str) -> None:
    fields = {"mode": mode}
    p = _refused(app, lea, fields)
    assert message in p.by_id("mode-error").text
    assert message in summary_text(p)
    assert_kept(p, {**REQUEST, **fields}, skip={"mode"})


@pytest.mark.parametrize("mode", ["online", "offline", "either"])
def test_every_mode_is_accepted(app: Flask, lea: FlaskClient, mode: str) -> None:
    assert post_request(lea, {"mode": mode}).status_code == 302
    assert only_request(app).mode == mode


def test_add_rows_without_javascript(app: Flask, lea: FlaskClient) -> None:
    fields = {"ranges-1-start": "19:00", "ranges-1-end": "20:00", "add_range": "1"}
    response = post_request(lea, fields)
    assert response.status_code == 200
    p = page(response)
    assert form_values(p)["ranges-2-start"] == ""
    assert not errors_at(p)
    assert_kept(p, {**REQUEST, **fields})

    fields = {"dates-1": "2026-12-02", "add_date": "1"}
    response = post_request(lea, fields)
    assert response.status_code == 200
    p = page(response)
    assert form_values(p)["dates-2"] == ""
    assert_kept(p, {**REQUEST, **fields})
    assert repo(app).schedule(uid(app, "lea")).requests == {}


# --- matching ------------------------------------------------------------------------------


@pytest.fixture
def teachers(app: Flask) -> None:
    """Two Python teachers on 2026-12-01: one online at 14:00 UTC, one offline at 15:00 UTC."""
    online = person(app, "onlineteacher")
    offline = person(app, "offlineteacher")
    assert post_offer(online, {"ranges-0-start": "14:00", "ranges-0-end": "15:00"}).status_code
    assert post_offer(
        offline, {"mode": "offline", "ranges-0-start": "15:00", "ranges-0-end": "16:00"}
    ).status_code


def _match_names(client: FlaskClient, response) -> list[str]:
    assert response.status_code == 302, response.get_data(as_text=True)
    p = page(client.get(location(response)))
    return [h.text for h in p.all("h2") if h.text.endswith("teacher")]


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("either", ["onlineteacher", "offlineteacher"]),
        ("online", ["onlineteacher"]),
        ("offline", ["offlineteacher"]),
    ],
)
def test_mode_decides_who_matches(
    app: Flask, lea: FlaskClient, teachers: None, mode: str, expected: list[str]
) -> None:
    response = post_request(lea, {"skill": " PYTHON ", "mode": mode})
    assert _match_names(lea, response) == expected


def test_slots_outside_the_window_do_not_match(
    app: Flask, lea: FlaskClient, teachers: None
) -> None:
    # 15:00-16:00 Berlin is 14:00-15:00 UTC: only the online teacher's slot fits.
    response = post_request(lea, {"ranges-0-start": "15:00", "ranges-0-end": "16:00"})
    assert _match_names(lea, response) == ["onlineteacher"]


def test_matches_show_times_in_the_viewers_zone(
    app: Flask, lea: FlaskClient, teachers: None
) -> None:
    response = post_request(lea, {"mode": "online"})
    p = page(lea.get(location(response)))
    assert "Tue 1 Dec 2026, 15:00–16:00 (Europe/Berlin) · Online" in p.main_text


def test_matches_come_a_page_at_a_time_soonest_then_by_name(app: Flask, lea: FlaskClient) -> None:
    """Twelve teachers free at the same time: ten on page 1 with a Next link and no count (it
    would mean confirming everyone), the last two on page 2 with the count; a stale page
    number shows the last page."""
    for n in range(12):
        teacher = person(app, f"t{n:02d}teacher")
        assert post_offer(teacher, {"ranges-0-start": "14:00", "ranges-0-end": "15:00"})
    response = post_request(lea)
    assert _match_names(lea, response) == [f"t{n:02d}teacher" for n in range(10)]
    first = page(lea.get(location(response)))
    assert "Teachers free when you are, soonest first (page 1)." in first.main_text
    assert "Next" in first.main_text and "Previous" not in first.main_text
    second = page(lea.get(location(response) + "?page=2"))
    assert [h.text for h in second.all("h2") if h.text.endswith("teacher")] == [
        "t10teacher",
        "t11teacher",
    ]
    assert "12 teachers free when you are (page 2)." in second.main_text
    assert "Previous" in second.main_text and "Next" not in second.main_text
    stale = page(lea.get(location(response) + "?page=9"))
    assert "12 teachers free when you are (page 2)." in stale.main_text


# --- access and delete ---------------------------------------------------------------------


def test_someone_elses_request_is_404_and_kept(app: Flask, lea: FlaskClient) -> None:
    post_request(lea)
    request_id = only_request(app).id
    mallory = person(app, "mallory")
    assert mallory.get(f"/request/{request_id}").status_code == 404
    token = csrf_token(mallory, "/request")
    assert mallory.post(
        f"/request/{request_id}/delete", data={"csrf_token": token}
    ).status_code == (404)
    assert only_request(app).id == request_id
    assert mallory.get("/request/unknown").status_code == 404


def test_delete_removes_the_request(app: Flask, lea: FlaskClient) -> None:
    post_request(lea)
    request_id = only_request(app).id
    response = lea.post(
        f"/request/{request_id}/delete", data={"csrf_token": csrf_token(lea, "/request")}
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/profile#requests")
    assert repo(app).schedule(uid(app, "lea")).requests == {}
    p = page(lea.get("/profile"))
    assert "Your request for Python is deleted." in p.main_text
    assert grouped(p, "requests") == {"Upcoming": [], "Past": []}
    assert lea.get(f"/request/{request_id}").status_code == 404

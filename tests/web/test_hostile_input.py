"""Hostile input across pages: markup typed into one page must come out escaped on every other
page that shows it; ids of other people's records open nothing and change nothing (IDOR);
refused input changes nothing in the store. Single-page cases live with their pages
(test_profile, test_offers, test_auth, test_bookings); this file is about the crossings."""

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from urllib.parse import quote, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from markupsafe import escape

from skillswap.domain.skills import normalise_skill
from skillswap.store import Store
from tests.support.app_fixtures import Clock, csrf_token
from tests.web.test_bookings import (
    DAY,
    book,
    booked_id,
    cancel,
    free_slots,
    person,
    publish,
    rate,
    text,
)

MARKUP = [
    pytest.param("<script>alert(1)</script>", id="script"),
    pytest.param('"><img src=x onerror=alert(1)>', id="attribute-break"),
]
PROFILE = {
    "display_name": "Tess",
    "bio": "",
    "teach": "",
    "learn": "",
    "links": "",
    "timezone": "America/New_York",
}


def store_of(app: Flask) -> Store:
    return app.extensions["skillswap.store"]


def snapshot(app: Flask) -> dict:
    """Every record in the store."""
    store = store_of(app)
    return store.get_many(store.keys(""))


def uid(app: Flask, username: str) -> str:
    return app.extensions["skillswap.repo"].find_user(username).id


def post_form(client: FlaskClient, path: str, fields: Mapping[str, str], token_from: str = ""):
    return client.post(path, data={**fields, "csrf_token": csrf_token(client, token_from or path)})


def post_profile(client: FlaskClient, **fields: str):
    return post_form(client, "/profile", {**PROFILE, **fields})


def post_request(client: FlaskClient, skill: str, **fields: str):
    data = {
        "skill": skill,
        "mode": "either",
        "dates-0": DAY,
        "ranges-0-start": "08:00",
        "ranges-0-end": "20:00",
        **fields,
    }
    return post_form(client, "/request", data)


def offer_fields(**fields: str) -> dict[str, str]:
    return {
        "title": "Intro",
        "skill": "Python",
        "description": "",
        "mode": "online",
        "dates-0": DAY,
        "ranges-0-start": "09:00",
        "ranges-0-end": "11:00",
        "session_minutes": "60",
        **fields,
    }


def assert_escaped(html: str, payload: str, where: str) -> None:
    assert payload not in html, f"raw markup on {where}"
    assert str(escape(payload)) in html, f"the escaped text is missing on {where}"


# --- markup typed in one place, shown in many ----------------------------------------------


@pytest.mark.parametrize("payload", MARKUP)
def test_markup_in_every_text_field_is_escaped_on_every_page(
    app: Flask, clock: Clock, payload: str
) -> None:
    tess = person(app, "tess", "America/New_York")
    leo = person(app, "leo", "Europe/Berlin")
    anonymous = app.test_client()
    bare = payload.replace(" ", "")  # links may not contain spaces
    response = post_profile(
        tess,
        display_name=payload,
        bio=payload,
        teach=f"{payload}, Python",
        learn=payload,
        links=f"https://example.com/?q={bare}",
    )
    assert response.status_code == 302, text(response)[-1500:]
    assert post_profile(leo, display_name=payload, timezone="Europe/Berlin").status_code == 302
    response = post_form(
        tess, "/offer", offer_fields(title=payload, skill=payload, description=payload)
    )
    assert response.status_code == 302, text(response)[-1500:]
    response = post_request(leo, payload)
    assert response.status_code == 302, text(response)[-1500:]
    matches_path = urlsplit(response.headers["Location"]).path

    skill = normalise_skill(payload)
    slots = free_slots(leo, "tess", quote(skill))
    assert len(slots) == 2
    first = booked_id(book(leo, "tess", slots[0], skill))
    assert cancel(leo, first, reason=payload).status_code == 302
    second = booked_id(book(leo, "tess", slots[1], skill))
    clock.set(clock.now.replace(month=12, day=2))
    assert rate(leo, second, "9", feedback=payload).status_code == 302
    assert rate(tess, second, "8", feedback=payload).status_code == 302

    offer_id = slots[0].partition(":")[0]
    pages = [
        (tess, "/profile"),  # name, bio, tags, links, offer title
        (anonymous, "/user/tess"),  # the same, public, and the feedback received
        (anonymous, "/user/leo"),  # leo's display name and feedback received
        (anonymous, f"/?q={quote(payload)}"),  # search: query kept, skill label, teacher name
        (leo, f"/book/tess?skill={quote(skill)}"),  # teacher name, skill label
        (leo, matches_path),  # the request's skill, the teacher's name and offer
        (leo, "/dashboard"),  # sessions, the cancel reason, feedback given and received
        (tess, "/dashboard"),
        (tess, "/notifications"),  # "leo cancelled: <reason>", "leo rated you"
        (tess, f"/offer/{offer_id}/edit"),  # the owner's edit form keeps what was typed
    ]
    for client, path in pages:
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        assert_escaped(response.get_data(as_text=True), payload, path)
    # The .ics export is text/calendar, not HTML: it carries the text as is, folded and
    # escaped by RFC 5545 rules, and is served so that no browser renders it.
    ics = leo.get(f"/booking/{second}.ics")
    assert ics.status_code == 200
    assert ics.mimetype == "text/calendar"
    assert ics.headers.get("X-Content-Type-Options") == "nosniff"


def test_javascript_link_text_never_becomes_an_href(app: Flask, clock: Clock) -> None:
    """`javascript:alert(1)` as a plain text field is harmless text; as a link it is refused;
    and nowhere does a page carry it in an href or src."""
    payload = "javascript:alert(1)"
    tess = person(app, "tess", "America/New_York")
    leo = person(app, "leo", "Europe/Berlin")
    assert post_profile(tess, display_name=payload, bio=payload, teach=payload).status_code == 302
    publish(tess, title=payload)
    booked_id(book(leo, "tess", free_slots(leo, "tess")[0]))
    for client, path in (
        (tess, "/profile"),
        (leo, "/user/tess"),
        (leo, "/dashboard"),
        (leo, "/book/tess"),
        (leo, "/?q=python"),
    ):
        html = client.get(path).get_data(as_text=True)
        if path != "/dashboard":  # which names the skill and the person, not the title
            assert payload in html, path  # shown as text
        assert not re.search(r"""(href|src|action)\s*=\s*["']?\s*javascript:""", html, re.I)


@pytest.mark.parametrize(
    "link",
    [
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        " javascript:alert(1)",
        "java\tscript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "vbscript:msgbox(1)",
        "//evil.example/x",
        "https://",
    ],
)
def test_unsafe_links_are_refused_and_nothing_is_saved(app: Flask, link: str) -> None:
    tess = person(app, "tess", "UTC")
    before = snapshot(app)
    response = post_profile(tess, links=f"https://ok.example\n{link}")
    assert response.status_code == 400
    assert "Links must start with http:// or https://" in text(
        response
    ) or "Enter a full address" in text(response)
    assert snapshot(app) == before
    assert 'href="' + link not in response.get_data(as_text=True)


# --- oversized and malformed input ---------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "fields", "message"),
    [
        ("/profile", {**PROFILE, "display_name": "x" * 61}, "Keep your name to 60 characters"),
        ("/offer", offer_fields(title="x" * 101), "Keep the title to 100 characters"),
        ("/offer", offer_fields(description="x" * 2001), "Keep the description to 2,000"),
        ("/request", {"skill": "x" * 41, "mode": "either", "dates-0": DAY,
                      "ranges-0-start": "08:00", "ranges-0-end": "09:00"},
         "Keep the skill to 40 characters"),
    ],
)  # fmt: skip
def test_oversized_fields_are_refused_with_a_message(
    app: Flask, path: str, fields: dict, message: str
) -> None:
    tess = person(app, "tess", "America/New_York")
    before = snapshot(app)
    response = post_form(tess, path, fields)
    assert response.status_code == 400
    assert message in text(response)
    assert snapshot(app) == before


def test_an_oversized_cancel_reason_is_refused_and_the_session_kept(
    app: Flask, tess: FlaskClient, leo: FlaskClient, session: str
) -> None:
    before = snapshot(app)
    response = cancel(leo, session, reason="x" * 501)
    assert response.status_code == 400
    assert "Keep the reason to 500 characters" in text(response)
    assert snapshot(app) == before


def test_a_body_over_the_limit_is_a_413_page_and_saves_nothing(app: Flask) -> None:
    tess = person(app, "tess", "UTC")
    before = snapshot(app)
    response = post_profile(tess, bio="x" * (300 * 1024))
    assert response.status_code == 413
    assert "Too much data" in text(response)
    assert snapshot(app) == before


@pytest.mark.parametrize(
    ("path", "field"),
    [("/login", "login"), ("/signup", "email"), ("/forgot-password", "email")],
)
def test_a_field_sent_as_a_file_is_no_field_not_a_500(app: Flask, path: str, field: str) -> None:
    """No page takes uploads. Flask-WTF reads file parts as form fields, so a file part named
    like a text field reached the code as a file object: a 500 on nearly every form."""
    person(app, "ada", "UTC")
    client = app.test_client()
    data = {
        "csrf_token": csrf_token(client, path),
        "password": "correct horse battery",
        field: (io.BytesIO(b"ada"), "ada.txt"),
    }
    response = client.post(path, data=data, content_type="multipart/form-data")
    assert response.status_code == 400
    assert "This field is required" in text(response) or "Enter" in text(response)


def test_a_box_sent_as_a_file_part_is_not_ticked(app: Flask) -> None:
    tess = person(app, "tess", "UTC")
    response = tess.post(
        "/account/mail",
        data={"csrf_token": csrf_token(tess, "/account"), "bookings": (io.BytesIO(b"y"), "y")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    # As if no box were ticked: every optional mail off, the bookings' too.
    assert "bookings" in snapshot(app)[f"user/{uid(app, 'tess')}"]["mail_off"]


@pytest.mark.parametrize(
    "fields",
    [
        {"dates-0": "2026-02-30"},
        {"dates-0": "01/12/2026"},
        {"dates-0": "２０２６-１２-０１"},
        {"dates-0": "2026-12-01T09:00"},
        {"ranges-0-start": "25:00"},
        {"ranges-0-start": "9am"},
        {"ranges-0-end": "10:00:30"},
        {"ranges-0-start": "١٠:٠٠"},
        {"session_minutes": "-60"},
        {"session_minutes": "1e9"},
        {"mode": "teleport"},
    ],
    ids=lambda f: "-".join(f"{k}={v}" for k, v in f.items()),
)
def test_malformed_offer_input_is_refused_and_nothing_changes(app: Flask, fields: dict) -> None:
    tess = person(app, "tess", "America/New_York")
    before = snapshot(app)
    response = post_form(tess, "/offer", offer_fields(**fields))
    assert 400 <= response.status_code < 500
    assert snapshot(app) == before


@pytest.mark.parametrize(
    "zone", ["Mars/Olympus_Mons", "../../../etc/passwd", "America", "UTC\x00", "x" * 300, ""]
)
def test_malformed_time_zones_are_refused_or_ignored(app: Flask, zone: str) -> None:
    tess = person(app, "tess", "America/New_York")
    response = post_profile(tess, timezone=zone)
    assert 400 <= response.status_code < 500 or response.status_code == 302
    saved = app.extensions["skillswap.repo"].get_user(uid(app, "tess")).timezone
    assert saved == "America/New_York"
    assert tess.get("/profile").status_code == 200


@pytest.mark.parametrize(
    "slot",
    [
        "{offer}:2026-12-01T0900-1000' OR '1'='1",
        "{offer}:../../schedule",
        "{offer}:" + "9" * 5000,
        "{offer}",
        ":",
        "{offer}:2026-12-01T0900-1000\x00",
    ],
)
def test_unknown_or_forged_slot_ids_are_refused_and_nothing_changes(
    app: Flask, tess: FlaskClient, leo: FlaskClient, slot: str
) -> None:
    offer = free_slots(leo, "tess")[0].partition(":")[0]
    before = snapshot(app)
    response = book(leo, "tess", slot.format(offer=offer))
    assert response.status_code == 400
    assert snapshot(app) == before


# --- other people's ids (IDOR) -------------------------------------------------------------


def test_other_peoples_ids_open_nothing_and_change_nothing(
    app: Flask, clock: Clock, tess: FlaskClient, leo: FlaskClient, xia: FlaskClient
) -> None:
    """xia (in no session, owning nothing) tries every id of tess's and leo's she can learn."""
    session = booked_id(book(leo, "tess", free_slots(leo, "tess")[0]))
    response = post_request(leo, "Python")
    assert response.status_code == 302
    request_id = urlsplit(response.headers["Location"]).path.rsplit("/", 1)[-1]
    tess_slot = free_slots(leo, "tess")[0]
    offer_id = tess_slot.partition(":")[0]
    clock.set(clock.now.replace(month=12, day=2))  # past the session: reviewable by its people
    before = snapshot(app)
    token = csrf_token(xia, "/logout")
    attempts = [
        ("GET", f"/offer/{offer_id}/edit", {}),
        ("POST", f"/offer/{offer_id}/edit", offer_fields(title="Hijacked")),
        ("POST", f"/offer/{offer_id}/delete", {}),
        ("GET", f"/booking/{session}/cancel", {}),
        ("POST", f"/booking/{session}/cancel", {"reason": "mine now"}),
        ("GET", f"/booking/{session}/review", {}),
        ("POST", f"/booking/{session}/review", {"rating": "1", "feedback": "bad"}),
        ("GET", f"/booking/{session}.ics", {}),
        ("GET", f"/request/{request_id}", {}),
        ("POST", f"/request/{request_id}/delete", {}),
        ("POST", "/learners/invite", {"request_id": request_id}),
        # Joining a waitlist with leo's request (issue 21): only one's own requests count.
        ("POST", "/waitlist/join", {"request_id": request_id, "teacher": "tess"}),
    ]
    for method, path, fields in attempts:
        if method == "GET":
            response = xia.get(path)
        else:
            response = xia.post(path, data={**fields, "csrf_token": token})
        assert response.status_code in (403, 404), (method, path, response.status_code)
        assert "Hijacked" not in response.get_data(as_text=True)
    # Booking tess's offer through another teacher's page names an offer that is not theirs.
    publish(xia, skill="Python", title="Xia's class", day="2026-12-03")
    clock.set(clock.now.replace(month=11, day=23))
    forged = book(leo, "xia", tess_slot)
    assert forged.status_code == 400
    after = snapshot(app)
    # xia's own offer is the only change: nothing of tess's or leo's moved (the indexes list
    # everyone's offers, so xia's lands there too).
    derived = ("skill/", "skillhead/", "slots/")
    for key in before:
        if uid(app, "xia") not in key and not key.startswith(derived):
            assert after.get(key) == before[key], key
    new_keys = {k for k in after if k not in before and not k.startswith(derived)}
    assert new_keys <= {f"schedule/{uid(app, 'xia')}", f"card/{uid(app, 'xia')}"}


# --- open redirects ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    [
        "///evil.example",
        "/\\/evil.example",
        " //evil.example",
        "\n//evil.example",
        "https:/evil.example",
        "//evil.example/%2F..",
        "/%5C%5Cevil.example",
        "//[",  # urlsplit raises on an unclosed IPv6 bracket: the default page, not a 500
        "/[::1",
        # urlsplit drops tabs and line breaks before it parses, so these passed its checks
        # and reached the Location header: a 500 after the login had happened.
        "/x\r\nSet-Cookie: a=b",
        "/a\nb",
        "/a\tb",
        "/a\x00b",
    ],
)
def test_login_next_never_leaves_the_site(app: Flask, target: str) -> None:
    person(app, "ada", "UTC")
    client = app.test_client()
    response = client.post(
        "/login",
        data={
            "login": "ada",
            "password": "correct horse battery",
            "next": target,
            "csrf_token": csrf_token(client, "/login"),
        },
    )
    assert response.status_code == 302
    parts = urlsplit(response.headers["Location"])
    assert parts.netloc in ("", "localhost"), response.headers["Location"]
    assert parts.path.startswith("/") and not parts.path.startswith("//")
    assert "\\" not in response.headers["Location"]
    assert not re.search(r"[\x00-\x1f\x7f]", response.headers["Location"])
    # Logged in already, the login page sends the person on at once, by the same rule.
    again = client.get("/login", query_string={"next": target})
    assert again.status_code == 302
    assert not re.search(r"[\x00-\x1f\x7f]", again.headers["Location"])

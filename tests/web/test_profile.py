"""Profiles through the test client: editing your own, reading someone else's, escaping, stats."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

import pytest
from flask import Flask, url_for
from flask.testing import FlaskClient

from skillswap.domain import zones
from tests.support.app_fixtures import Clock, csrf_token
from tests.web.test_auth import Page, assert_field_error, location, page
from tests.web.test_offers import (
    assert_kept,
    book,
    errors_at,
    form_values,
    grouped,
    person,
    post_offer,
    repo,
    submit,
    uid,
)

PROFILE: dict[str, str] = {
    "display_name": "Ada Lovelace",
    "bio": "I write programs for engines.",
    "teach": "Python, Machine Learning",
    "learn": "Welsh",
    "links": "https://github.com/ada",
    "timezone": "Europe/London",
}
XSS = "<script>alert(1)</script>"


@pytest.fixture
def ada(app: Flask) -> FlaskClient:
    return person(app, "ada")


def post_profile(client: FlaskClient, fields: Mapping[str, str | None] = {}):
    return submit(client, "/profile/edit", PROFILE, fields)


def user(app: Flask, username: str = "ada"):
    return repo(app).get_user(uid(app, username))


def tags(p: Page, label: str) -> list[str]:
    lists = p.all("ul", aria_label=label)
    assert len(lists) == 1, f"no tag list {label!r}"
    return [li.text for li in lists[0].walk() if li.tag == "li"]


def stats(p: Page) -> list[str]:
    return [n.text for n in p.all("p", class_="stat")]


def _refused(app: Flask, client: FlaskClient, fields: Mapping[str, str | None]) -> Page:
    before = user(app)
    response = post_profile(client, fields)
    assert response.status_code == 400
    assert user(app) == before, "nothing is saved when anything is wrong"
    return page(response)


# --- editing your own profile --------------------------------------------------------------


def test_profile_needs_login(client: FlaskClient) -> None:
    response = client.get("/profile")
    assert response.status_code == 302
    assert location(response).startswith("/login")


def test_edit_form_is_prefilled_with_the_saved_profile(app: Flask, ada: FlaskClient) -> None:
    values = form_values(page(ada.get("/profile/edit")))
    assert values["display_name"] == ""
    assert values["timezone"] == "UTC"
    post_profile(
        ada, {"teach": "Python\nMachine Learning", "links": "https://a.example\nhttp://b.example"}
    )
    values = form_values(page(ada.get("/profile/edit")))
    assert values["display_name"] == "Ada Lovelace"
    assert values["bio"] == "I write programs for engines."
    assert values["teach"] == "Python, Machine Learning"
    assert values["links"] == "https://a.example\nhttp://b.example"
    assert values["timezone"] == "Europe/London"


def test_a_form_opened_before_editing_moved_still_saves(app: Flask, ada: FlaskClient) -> None:
    response = submit(ada, "/profile", PROFILE, {"bio": "Sent to the old address"})
    assert response.status_code == 302
    assert user(app).bio == "Sent to the old address"


def test_edit_saves_every_field(app: Flask, ada: FlaskClient) -> None:
    response = post_profile(ada)
    assert response.status_code == 302
    assert location(response) == "/profile"
    saved = user(app)
    assert saved.display_name == "Ada Lovelace"
    assert saved.bio == "I write programs for engines."
    assert saved.teach == ["Python", "Machine Learning"]
    assert saved.learn == ["Welsh"]
    assert saved.links == ["https://github.com/ada"]
    assert saved.timezone == "Europe/London"

    p = page(ada.get("/profile"))
    assert "Your profile is saved." in p.main_text
    assert p.all("h1")[0].text == "Ada Lovelace"
    assert "time zone Europe/London" in p.main_text
    assert tags(p, "I can teach") == ["Python", "Machine Learning"]
    assert tags(p, "I want to learn") == ["Welsh"]


def test_tags_are_shown_as_typed_split_on_commas_and_new_lines(
    app: Flask, ada: FlaskClient
) -> None:
    typed = "  machine   Learning ,C++\nRust,\n\n, PYTHON\npython, Rust "
    assert post_profile(ada, {"teach": typed}).status_code == 302
    # Spacing tidied, case kept, case-insensitive repeats and blanks dropped.
    assert user(app).teach == ["machine Learning", "C++", "Rust", "PYTHON"]
    assert tags(page(ada.get("/profile")), "I can teach") == [
        "machine Learning",
        "C++",
        "Rust",
        "PYTHON",
    ]


def test_teach_tags_feed_the_skill_index(app: Flask, ada: FlaskClient) -> None:
    post_profile(ada, {"teach": "Machine-Learning"})
    assert repo(app).skill_index("machine learning")["taggers"] == {
        uid(app, "ada"): "Machine-Learning"
    }
    post_profile(ada, {"teach": ""})
    assert repo(app).skill_index("machine learning")["taggers"] == {}


def test_twenty_tags_are_fine_twenty_one_are_refused(app: Flask, ada: FlaskClient) -> None:
    twenty = ", ".join(f"skill{n}" for n in range(20))
    assert post_profile(ada, {"teach": twenty}).status_code == 302
    assert len(user(app).teach) == 20

    fields = {"learn": "\n".join(f"topic{n}" for n in range(21)), "bio": "changed"}
    p = _refused(app, ada, fields)
    assert_field_error(p, "learn", "List at most 20 skills (you listed 21)")
    assert_kept(p, {**PROFILE, **fields})


def test_duplicates_do_not_count_towards_the_limit(app: Flask, ada: FlaskClient) -> None:
    typed = ", ".join(f"skill{n}" for n in range(20)) + ", SKILL0, Skill1"
    assert post_profile(ada, {"teach": typed}).status_code == 302
    assert len(user(app).teach) == 20


def test_overlong_tag_is_refused(app: Flask, ada: FlaskClient) -> None:
    fields = {"teach": "Python, " + "x" * 41}
    p = _refused(app, ada, fields)
    assert_field_error(p, "teach", "Keep each skill to 40 characters")
    assert_kept(p, {**PROFILE, **fields})


@pytest.mark.parametrize(
    "bad",
    ["javascript:alert(1)", "data:text/html,x", "ftp://x", "JavaScript:alert(1)", "github.com/ada"],
)
def test_links_must_be_http_or_https(app: Flask, ada: FlaskClient, bad: str) -> None:
    fields = {"links": f"https://ok.example\n{bad}", "display_name": "Changed"}
    p = _refused(app, ada, fields)
    assert_field_error(p, "links", "Links must start with http:// or https://")
    assert bad in p.by_id("links-error").text
    assert_kept(p, {**PROFILE, **fields})
    assert user(app).links == []


def test_link_without_a_host_is_refused(app: Flask, ada: FlaskClient) -> None:
    p = _refused(app, ada, {"links": "https://"})
    assert_field_error(p, "links", "Enter a full address")


def test_a_link_the_url_parser_refuses_is_a_field_error_not_a_crash(
    app: Flask, ada: FlaskClient
) -> None:
    fields = {"links": "https://ok.example\nhttps://[", "display_name": "Changed"}
    p = _refused(app, ada, fields)
    assert_field_error(p, "links", "Enter a full address")
    assert_kept(p, {**PROFILE, **fields})


def test_more_than_five_links_are_refused(app: Flask, ada: FlaskClient) -> None:
    fields = {"links": "\n".join(f"https://site{n}.example" for n in range(6))}
    p = _refused(app, ada, fields)
    assert_field_error(p, "links", "Add at most 5 links")
    assert_kept(p, {**PROFILE, **fields})


def test_links_are_rendered_safely(app: Flask, ada: FlaskClient) -> None:
    post_profile(ada, {"links": "https://github.com/ada\nhttp://ada.example/?a=1&b=2"})
    for path in ("/profile", "/user/ada"):
        p = page(ada.get(path))
        anchors = [
            a for a in p.all("a") if a.attrs.get("href", "").startswith(("http://", "https://"))
        ]
        assert [a.attrs["href"] for a in anchors] == [
            "https://github.com/ada",
            "http://ada.example/?a=1&b=2",
        ]
        for a in anchors:
            assert set(a.attrs["rel"].split()) == {"noopener", "nofollow", "ugc"}


def test_bio_over_1000_characters_is_refused_and_kept(app: Flask, ada: FlaskClient) -> None:
    fields = {"bio": "b" * 1001}
    p = _refused(app, ada, fields)
    assert_field_error(p, "bio", "Keep your bio to 1000 characters")
    assert_kept(p, {**PROFILE, **fields})


def test_bio_of_1000_characters_is_fine(app: Flask, ada: FlaskClient) -> None:
    assert post_profile(ada, {"bio": "b" * 1000}).status_code == 302
    assert user(app).bio == "b" * 1000


def test_display_name_over_60_characters_is_refused(app: Flask, ada: FlaskClient) -> None:
    fields = {"display_name": "n" * 61}
    p = _refused(app, ada, fields)
    assert_field_error(p, "display_name", "Keep your name to 60 characters")
    assert_kept(p, {**PROFILE, **fields})


SUMMER = "so that summer time is right"


@pytest.mark.parametrize(
    ("zone", "said"),
    [
        ("Mars/Olympus", "No time zone is called “Mars/Olympus”: type a city, like London"),
        ("", "Choose a time zone: type a city, like London"),
        ("../../etc/passwd", "No time zone is called “../../etc/passwd”: type a city, like London"),
        ("America", "No time zone is called “America”: type a city, like London"),
        ("Londn", "No time zone is called “Londn”. Did you mean Europe/London?"),
        ("EST", f"“EST” is an abbreviation: type your city instead, like New York, {SUMMER}"),
        ("pst", f"“pst” is an abbreviation: type your city instead, like Los Angeles, {SUMMER}"),
        ("GMT", f"“GMT” is an abbreviation: type your city instead, like London or UTC, {SUMMER}"),
        ("Springfield", "Springfield is in 2 zones: choose America/Chicago or America/New_York"),
    ],
)
def test_invalid_time_zone_is_refused(
    app: Flask, ada: FlaskClient, zone: str, said: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No city of today's database is in two zones; a future one may have one.
    two = {"springfield": ("America/Chicago", "America/New_York")}
    places = zones._zones_by_place() | two
    monkeypatch.setattr(zones, "_zones_by_place", lambda: places)
    fields = {"timezone": zone}
    p = _refused(app, ada, fields)
    assert_field_error(p, "timezone", said)
    assert_kept(p, {**PROFILE, **fields})
    assert user(app).timezone == "UTC"


def test_a_zone_saved_as_an_abbreviation_does_not_block_other_changes(
    app: Flask, ada: FlaskClient
) -> None:
    """ "EST" was taken before abbreviations were refused: the profile shows it, and saving a
    new bio with it unchanged must not be refused (a review of f135f63)."""
    repo(app).change_user(uid(app, "ada"), lambda data: {**data, "timezone": "EST"})
    assert post_profile(ada, {"bio": "New bio", "timezone": "EST"}).status_code == 302
    assert (user(app).bio, user(app).timezone) == ("New bio", "EST")
    assert post_profile(ada, {"timezone": "GMT"}).status_code == 400  # typed anew: refused


@pytest.mark.parametrize("typed", ["London", "london", " europe/london "])
def test_a_time_zone_is_found_by_its_city(app: Flask, ada: FlaskClient, typed: str) -> None:
    """The box's hint says "Type a city, like “London”", and "London" was refused."""
    response = post_profile(ada, {"timezone": typed})
    assert response.status_code == 302
    assert user(app).timezone == "Europe/London"


def test_several_problems_are_all_shown(app: Flask, ada: FlaskClient) -> None:
    fields = {"bio": "b" * 1001, "links": "ftp://x", "timezone": "Nowhere/Land"}
    p = _refused(app, ada, fields)
    assert set(errors_at(p)) == {"bio", "links", "timezone"}
    assert_kept(p, {**PROFILE, **fields})


def test_missing_csrf_token_keeps_the_input(app: Flask, ada: FlaskClient) -> None:
    before = user(app)
    response = ada.post("/profile", data=PROFILE)
    assert response.status_code == 400
    p = page(response)
    assert "This form had expired" in p.all("div", role="alert")[0].text
    assert_kept(p, PROFILE)
    assert user(app) == before


def test_time_zone_change_moves_how_times_are_shown(app: Flask, ada: FlaskClient) -> None:
    post_offer(ada, {"dates-0": "2026-12-01", "ranges-0-start": "09:00", "ranges-0-end": "10:00"})
    post_profile(ada, {"timezone": "Asia/Tokyo"})
    p = page(ada.get("/profile"))
    # Offer cards keep the zone the offer was entered in; the first session is shown in Tokyo.
    assert "09:00–10:00 (UTC)" in p.main_text
    assert "Tue 1 Dec 2026, 18:00–19:00 (Asia/Tokyo)" in p.main_text


# --- the public profile --------------------------------------------------------------------


def test_public_profile_is_read_only(app: Flask, ada: FlaskClient, client: FlaskClient) -> None:
    post_profile(ada)
    for viewer in (client, person(app, "bob"), ada):
        response = viewer.get("/user/ada")
        assert response.status_code == 200
        p = page(response)
        assert p.all("h1")[0].text == "Ada Lovelace"
        assert "I write programs for engines." in p.main_text
        assert tags(p, "Teaches") == ["Python", "Machine Learning"]
        assert tags(p, "Wants to learn") == ["Welsh"]
        main = p.all("main")[0]
        assert not [n for n in main.walk() if n.tag in ("form", "textarea", "select")]
        assert not [n for n in main.walk() if n.attrs.get("name") == "display_name"]


def test_public_profile_lookup_ignores_case(ada: FlaskClient, client: FlaskClient) -> None:
    assert client.get("/user/ADA").status_code == 200


@pytest.mark.parametrize("name", ["nobody", "ada@example.com", "a%20b"])
def test_unknown_user_is_a_friendly_404(ada: FlaskClient, client: FlaskClient, name: str) -> None:
    response = client.get(f"/user/{name}")
    assert response.status_code == 404
    p = page(response)
    assert "Page not found" in p.main_text
    assert "does not exist" in p.main_text


def test_public_profile_lists_free_times_to_book(app: Flask, ada: FlaskClient) -> None:
    post_offer(ada, {"title": "Python hour"})
    bob = person(app, "bob", "Europe/Berlin")
    p = page(bob.get("/user/ada"))
    assert "Tue 1 Dec 2026, 10:00–11:00 (Europe/Berlin) · Python · Online" in p.main_text
    assert [a.attrs["href"] for a in p.all("a") if a.text == "Book a session"] == ["/book/ada"]
    own = page(ada.get("/user/ada"))
    assert not [a for a in own.all("a") if a.text == "Book a session"]


@pytest.mark.parametrize(("end", "more"), [("10:30", False), ("11:00", True)])
def test_a_search_result_lists_the_soonest_free_times_and_says_when_there_are_more(
    app: Flask, ada: FlaskClient, end: str, more: bool
) -> None:
    # 30-minute sessions from 09:00: three end at 10:30 (as many as a result shows), four
    # at 11:00.
    post_offer(ada, {"session_minutes": "30", "ranges-0-end": end})
    text = page(person(app, "bob", "UTC").get("/?q=Python")).main_text
    assert "Next free: Tue 1 Dec 2026, 09:00–09:30 (UTC); " in text
    assert "10:00–10:30 (UTC)" in text
    assert "10:30–11:00" not in text
    assert ("and more on their page" in text) is more


@pytest.mark.parametrize(("end", "listed", "more"), [("15:00", 12, False), ("15:30", 12, True)])
def test_public_profile_lists_the_soonest_twelve_free_times(
    app: Flask, ada: FlaskClient, end: str, listed: int, more: bool
) -> None:
    # 30-minute sessions from 09:00: twelve end at 15:00, thirteen at 15:30.
    post_offer(ada, {"session_minutes": "30", "ranges-0-end": end})
    p = page(person(app, "bob", "UTC").get("/user/ada"))
    times = [li.text for li in p.all("li") if " · Python · Online" in li.text]
    assert len(times) == listed
    assert times[0].startswith("Tue 1 Dec 2026, 09:00–09:30")
    assert times[-1].startswith("Tue 1 Dec 2026, 14:30–15:00")
    assert ("The soonest 12; the booking page lists them all." in p.main_text) is more


# --- stats ---------------------------------------------------------------------------------


def test_new_user_has_zero_stats_and_no_ratings_yet(ada: FlaskClient, client: FlaskClient) -> None:
    for viewer, path in ((ada, "/profile"), (client, "/user/ada")):
        shown = stats(page(viewer.get(path)))
        assert shown[0] == "0 sessions taught"
        assert shown[1] == "0 sessions attended"
        assert "No ratings yet" in shown[2]


def test_stats_count_sessions_and_average_ratings(
    app: Flask, clock: Clock, ada: FlaskClient, client: FlaskClient
) -> None:
    post_offer(ada)
    offer = next(iter(repo(app).schedule(uid(app, "ada")).offers.values()))
    bob = person(app, "bob")
    assert book(app, bob, "ada", "python", offer.id, offer.slots[0].id).status_code == 302
    booking_id = next(iter(repo(app).schedule(uid(app, "bob")).bookings))
    # A week after the session: unconfirmed, it counts as held by now (domain/attendance.py).
    clock.set(datetime(2026, 12, 8, 11, tzinfo=UTC))
    for rater, rating in ((bob, "9"), (ada, "7")):
        path = f"/booking/{booking_id}/review"
        response = rater.post(path, data={"csrf_token": csrf_token(rater, path), "rating": rating})
        assert response.status_code == 302
    assert stats(page(client.get("/user/ada")))[:2] == ["1 session taught", "0 sessions attended"]
    assert "9.0/10 average from 1 rating" in stats(page(client.get("/user/ada")))[2]
    assert stats(page(bob.get("/profile")))[:2] == ["0 sessions taught", "1 session attended"]
    assert "7.0/10 average from 1 rating" in stats(page(bob.get("/profile")))[2]


# --- escaping ------------------------------------------------------------------------------


def test_markup_is_escaped_everywhere(app: Flask, ada: FlaskClient, client: FlaskClient) -> None:
    fields = {"display_name": XSS, "bio": XSS, "teach": XSS, "learn": XSS}
    assert post_profile(ada, fields).status_code == 302
    assert user(app).display_name == XSS
    post_offer(ada, {"title": XSS, "skill": "Python"})
    for viewer, path in ((ada, "/profile"), (client, "/user/ada")):
        html = viewer.get(path).get_data(as_text=True)
        assert XSS not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        p = page(viewer.get(path))
        assert p.all("h1")[0].text == XSS
        assert tags(p, "I can teach" if path == "/profile" else "Teaches")[0] == XSS


def test_markup_in_refused_input_is_escaped(app: Flask, ada: FlaskClient) -> None:
    fields = {"bio": XSS + "b" * 1000, "links": f"javascript:{XSS}"}
    response = post_profile(ada, fields)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert XSS not in html
    assert_kept(page(response), {**PROFILE, **fields})


# --- grouping on the profile ---------------------------------------------------------------


def test_offer_for_tomorrow_is_past_a_week_later(
    app: Flask, clock: Clock, ada: FlaskClient
) -> None:
    post_offer(ada, {"title": "Tomorrow's class", "dates-0": "2026-11-24"})
    assert grouped(page(ada.get("/profile")), "offers") == {
        "Upcoming": ["Tomorrow's class"],
        "Past": [],
    }
    clock.set(datetime(2026, 11, 30, 12, tzinfo=UTC))
    assert grouped(page(ada.get("/profile")), "offers") == {
        "Upcoming": [],
        "Past": ["Tomorrow's class"],
    }


def test_the_profile_links_to_its_editing_page(app: Flask, ada: FlaskClient) -> None:
    html = ada.get("/profile").get_data(as_text=True)
    assert 'href="/profile/edit"' in html
    with app.test_request_context():
        assert url_for("profile.edit") == "/profile/edit"


def test_a_skill_tag_without_letters_is_refused_as_on_the_offer_form(
    app: Flask, ada: FlaskClient
) -> None:
    """Profile tags "😀" and "!!!" were saved: listed on the profile, never findable or
    bookable, while the offer form refused the same text (an outside probe)."""
    fields = {"teach": "Python, 😀", "learn": "\u034f"}
    p = _refused(app, ada, fields)
    assert_field_error(p, "teach", "😀: Name the skill with letters or digits")
    assert_field_error(p, "learn", ": Name the skill with letters or digits")
    assert_kept(p, {**PROFILE, **fields})


@pytest.mark.parametrize("name", ["\u200b", "\u3164", "\u034f", "\u2060\ufeff"])
def test_a_name_of_invisible_characters_is_no_name(app: Flask, ada: FlaskClient, name: str) -> None:
    """Pages showed nothing where the name goes ("Booked: Python with ."): the username
    shows instead, as for an empty name."""
    assert post_profile(ada, {"display_name": name}).status_code == 302
    assert user(app).display_name == ""
    assert user(app).name == "ada"

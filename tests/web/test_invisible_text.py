"""Text is stored as people meant it: no NUL or other control characters, no direction
overrides that make a link or a name show as something else, and one Unicode form (NFC)."""

from __future__ import annotations

import pytest
from flask import Flask

from skillswap.domain.text import normalise, text_problem
from tests.web.test_auth import assert_field_error, page
from tests.web.test_hostile_input import (
    PROFILE,
    offer_fields,
    post_form,
    post_profile,
    post_request,
    snapshot,
)
from tests.web.test_offers import person

RLO = "\u202e"  # RIGHT-TO-LEFT OVERRIDE: "https://\u202emoc.live" shows as "https://evil.com"
TRICKS = [
    pytest.param(RLO, id="right-to-left-override"),
    pytest.param("\u2066", id="left-to-right-isolate"),
    pytest.param("\x00", id="nul"),
    pytest.param("\x1b", id="escape"),
    pytest.param("\x7f", id="delete"),
]


@pytest.mark.parametrize("trick", TRICKS)
@pytest.mark.parametrize(
    ("path", "field", "fields"),
    [
        ("/profile", "display_name", lambda t: {**PROFILE, "display_name": f"Tess{t}"}),
        ("/profile", "links", lambda t: {**PROFILE, "links": f"https://{t}evil.com"}),
        ("/profile", "teach", lambda t: {**PROFILE, "teach": f"Python, Go{t}lang"}),
        ("/profile", "bio", lambda t: {**PROFILE, "bio": f"Hello{t}"}),
        ("/offer", "title", lambda t: offer_fields(title=f"Intro{t}")),
        ("/offer", "skill", lambda t: offer_fields(skill=f"Py{t}thon")),
        ("/offer", "description", lambda t: offer_fields(description=f"All{t} welcome")),
    ],
    ids=["name", "link", "tag", "bio", "title", "skill", "description"],
)
def test_invisible_characters_are_refused_at_the_field(
    app: Flask, trick: str, path: str, field: str, fields
) -> None:
    tess = person(app, "tess")
    before = snapshot(app)
    response = post_form(tess, path, fields(trick))
    assert response.status_code == 400
    p = page(response)
    code = f"U+{ord(trick):04X}"
    assert_field_error(p, field, code)
    assert snapshot(app) == before


def test_a_request_skill_with_an_override_is_refused(app: Flask) -> None:
    tess = person(app, "tess")
    before = snapshot(app)
    response = post_request(tess, f"Gu{RLO}itar")
    assert response.status_code == 400
    assert_field_error(page(response), "skill", "U+202E")
    assert snapshot(app) == before


def test_multiline_fields_keep_new_lines_and_tabs(app: Flask) -> None:
    tess = person(app, "tess")
    response = post_profile(tess, bio="Line one\r\n\tLine two", teach="Python\nGo")
    assert response.status_code == 302
    user = app.extensions["skillswap.repo"].find_user("tess")
    assert user.bio == "Line one\n\tLine two"
    assert user.teach == ["Python", "Go"]


def test_a_single_line_field_refuses_a_new_line(app: Flask) -> None:
    tess = person(app, "tess")
    response = post_form(tess, "/offer", offer_fields(title="Intro\nto Python"))
    assert response.status_code == 400
    assert_field_error(page(response), "title", "Keep this on one line")


def test_text_is_stored_in_one_unicode_form(app: Flask) -> None:
    tess = person(app, "tess")
    decomposed = "Rene\u0301e Cafe\u0301"  # e + COMBINING ACUTE ACCENT
    assert post_profile(tess, display_name=decomposed, bio=decomposed).status_code == 302
    user = app.extensions["skillswap.repo"].find_user("tess")
    assert user.display_name == "Ren\u00e9e Caf\u00e9"
    assert user.bio == "Ren\u00e9e Caf\u00e9"


# --- the rule itself (skillswap/domain/text.py) --------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["Ada Lovelace", "Zoë", "日本語", "مرحبا", "emoji 🎸", "C++ & C#", "a\u00a0b", "x\u200dy"],
)
def test_ordinary_text_in_any_script_is_fine(text: str) -> None:
    assert text_problem(text) is None
    assert text_problem(text, multiline=True) is None


@pytest.mark.parametrize("char", ["\u061c", "\u200e", "\u200f", *map(chr, range(0x202A, 0x202F))])
def test_every_direction_control_is_named(char: str) -> None:
    problem = text_problem(f"a{char}b", multiline=True)
    assert problem is not None
    assert f"U+{ord(char):04X}" in problem


def test_normalise_composes_and_unifies_line_ends() -> None:
    assert normalise("e\u0301\r\nx\ry") == "\u00e9\nx\ny"

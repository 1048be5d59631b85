"""The forms on their own (no route): filters and checks that every form shares."""

from __future__ import annotations

import unicodedata

from flask import Flask
from werkzeug.datastructures import MultiDict

from skillswap.web.offers.forms import OfferForm


def offer_form(app: Flask, **fields: str) -> OfferForm:
    app.config["WTF_CSRF_ENABLED"] = False
    with app.test_request_context(method="POST"):
        form = OfferForm(formdata=MultiDict(fields))
        form.validate()
        return form


def test_text_is_stored_in_one_unicode_form_without_surrounding_spaces(app: Flask) -> None:
    decomposed = unicodedata.normalize("NFD", "  Café crème  ")
    form = offer_form(app, title=decomposed, skill="Python")
    assert form.title.data == "Café crème"
    assert "title" not in form.errors


def test_a_title_of_spaces_is_no_title(app: Flask) -> None:
    assert offer_form(app, title="   ", skill="Python").errors["title"] == [
        "Give your session a title"
    ]


def test_a_skill_needs_letters_or_digits(app: Flask) -> None:
    errors = offer_form(app, title="Intro", skill="!!!").errors["skill"]
    assert errors == ["Name the skill with letters or digits, like “Python” or “C++”"]


def test_a_skill_that_would_make_too_long_a_key_is_refused_at_the_field(app: Flask) -> None:
    # 40 characters typed, 720 once normalised (NFKC): the form says so, nothing reaches a key.
    assert offer_form(app, title="Intro", skill="\ufdfa" * 40).errors["skill"]


def test_control_and_direction_characters_are_refused_without_quoting_them(app: Flask) -> None:
    errors = offer_form(app, title="evil\u202etxt.exe", skill="Python").errors["title"]
    assert len(errors) == 1
    assert "\u202e" not in errors[0]


def test_a_multiline_field_keeps_new_lines(app: Flask) -> None:
    form = offer_form(app, title="Intro", skill="Python", description="line one\r\nline two")
    assert "description" not in form.errors
    assert form.description.data == "line one\nline two"

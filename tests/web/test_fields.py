"""The app's fields write the same HTML as WTForms' own widgets, only faster (web/fields.py)."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from hypothesis import given
from hypothesis import strategies as st
from markupsafe import Markup
from werkzeug.datastructures import MultiDict
from wtforms import Form, fields, widgets
from wtforms.validators import InputRequired, Length

from skillswap.web import fields as ours

names = st.sampled_from(
    ["id", "name", "class_", "for_", "data_a_b", "aria_describedby", "list", "value", "x-y"]
) | st.text(min_size=1, max_size=8)
values = st.one_of(
    st.booleans(),
    st.integers(),
    st.text(max_size=20),
    st.text(max_size=20).map(Markup),  # a Markup value keeps its tags but not its quotes
    st.sampled_from(['a"b', "<b>", "&amp;", "é ü", Markup('say "hi"')]),
)


@given(st.dictionaries(names, values, max_size=8))
def test_attributes_are_what_html_params_writes(kwargs: dict) -> None:
    assert ours.attributes(**kwargs) == widgets.html_params(**kwargs)


def form_of(source: Any) -> type[Form]:
    """One form of every field type the app uses, its fields taken from `source`."""

    class EveryField(Form):
        text = source.StringField("Name", [InputRequired(), Length(max=60)])
        secret = source.PasswordField("Password", [Length(min=8)])
        email = source.EmailField("Email")
        hidden = source.HiddenField()
        agree = source.BooleanField("Agree")
        bio = source.TextAreaField("Bio", [Length(max=500)])

    return EveryField


Stock, Ours = form_of(fields), form_of(ours)


@pytest.mark.parametrize(
    "typed",
    [
        {},
        {
            "text": 'Ann "the <b>best</b>"',
            "secret": "hunter22",
            "email": "a@b.example",
            "hidden": "x&y",
            "agree": "y",
            "bio": "Line one\r\n</textarea><script>",
        },
    ],
)
def test_every_field_renders_as_the_stock_one(app: Flask, typed: dict[str, str]) -> None:
    stock, mine = Stock(MultiDict(typed)), Ours(MultiDict(typed))
    for name in ("text", "secret", "email", "hidden", "agree", "bio"):
        extra = {"aria_describedby": f"{name}-hint", "class_": "wide", "aria_invalid": "true"}
        assert mine[name]() == stock[name](), name
        assert mine[name](**extra) == stock[name](**extra), name

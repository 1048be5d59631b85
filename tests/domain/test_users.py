"""Unit tests for skillswap.domain.users: usernames, links, tags and the User record."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from skillswap.domain.text import is_visible
from skillswap.domain.users import (
    PASSWORD_MAX,
    PASSWORD_MIN,
    User,
    email_identity,
    link_problem,
    split_tags,
    username_problem,
)

LENGTH = "Use 3 to 30 characters"
CHARS = "Use only letters a–z, digits, _ and -"

# --- usernames -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["ada", "a" * 30, "Ada_Lovelace", "grace-hopper", "x_1-y", "123", "___", "ADA"]
)
def test_good_usernames(name: str) -> None:
    assert username_problem(name) is None


@pytest.mark.parametrize("name", ["", "a", "ab", "a" * 31, "a" * 200])
def test_usernames_of_the_wrong_length(name: str) -> None:
    assert username_problem(name) == LENGTH


@pytest.mark.parametrize(
    "name",
    [
        "ada lovelace",
        "ada!",
        "ada.l",
        "ada@x",
        "adä",
        "ада",
        "ada/..",
        "<b>ada",
        "ada\t",
        " ada",
        "ada\n",  # `$` in a regex also matches before a trailing new line
        "ada\r\n",
    ],
)
def test_usernames_with_other_characters(name: str) -> None:
    assert username_problem(name) == CHARS


def test_password_bounds_are_owasp_friendly() -> None:
    assert PASSWORD_MIN == 8
    assert PASSWORD_MAX >= 64


# --- links ---------------------------------------------------------------------------------

SCHEME = "Links must start with http:// or https://"
FULL = "Enter a full address, like https://github.com/you"


@pytest.mark.parametrize(
    "url",
    [
        "https://ok.example",
        " https://ok.example ",
        "http://ok.example/path?q=1#frag",
        "HTTPS://OK.EXAMPLE/You",
        "https://github.com/ada",
        "https://ok.example:8443/x",
    ],
)
def test_good_links(url: str) -> None:
    assert link_problem(url) is None


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JAVASCRIPT:alert(1)",
        "  JavaScript:alert(document.cookie)",
        "data:text/html,<script>alert(1)</script>",
        "vbscript:msgbox(1)",
        "ftp://files.example/x",
        "mailto:ada@example.com",
        "//evil.example",
        "ok.example",
        "/relative/path",
        "",
    ],
)
def test_links_with_a_bad_scheme(url: str) -> None:
    assert link_problem(url) == SCHEME


@pytest.mark.parametrize(
    "url",
    [
        "https://",
        "http://",
        "https:///path-only",
        "https://exa mple.com",
        "https://ok.example/a b",
        # The standard library's urlsplit raises on these (an unclosed IPv6 bracket): a
        # problem to show, not a crash.
        "https://[",
        "https://[::1",
        "http://]x[",
    ],
)
def test_links_that_are_not_full_addresses(url: str) -> None:
    assert link_problem(url) == FULL


# --- tags ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "tags"),
    [
        ("Python, Flask, SQL", ["Python", "Flask", "SQL"]),
        ("Python\nFlask\r\nSQL", ["Python", "Flask", "SQL"]),
        ("Python, python, PYTHON", ["Python"]),
        ("python, Python", ["python"]),
        ("  machine    learning  ,  data\tscience ", ["machine learning", "data science"]),
        ("Machine Learning, machine  learning", ["Machine Learning"]),
        (",, ,\n\n ,", []),
        ("", []),
        ("Straße, STRASSE", ["Straße"]),
        ("C++, C#, c++", ["C++", "C#"]),
        ("guitar,,piano", ["guitar", "piano"]),
    ],
)
def test_split_tags(text: str, tags: list[str]) -> None:
    assert split_tags(text) == tags


@given(st.text(alphabet=st.sampled_from("aAbB ,\n\t\rßS"), max_size=40))
def test_split_tags_properties(text: str) -> None:
    tags = split_tags(text)
    folded = [t.casefold() for t in tags]
    assert len(folded) == len(set(folded)), "no case-insensitive repeats"
    for tag in tags:
        assert tag, "no blank tags"
        assert tag == tag.strip()
        assert "," not in tag and "\n" not in tag
        assert "  " not in tag
    # Showing the tags and sending them back changes nothing.
    assert split_tags(", ".join(tags)) == tags
    assert split_tags("\n".join(tags)) == tags


# --- the record ----------------------------------------------------------------------------


def _user(**fields: object) -> User:
    data = {
        "id": "u1",
        "username": "ada",
        "email": "ada@example.com",
        "password_hash": "$argon2id$x",
    }
    data.update(fields)
    return User(**data)  # type: ignore[arg-type]


def test_name_is_the_display_name_else_the_username() -> None:
    assert _user().name == "ada"
    assert _user(display_name="Ada Lovelace").name == "Ada Lovelace"


def test_new_user_defaults() -> None:
    user = _user()
    assert user.timezone == "UTC"
    assert user.session_version == 1
    assert user.teach == [] and user.learn == [] and user.links == []


def test_record_round_trips_and_ignores_unknown_keys() -> None:
    user = _user(teach=["Python"], links=["https://ok.example"], session_version=3)
    data = user.to_dict()
    assert data["session_version"] == 3
    assert User.from_dict(data) == user
    assert User.from_dict({**data, "added_by_a_newer_version": True}) == user


def test_lists_are_not_shared_between_users() -> None:
    first, second = _user(), _user(id="u2")
    first.teach.append("Python")
    assert second.teach == []


@pytest.mark.parametrize(
    ("typed", "identity"),
    [
        (" Ada@Example.COM ", "ada@example.com"),
        ("ZOE\u0308@EXAMPLE.COM", "zo\u00eb@example.com"),
        ("ANN@xn--bcher-kva.de", "ann@b\u00fccher.de"),
        ("x@\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45.com", "x@example.com"),  # full-width
        ("ada", "ada"),  # a username, or anything that is not an address: trimmed, lower
        ("not an address@", "not an address@"),
    ],
)
def test_an_address_has_one_identity_whatever_its_form(typed: str, identity: str) -> None:
    assert email_identity(typed) == identity


@pytest.mark.parametrize(
    ("text", "visible"),
    [
        ("Ana", True),
        ("\u200b\u2060", False),  # zero-width space, word joiner
        ("\u3164", False),  # Hangul filler: a "letter" that shows nothing
        ("\u034f\ufe0f", False),  # combining grapheme joiner, variation selector
        ("\u2800", False),  # braille blank: a "symbol" that shows nothing
        ("\U0001d159", False),  # musical null notehead
        ("\U0001fa77", True),  # a heart newer than this Python's Unicode tables: not blank
        # Unassigned, but set aside to show nothing (a re-review of 3c80124).
        ("\U000e0200", False),
        ("\u2065", False),
        ("\ufff0", False),
        ("\ufdd0\uffff", False),  # never to be assigned
        ("😀", True),
    ],
)
def test_what_shows_as_nothing(text: str, visible: bool) -> None:
    assert is_visible(text) is visible


def test_a_stored_name_that_shows_nothing_reads_as_the_username() -> None:
    """Names saved before the profile form refused them (c22d8be) still showed nothing."""
    assert User("u1", "ada", "ada@example.com", "h", "UTC", display_name="\u2060").name == "ada"
    # A record written by hand or by another tool: no name is the username too.
    assert User("u1", "ada", "ada@example.com", "h", "UTC", display_name=None).name == "ada"  # type: ignore[arg-type]

"""url_maker: one URL built by Werkzeug per mount point, each row's value put in its place."""

from __future__ import annotations

import pytest
from flask import Flask, url_for

from skillswap.web.common import url_maker


@pytest.mark.parametrize("value", ["0123abcd", "ada_lovelace", "a b/c?d#e", "ünï", "%2F"])
def test_every_row_gets_what_url_for_would_build(app: Flask, value: str) -> None:
    with app.test_request_context():
        assert url_maker("profile.public", "username")(value) == url_for(
            "profile.public", username=value
        )
        assert url_maker("bookings.cancel", "booking_id")(value) == url_for(
            "bookings.cancel", booking_id=value
        )


def test_row_links_follow_each_requests_own_mount(app: Flask) -> None:
    # url_maker keeps its patterns per mount point too; a plain value fills the pattern, any
    # other goes through url_for and is quoted as Werkzeug quotes it.
    for first, second in (("/", "/app/"), ("/app/", "/")):
        app.extensions.pop("skillswap.url_patterns", None)
        for root in (first, second):
            with app.test_request_context("/", base_url=f"http://localhost{root}"):
                profile = url_maker("profile.public", "username")
                assert profile("tess") == f"{root}user/tess"
                assert profile("a b/é") == url_for("profile.public", username="a b/é")

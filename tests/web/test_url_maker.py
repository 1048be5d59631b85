"""url_maker: one URL built by Werkzeug per page, each row's value put in its place."""

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

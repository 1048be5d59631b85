"""People and sessions shared by the web tests (defined with the booking tests)."""

from tests.web.test_bookings import leo, session, tess, xia  # noqa: F401

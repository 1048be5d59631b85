"""People and sessions shared by the web tests (defined with the booking tests), and the app
on a store that fails on cue (defined with the fault tests)."""

from tests.web.test_bookings import leo, session, tess, xia  # noqa: F401
from tests.web.test_faults import fapp, faulty  # noqa: F401

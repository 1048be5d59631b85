"""People and sessions shared by the web tests (defined with the booking tests), the app on a
store that fails on cue (defined with the fault tests), and the app with login limits on
(defined with the login-throttle tests)."""

from tests.web.test_bookings import leo, session, tess, xia  # noqa: F401
from tests.web.test_faults import fapp, faulty  # noqa: F401
from tests.web.test_login_throttle import limited  # noqa: F401

"""Suite-wide options and fixtures shared by every test level.

`--require-all` (set by `.ci/run`) turns every skip into a failure: in CI nothing may be skipped
for lack of chromium or PostgreSQL.
"""

from __future__ import annotations

import pytest

pytest_plugins = [
    "tests.support.app_fixtures",
    "tests.support.fake_replitdb",
    "tests.support.postgres",
    "tests.support.smtp",
]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--require-all",
        action="store_true",
        default=False,
        help="fail instead of skipping tests whose browser or database is missing (CI)",
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    outcome = yield
    report = outcome.get_result()
    if report.skipped and item.config.getoption("--require-all"):
        report.outcome = "failed"
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.longrepr = f"skipped under --require-all: {reason}"

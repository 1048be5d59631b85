"""On Replit DB, sign-ups stop at 90 % of the 5,000-key budget so existing people can still book."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.app_fixtures import AuthActions, Clock, make_app
from tests.support.fake_replitdb import FakeReplitDB


@pytest.fixture
def replit_app(tmp_path: Path, clock: Clock, fake_replitdb: FakeReplitDB):
    app = make_app(
        tmp_path,
        clock,
        STORE_URL="replit",
        REPLIT_URL_FILE=str(fake_replitdb.write_url_file(tmp_path / "replitdb")),
        REPLIT_LOCK_PATH=str(tmp_path / "replit.lock"),
    )
    yield app
    app.extensions["skillswap.store"].close()


def test_signup_works_below_the_budget(replit_app, fake_replitdb: FakeReplitDB) -> None:
    response = AuthActions(replit_app.test_client()).signup("ada")
    assert response.status_code == 302
    assert any(key.startswith("user/") for key in fake_replitdb.data)


def test_signup_is_refused_clearly_at_90_percent(replit_app, fake_replitdb: FakeReplitDB) -> None:
    # Fill the fake directly: 4,500 keys through the client would only make the test slow.
    fake_replitdb.data.update({f"filler/{n:05d}": "1" for n in range(4500)})
    response = AuthActions(replit_app.test_client()).signup("ada")
    assert response.status_code == 503
    page = response.get_data(as_text=True)
    assert "cannot take new members on this server right now" in page
    assert 'value="ada"' in page  # what was typed is kept
    assert not any(key.startswith(("user/", "username/")) for key in fake_replitdb.data)


def test_other_backends_have_no_such_budget(app) -> None:
    assert app.extensions["skillswap.repo"].signup_capacity_problem() is None

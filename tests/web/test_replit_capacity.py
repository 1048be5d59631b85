"""On Replit DB, sign-ups and new offers stop at 90 % of its 5,000 keys or 50 MiB (a product rule,
never a 500), so the people already there can still book, cancel and review."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.app_fixtures import AuthActions, Clock, make_app
from tests.support.fake_replitdb import FakeReplitDB
from tests.web.test_bookings import book, free_slots, publish, schedule, text
from tests.web.test_offers import OFFER, submit


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


OUTGROWN = "has outgrown its Replit Database"


def test_signup_is_refused_clearly_at_90_percent_of_the_keys(
    replit_app, fake_replitdb: FakeReplitDB
) -> None:
    # Fill the fake directly: 4,500 keys through the client would only make the test slow.
    fake_replitdb.data.update({f"filler/{n:05d}": "1" for n in range(4500)})
    response = AuthActions(replit_app.test_client()).signup("ada")
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert OUTGROWN in page
    assert "4,500 of 5,000 keys" in page
    assert "Moving to PostgreSQL" in page
    assert 'value="ada"' in page  # what was typed is kept
    assert not any(key.startswith(("user/", "username/")) for key in fake_replitdb.data)


def test_new_offers_stop_at_90_percent_of_the_bytes_but_booking_goes_on(
    replit_app, fake_replitdb: FakeReplitDB
) -> None:
    teacher = replit_app.test_client()
    assert AuthActions(teacher).signup("tess").status_code == 302
    publish(teacher, start="09:00", end="11:00")
    learner = replit_app.test_client()
    assert AuthActions(learner).signup("leo").status_code == 302
    # 46.9 MiB in 20 values of 2.4 MiB: 94 % of the 50 MiB, with few keys.
    fake_replitdb.data.update({f"filler/{n}": '"' + "x" * (2400 * 1024) + '"' for n in range(20)})
    response = submit(teacher, "/offer", OFFER, {"dates-0": "2026-12-02"})
    assert response.status_code == 409
    assert OUTGROWN in text(response)
    assert "takes no new offers" in text(response)
    assert 'value="Intro to Python"' in response.get_data(as_text=True)
    assert len(schedule(replit_app, "tess").offers) == 1
    # What is already here keeps working: the learner books the published slot.
    [slot, *_] = free_slots(learner, "tess")
    assert book(learner, "tess", slot).status_code == 302


def test_other_backends_have_no_such_budget(app) -> None:
    assert app.extensions["skillswap.repo"].capacity_problem("new members") is None


def test_search_keeps_no_cards_where_keys_are_scarce(
    replit_app, fake_replitdb: FakeReplitDB
) -> None:
    """Search cards and skill heads cost a key per teacher and per skill: on Replit DB the
    search reads the skill's entry and the teachers' schedules instead."""
    client = replit_app.test_client()
    AuthActions(client).signup("ada")
    response = submit(client, "/offer", OFFER, {})
    assert response.status_code == 302
    assert not [k for k in fake_replitdb.data if k.startswith(("card/", "skillhead/"))]
    bob = replit_app.test_client()
    AuthActions(bob).signup("bob")
    assert "Next free: Tue 1 Dec 2026, 09:00–10:00" in text(bob.get("/?q=pyth"))

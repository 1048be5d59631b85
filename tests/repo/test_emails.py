"""The email index and the writes behind email ownership (repo/emails.py, repo/people.py): the
index names each address's one account, a crash between two writes blocks no address for
long, and a reset link's write happens once however many requests carry it."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from threading import Barrier

import pytest

from skillswap.domain.users import UNVERIFIED_HOLD, reset_fingerprint
from skillswap.repo import EmailTaken, Repository
from skillswap.repo.keys import email_key
from skillswap.store import open_store
from tests.support.app_fixtures import Clock


@pytest.fixture
def repo(tmp_path: Path, clock: Clock) -> Iterator[Repository]:
    store = open_store(f"sqlite:///{tmp_path / 'test.db'}")
    yield Repository(store, clock, "secret")
    store.close()


def test_a_new_account_claims_its_address_unconfirmed(repo: Repository, clock: Clock) -> None:
    ada = repo.create_user("ada", "Ada@Example.com", "hash", "UTC")

    assert ada.email_verified is False
    assert repo.store.get(email_key("ada@example.com"))["uid"] == ada.id
    assert repo.find_user("ADA@example.com").id == ada.id


def test_confirming_a_new_address_moves_the_claim(repo: Repository) -> None:
    ada = repo.create_user("ada", "ada@example.com", "hash", "UTC")
    repo.ask_email_change(ada.id, "new@example.com")
    assert repo.store.get(email_key("new@example.com")) is None  # asking claims nothing

    assert repo.confirm_email(ada.id, "new@example.com") == ("confirmed", "ada@example.com")

    assert repo.store.get(email_key("new@example.com"))["uid"] == ada.id
    assert repo.store.get(email_key("ada@example.com")) is None
    assert repo.confirm_email(ada.id, "new@example.com") == ("stale", "")
    assert repo.store.get(email_key("new@example.com"))["uid"] == ada.id  # still hers


def test_a_crash_between_claim_and_record_blocks_the_address_for_a_while_only(
    repo: Repository, clock: Clock
) -> None:
    """confirm_email claims first and writes the record second; a crash in between leaves a
    claim naming an account whose record never took the address."""
    ada = repo.create_user("ada", "ada@example.com", "hash", "UTC")
    repo.ask_email_change(ada.id, "new@example.com")
    assert repo.claim_email("new@example.com", ada.id)  # ...and then the process dies

    with pytest.raises(EmailTaken):
        repo.create_user("bob", "new@example.com", "hash", "UTC")
    clock.advance(days=UNVERIFIED_HOLD.days)
    bob = repo.create_user("bob", "new@example.com", "hash", "UTC")

    assert repo.find_user("new@example.com").id == bob.id


def test_of_racing_claims_on_a_lapsed_address_one_wins(repo: Repository, clock: Clock) -> None:
    repo.create_user("mallory", "x@example.com", "hash", "UTC")
    clock.advance(days=UNVERIFIED_HOLD.days + 1)
    claimants = [f"u{n}" for n in range(8)]
    start = Barrier(len(claimants))

    def claim(uid: str) -> bool:
        start.wait()
        return repo.claim_email("x@example.com", uid)

    with ThreadPoolExecutor(len(claimants)) as pool:
        won = list(pool.map(claim, claimants))

    assert won.count(True) == 1
    assert repo.store.get(email_key("x@example.com"))["uid"] == claimants[won.index(True)]


def test_a_reset_links_write_happens_once(repo: Repository) -> None:
    ada = repo.create_user("ada", "ada@example.com", "hash", "UTC")
    fingerprint = reset_fingerprint(ada)

    first = repo.set_password(ada.id, "hash-1", if_fingerprint=fingerprint)
    second = repo.set_password(ada.id, "hash-2", if_fingerprint=fingerprint)

    assert first is not None and first.email_verified
    assert second is None
    assert repo.get_user(ada.id).password_hash == "hash-1"


def test_a_password_change_drops_a_waiting_change_of_address(repo: Repository) -> None:
    ada = repo.create_user("ada", "ada@example.com", "hash", "UTC")
    repo.ask_email_change(ada.id, "new@example.com")

    repo.set_password(ada.id, "hash-1")

    assert repo.get_user(ada.id).pending_email == ""
    assert repo.confirm_email(ada.id, "new@example.com") == ("stale", "")
    assert repo.store.get(email_key("new@example.com")) is None  # claimed for nothing: freed

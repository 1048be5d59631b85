"""The repository's records on a real SQLite store: name claims, and schedule changes that
are atomic and leave nothing behind when refused."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from skillswap.domain.refusals import ScheduleRefusal
from skillswap.repo import Repository
from skillswap.repo.keys import email_key, schedule_key, username_key
from skillswap.repo.people import EmailTaken, UsernameTaken
from skillswap.store import open_store

NOW = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def repo(tmp_path: Path) -> Repository:
    return Repository(open_store(f"sqlite:///{tmp_path / 'store.db'}"), lambda: NOW, "secret")


def test_a_new_person_is_found_by_name_or_email_in_any_case(repo: Repository) -> None:
    ada = repo.create_user("Ada", "Ada@Example.com", "hash", "Europe/London")
    assert ada.username == "ada"
    assert repo.find_user("ADA") == repo.find_user(" ada@example.COM ") == ada


def test_a_taken_email_releases_the_username_it_had_claimed(repo: Repository) -> None:
    repo.create_user("ada", "ada@example.com", "hash", "UTC")
    with pytest.raises(EmailTaken):
        repo.create_user("bea", "ADA@example.com", "hash", "UTC")
    assert repo.store.get(username_key("bea")) is None
    repo.create_user("bea", "bea@example.com", "hash", "UTC")  # the name is free again
    with pytest.raises(UsernameTaken):
        repo.create_user("BEA", "other@example.com", "hash", "UTC")
    assert repo.store.get(email_key("other@example.com")) is None


def test_a_refused_change_writes_nothing_and_an_empty_schedule_costs_no_key(
    repo: Repository,
) -> None:
    uid = repo.create_user("ada", "ada@example.com", "hash", "UTC").id

    def refuse(schedule: object) -> None:
        raise ScheduleRefusal("no")

    with pytest.raises(ScheduleRefusal):
        repo.change_schedule(uid, refuse)
    repo.change_schedule(uid, lambda s: None)
    assert repo.store.get(schedule_key(uid)) is None
    assert repo.schedule(uid).is_empty

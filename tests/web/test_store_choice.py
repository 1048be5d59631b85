"""Choosing a new store must never make existing users' data seem gone."""

from __future__ import annotations

from pathlib import Path

import pytest

from skillswap import DataElsewhere, create_app, refuse_to_abandon_data
from tests.support.app_fixtures import Clock


def _app(instance: Path, store_url: str, **extra: object):
    config = {
        "TESTING": True,
        "SECRET_KEY": "k",
        "INSTANCE_PATH": str(instance),
        "STORE_URL": store_url,
        "CLOCK": Clock(),
        "RATELIMIT_ENABLED": False,
        **extra,
    }
    return create_app(config)


@pytest.fixture
def instance_with_users(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("SKILLSWAP_STORE", "DATABASE_URL", "REPLIT_DB_URL", "SKILLSWAP_ALLOW_EMPTY_STORE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SKILLSWAP_REPLIT_URL_FILE", str(tmp_path / "no-replitdb"))
    instance = tmp_path / "instance"
    old = _app(instance, f"sqlite:///{instance / 'skillswap.db'}")
    old.extensions["skillswap.repo"].create_user("ada", "ada@example.com", "x", "UTC")
    old.extensions["skillswap.store"].close()
    return instance


def test_an_empty_new_store_is_refused_while_the_old_one_has_users(
    instance_with_users: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    new_url = f"sqlite:///{tmp_path / 'new.db'}"
    monkeypatch.setenv("SKILLSWAP_STORE", new_url)
    app = _app(instance_with_users, new_url)
    with pytest.raises(DataElsewhere) as refused:
        refuse_to_abandon_data(app)
    assert "flask --app skillswap export" in str(refused.value)
    assert "SKILLSWAP_ALLOW_EMPTY_STORE" in str(refused.value)


def test_the_refusal_can_be_overridden(
    instance_with_users: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    new_url = f"sqlite:///{tmp_path / 'new.db'}"
    monkeypatch.setenv("SKILLSWAP_STORE", new_url)
    refuse_to_abandon_data(_app(instance_with_users, new_url, ALLOW_EMPTY_STORE=True))


def test_a_new_store_that_has_users_starts(
    instance_with_users: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    new_url = f"sqlite:///{tmp_path / 'new.db'}"
    monkeypatch.setenv("SKILLSWAP_STORE", new_url)
    app = _app(instance_with_users, new_url)
    app.extensions["skillswap.repo"].create_user("bob", "bob@example.com", "x", "UTC")
    refuse_to_abandon_data(app)


def test_the_old_store_itself_starts(instance_with_users: Path) -> None:
    app = _app(instance_with_users, f"sqlite:///{instance_with_users / 'skillswap.db'}")
    refuse_to_abandon_data(app)


def test_a_fresh_machine_starts_empty(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SKILLSWAP_STORE", "DATABASE_URL", "REPLIT_DB_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SKILLSWAP_REPLIT_URL_FILE", str(tmp_path / "no-replitdb"))
    instance = tmp_path / "instance"
    refuse_to_abandon_data(_app(instance, f"sqlite:///{instance / 'skillswap.db'}"))

"""Unit tests for skillswap.settings: what the environment decides, and the safe defaults."""

from __future__ import annotations

import os
import stat
from datetime import timedelta
from pathlib import Path

import pytest

from skillswap import settings

ENV = (
    "SECRET_KEY",
    "SKILLSWAP_STORE",
    "DATABASE_URL",
    "REPLIT_DB_URL",
    "REPL_ID",
    "REPLIT_DEPLOYMENT",
    "PROXY_FIX_HOPS",
    "SESSION_COOKIE_SECURE",
    "SESSION_LIFETIME_DAYS",
    "RATELIMIT_ENABLED",
    "RATELIMIT_STORAGE_URI",
    "LOGIN_RATE_LIMIT",
    "SIGNUP_RATE_LIMIT",
    "SKILLSWAP_REPLIT_URL_FILE",
    "SKILLSWAP_REPLIT_LOCK",
    "RESET_RATE_LIMIT",
    "RESET_ACCOUNT_RATE_LIMIT",
    "VERIFY_RATE_LIMIT",
    "MAIL_SERVER",
    "MAIL_PORT",
    "MAIL_USERNAME",
    "MAIL_PASSWORD",
    "MAIL_USE_TLS",
    "MAIL_USE_SSL",
    "MAIL_FROM",
    "MAIL_TIMEOUT",
    "MAIL_OUTBOX",
    "MAIL_QUEUE",
    "MAIL_SENDER_THREAD",
    "PUBLIC_URL",
    "REPLIT_DOMAINS",
    "REMINDER_OFFSETS",
    "PORT",
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    # Never consult the real /tmp/replitdb from a test.
    monkeypatch.setenv("SKILLSWAP_REPLIT_URL_FILE", str(tmp_path / "replitdb-url"))


@pytest.fixture
def instance(tmp_path: Path) -> Path:
    path = tmp_path / "instance"
    path.mkdir()
    return path


def _from_env(instance: Path) -> dict:
    return settings.from_environment(str(instance))


# --- secret key ----------------------------------------------------------------------------


def test_secret_key_from_the_environment(monkeypatch, instance: Path) -> None:
    monkeypatch.setenv("SECRET_KEY", "from-the-env")
    assert settings.load_secret_key(str(instance)) == "from-the-env"
    assert not (instance / "secret_key").exists(), "no file when the env provides the key"


def test_secret_key_is_generated_once_and_kept(instance: Path) -> None:
    first = settings.load_secret_key(str(instance))
    assert len(first) >= 32
    path = instance / "secret_key"
    assert path.read_text().strip() == first
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert settings.load_secret_key(str(instance)) == first
    assert _from_env(instance)["SECRET_KEY"] == first


def test_secret_keys_differ_between_instances(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    assert settings.load_secret_key(str(tmp_path / "a")) != settings.load_secret_key(
        str(tmp_path / "b")
    )


def test_a_blank_secret_key_in_the_environment_is_ignored(monkeypatch, instance: Path) -> None:
    monkeypatch.setenv("SECRET_KEY", "   ")
    key = settings.load_secret_key(str(instance))
    assert key.strip()
    assert key == (instance / "secret_key").read_text().strip()


def test_an_existing_key_file_is_used(instance: Path) -> None:
    (instance / "secret_key").write_text("kept-from-last-time\n")
    assert settings.load_secret_key(str(instance)) == "kept-from-last-time"


def test_an_empty_key_file_never_gives_an_empty_key(instance: Path) -> None:
    """A crash (or a second worker reading) between creating the file and writing the key
    leaves it empty; an empty SECRET_KEY breaks every session and must never be returned."""
    (instance / "secret_key").write_text("")
    key = settings.load_secret_key(str(instance))
    assert len(key) >= 32
    assert settings.load_secret_key(str(instance)) == key


# --- store URL -----------------------------------------------------------------------------


def test_store_defaults_to_sqlite_in_the_instance_folder(instance: Path, tmp_path: Path) -> None:
    url = settings.choose_store_url(str(instance), str(tmp_path / "absent"))
    assert url == "sqlite:///" + os.path.join(str(instance), "skillswap.db")
    assert _from_env(instance)["STORE_URL"] == url


def test_replit_url_file_selects_replit(instance: Path, tmp_path: Path) -> None:
    url_file = tmp_path / "replitdb"
    url_file.write_text("https://kv.replit.com/v0/token")
    assert settings.choose_store_url(str(instance), str(url_file)) == "replit"


def test_replit_db_url_selects_replit(monkeypatch, instance: Path, tmp_path: Path) -> None:
    monkeypatch.setenv("REPLIT_DB_URL", "https://kv.replit.com/v0/token")
    assert settings.choose_store_url(str(instance), str(tmp_path / "absent")) == "replit"


def test_database_url_beats_replit(monkeypatch, instance: Path, tmp_path: Path) -> None:
    url_file = tmp_path / "replitdb"
    url_file.write_text("https://kv.replit.com/v0/token")
    monkeypatch.setenv("REPLIT_DB_URL", "https://kv.replit.com/v0/token")
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@db/skillswap")
    assert settings.choose_store_url(str(instance), str(url_file)) == "postgresql://u@db/skillswap"


def test_skillswap_store_beats_everything(monkeypatch, instance: Path, tmp_path: Path) -> None:
    url_file = tmp_path / "replitdb"
    url_file.write_text("https://kv.replit.com/v0/token")
    monkeypatch.setenv("REPLIT_DB_URL", "https://kv.replit.com/v0/token")
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@db/skillswap")
    monkeypatch.setenv("SKILLSWAP_STORE", "sqlite:///elsewhere.db")
    assert settings.choose_store_url(str(instance), str(url_file)) == "sqlite:///elsewhere.db"


def test_blank_store_variables_are_ignored(monkeypatch, instance: Path, tmp_path: Path) -> None:
    monkeypatch.setenv("SKILLSWAP_STORE", " ")
    monkeypatch.setenv("DATABASE_URL", "")
    url = settings.choose_store_url(str(instance), str(tmp_path / "absent"))
    assert url.startswith("sqlite:///")


def test_from_environment_uses_the_configured_url_file(
    monkeypatch, instance: Path, tmp_path: Path
) -> None:
    url_file = tmp_path / "replitdb-url"  # the path clean_env configured
    assert _from_env(instance)["STORE_URL"].startswith("sqlite:///")
    url_file.write_text("https://kv.replit.com/v0/token")
    config = _from_env(instance)
    assert config["STORE_URL"] == "replit"
    assert config["REPLIT_URL_FILE"] == str(url_file)


# --- cookies, proxies, Replit --------------------------------------------------------------


def test_local_defaults(instance: Path) -> None:
    config = _from_env(instance)
    assert config["ON_REPLIT"] is False
    assert config["REPLIT_PREVIEW"] is False
    assert config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert config["SESSION_COOKIE_SECURE"] is False
    assert config["SESSION_COOKIE_PARTITIONED"] is False
    assert config["PROXY_FIX_HOPS"] == 0
    assert config["PERMANENT_SESSION_LIFETIME"] == timedelta(days=14)
    assert config["RATELIMIT_ENABLED"] is True
    # One SQLite file in the instance folder, shared by every worker (skillswap/limit_storage.py).
    assert config["RATELIMIT_STORAGE_URI"] == f"skillswap-sqlite:///{instance / 'ratelimits.db'}"


def test_replit_workspace_preview(monkeypatch, instance: Path) -> None:
    monkeypatch.setenv("REPL_ID", "abc-123")
    config = _from_env(instance)
    assert config["ON_REPLIT"] is True
    assert config["REPLIT_PREVIEW"] is True
    assert config["SESSION_COOKIE_SAMESITE"] == "None"
    assert config["SESSION_COOKIE_PARTITIONED"] is True
    assert config["SESSION_COOKIE_SECURE"] is True
    assert config["PROXY_FIX_HOPS"] == 1


def test_replit_deployment(monkeypatch, instance: Path) -> None:
    monkeypatch.setenv("REPL_ID", "abc-123")
    monkeypatch.setenv("REPLIT_DEPLOYMENT", "1")
    config = _from_env(instance)
    assert config["ON_REPLIT"] is True
    assert config["REPLIT_PREVIEW"] is False
    assert config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert config["SESSION_COOKIE_PARTITIONED"] is False
    assert config["SESSION_COOKIE_SECURE"] is True
    assert config["PROXY_FIX_HOPS"] == 1


@pytest.mark.parametrize(
    ("public", "setting", "secure"),
    [
        ("https://skillswap.example.org", None, True),  # the site says it is served over HTTPS
        ("http://skillswap.example.org", None, False),
        ("https://skillswap.example.org", "false", False),  # an explicit setting has the last say
    ],
)
def test_an_https_public_url_makes_cookies_secure(
    monkeypatch, instance: Path, public: str, setting: str | None, secure: bool
) -> None:
    monkeypatch.setenv("PUBLIC_URL", public)
    if setting is not None:
        monkeypatch.setenv("SESSION_COOKIE_SECURE", setting)
    assert _from_env(instance)["SESSION_COOKIE_SECURE"] is secure


def test_proxy_hops_can_be_set(monkeypatch, instance: Path) -> None:
    monkeypatch.setenv("PROXY_FIX_HOPS", "2")
    assert _from_env(instance)["PROXY_FIX_HOPS"] == 2
    monkeypatch.setenv("REPL_ID", "abc-123")
    monkeypatch.setenv("PROXY_FIX_HOPS", "0")
    assert _from_env(instance)["PROXY_FIX_HOPS"] == 0


@pytest.mark.parametrize(
    ("raw", "enabled"),
    [
        ("false", False),
        ("0", False),
        ("no", False),
        ("off", False),
        ("true", True),
        ("1", True),
        ("YES", True),
        (" On ", True),
        ("", True),
    ],
)
def test_rate_limits_can_be_switched_off(
    monkeypatch, instance: Path, raw: str, enabled: bool
) -> None:
    monkeypatch.setenv("RATELIMIT_ENABLED", raw)
    assert _from_env(instance)["RATELIMIT_ENABLED"] is enabled


def test_limits_and_storage_come_from_the_environment(monkeypatch, instance: Path) -> None:
    monkeypatch.setenv("LOGIN_RATE_LIMIT", "5 per minute")
    monkeypatch.setenv("SIGNUP_RATE_LIMIT", "1 per day")
    monkeypatch.setenv("RATELIMIT_STORAGE_URI", "redis://cache:6379")
    monkeypatch.setenv("SESSION_LIFETIME_DAYS", "7")
    config = _from_env(instance)
    assert config["LOGIN_RATE_LIMIT"] == "5 per minute"
    assert config["SIGNUP_RATE_LIMIT"] == "1 per day"
    assert config["RATELIMIT_STORAGE_URI"] == "redis://cache:6379"
    assert config["PERMANENT_SESSION_LIFETIME"] == timedelta(days=7)


def test_secure_cookie_can_be_forced_locally(monkeypatch, instance: Path) -> None:
    monkeypatch.setenv("SESSION_COOKIE_SECURE", "true")
    assert _from_env(instance)["SESSION_COOKIE_SECURE"] is True


def test_replit_lock_defaults_into_the_instance_folder(instance: Path) -> None:
    assert _from_env(instance)["REPLIT_LOCK_PATH"] == os.path.join(str(instance), "replitdb.lock")


def test_the_replit_store_gets_its_url_and_lock_from_the_settings(
    monkeypatch, instance: Path
) -> None:
    """The environment is read only here: the store takes what the settings give it."""
    monkeypatch.setenv("REPLIT_DB_URL", " https://kv.example/token ")
    monkeypatch.setenv("SKILLSWAP_REPLIT_LOCK", "/var/lock/skillswap.lock")
    settings = _from_env(instance)
    assert settings["REPLIT_DB_URL"] == "https://kv.example/token"
    assert settings["REPLIT_LOCK_PATH"] == "/var/lock/skillswap.lock"


# --- mail ------------------------------------------------------------------------------------


def test_mail_defaults_to_the_outbox_folder_and_a_sender_thread(instance: Path) -> None:
    config = _from_env(instance)
    assert config["MAIL_SERVER"] == ""
    assert config["MAIL_OUTBOX"] == str(instance / "outbox")
    assert config["MAIL_QUEUE"] == str(instance / "mail-queue.db")
    assert config["MAIL_SENDER_THREAD"] is True
    assert config["RESET_RATE_LIMIT"] == "10 per hour"
    assert config["RESET_ACCOUNT_RATE_LIMIT"] == "3 per hour"
    assert config["VERIFY_RATE_LIMIT"] == "5 per hour"


def test_mail_comes_from_the_environment(monkeypatch, instance: Path) -> None:
    """Replit secrets are environment variables: these are how a deployment names its server."""
    monkeypatch.setenv("MAIL_SERVER", " smtp.example.org ")
    monkeypatch.setenv("MAIL_PORT", "465")
    monkeypatch.setenv("MAIL_USERNAME", "skillswap")
    monkeypatch.setenv("MAIL_PASSWORD", " spaces kept ")
    monkeypatch.setenv("MAIL_USE_SSL", "true")
    monkeypatch.setenv("MAIL_FROM", "SkillSwap <hello@example.org>")
    monkeypatch.setenv("MAIL_SENDER_THREAD", "false")
    monkeypatch.setenv("RESET_ACCOUNT_RATE_LIMIT", "1 per day")
    config = _from_env(instance)
    assert config["MAIL_SERVER"] == "smtp.example.org"
    assert config["MAIL_PORT"] == "465"
    assert config["MAIL_USERNAME"] == "skillswap"
    assert config["MAIL_PASSWORD"] == " spaces kept "
    assert config["MAIL_USE_SSL"] == "true"
    assert config["MAIL_FROM"] == "SkillSwap <hello@example.org>"
    assert config["MAIL_SENDER_THREAD"] is False
    assert config["RESET_ACCOUNT_RATE_LIMIT"] == "1 per day"


# --- links and reminders ------------------------------------------------------------------


def test_public_url_is_unset_locally_and_the_deployment_domain_on_replit(
    monkeypatch: pytest.MonkeyPatch, instance: Path
) -> None:
    config = settings.from_environment(str(instance))
    assert config["PUBLIC_URL"] == ""
    assert config["LOCAL_URL"] == "http://127.0.0.1:5000"

    monkeypatch.setenv("REPL_ID", "x")
    monkeypatch.setenv("REPLIT_DOMAINS", "skillswap.replit.app,other.example")
    assert settings.from_environment(str(instance))["PUBLIC_URL"] == "https://skillswap.replit.app"

    monkeypatch.setenv("PUBLIC_URL", "https://skillswap.example.org/")
    assert settings.from_environment(str(instance))["PUBLIC_URL"] == "https://skillswap.example.org"


@pytest.mark.parametrize(
    "url", ["skillswap.example.org", "ftp://x.org", "https://", "https://x?a=1"]
)
def test_a_public_url_that_is_no_site_address_stops_start_up(
    monkeypatch: pytest.MonkeyPatch, instance: Path, url: str
) -> None:
    monkeypatch.setenv("PUBLIC_URL", url)
    with pytest.raises(ValueError, match="PUBLIC_URL must be an address like"):
        settings.from_environment(str(instance))


def test_reminders_default_to_a_day_and_an_hour_before(
    monkeypatch: pytest.MonkeyPatch, instance: Path
) -> None:
    assert settings.from_environment(str(instance))["REMINDER_OFFSETS"] == (
        timedelta(hours=24),
        timedelta(hours=1),
    )
    monkeypatch.setenv("REMINDER_OFFSETS", "2d, 30m")
    assert settings.from_environment(str(instance))["REMINDER_OFFSETS"] == (
        timedelta(days=2),
        timedelta(minutes=30),
    )
    monkeypatch.setenv("REMINDER_OFFSETS", "soon")
    with pytest.raises(ValueError, match="REMINDER_OFFSETS"):
        settings.from_environment(str(instance))

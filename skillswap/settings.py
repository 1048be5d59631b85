"""Configuration read from the environment, with safe defaults.

Everything a deployment may change is listed here and in the README's configuration table.
"""

from __future__ import annotations

import logging
import os
import secrets
import time
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from skillswap.domain.reminders import parse_offsets
from skillswap.mail import settings_from_environment as mail_settings

log = logging.getLogger(__name__)

REPLIT_URL_FILE = "/tmp/replitdb"


def _env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw else default


def on_replit() -> bool:
    return bool(os.environ.get("REPL_ID") or os.environ.get("REPLIT_DB_URL"))


def load_secret_key(instance_path: str) -> str:
    """SECRET_KEY from the environment, else one generated once and kept in the instance folder.

    Never a hard-coded default: a known key lets anyone forge session cookies.
    """
    from_env = os.environ.get("SECRET_KEY", "").strip()
    if from_env:
        return from_env
    path = os.path.join(instance_path, "secret_key")
    for _ in range(50):
        try:
            with open(path, encoding="utf-8") as fh:
                key = fh.read().strip()
        except FileNotFoundError:
            key = ""
        else:
            if key:
                return key
            # Empty: another worker is writing it right now, or a crash left it empty.
            if time.time() - os.path.getmtime(path) > 1:
                os.unlink(path)
        try:
            # O_EXCL: of several workers starting together exactly one writes the key.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            time.sleep(0.1)
            continue
        key = secrets.token_hex(32)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(key)
            fh.flush()
            os.fsync(fh.fileno())
        return key
    raise RuntimeError(f"{path} stays empty; delete it or set SECRET_KEY")


def detectable_store_urls(instance_path: str, replit_url_file: str) -> list[str]:
    """Every store this environment points at, in precedence order: SKILLSWAP_STORE,
    DATABASE_URL, Replit DB, then the embedded SQLite file (only if it exists, except as the
    last resort)."""
    urls = []
    for name in ("SKILLSWAP_STORE", "DATABASE_URL"):
        value = os.environ.get(name, "").strip()
        if value and value not in urls:
            urls.append(value)
    if os.environ.get("REPLIT_DB_URL") or os.path.exists(replit_url_file):
        urls.append("replit")
    sqlite_path = os.path.join(instance_path, "skillswap.db")
    if os.path.exists(sqlite_path) or not urls:
        urls.append("sqlite:///" + sqlite_path)
    return urls


def choose_store_url(instance_path: str, replit_url_file: str) -> str:
    """Precedence: SKILLSWAP_STORE, DATABASE_URL, Replit DB, embedded SQLite."""
    return detectable_store_urls(instance_path, replit_url_file)[0]


def trusted_hosts(replit: bool) -> list[str] | None:
    """TRUSTED_HOSTS (comma-separated), else on Replit the deployment's own domains; None
    trusts any Host header (local development). Flask answers 400 to any other Host, so no
    absolute URL (the calendar feed's) is ever built from a name a client made up."""
    names = os.environ.get("TRUSTED_HOSTS", "")
    if not names.strip() and replit:
        names = ",".join(
            [os.environ.get("REPLIT_DOMAINS", ""), os.environ.get("REPLIT_DEV_DOMAIN", "")]
        )
    hosts = [name.strip() for name in names.split(",") if name.strip()]
    return hosts or None


def public_url(replit: bool) -> str:
    """PUBLIC_URL: the address people reach the site at ("https://skillswap.example.org"),
    used for every link in mails and calendars, and the only way reminders, sent with no
    request to take a host from, link back. On Replit it defaults to the deployment's first
    domain (REPLIT_DOMAINS). Empty: links use the host of the request being answered."""
    url = os.environ.get("PUBLIC_URL", "").strip().rstrip("/")
    if not url and replit:
        domains = [d.strip() for d in os.environ.get("REPLIT_DOMAINS", "").split(",")]
        url = f"https://{domains[0]}" if domains and domains[0] else ""
    if url:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.query:
            raise ValueError(
                f"PUBLIC_URL must be an address like https://skillswap.example.org, not {url!r}"
            )
    return url


def default_limit_storage(instance_path: str) -> str:
    return f"skillswap-sqlite:///{os.path.join(os.path.abspath(instance_path), 'ratelimits.db')}"


def replit_url_file() -> str:
    """Where Replit writes its database URL (the token in it rotates)."""
    return os.environ.get("SKILLSWAP_REPLIT_URL_FILE", REPLIT_URL_FILE)


def from_environment(instance_path: str) -> dict[str, Any]:
    replit = on_replit()
    preview = replit and not os.environ.get("REPLIT_DEPLOYMENT")
    url_file = replit_url_file()
    public = public_url(replit)
    return {
        "SECRET_KEY": load_secret_key(instance_path),
        "STORE_URL": choose_store_url(instance_path, url_file),
        "REPLIT_URL_FILE": url_file,
        # Replit's own variable; the store prefers the URL file, which Replit rewrites when
        # the token rotates (the environment of a running process never changes).
        "REPLIT_DB_URL": os.environ.get("REPLIT_DB_URL", "").strip(),
        # The largest value any store accepts (Replit DB's own limit by default): every
        # backend refuses more before sending, so data that works on one works on all.
        "STORE_MAX_VALUE_BYTES": _env_int("STORE_MAX_VALUE_BYTES", 5 * 1024 * 1024),
        "REPLIT_LOCK_PATH": os.environ.get(
            "SKILLSWAP_REPLIT_LOCK", os.path.join(instance_path, "replitdb.lock")
        ),
        "RATELIMIT_ENABLED": _env_bool("RATELIMIT_ENABLED", True),
        # Shared by every worker of this instance (web/auth/limit_storage.py); Redis or
        # memcached when several instances must share limits.
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI")
        or default_limit_storage(instance_path),
        "LOGIN_RATE_LIMIT": os.environ.get("LOGIN_RATE_LIMIT", "10 per 15 minutes"),
        "SIGNUP_RATE_LIMIT": os.environ.get("SIGNUP_RATE_LIMIT", "10 per hour"),
        # Failed logins per account, from any number of clients (browsers that logged in to
        # the account before are exempt: web/auth/throttle.py).
        "LOGIN_ACCOUNT_RATE_LIMIT": os.environ.get("LOGIN_ACCOUNT_RATE_LIMIT", "10 per 15 minutes"),
        # "Forgot password?" per client address, and per typed email and per account (those
        # two are silent: refusing out loud would tell who has an account).
        "RESET_RATE_LIMIT": os.environ.get("RESET_RATE_LIMIT", "10 per hour"),
        "RESET_ACCOUNT_RATE_LIMIT": os.environ.get("RESET_ACCOUNT_RATE_LIMIT", "3 per hour"),
        # Verification mails per account (sign-up, "send it again", a new address): a logged-in
        # person must not be able to make SkillSwap mail any address at will.
        "VERIFY_RATE_LIMIT": os.environ.get("VERIFY_RATE_LIMIT", "5 per hour"),
        "PROXY_FIX_HOPS": _env_int("PROXY_FIX_HOPS", 1 if replit else 0),
        "PERMANENT_SESSION_LIFETIME": timedelta(days=_env_int("SESSION_LIFETIME_DAYS", 14)),
        # Replit serves over HTTPS, and so does a site whose PUBLIC_URL says https (behind a
        # TLS proxy): a cookie sent over plain HTTP too would leak on any http:// link. The
        # workspace preview is a cross-site frame, where only SameSite=None; Secure;
        # Partitioned cookies are sent (CSRF tokens still protect forms).
        "SESSION_COOKIE_SECURE": _env_bool(
            "SESSION_COOKIE_SECURE", replit or public.startswith("https://")
        ),
        "SESSION_COOKIE_SAMESITE": "None" if preview else "Lax",
        "SESSION_COOKIE_PARTITIONED": preview,
        "ALLOW_EMPTY_STORE": _env_bool("SKILLSWAP_ALLOW_EMPTY_STORE", False),
        "TRUSTED_HOSTS": trusted_hosts(replit),
        "ON_REPLIT": replit,
        "REPLIT_PREVIEW": preview,
        # A thread in each server process that sends queued mail (retries) and reminders when
        # they are due; off where a scheduler runs `flask send-due-mail` instead (README: Mail).
        "MAIL_SENDER_THREAD": _env_bool("MAIL_SENDER_THREAD", True),
        # Links in mails and calendars (web/links.py). Without PUBLIC_URL and outside a
        # request (reminders), LOCAL_URL is the last resort, with a warning in the log.
        "PUBLIC_URL": public,
        "LOCAL_URL": f"http://127.0.0.1:{_env_int('PORT', 5000)}",
        # How long before a session both people are reminded (domain/reminders.py).
        "REMINDER_OFFSETS": parse_offsets(os.environ.get("REMINDER_OFFSETS", "24h,1h")),
        # MAIL_SERVER, MAIL_PORT, ... MAIL_FROM, MAIL_OUTBOX, MAIL_QUEUE (skillswap/mail/config.py)
        **mail_settings(os.environ, instance_path),
    }

"""SkillSwap: people teach what they know and book what they want to learn."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from skillswap import cli, demo, settings, web
from skillswap.domain import limits
from skillswap.extensions import csrf, login_manager
from skillswap.mail import (
    OutboxTransport,
    SMTPTransport,
    compile_mail_templates,
    mailer_from_config,
)
from skillswap.repo import Repository
from skillswap.services.mail import MailSender
from skillswap.services.notify import Notifier
from skillswap.store import Store, open_store
from skillswap.web.links import PublicLinks
from skillswap.web.session_cookie import SignedCookieSessions

log = logging.getLogger("skillswap")


def _utc_now() -> datetime:
    return datetime.now(UTC)


def open_configured_store(app: Flask, url: str) -> Store:
    options: dict[str, Any] = {"max_value_bytes": app.config["STORE_MAX_VALUE_BYTES"]}
    if url.startswith("replit"):
        options |= {
            "db_url": app.config.get("REPLIT_DB_URL") or None,
            "url_file": app.config["REPLIT_URL_FILE"],
            "lock_path": app.config["REPLIT_LOCK_PATH"],
        }
    return open_store(url, **options)


class DataElsewhere(RuntimeError):
    """The chosen store is empty while another store this environment points at has users."""


def refuse_to_abandon_data(app: Flask) -> None:
    """Adding DATABASE_URL on Replit (say) must not make everyone's data seem gone: refuse to
    serve an empty store while another detectable store holds users, unless told to."""
    store: Store = app.extensions["skillswap.store"]
    if app.config["ALLOW_EMPTY_STORE"] or store.keys("user/", limit=1):
        return
    urls = settings.detectable_store_urls(app.instance_path, app.config["REPLIT_URL_FILE"])
    for url in urls:
        if url == app.config["STORE_URL"]:
            continue
        try:
            other = open_configured_store(app, url)
            has_users = bool(other.keys("user/", limit=1))
            other.close()
        except Exception as exc:  # an unreachable old store must not stop a new one
            log.warning("could not check %s for existing users: %s", url.split("://")[0], exc)
            continue
        if has_users:
            raise DataElsewhere(
                f"SkillSwap opened the {store.name} store, which is empty, but the "
                f"{other.name} store this environment also points at holds users. Copy them: "
                "`flask --app skillswap export data.jsonl` with the old store selected "
                "(SKILLSWAP_STORE), then `flask --app skillswap import data.jsonl` with the new "
                "one. Or set SKILLSWAP_ALLOW_EMPTY_STORE=1 to start empty anyway."
            )


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app: settings, store, mail, login, CSRF, limits, blueprints, CLI.

    `config` overrides everything read from the environment (tests pass STORE_URL, TESTING, a
    CLOCK...). Nothing happens at import time.
    """
    app = Flask(__name__, instance_relative_config=True)
    os.makedirs(app.instance_path, exist_ok=True)
    app.config.update(
        MAX_CONTENT_LENGTH=256 * 1024,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
        WTF_CSRF_CHECK_DEFAULT=False,  # see before_request below
        TEMPLATES_AUTO_RELOAD=False,
        # The session cookie is re-signed when it changes and once a day (web/__init__.py),
        # not on every response: signing and compressing it cost a tenth of a small page.
        SESSION_REFRESH_EACH_REQUEST=False,
    )
    if config and "INSTANCE_PATH" in config:
        app.instance_path = config["INSTANCE_PATH"]
        os.makedirs(app.instance_path, exist_ok=True)
    app.config.update(settings.from_environment(app.instance_path))
    if config:
        app.config.update(config)

    clock = app.config.get("CLOCK") or _utc_now
    store: Store = app.config.get("STORE") or open_configured_store(app, app.config["STORE_URL"])
    log.info("store: %s", store.name)
    app.extensions["skillswap.store"] = store
    app.extensions["skillswap.clock"] = clock
    # Piece sizes are the domain's (domain/limits.py); tests shrink them to reach them cheaply.
    app.extensions["skillswap.repo"] = Repository(
        store,
        clock,
        str(app.config["SECRET_KEY"]),
        slot_piece_rows=app.config.get("SLOT_PIECE_ROWS", limits.SLOT_PIECE_ROWS),
        archive_piece_bytes=app.config.get("ARCHIVE_PIECE_BYTES", limits.ARCHIVE_PIECE_BYTES),
    )

    mailer = mailer_from_config(app.config, clock)
    app.extensions["skillswap.mailer"] = mailer
    transport = mailer.transport
    if isinstance(transport, OutboxTransport):
        log.info("mail: no MAIL_SERVER set, so mails are written to %s", transport.folder.resolve())
    elif isinstance(transport, SMTPTransport):
        log.info("mail: SMTP via %s:%d (%s)", transport.host, transport.port, transport.security)
    sender = None
    if app.config["MAIL_SENDER_THREAD"]:
        # Sends reminders and queued mail (retries) when due: started as each server process
        # starts (main.py, gunicorn.conf.py) or by its first request, so never before gunicorn
        # forks and never by a CLI command.
        sender = MailSender(app.extensions["skillswap.repo"], mailer)
        app.before_request(sender.start)
    app.extensions["skillswap.mail_sender"] = sender
    # Mail about sessions, and the reminders (services/notify.py), with links that work
    # outside a request too (web/links.py: PUBLIC_URL).
    notifier = Notifier(
        app.extensions["skillswap.repo"],
        mailer,
        sender,
        PublicLinks(app),
        str(app.config["SECRET_KEY"]),
        app.config["REMINDER_OFFSETS"],
    )
    app.extensions["skillswap.notifier"] = notifier
    if sender is not None:
        sender.notifier = notifier

    if app.config["PROXY_FIX_HOPS"]:
        hops = app.config["PROXY_FIX_HOPS"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]

    app.session_interface = SignedCookieSessions()
    login_manager.init_app(app)
    csrf.init_app(app)

    web.register(app)
    cli.register(app)
    demo.register(app)
    return app


def compile_templates(app: Flask) -> None:
    """Compile every template now, as a server starts (gunicorn.conf.py, main.py): compiled on
    first use, a page costs its first visitor in each worker tens of milliseconds more, and
    everyone queued behind. Not in create_app: CLI commands and tests render few or none."""
    for name in app.jinja_env.list_templates(extensions=["html"]):
        if not name.startswith("mail/"):  # mail has its own environment, compiled below
            app.jinja_env.get_template(name)
    compile_mail_templates()


def start_mail_sender(app: Flask) -> None:
    """Start this process's background sender now (a server process, after any fork), so
    reminders go out even before anyone opens a page; a no-op with MAIL_SENDER_THREAD=false."""
    sender = app.extensions.get("skillswap.mail_sender")
    if sender is not None:
        sender.start()

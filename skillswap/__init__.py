"""SkillSwap: people teach what they know and book what they want to learn."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from flask import Flask, abort, request
from flask_login import current_user
from werkzeug.middleware.proxy_fix import ProxyFix

from skillswap import cli, errors, settings, web
from skillswap.domain import limits
from skillswap.extensions import csrf, login_manager
from skillswap.repo import Repository
from skillswap.store import Store, open_store

log = logging.getLogger("skillswap")


def _utc_now() -> datetime:
    return datetime.now(UTC)


def open_configured_store(app: Flask, url: str) -> Store:
    options: dict[str, Any] = {"max_value_bytes": app.config["STORE_MAX_VALUE_BYTES"]}
    if url.startswith("replit"):
        options |= {
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
    """Build the app: settings, store, login, CSRF, limits, blueprints, CLI.

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

    if app.config["PROXY_FIX_HOPS"]:
        hops = app.config["PROXY_FIX_HOPS"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]

    login_manager.init_app(app)
    csrf.init_app(app)

    from skillswap import (
        account,
        auth,
        bookings,
        calendar,
        dashboard,
        demo,
        ics,
        learn_requests,
        learners,
        notifications,
        offers,
        pages,
        profiles,
        skills,
    )

    for module in (
        pages,
        auth,
        account,
        profiles,
        offers,
        learn_requests,
        bookings,
        dashboard,
        calendar,
        notifications,
        learners,
        ics,
        skills,
    ):
        app.register_blueprint(module.bp)
    app.extensions["skillswap.limiter"] = auth.apply_rate_limits(app)  # keeps it alive
    errors.register(app)
    cli.register(app)
    demo.register(app)
    _register_request_hooks(app)
    return app


def compile_templates(app: Flask) -> None:
    """Compile every template now, as a server starts (gunicorn.conf.py, main.py): compiled on
    first use, a page costs its first visitor in each worker tens of milliseconds more, and
    everyone queued behind. Not in create_app: CLI commands and tests render few or none."""
    for name in app.jinja_env.list_templates(extensions=["html"]):
        app.jinja_env.get_template(name)


# What an HTML form sends. Flask-WTF would also read a JSON body into the form, where numbers,
# lists and strings in place of an object break the fields (500s): no page here takes JSON.
FORM_BODIES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})
CHANGING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _register_request_hooks(app: Flask) -> None:
    @app.before_request
    def refuse_unformed_bodies() -> None:
        # Before the CSRF check, so a JSON body gets 415 rather than "this form had expired".
        if (
            request.method in CHANGING_METHODS
            and request.mimetype not in FORM_BODIES
            and (request.mimetype or request.content_length)
        ):
            abort(415)

    @app.before_request
    def check_csrf() -> None:
        # Every POST is CSRF-checked; views marked validates_own_csrf check it in their form so
        # an expired token re-renders the form with the input kept.
        # A URL that matched no route is a 404/405, not a CSRF question.
        if request.routing_exception is None and request.method in CHANGING_METHODS:
            view = app.view_functions.get(request.endpoint or "")
            if not getattr(view, "validates_own_csrf", False):
                csrf.protect()

    app.jinja_env.filters["flat_errors"] = web.flat_errors
    app.jinja_env.globals["nav_links"] = web.nav_links
    app.jinja_env.globals["when"] = web.when
    app.jinja_env.globals["at"] = web.at
    # A global (not only Flask-Login's context processor) so imported macros see it too.
    app.jinja_env.globals["current_user"] = current_user
    app.jinja_env.globals["viewer_zone"] = web.viewer_zone

    # The headers are the same on every response: worked out once, not per request.
    frame_ancestors = "'self'"
    if app.config.get("REPLIT_PREVIEW"):
        frame_ancestors += " https://*.replit.com https://*.replit.dev"
    always = [
        (
            "Content-Security-Policy",
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "object-src 'none'; base-uri 'self'; form-action 'self'; "
            f"frame-ancestors {frame_ancestors}",
        ),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "strict-origin-when-cross-origin"),
    ]
    hsts = ("Strict-Transport-Security", "max-age=31536000")

    @app.after_request
    def private_pages_are_not_stored(response):  # type: ignore[no-untyped-def]
        # A signed-in page (a profile with its feed address, a dashboard) must not be kept by
        # a shared cache or the browser's back-forward history on a shared computer.
        if (
            request.endpoint != "static"
            and "Cache-Control" not in response.headers
            and current_user.is_authenticated
        ):
            response.headers["Cache-Control"] = "no-store"
        return response

    @app.after_request
    def security_headers(response):  # type: ignore[no-untyped-def]
        # A view may set its own value; otherwise ours. One pass over the names already set:
        # Headers.setdefault tests each name with a lookup that raises when it is absent.
        present = {name.lower() for name, _ in response.headers}
        wanted = [*always, hsts] if request.is_secure else always
        for name, value in wanted:
            if name.lower() not in present:
                response.headers.add(name, value)
        return response

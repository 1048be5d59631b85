"""Friendly error pages, and a 503 (never a traceback) when the store is down."""

from __future__ import annotations

import logging

from flask import Flask, render_template
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, SecurityError

from skillswap.store import StoreLimitError, StoreUnavailable

log = logging.getLogger(__name__)

MESSAGES = {
    400: ("Something in that request was not right", "Go back, check the form and try again."),
    403: (
        "That is not yours",
        "You can only change your own profile, offers and bookings. A session over for more "
        "than a month is in your history, where it can no longer be changed.",
    ),
    404: ("Page not found", "The page or person you asked for does not exist."),
    405: ("Not allowed", "That page cannot be used this way."),
    409: (
        "That could not be saved",
        "It would have made a record larger than SkillSwap can store, so nothing was changed. "
        "If you were adding something, delete what you no longer need and try again.",
    ),
    410: (
        "This account was deleted",
        "Its owner deleted it. Sessions you had with them stay on your dashboard and in your "
        "history.",
    ),
    413: ("Too much data", "That was larger than we accept. Shorten it and try again."),
    415: (
        "Send this as a form",
        "SkillSwap's pages take what their forms send (form-encoded or multipart), not JSON "
        "or other formats. Use the form on the page.",
    ),
    429: (
        "Slow down a little",
        "There were too many attempts from here. Wait a few minutes, then try again.",
    ),
    500: ("Something went wrong on our side", "Nothing you typed caused this. Please try again."),
    503: (
        "SkillSwap is briefly unavailable",
        "We could not reach our storage. Nothing is left half-done: anything interrupted is "
        "finished or undone automatically. Check your dashboard and try again in a moment.",
    ),
}


def render_error(status: int) -> tuple[str, int]:
    title, detail = MESSAGES.get(status, MESSAGES[500])
    return render_template("error.html", status=status, title=title, detail=detail), status


def register(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> tuple[str, int, list[tuple[str, str]]]:
        # The error's own headers are part of what it means: Allow on a 405, Retry-After on a
        # 429, WWW-Authenticate on a 401. Only its plain-text Content-Type gives way to the page.
        if isinstance(exc, SecurityError):
            # A Host header outside TRUSTED_HOSTS: no URL can be built for it, so no page
            # (whose links would need one); a plain answer that repeats nothing sent.
            return (
                "This site is not served under that host name.",
                400,
                [("Content-Type", "text/plain; charset=utf-8")],
            )
        headers = [(k, v) for k, v in exc.get_headers() if k.lower() != "content-type"]
        return (*render_error(exc.code or 500), headers)

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError) -> tuple[str, int]:
        title = "This page had expired"
        detail = "Nothing was changed. Go back, reload the page and try again."
        return render_template("error.html", status=400, title=title, detail=detail), 400

    @app.errorhandler(StoreLimitError)
    def too_large(exc: StoreLimitError) -> tuple[str, int]:
        # The rules refuse with their own message first; this is the store's last line.
        log.error("store refused to write %r: %s", exc.key, exc)
        return render_error(409)

    @app.errorhandler(StoreUnavailable)
    def store_down(exc: StoreUnavailable) -> tuple[str, int]:
        log.error("store unavailable: %s", exc)
        return render_error(503)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> tuple[str, int]:
        if app.testing and not app.config.get("FRIENDLY_500_IN_TESTS"):
            raise exc  # a test should see the traceback, not a friendly page
        log.exception("unhandled error")
        return render_error(500)

"""The web layer: one blueprint per area (routes and forms in web/<area>/), the pieces every
area shares (common.py, forms.py, availability.py), error pages, and what every request passes
through: the body type check, CSRF, and the security headers."""

from __future__ import annotations

from flask import Flask, abort, request, session
from flask_login import current_user

from skillswap.domain.display import describe_dates, title_and_skill
from skillswap.extensions import csrf
from skillswap.web import (
    account,
    addresses,
    attendance,
    auth,
    bookings,
    calendar,
    common,
    dashboard,
    errors,
    feeds,
    learners,
    notifications,
    offers,
    pages,
    profiles,
    recovery,
    requests,
    skills,
    unsubscribe,
    waitlist,
)
from skillswap.web.auth.routes import apply_rate_limits, renew_session
from skillswap.web.forms import session_csrf_token

AREAS = (
    pages,
    auth,
    recovery,
    account,
    addresses,
    profiles,
    offers,
    requests,
    bookings,
    dashboard,
    calendar,
    notifications,
    learners,
    attendance,
    feeds,
    skills,
    unsubscribe,
    waitlist,
)


def register(app: Flask) -> None:
    """Every area's blueprint, the rate limiter, error pages and the request hooks."""
    for area in AREAS:
        app.register_blueprint(area.bp)
    app.extensions["skillswap.limiter"] = apply_rate_limits(app)  # keeps it alive
    errors.register(app)
    _register_request_hooks(app)


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
    def renew_login_daily() -> None:
        # Static files never read the session (reading it would add "Vary: Cookie").
        if request.endpoint != "static" and session.permanent:
            renew_session()

    @app.before_request
    def check_csrf() -> None:
        # Every POST is CSRF-checked; views marked validates_own_csrf check it in their form so
        # an expired token re-renders the form with the input kept.
        # A URL that matched no route is a 404/405, not a CSRF question.
        if request.routing_exception is None and request.method in CHANGING_METHODS:
            view = app.view_functions.get(request.endpoint or "")
            if not getattr(view, "validates_own_csrf", False):
                csrf.protect()

    app.jinja_env.filters["flat_errors"] = common.flat_errors
    app.jinja_env.globals["nav_links"] = common.nav_links
    app.jinja_env.globals["nav_items"] = common.nav_items
    app.jinja_env.globals["frame_links"] = common.frame_links
    app.jinja_env.globals["form_sent_back"] = common.form_sent_back
    app.jinja_env.globals["when"] = common.when
    app.jinja_env.globals["at"] = common.at
    app.jinja_env.globals["shared_time"] = common.shared_time
    app.jinja_env.globals["title_and_skill"] = title_and_skill
    app.jinja_env.globals["describe_dates"] = describe_dates
    # A global (not only Flask-Login's context processor) so imported macros see it too.
    app.jinja_env.globals["current_user"] = current_user
    app.jinja_env.globals["viewer_zone"] = common.viewer_zone
    app.jinja_env.globals["session_csrf_token"] = session_csrf_token
    _share_macros(app)

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
    # Behind a TLS proxy the request may look like plain HTTP (PROXY_FIX_HOPS unset), yet
    # PUBLIC_URL says the site is HTTPS; browsers heed the header only over HTTPS anyway.
    served_over_https = str(app.config.get("PUBLIC_URL", "")).startswith("https://")

    @app.after_request
    def response_headers(response):  # type: ignore[no-untyped-def]
        # A view may set its own value; otherwise ours. One pass over the names already set:
        # a Headers lookup raises (and catches) an exception for each name that is absent.
        present = {name.lower() for name, _ in response.headers}
        wanted = [*always, hsts] if served_over_https or request.is_secure else always
        for name, value in wanted:
            if name.lower() not in present:
                response.headers.add(name, value)
        # A signed-in page (a profile with its feed address, a dashboard), or one whose address
        # holds a secret (a reset or confirmation link), must not be kept by a shared cache or
        # the browser's back-forward history on a shared computer.
        if (
            request.endpoint != "static"
            and "cache-control" not in present
            and (current_user.is_authenticated or "token" in (request.view_args or ()))
        ):
            response.headers["Cache-Control"] = "no-store"
        return response


SHARED_MACROS = "_macros.html"


def _share_macros(app: Flask) -> None:
    """The shared macros (templates/_macros.html) as globals every template calls by name.
    Imported with `{% from %}` instead, each page paid about 14 µs an import (on every one,
    Jinja compares the page's globals with the macro template's) for the same cached module
    (Template.module) every time. Under the reloader a changed file is taken up again before
    each request, as an import would have."""

    def share() -> None:
        module = app.jinja_env.get_template(SHARED_MACROS).module
        app.jinja_env.globals.update(
            (name, getattr(module, name)) for name in dir(module) if not name.startswith("_")
        )

    share()
    if app.jinja_env.auto_reload:
        app.before_request(share)

"""What every blueprint needs from the running app: the repository, the clock, the viewer's zone,
safe redirects, links, and the CSRF policy."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from functools import lru_cache
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

from flask import current_app, g, request, session, url_for
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

from skillswap.domain.times import format_instant, format_range, parse_iso_utc, zone_or_utc
from skillswap.repo import Repository

ZONE_COOKIE = "tz"
F = TypeVar("F", bound=Callable[..., Any])


def repo() -> Repository:
    return current_app.extensions["skillswap.repo"]


def now() -> datetime:
    """The app's clock (aware UTC); tests replace it to travel in time without sleeping."""
    return current_app.extensions["skillswap.clock"]()


def viewer_zone() -> ZoneInfo:
    """Logged in: the profile's zone. Logged out: the browser's (cookie set by app.js), else UTC.

    Worked out once per request: a page asks for it once per time it shows."""
    zone = g.get("viewer_zone")
    if zone is None:
        if current_user.is_authenticated:
            zone = zone_or_utc(current_user.timezone)
        else:
            zone = zone_or_utc(request.cookies.get(ZONE_COOKIE))
        g.viewer_zone = zone
    return zone


def safe_next(target: str | None, default: str = "profile.show") -> str:
    """A same-site path from `next`, else the default page: never an open redirect."""
    if target:
        parts = urlsplit(target)
        if (
            not parts.scheme
            and not parts.netloc
            and target.startswith("/")
            and not target.startswith("//")
            and "\\" not in target
        ):
            return target
    return url_for(default)


def validates_own_csrf(view: F) -> F:
    """Mark a view whose FlaskForm checks the CSRF token itself.

    Every other POST is checked before the view runs (CSRFProtect). Form views check it in the
    form, so an expired token re-renders the form with everything typed kept instead of a bare
    400.
    """
    view.validates_own_csrf = True  # type: ignore[attr-defined]
    return view


_MAX_SIGNED_TOKENS = 4096


def csrf_token() -> str:
    """Flask-WTF's `csrf_token()` for templates, with each session's token signed once.

    Every page signs the session's token for its logout button, and Flask-WTF signs it anew
    each time. With WTF_CSRF_TIME_LIMIT None the signature's timestamp is never checked, so
    one signed copy (per key) serves every page of the session: the same check, less work.
    """
    config = current_app.config
    field = config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    if field in g or config.get("WTF_CSRF_TIME_LIMIT") is not None or field not in session:
        return generate_csrf()
    signed_tokens: dict = current_app.extensions.setdefault("skillswap.csrf", {})
    key = (config.get("WTF_CSRF_SECRET_KEY") or current_app.secret_key, session[field])
    token = signed_tokens.get(key)
    if token is None:
        if len(signed_tokens) >= _MAX_SIGNED_TOKENS:
            signed_tokens.clear()
        token = signed_tokens[key] = generate_csrf()
    else:
        setattr(g, field, token)  # where generate_csrf (forms) looks first, as it would have
    return token


def flat_errors(errors: Any) -> list[str]:
    """WTForms nests errors for FieldList/FormField; summaries want plain messages."""
    if isinstance(errors, str):
        return [errors]
    if isinstance(errors, dict):
        errors = list(errors.values())
    return [message for item in errors or [] for message in flat_errors(item)]


NAV = [
    ("offers.new", "Offer"),
    ("requests.new", "Request"),
    ("profile.show", "Profile"),
    ("dashboard.show", "Dashboard"),
    ("calendar.show", "Calendar"),
    ("skills.directory", "Skills"),
]


def nav_links() -> list[tuple[str, str, str]]:
    """Nav entries whose pages exist in this app (a link to a missing page is worse than none),
    as (endpoint, label, path): the same on every page, so listed once per app."""
    key = ("nav", request.script_root)
    links: dict = current_app.extensions.setdefault("skillswap.links", {})
    if key not in links:
        links[key] = [
            (endpoint, label, path_for(endpoint))
            for endpoint, label in NAV
            if endpoint in current_app.view_functions
        ]
    return links[key]


# A value no route contains and Werkzeug's quoting leaves as it is.
_PROBE = "skillswaplinkvalue"
# What Werkzeug's default (string) converter leaves unquoted in a path segment.
_SEGMENT_SAFE = "!$&'()*+,/:;=@"
_MAX_SHAPES = 512
# Characters quoting never changes: ids and usernames need no quoting at all.
_PLAIN = re.compile(r"[A-Za-z0-9_.~-]*").fullmatch


def _segment(value: Any) -> str:
    """`value` as Werkzeug's default converter puts it in a path."""
    text = str(value)
    return text if _PLAIN(text) else quote(text, safe=_SEGMENT_SAFE)


def _shape(endpoint: str, name: str | None) -> tuple[str, str] | None:
    """The URL of `endpoint` split around its one value `name`, or None when filling it in
    by quoting would not give exactly what url_for gives (another converter, a query arg)."""
    if name is None:
        return url_for(endpoint), ""
    before, found, after = url_for(endpoint, **{name: _PROBE}).partition(_PROBE)
    if not found or _PROBE in after:
        return None
    for sample in ("a b/é?#%", "plain-name_1.x~"):
        if before + _segment(sample) + after != url_for(endpoint, **{name: sample}):
            return None
    return before, after


def _cached_shape(endpoint: str, name: str | None) -> tuple[str, str] | None:
    shapes: dict = current_app.extensions.setdefault("skillswap.links", {})
    key = (request.script_root, endpoint, name)
    if key not in shapes:
        if len(shapes) >= _MAX_SHAPES:
            shapes.clear()
        shapes[key] = _shape(endpoint, name)
    return shapes[key]


def path_for(endpoint: str, **values: Any) -> str:
    """`url_for` for the links pages repeat (the nav on every page, three for each session on
    the dashboard), with the same result: Werkzeug builds each route once per app and script
    root, and later calls only quote their one value into it. Anything else is url_for's."""
    if len(values) > 1 or endpoint.startswith("."):
        return url_for(endpoint, **values)
    name = next(iter(values), None)
    shape = _cached_shape(endpoint, name)
    if shape is None:
        return url_for(endpoint, **values)
    if name is None:
        return shape[0]
    return shape[0] + _segment(values[name]) + shape[1]


def path_maker(endpoint: str, name: str) -> Callable[[Any], str]:
    """`path_for(endpoint, name=value)` as a function of the value, for long lists."""
    shape = None if endpoint.startswith(".") else _cached_shape(endpoint, name)
    if shape is None:
        return lambda value: url_for(endpoint, **{name: value})
    before, after = shape
    return lambda value: before + _segment(value) + after


@lru_cache(maxsize=4096)
def _range_text(start: datetime | str, end: datetime | str, zone: ZoneInfo) -> str:
    # A pure function of its arguments, and pages repeat the same sessions and slots (every
    # reload, every viewer of a teacher in one zone): each is worded once, not every time.
    start_at = parse_iso_utc(start) if isinstance(start, str) else start
    end_at = parse_iso_utc(end) if isinstance(end, str) else end
    return format_range(start_at, end_at, zone)


def when(start: datetime | str, end: datetime | str, zone: ZoneInfo | None = None) -> str:
    """A time range in the viewer's zone (or `zone`), the zone named: for templates, and for
    views that word a long list of times once rather than from the template."""
    return _range_text(start, end, zone or viewer_zone())


def at(instant: datetime | str) -> str:
    """One moment in the viewer's zone, the zone named: for templates."""
    return format_instant(
        parse_iso_utc(instant) if isinstance(instant, str) else instant, viewer_zone()
    )

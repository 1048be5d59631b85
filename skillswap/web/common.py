"""What every blueprint needs from the running app: the repository, the clock, the viewer's zone,
safe redirects, links, mail, and the CSRF policy."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, Generic, TypeVar
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo

from flask import abort, current_app, g, render_template, request, url_for
from flask_login import current_user
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup
from wtforms import Form

from skillswap.domain.display import format_instant, format_part, format_range
from skillswap.domain.schedule import Schedule
from skillswap.domain.times import parse_iso_utc, to_zone
from skillswap.domain.users import User
from skillswap.domain.zones import current_zone_name, zone_or_utc
from skillswap.mail import Outcome
from skillswap.repo import Repository
from skillswap.services.mail import mail_person
from skillswap.services.notify import Notifier

ZONE_COOKIE = "tz"
F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")


def repo() -> Repository:
    return current_app.extensions["skillswap.repo"]


def now() -> datetime:
    """The app's clock (aware UTC); tests replace it to travel in time without sleeping."""
    return current_app.extensions["skillswap.clock"]()


def send_mail(
    user: User, kind: str, context: dict[str, Any], address: str | None = None
) -> Outcome | None:
    """Mail `user` (at `address`, default theirs) without ever failing the page: a server that
    is down means a retry later (services/mail.py). None when they may not be mailed."""
    extensions = current_app.extensions
    return mail_person(
        extensions["skillswap.mailer"],
        extensions["skillswap.mail_sender"],
        user,
        kind,
        context,
        address=address,
    )


def notifier() -> Notifier:
    """Mail about sessions (services/notify.py): the views call its hooks once a change is
    done; none of them can fail the page."""
    return current_app.extensions["skillswap.notifier"]


def public_link(endpoint: str, **values: Any) -> str:
    """An absolute link for a mail: from PUBLIC_URL when set, else this request's host when
    TRUSTED_HOSTS vouches for it, else LOCAL_URL (web/links.py)."""
    return notifier().links(endpoint, **values)


def person_or_abort(username: str) -> tuple[User, Schedule]:
    """The person behind a public page (/user, /book) with their schedule. A deleted account
    answers 410, with a page that says so: links to it stay on the other person's sessions."""
    found = repo().find_person(username)
    if found is None:
        abort(410 if repo().username_retired(username) else 404)
    return found


def viewer_zone() -> ZoneInfo:
    """Logged in: the profile's zone. Logged out: the browser's (cookie set by app.js), else UTC.

    Worked out once per request: a page asks for it once per time it shows."""
    zone = g.get("viewer_zone")
    if zone is None:
        if current_user.is_authenticated:
            zone = zone_or_utc(current_user.timezone)
        else:
            # app.js percent-encodes the name ("Europe%2FBerlin"); cookies come undecoded.
            # Today's name, as sign-up stores it: Chrome still says "Asia/Calcutta".
            zone = zone_or_utc(current_zone_name(unquote(request.cookies.get(ZONE_COOKIE, ""))))
        g.viewer_zone = zone
    return zone


CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")


def safe_next(target: str | None, default: str = "profile.show") -> str:
    """A same-site path from `next`, else the default page: never an open redirect."""
    # urlsplit drops tabs and line breaks before parsing, so the checks below would pass a
    # target that still holds them (a line break in a Location header is a 500).
    if target and not CONTROL_CHARACTERS.search(target):
        try:
            parts = urlsplit(target)
        except ValueError:  # "//[": an unclosed IPv6 bracket, in a link anyone can hand out
            return url_for(default)
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


def authorised_by_link(view: F) -> F:
    """Mark a view whose POST is authorised by the signed token in its address, not by a
    session: RFC 8058 one-click unsubscribe requests come from mail providers with no
    cookies and no CSRF token. The token is unguessable and names what it may change, which
    is what a CSRF token would prove."""
    view.validates_own_csrf = True  # type: ignore[attr-defined]
    return view


def flat_errors(errors: Any) -> list[str]:
    """WTForms nests errors for FieldList/FormField; summaries want plain messages."""
    if isinstance(errors, str):
        return [errors]
    if isinstance(errors, dict):
        errors = list(errors.values())
    return [message for item in errors or [] for message in flat_errors(item)]


# Values every URL converter writes as they are: the ids and usernames this app makes.
_PLAIN = re.compile(r"[A-Za-z0-9_.-]+", re.ASCII)


def url_maker(endpoint: str, argument: str, **fixed: str) -> Callable[[str], str]:
    """url_for(endpoint, **{argument: value}, **fixed) for a list of rows: Werkzeug builds
    the URL once per mount point (once per call, with `fixed` values) with a marker, and each
    row with a plain value (an id, a username) puts it in the marker's place; any other value
    goes through url_for itself."""
    marker = "skillswapvalue"
    if fixed:  # values of the moment (a skill searched for): not kept
        pattern = url_for(endpoint, **{argument: marker}, **fixed)
    else:
        patterns: dict[tuple[str, str], str] = per_mount("url_patterns", dict)
        pattern = patterns.get((endpoint, argument))
        if pattern is None:  # a few endpoints in all, so the dict stays small
            pattern = patterns[endpoint, argument] = url_for(endpoint, **{argument: marker})

    def make(value: str) -> str:
        if _PLAIN.fullmatch(value) and pattern.count(marker) == 1:
            return pattern.replace(marker, value)
        return url_for(endpoint, **{argument: value}, **fixed)

    return make


NAV = [
    ("offers.new", "Offer"),
    ("requests.new", "Request"),
    ("profile.show", "Profile"),
    ("dashboard.show", "Dashboard"),
    ("calendar.show", "Calendar"),
    ("skills.directory", "Skills"),
]


# Every page's frame (base.html) links to these besides NAV, and to these static files.
FRAME = (
    "pages.home",
    "notifications.show",
    "auth.logout",
    "skills.directory",
    "auth.signup",
    "auth.login",
)
FRAME_FILES = ("style.css", "app.js", "calendar.css")
#: Mount points whose links are kept (one in any real deployment).
MOUNTS_KEPT = 8


def per_mount(name: str, build: Callable[[], T]) -> T:
    """What `build` makes, once per app and mount point (`request.script_root`): for links,
    which depend on nothing else (no subdomains or host rules here), so pages need not ask
    Werkzeug for the same paths on every request."""
    kept = current_app.extensions.setdefault(f"skillswap.{name}", {})
    value = kept.get(request.script_root)
    if value is None:
        value = build()
        if len(kept) >= MOUNTS_KEPT:
            kept.clear()
        kept[request.script_root] = value
    return value


def frame_links() -> dict[str, str]:
    """Paths of the links every page shows (the nav, the home link, the stylesheets...), by
    endpoint or static file name, for pages that exist in this app (a link to a missing
    page is worse than none), built once per mount point rather than with a dozen url_for
    calls on every page."""

    def build() -> dict[str, str]:
        endpoints = (*FRAME, *(endpoint for endpoint, _ in NAV))
        links = {e: url_for(e) for e in endpoints if e in current_app.view_functions}
        links.update({name: url_for("static", filename=name) for name in FRAME_FILES})
        return links

    return per_mount("frame_links", build)


def not_saved(message: str, back: str, status: int) -> tuple[str, int]:
    """A button's POST refused, for a page with no form to show it on: what happened, and
    the way back."""
    return render_template("not_saved.html", message=message, back=back), status


def ask_first(heading: str, detail: str, button: str, back: str) -> str | None:
    """For a POST that destroys something: None when the person confirmed it (app.js's
    dialog sets confirmed=yes), else a page that asks, whose button confirms. Without
    JavaScript there is no dialog, and one tap deleted at once."""
    if request.form.get("confirmed") == "yes":
        return None
    return render_template(
        "confirm.html",
        heading=heading,
        detail=detail,
        button=button,
        action=request.path,
        back=back,
    )


@pass_context
def form_sent_back(context: Context) -> bool:
    """Whether the page answers a form sent with problems: a POST, and a form it shows has
    errors, whatever the page calls it (/account has four). For the title, which is written
    before any form is."""
    if request.method != "POST":
        return False
    return any(
        isinstance(value, Form)
        and (value.errors or getattr(value, "availability_problems", None))  # list rows' own
        for value in context.get_all().values()
    )


def nav_links() -> list[tuple[str, str, str]]:
    """Nav entries whose pages exist in this app, as (endpoint, label, path)."""
    links = frame_links()
    return [(endpoint, label, links[endpoint]) for endpoint, label in NAV if endpoint in links]


#: The template of the nav's entries, rendered by `nav_items`.
NAV_ITEMS = "_nav_items.html"


def nav_items(here: str, endpoint: str | None) -> Markup:
    """The nav's entries as list items, the one for the section `here` marked (as this very
    page when `here` is the request's `endpoint`): rendered once per mount point and pair,
    as every signed-in page shows the same few for a dozen sections."""
    kept: dict[tuple[str, str | None], Markup] = per_mount("nav_items", dict)
    items = kept.get((here, endpoint))
    if items is None:
        template = current_app.jinja_env.get_template(NAV_ITEMS)
        items = kept[here, endpoint] = Markup(template.render(here=here, endpoint=endpoint))
    return items


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


def shared_time(
    slot_start: datetime, parts: Iterable[tuple[datetime, datetime]], zone: ZoneInfo | None = None
) -> str:
    """The parts of a slot inside a learner's windows, in the viewer's zone (or `zone`), the
    slot's own day left out: "11:00–12:00", or "10:00–10:30 and 11:30–12:00"."""
    zone = zone or viewer_zone()
    day = to_zone(slot_start, zone).date()
    return " and ".join(format_part(start, end, zone, day) for start, end in parts)


def at(instant: datetime | str) -> str:
    """One moment in the viewer's zone, the zone named: for templates."""
    return format_instant(
        parse_iso_utc(instant) if isinstance(instant, str) else instant, viewer_zone()
    )


@dataclass(frozen=True)
class Paged(Generic[T]):
    """One page of a list, with the links to its neighbours ("" for none)."""

    items: list[T]
    page: int
    pages: int
    first: int  # the index of the page's first item in the whole list
    previous: str
    next: str


def requested_page(last: int) -> int:
    """The page the request asks for (`?page=`, 1-based): anything else, or a page beyond
    `last`, lands on the nearest page there is."""
    return min(max(request.args.get("page", 1, type=int) or 1, 1), last)


def paged(items: list[T], size: int, endpoint: str, **values: str) -> Paged[T]:
    """The page of `items` the request asks for (`requested_page`), `size` a page."""
    pages = max(1, -(-len(items) // size))
    page = requested_page(pages)
    first = (page - 1) * size
    return Paged(
        items[first : first + size],
        page,
        pages,
        first,
        url_for(endpoint, **values, page=page - 1) if page > 1 else "",
        url_for(endpoint, **values, page=page + 1) if page < pages else "",
    )

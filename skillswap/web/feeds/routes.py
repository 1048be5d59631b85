"""Calendars: each booking as an .ics file, and a private subscription feed of all my sessions.

The feed is read by calendar apps that cannot log in, so its address carries a secret. The
secret is HMAC(SECRET_KEY, user id + a random 32-byte nonce kept in the user record): the
store holds only the nonce and the secret's SHA-256 (as the `feedtoken/<sha256>` claim and in
the user record, compared in constant time), so a copy of the store alone opens no feed, yet
the profile can show the address again whenever its owner looks. Regenerating draws a new
nonce; revoking clears both, and the old address answers 404.

Every event's UID is the booking's, so a calendar that already has the session updates it in
place: a moved session keeps its UID, its SEQUENCE the booking's `sequence` (one more per
move), and a cancelled session keeps its UID with STATUS:CANCELLED and a SEQUENCE one higher.
The events are built in domain/ics.py, as are the invites in booking mail.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from flask import Blueprint, Response, abort, current_app, flash, redirect, request, url_for
from flask_login import current_user, login_required

from skillswap.domain.ics import EventLinks, as_calendar, booking_event
from skillswap.domain.times import to_zone
from skillswap.domain.users import User
from skillswap.web.common import now, repo, url_maker, viewer_zone

bp = Blueprint("ics", __name__)

CONTENT_TYPE = "text/calendar; charset=utf-8"
TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{43}")  # 32 bytes, base64url without padding


# --- events ---------------------------------------------------------------------------------


def event_links() -> EventLinks:
    """Profile and session addresses for this request's events (domain/ics.py)."""
    profile = url_maker("profile.public", "username")
    # A calendar keeps an event for good: its link finds the session's dashboard tab then.
    session = url_maker("dashboard.session_link", "booking_id")
    root = request.host_url.rstrip("/")
    return EventLinks(
        profile=lambda username: root + profile(username),
        session=lambda booking_id: root + session(booking_id),
    )


def _names(uids: Iterable[str]) -> dict[str, str]:
    """Display names of the people in these sessions, in one round trip."""
    return {uid: user.name for uid, user in repo().get_users(sorted(set(uids))).items()}


def _ics_response(body: bytes, filename: str | None = None) -> Response:
    response = Response(body, content_type=CONTENT_TYPE)
    response.headers["Cache-Control"] = "private, no-store"
    if filename:
        response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@bp.get("/booking/<booking_id>.ics")
@login_required
def booking(booking_id: str) -> Response:
    found = repo().schedule(current_user.id).bookings.get(booking_id)
    if found is None or found.status == "pending":
        abort(403)  # someone else's session, or none at all, as on the other booking pages
    names = _names([found.teacher, found.learner])
    event = booking_event(found, current_user.id, names, now(), event_links())
    # Named by the day it is where the reader lives, as every page shows it.
    filename = f"skillswap-{to_zone(found.start_at, viewer_zone()):%Y-%m-%d}-{found.id}.ics"
    return _ics_response(as_calendar([event]), filename)


# --- the subscription feed -----------------------------------------------------------------


def _secret_key() -> bytes:
    key = current_app.config["SECRET_KEY"]
    return key if isinstance(key, bytes) else str(key).encode()


def feed_token(user: User) -> str:
    """The secret in `user`'s feed address (derived, never stored)."""
    message = f"calendar-feed:{user.id}:{user.feed_nonce}".encode()
    digest = hmac.new(_secret_key(), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass
class Feed:
    active: bool
    url: str  # "" when active but not derivable (SECRET_KEY changed since it was made)

    @property
    def webcal_url(self) -> str:
        """The same address for calendar apps that register the webcal: scheme (Apple)."""
        return "webcal://" + self.url.partition("://")[2] if self.url else ""


@bp.app_template_global()
def calendar_feed(user: User) -> Feed:
    """For the profile page: is there a feed, and at which address."""
    if not user.feed_token_hash:
        return Feed(active=False, url="")
    token = feed_token(user)
    if not hmac.compare_digest(token_hash(token), user.feed_token_hash):
        return Feed(active=True, url="")
    return Feed(active=True, url=url_for("ics.feed", token=token, _external=True))


@bp.get("/calendar/<token>.ics")
def feed(token: str) -> Response:
    """Every session I teach or attend. No login: the secret in the address is the key."""
    if not TOKEN_RE.fullmatch(token):
        abort(404)
    found = repo().feed_person(token_hash(token))
    if found is None:
        abort(404)  # revoked, regenerated or never issued: nothing says which
    user, schedule = found
    bookings = sorted(
        (b for b in schedule.bookings.values() if b.status != "pending"), key=lambda b: b.start
    )
    names = {**_names(b.other(user.id) for b in bookings), user.id: user.name}
    moment = now()
    links = event_links()
    events = [booking_event(b, user.id, names, moment, links) for b in bookings]
    body = as_calendar(events, name=f"SkillSwap · {user.name}", uid=f"feed-{user.id}@skillswap")
    return _ics_response(body)


@bp.post("/calendar/feed")
@login_required
def regenerate() -> Response:
    """Create the feed address, or replace it: the old one stops working at once."""
    had_feed = bool(current_user.record.feed_token_hash)
    user = current_user.record
    user.feed_nonce = secrets.token_hex(32)
    repo().set_feed_token(user.id, token_hash(feed_token(user)), user.feed_nonce)
    if had_feed:
        flash("Your calendar feed has a new address. Update it in your calendar app.", "success")
    else:
        flash("Your calendar feed is ready. Copy its address into your calendar app.", "success")
    return redirect(url_for("profile.show") + "#calendar")


@bp.post("/calendar/feed/revoke")
@login_required
def revoke() -> Response:
    repo().revoke_feed_token(current_user.id)
    flash("Your calendar feed is switched off; its address no longer works.", "info")
    return redirect(url_for("profile.show") + "#calendar")

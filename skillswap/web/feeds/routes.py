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
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import Blueprint, Response, abort, current_app, flash, redirect, url_for
from flask_login import current_user, login_required
from icalendar import Calendar, Event, vCalAddress

from skillswap.domain.records import Booking
from skillswap.domain.users import User
from skillswap.web.common import now, repo

bp = Blueprint("ics", __name__)

PRODID = "-//SkillSwap//SkillSwap calendar//EN"
CONTENT_TYPE = "text/calendar; charset=utf-8"
TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{43}")  # 32 bytes, base64url without padding
MODES = {"online": "Online", "offline": "In person"}


# --- events --------------------------------------------------------------------------------


def event_uid(booking: Booking) -> str:
    return f"booking-{booking.id}@skillswap"


def _address(username: str, name: str, role: str) -> vCalAddress:
    # A profile address rather than an email: emails stay private, and calendar apps will not
    # try to mail replies to it.
    address = vCalAddress(url_for("profile.public", username=username, _external=True))
    address.params["CN"] = name
    address.params["ROLE"] = role
    return address


def booking_event(booking: Booking, viewer: str, names: dict[str, str], stamp: datetime) -> Event:
    """One session as `viewer` sees it. `names` maps user ids to display names (usernames are
    the fallback). Times are UTC; a calendar shows them in its own zone."""
    teacher = names.get(booking.teacher) or booking.teacher_name
    learner = names.get(booking.learner) or booking.learner_name
    cancelled = booking.status == "cancelled"
    mode = MODES.get(booking.mode, booking.mode.capitalize())
    if booking.role(viewer) == "teacher":
        summary = f"Teaching {booking.skill} to {learner}"
    else:
        summary = f"{booking.skill} with {teacher}"
    lines = [
        f"{booking.skill} · {mode}",
        f"Teacher: {teacher} (@{booking.teacher_name})",
        f"Learner: {learner} (@{booking.learner_name})",
    ]
    if cancelled:
        who = teacher if booking.cancelled_by == booking.teacher else learner
        reason = f": {booking.cancel_reason}" if booking.cancel_reason else ""
        lines.append(f"Cancelled by {who}{reason}")
    dashboard = url_for("dashboard.show", _external=True) + f"#booking-{booking.id}"
    lines.append(f"On SkillSwap: {dashboard}")
    event = Event.new(
        uid=event_uid(booking),
        sequence=booking.sequence + (1 if cancelled else 0),
        status="CANCELLED" if cancelled else "CONFIRMED",
        summary=f"Cancelled: {summary}" if cancelled else summary,
        start=booking.start_at,
        end=booking.end_at,
        stamp=stamp,
        location=mode,
        description="\n".join(lines),
        categories=["SkillSwap", booking.skill],
        url=dashboard,
        organizer=_address(booking.teacher_name, teacher, "CHAIR"),
        transparency="TRANSPARENT" if cancelled else "OPAQUE",
    )
    attendee = _address(booking.learner_name, learner, "REQ-PARTICIPANT")
    attendee.params["PARTSTAT"] = "DECLINED" if cancelled else "ACCEPTED"
    event.add("attendee", attendee)
    return event


def as_calendar(events: Iterable[Event], name: str | None = None, uid: str | None = None) -> bytes:
    cal = Calendar.new(prodid=PRODID, method="PUBLISH", name=name, uid=uid)
    if name:
        # Apple and Google poll a subscription at their own pace; this is a hint, not a rule.
        cal.refresh_interval = timedelta(hours=1)
        cal.add("x-published-ttl", "PT1H")
    for event in events:
        cal.add_component(event)
    return cal.to_ical()


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
    event = booking_event(found, current_user.id, _names([found.teacher, found.learner]), now())
    filename = f"skillswap-{found.start_at:%Y-%m-%d}-{found.id}.ics"
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
    events = [booking_event(b, user.id, names, moment) for b in bookings]
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

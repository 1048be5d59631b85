"""In-app notifications: new bookings, cancellations, moved sessions, invitations, reviews
received."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from skillswap.domain.display import title_and_skill
from skillswap.domain.records import Notification, slot_ref
from skillswap.domain.schedule import Schedule
from skillswap.domain.times import iso_utc
from skillswap.web.common import now, repo, url_maker

bp = Blueprint("notifications", __name__)
# Notices about one session, linked to it on the dashboard.
SESSION_NOTICES = frozenset({"booked", "cancelled", "moved", "reviewed", "no_show"})


@bp.get("/notifications")
@login_required
def show() -> str:
    schedule = repo().schedule(current_user.id)
    session_link = url_maker("dashboard.session_link", "booking_id")
    shown = []
    for n in schedule.notifications:
        title = n.title
        if not title and (booking := schedule.bookings.get(n.booking_id)):
            title = booking.title  # a notice from before notices kept the title
        # A notice about a session links its lasting address, which finds the dashboard tab
        # listing it when opened (notices stored before the tabs kept "/dashboard#...").
        link = session_link(n.booking_id) if n.kind in SESSION_NOTICES and n.booking_id else n.link
        shown.append((n, *title_and_skill(title, n.skill), _standing(n, schedule), link))
    return render_template("notifications/show.html", notifications=shown)


def _standing(n: Notification, schedule: Schedule) -> str:
    """What has become of a notice's call to act, from my own document: a time held for me
    (a "held" notice) "booked" once I booked it, "ended" once its hold is over; a review of
    me waiting for my own ("reviewed") "rated" once I rated the session; else "", and its
    words and link stand as they are."""
    me = schedule.owner
    if n.kind == "reviewed":
        booking = schedule.bookings.get(n.booking_id)
        return "rated" if booking is not None and me in booking.reviews else ""
    if n.kind != "held":
        return ""
    held = parse_qs(urlsplit(n.link).query).get("slot", [""])[0]
    for b in schedule.bookings.values():
        if b.active and b.learner == me and slot_ref(b.offer_id, b.slot_id) == held:
            return "booked"
    return "ended" if n.note <= iso_utc(now()) else ""


@bp.post("/notifications/read")
@login_required
def mark_read() -> Response:
    repo().mark_notifications_read(current_user.id)
    flash("All notifications are marked as read.", "info")
    return redirect(url_for("notifications.show"))

"""In-app notifications: new bookings, cancellations, moved sessions, invitations, reviews
received."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from skillswap.domain.display import title_and_skill
from skillswap.web.common import repo

bp = Blueprint("notifications", __name__)


@bp.get("/notifications")
@login_required
def show() -> str:
    schedule = repo().schedule(current_user.id)
    shown = []
    for n in schedule.notifications:
        title = n.title
        if not title and (booking := schedule.bookings.get(n.booking_id)):
            title = booking.title  # a notice from before notices kept the title
        shown.append((n, *title_and_skill(title, n.skill)))
    return render_template("notifications/show.html", notifications=shown)


@bp.post("/notifications/read")
@login_required
def mark_read() -> Response:
    repo().mark_notifications_read(current_user.id)
    flash("All notifications are marked as read.", "info")
    return redirect(url_for("notifications.show"))

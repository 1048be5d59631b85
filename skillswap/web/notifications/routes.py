"""In-app notifications: new bookings, cancellations, moved sessions, invitations, reviews
received."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from skillswap.web.common import repo

bp = Blueprint("notifications", __name__)


@bp.get("/notifications")
@login_required
def show() -> str:
    schedule = repo().schedule(current_user.id)
    return render_template("notifications/show.html", notifications=schedule.notifications)


@bp.post("/notifications/read")
@login_required
def mark_read() -> Response:
    repo().mark_notifications_read(current_user.id)
    flash("All notifications are marked as read.", "info")
    return redirect(url_for("notifications.show"))

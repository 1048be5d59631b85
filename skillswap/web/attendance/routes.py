"""Did it happen (issue 21): each person marks a past session from their dashboard; and a
learner declines an invitation from their notifications. Refusals come back as a page that
says why, with a 4xx status."""

from __future__ import annotations

import re

from flask import Blueprint, abort, flash, redirect, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from skillswap import services
from skillswap.domain.attendance import MARKS
from skillswap.domain.refusals import NotParticipant, ScheduleRefusal
from skillswap.web.attendance.forms import DeclineForm, MarkForm
from skillswap.web.common import not_saved, repo, validates_own_csrf

bp = Blueprint("attendance", __name__)
EXPIRED = "This page had expired, so nothing was saved: open it again and press the button again."
SAVED = {
    "happened": "Thank you: the session is marked as held.",
    "they_missed": "Noted: the other person did not come.",
    "i_missed": "Noted: you could not come.",
}


BOOKING_ID = re.compile(r"[0-9a-f]{16}")


@bp.get("/booking/<booking_id>/attendance")
def mark_reopened(booking_id: str) -> Response:
    """A refusal is shown at the address it was posted to; reloaded or opened from the
    history, that address goes back to the session (account/routes.py form_reopened)."""
    # Only an id as this app makes them goes into the address (a line break would be a 500).
    anchor = f"#booking-{booking_id}" if BOOKING_ID.fullmatch(booking_id) else ""
    return redirect(url_for("dashboard.past") + anchor)


@bp.post("/booking/<booking_id>/attendance")
@login_required
@validates_own_csrf
def mark(booking_id: str) -> Response | tuple[str, int]:
    if booking_id not in repo().schedule(current_user.id).bookings:
        abort(403)  # someone else's session, or none at all
    back = url_for("dashboard.past") + f"#booking-{booking_id}"  # marks follow the end
    form = MarkForm()
    if not form.validate_on_submit():
        if form.csrf_failed():
            return not_saved(EXPIRED, back, 400)
        return not_saved(form.mark.errors[0], back, 400)
    what = form.mark.data or ""
    try:
        services.attendance.mark(repo(), current_user.id, booking_id, what)
    except NotParticipant:
        abort(403)
    except ScheduleRefusal as refusal:
        return not_saved(str(refusal), back, 409)
    flash(SAVED.get(what, MARKS[what]), "success")
    return redirect(back)


@bp.get("/invitations/<notification_id>/decline")
def decline_reopened(notification_id: str) -> Response:
    """As mark_reopened: back to the notifications."""
    return redirect(url_for("notifications.show"))


@bp.post("/invitations/<notification_id>/decline")
@login_required
@validates_own_csrf
def decline(notification_id: str) -> Response | tuple[str, int]:
    back = url_for("notifications.show")
    form = DeclineForm()
    if not form.validate_on_submit():
        return not_saved(EXPIRED, back, 400)
    try:
        invitation = services.attendance.decline(repo(), current_user.id, notification_id)
    except NotParticipant:
        abort(404)  # not an invitation of mine
    except ScheduleRefusal as refusal:
        flash(str(refusal), "info")  # answered already: a second press, or booked meanwhile
        return redirect(back)
    flash(f"You declined {invitation.actor}'s invitation to learn {invitation.skill}.", "success")
    return redirect(back)

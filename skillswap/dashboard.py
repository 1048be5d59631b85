"""The dashboard: what I teach and attend, upcoming and past, and the reviews around them."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user, login_required

from skillswap.domain.schedule import sessions
from skillswap.web import now, repo

bp = Blueprint("dashboard", __name__)


@bp.get("/dashboard")
@login_required
def show() -> str:
    moment = now()
    schedule = repo().resolve_pending(repo().schedule(current_user.id))
    me = current_user.id
    teaching_upcoming, teaching_past = sessions(schedule, "teacher", moment)
    attending_upcoming, attending_past = sessions(schedule, "learner", moment)
    given, received = [], []
    for booking in schedule.bookings.values():
        if me in booking.reviews:
            given.append((booking, booking.reviews[me]))
        other = booking.other(me)
        if booking.review_visible(other, moment):
            received.append((booking, booking.reviews[other]))
    given.sort(key=lambda pair: pair[1].created, reverse=True)
    received.sort(key=lambda pair: pair[1].created, reverse=True)
    hidden = sum(
        1
        for b in schedule.bookings.values()
        if b.other(me) in b.reviews and not b.review_visible(b.other(me), moment)
    )
    return render_template(
        "dashboard/show.html",
        teaching_upcoming=teaching_upcoming,
        teaching_past=teaching_past,
        attending_upcoming=attending_upcoming,
        attending_past=attending_past,
        given=given,
        received=received,
        hidden_reviews=hidden,
        stats=schedule.stats(moment),
        now=moment,
    )

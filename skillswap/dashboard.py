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
    teaching_upcoming, teaching_past = sessions(schedule, "teacher", moment)
    attending_upcoming, attending_past = sessions(schedule, "learner", moment)
    return render_template(
        "dashboard/show.html",
        teaching_upcoming=teaching_upcoming,
        teaching_past=teaching_past,
        attending_upcoming=attending_upcoming,
        attending_past=attending_past,
        given=schedule.given_reviews(),
        received=schedule.received_reviews(moment),
        hidden_reviews=schedule.hidden_reviews(moment),
        stats=schedule.stats(moment),
        now=moment,
    )

"""The dashboard: what I teach and attend, upcoming and past, and the reviews around them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import Blueprint, render_template
from flask_login import current_user, login_required

from skillswap.domain.schedule import Booking, sessions
from skillswap.web import now, path_maker, repo, viewer_zone, when

bp = Blueprint("dashboard", __name__)


@dataclass
class SessionItem:
    """A session as the dashboard lists it. Worked out here, not in the template: a dashboard
    lists dozens, and each call made from Jinja costs several times what it costs here."""

    booking: Booking
    other: str  # the other person's username
    when: str
    # "cancelled", "upcoming" (can be cancelled), "in progress", "to rate" or "rated"
    state: str
    cancelled_by: str  # "you" or the other person's username, when cancelled
    my_rating: int | None
    profile_path: str
    action_path: str  # the cancel or review page; "" when there is none
    ics_path: str


def session_items(
    lists: dict[str, list[Booking]], me: str, moment: datetime
) -> dict[str, list[SessionItem]]:
    """Each list of sessions as the dashboard shows it, by the same name."""
    profile = path_maker("profile.public", "username")
    cancel = path_maker("bookings.cancel", "booking_id")
    review = path_maker("bookings.review", "booking_id")
    ics = path_maker("ics.booking", "booking_id")
    zone = viewer_zone()

    def item(b: Booking) -> SessionItem:
        other = b.other_name(me)
        action = ""
        if b.status == "cancelled":
            state = "cancelled"
        elif b.start_at > moment:
            state, action = "upcoming", cancel(b.id)
        elif b.end_at > moment:
            state = "in progress"
        elif me in b.reviews:
            state = "rated"
        else:
            state, action = "to rate", review(b.id)
        return SessionItem(
            booking=b,
            other=other,
            when=when(b.start, b.end, zone),
            state=state,
            cancelled_by="you" if b.cancelled_by == me else other,
            my_rating=b.reviews[me].rating if me in b.reviews else None,
            profile_path=profile(other),
            action_path=action,
            ics_path=ics(b.id),
        )

    return {name: [item(b) for b in bookings] for name, bookings in lists.items()}


@bp.get("/dashboard")
@login_required
def show() -> str:
    moment = now()
    me = current_user.id
    schedule = repo().resolve_pending(repo().schedule(me))
    teaching_upcoming, teaching_past = sessions(schedule, "teacher", moment)
    attending_upcoming, attending_past = sessions(schedule, "learner", moment)
    lists = {
        "teaching_upcoming": teaching_upcoming,
        "teaching_past": teaching_past,
        "attending_upcoming": attending_upcoming,
        "attending_past": attending_past,
    }
    received = schedule.received_reviews(moment)
    return render_template(
        "dashboard/show.html",
        **session_items(lists, me, moment),
        # With the other person's name: one lookup here, not a call from the template each.
        given=[(b, review, b.other_name(me)) for b, review in schedule.given_reviews()],
        received=[(b, review, b.other_name(me)) for b, review in received],
        hidden_reviews=schedule.hidden_reviews(moment),
        stats=schedule.stats(moment, received),
    )

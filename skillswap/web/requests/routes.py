"""Learning requests: ask for a skill in a time window, see who can teach you then."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from skillswap import services
from skillswap.domain import limits
from skillswap.domain.records import LearnRequest
from skillswap.domain.refusals import ScheduleRefusal
from skillswap.domain.times import expand_windows, iso_utc
from skillswap.domain.users import User
from skillswap.domain.zones import zone_or_utc
from skillswap.repo.keys import new_id
from skillswap.web.availability import read_availability, wants_another_row
from skillswap.web.common import ask_first, now, repo, requested_page, validates_own_csrf
from skillswap.web.requests.forms import RequestForm

bp = Blueprint("requests", __name__)
PAGE_SIZE = 10
MAX_PAGE = 50  # 500 teachers: beyond that, a narrower request serves better


def _build(form: RequestForm) -> LearnRequest | None:
    """The request a submitted form describes, or None with every problem at its field."""
    fields_ok = form.validate()
    zone = zone_or_utc(current_user.timezone)
    availability = read_availability(form, zone, now())
    if availability is None or not fields_ok:
        return None
    windows = expand_windows(availability.dates, availability.ranges, zone)
    return LearnRequest(
        id=new_id(),
        owner=current_user.id,
        user=current_user.username,
        skill=" ".join(form.skill.data.split()),
        mode=form.mode.data,
        timezone=zone.key,
        dates=[d.isoformat() for d in availability.dates],
        time_ranges=[[f"{a:%H:%M}", f"{b:%H:%M}"] for a, b in availability.ranges],
        timestamp=iso_utc(now()),
        preset=availability.preset,
        custom_dates=[d.isoformat() for d in availability.custom_dates],
        windows=[[iso_utc(a), iso_utc(b)] for a, b in windows],
    )


@bp.route("/request", methods=["GET", "POST"])
@login_required
@validates_own_csrf
def new() -> Response | tuple[str, int]:
    form = RequestForm()
    if form.is_submitted() and wants_another_row(form):
        status = 200
    elif form.is_submitted() and (learn_request := _build(form)) is not None:
        try:
            saved = services.offers.save_request(repo(), learn_request)
        except ScheduleRefusal as refusal:
            form.skill.errors = [*form.skill.errors, str(refusal)]
            status = 409
        else:
            flash("Your request is saved.", "success")  # the page says who can teach, or nobody
            return redirect(url_for("requests.matches", request_id=saved))
    else:
        status = 400 if form.is_submitted() else 200
    return render_template(
        "requests/form.html",
        form=form,
        learn_tags=current_user.learn,
        csrf_expired=form.csrf_failed(),
    ), status


@bp.get("/request/<request_id>")
@login_required
def matches(request_id: str) -> str:
    mine = repo().schedule(current_user.id)
    learn_request = mine.requests.get(request_id)
    if learn_request is None:
        abort(404)
    # Page p needs the first p pages of teachers, and to know whether anyone follows: the
    # slot index yields them soonest first, so nobody further down is read.
    page = requested_page(MAX_PAGE)
    question = (
        repo(),
        learn_request.skill_key,
        learn_request.window_instants(),
        learn_request.mode,
        current_user.id,
    )
    index: services.matching.IndexRead = {}  # the slot index this page has read
    taken: list[User] = []  # teachers read with every time taken: their waitlists
    found, more = services.matching.match_page(
        *question, count=page * PAGE_SIZE, index=index, taken=taken
    )
    while page > 1 and len(found) <= (page - 1) * PAGE_SIZE:
        page -= 1  # past the last page (a stale link): show the last one, with nothing after
    shown = found[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    nearby = [] if found else services.matching.nearest_teachers(*question, index=index)
    waiting_on = {w.teacher for w in mine.my_waitlists(now()) if w.skill_key == question[1]}
    return render_template(
        "requests/matches.html",
        learn_request=learn_request,
        taken=taken,
        hold_hours=int(limits.WAITLIST_HOLD.total_seconds() // 3600),
        waiting_on=waiting_on,
        matches=shown,
        partly=any(match.shared for match in shown),
        # Nobody overlaps: who is free nearest to the window instead (two reads at most).
        nearby=nearby,
        # Counted only when the last page is reached: counting further pages would mean
        # confirming every teacher of a popular skill.
        total=None if more else len(found),
        page=page,
        more=more,
    )


@bp.post("/request/<request_id>/delete")
@login_required
def delete(request_id: str) -> Response | str:
    asked = repo().schedule(current_user.id).requests.get(request_id)
    if asked is None:
        abort(404)
    page = ask_first(
        f"Delete your request for {asked.skill}?",
        "Its matches and the invitations teachers sent for it go with it.",
        "Yes, delete the request",
        url_for("requests.matches", request_id=request_id),
    )
    if page is not None:
        return page
    removed = services.offers.delete_request(repo(), current_user.id, request_id)
    if removed is None:
        abort(404)
    flash(f"Your request for {removed.skill} is deleted.", "success")
    return redirect(url_for("profile.show") + "#requests")

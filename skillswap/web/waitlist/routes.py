"""Joining a teacher's waitlist from a request's matches, and leaving one from the dashboard
(services/waitlist.py; the rules are in domain/waitlist.py)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from skillswap import services
from skillswap.domain.refusals import ScheduleRefusal
from skillswap.web.common import repo
from skillswap.web.waitlist.forms import JoinForm, LeaveForm

bp = Blueprint("waitlist", __name__)


@bp.get("/waitlist/join")
def join_reopened() -> Response:
    """A refusal is shown at the address it was posted to; reloaded or opened from the
    history, that address goes to the waitlists (account/routes.py form_reopened)."""
    return redirect(url_for("dashboard.show") + "#waitlists")


@bp.post("/waitlist/join")
@login_required
def join() -> Response | tuple[str, int]:
    form = JoinForm()
    if not form.validate():
        abort(400)
    learn_request = repo().schedule(current_user.id).requests.get(form.request_id.data)
    found = repo().find_person(form.teacher.data)
    if learn_request is None or found is None:
        abort(404)
    teacher = found[0]
    back = url_for("requests.matches", request_id=learn_request.id)
    try:
        joined = services.waitlist.join(repo(), current_user, teacher, learn_request)
    except ScheduleRefusal as refusal:
        return render_template(
            "waitlist/refused.html", message=str(refusal), teacher=teacher, back=back
        ), 409
    if joined:
        flash(
            f"You are on {teacher.name}'s waitlist for {learn_request.skill}. When a time in "
            "your request frees up and you are first in line, it is held for you and you are "
            "told.",
            "success",
        )
    else:
        flash(f"You are on {teacher.name}'s waitlist for {learn_request.skill} already.", "info")
    return redirect(back)


@bp.post("/waitlist/leave")
@login_required
def leave() -> Response:
    form = LeaveForm()
    if not form.validate():
        abort(400)
    mine = {(w.teacher, w.skill_key): w for w in repo().schedule(current_user.id).waiting}.get(
        (form.teacher.data, form.skill.data)
    )
    services.waitlist.leave(repo(), current_user.id, form.teacher.data, form.skill.data)
    if mine is not None:
        flash(f"You left {mine.teacher_name}'s waitlist for {mine.skill}.", "info")
    return redirect(url_for("dashboard.show") + "#waitlists")

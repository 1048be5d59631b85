"""Teachers find learners: open learning requests for my skills that my free time fits."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from skillswap.domain.matching import Match, match_person, placement
from skillswap.domain.records import LearnRequest, Notification
from skillswap.domain.schedule import Schedule
from skillswap.domain.times import iso_utc
from skillswap.domain.users import User
from skillswap.repo.keys import new_id
from skillswap.web.common import not_saved, now, repo

bp = Blueprint("learners", __name__)
MAX_LEARNERS = 60  # per page view: the page stays bounded however popular a skill is


@dataclass
class Lead:
    learner: User
    request: LearnRequest
    match: Match  # my free times meeting their request: whole fits first, then overlaps
    invited: bool


def _leads(user: User, schedule: Schedule) -> list[Lead]:
    moment = now()
    entries = repo().skill_entries_for(sorted(schedule.taught_skills(user.teach)))
    wanted: dict[str, set[str]] = {}
    for entry in entries.values():
        for uid, request_ids in entry.learners.items():
            if uid != user.id and (uid in wanted or len(wanted) < MAX_LEARNERS):
                wanted.setdefault(uid, set()).update(request_ids)
    people = repo().people(sorted(wanted))
    leads = []
    for uid, (learner, their) in people.items():
        invited = {
            n.link for n in their.notifications if n.kind == "invited" and n.actor == user.username
        }
        for request_id in sorted(wanted[uid]):
            learn = their.requests.get(request_id)
            if learn is None:
                continue
            # The same rule that shows me to them on their matches page.
            match = match_person(
                user, schedule, learn.skill_key, learn.window_instants(), learn.mode, moment
            )
            if match:
                leads.append(Lead(learner, learn, match, _invite_link(user, learn) in invited))
    # Whole fits first, then the soonest: the order of the matches page.
    leads.sort(key=lambda lead: (placement(lead.match), lead.learner.username))
    return leads


def _invite_link(teacher: User, learn: LearnRequest) -> str:
    return url_for(
        "bookings.show", username=teacher.username, skill=learn.skill_key, request=learn.id
    )


@bp.get("/learners")
@login_required
def show() -> str:
    user, schedule = repo().user_and_schedule(current_user.id)
    assert user is not None
    return render_template("learners/show.html", leads=_leads(user, schedule))


@bp.post("/learners/invite")
@login_required
def invite() -> Response | tuple[str, int]:
    user, schedule = repo().user_and_schedule(current_user.id)
    assert user is not None
    lead = next(
        (
            lead
            for lead in _leads(user, schedule)
            if lead.request.id == request.form.get("request_id", "")
        ),
        None,
    )
    if lead is None:
        # Deleted (or no longer fitting) since the page was shown, or a guess at an id.
        return not_saved(
            "This request is no longer on your list: the learner deleted it, or your free "
            "times no longer fit it. Nobody was invited.",
            url_for("learners.show"),
            404,
        )
    if lead.invited:
        flash(f"You have already invited {lead.learner.name} for this request.", "info")
        return redirect(url_for("learners.show"))
    first = lead.match.slots[0][1]
    count, whole = len(lead.match.slots), lead.match.whole_count
    fit = f"{whole} time{'s' if whole != 1 else ''} fit" if whole else ""
    overlap = f"{count - whole} overlap{'s' if count - whole == 1 else ''}"
    sent = repo().invite(
        lead.learner.id,
        Notification(
            id=new_id(),
            kind="invited",
            actor=user.username,
            skill=lead.request.skill,
            created=iso_utc(now()),
            start=iso_utc(first.start),
            end=iso_utc(first.end),
            # Facts only: the page words the first time in the reader's zone, not mine.
            note=", ".join(part for part in (fit, overlap if count > whole else "") if part),
            link=_invite_link(user, lead.request),
        ),
    )
    if not sent:  # a parallel press of the button sent it a moment ago
        flash(f"You have already invited {lead.learner.name} for this request.", "info")
        return redirect(url_for("learners.show"))
    flash(f"{lead.learner.name} is invited: they see your matching times and can book.", "success")
    return redirect(url_for("learners.show"))

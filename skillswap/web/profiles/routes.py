"""Profiles: your own (/profile, edited at /profile/edit) and other people's (/user/<username>)."""

from __future__ import annotations

from functools import cache

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user, login_required
from markupsafe import Markup, escape
from werkzeug.wrappers import Response

from skillswap import services
from skillswap.domain.attendance import record_lines
from skillswap.domain.schedule import Schedule
from skillswap.domain.teacher_rules import late_record
from skillswap.domain.text import is_visible
from skillswap.domain.times import iso_utc
from skillswap.domain.users import User, split_tags
from skillswap.domain.zones import find_zone, picker_zone_names
from skillswap.web.calendar.layout import this_week
from skillswap.web.common import (
    now,
    person_or_abort,
    repo,
    validates_own_csrf,
    viewer_zone,
    when,
)
from skillswap.web.profiles.forms import BookingRulesForm, ProfileForm

bp = Blueprint("profile", __name__)
REVIEWS_SHOWN = 20
#: Free times a public profile lists, soonest first.
FREE_SHOWN = 12


def _split_by_time(schedule: Schedule) -> dict[str, list]:
    """Offers and requests grouped Upcoming / Past (upcoming: something still ahead). The live
    document holds the recent past only; older ones are on the history page."""
    moment = iso_utc(now())
    groups: dict[str, list] = {
        "offers_upcoming": [],
        "offers_past": [],
        "requests_upcoming": [],
        "requests_past": [],
    }
    for offer in sorted(schedule.offers.values(), key=lambda o: (o.last_end, o.id)):
        groups["offers_upcoming" if offer.last_end > moment else "offers_past"].append(offer)
    for request in sorted(schedule.requests.values(), key=lambda r: (r.last_end, r.id)):
        ahead = request.last_end > moment
        groups["requests_upcoming" if ahead else "requests_past"].append(request)
    groups["offers_past"].reverse()  # the most recent first
    groups["requests_past"].reverse()
    return groups


@cache
def zone_datalist() -> Markup:
    """The picker's <datalist>: the same for everyone, so it is made once per process."""
    options = "".join(f"<option>{escape(name)}</option>" for name in picker_zone_names())
    return Markup(f'<datalist id="zone-names">{options}</datalist>')


def _fill_form(form: ProfileForm, user: User) -> None:
    form.display_name.data = user.display_name
    form.bio.data = user.bio
    form.teach.data = ", ".join(user.teach)
    form.learn.data = ", ".join(user.learn)
    form.links.data = "\n".join(user.links)
    form.timezone.data = user.timezone


def _own_profile() -> tuple[User, Schedule]:
    user, schedule = repo().user_and_schedule(current_user.id)
    if user is None:
        abort(404)
    return user, services.booking.resolve_pending(repo(), schedule)


@bp.get("/profile")
@login_required
def show() -> str:
    """Your profile as you see it: what others see, your offers and requests, your week."""
    user, schedule = _own_profile()
    moment = now()
    tally = schedule.live_tally(moment)  # one pass over the sessions for both figures
    return render_template(
        "profile/show.html",
        user=user,
        this_week=this_week(schedule, viewer_zone(), moment),
        stats=schedule.stats(moment, tally=tally, ranking=False),
        late_record=late_record(*schedule.late_counts(moment)),
        record=record_lines(schedule.reliability_record(moment, tally=tally)),
        **_split_by_time(schedule),
    )


def _edit_page(
    user: User,
    schedule: Schedule,
    form: ProfileForm | None = None,
    rules_form: BookingRulesForm | None = None,
    status: int = 200,
) -> tuple[str, int]:
    """The editing page: the profile and the booking rules; a form given is shown as sent
    (errors and typed values kept), the other as saved."""
    if form is None:
        form = ProfileForm(formdata=None)
        _fill_form(form, user)
    if rules_form is None:
        rules_form = BookingRulesForm(formdata=None)
        rules_form.fill(schedule.teacher_rules)
    page = render_template(
        "profile/edit.html",
        user=user,
        form=form,
        zone_list=zone_datalist(),
        csrf_expired=form.csrf_failed(),
        rules_form=rules_form,
        rules_csrf_expired=rules_form.csrf_failed(),
    )
    return page, status


# POST /profile: what a profile form opened before editing had its own page still sends.
# Registered second (decorators apply bottom-up), so url_for("profile.edit") names the page.
@bp.post("/profile")
@bp.route("/profile/edit", methods=["GET", "POST"])
@login_required
@validates_own_csrf
def edit() -> Response | tuple[str, int]:
    user, schedule = _own_profile()
    form = ProfileForm()
    form.saved_zone = user.timezone
    if form.validate_on_submit():
        old_teach, old_zone = user.teach, user.timezone
        name = (form.display_name.data or "").strip()
        # A name of invisible characters alone is no name: the username shows instead.
        user.display_name = name if is_visible(name) else ""
        user.bio = (form.bio.data or "").strip()
        user.teach = split_tags(form.teach.data or "")
        user.learn = split_tags(form.learn.data or "")
        user.links = [line.strip() for line in (form.links.data or "").splitlines() if line.strip()]
        # The form checked it: "london" is stored as Europe/London.
        user.timezone = find_zone(form.timezone.data or "") or user.timezone
        services.offers.save_profile(repo(), user, old_teach)
        if user.timezone != old_zone and schedule.booking_rules:
            services.rules.follow_zone(repo(), user.id, user.timezone)
        flash("Your profile is saved.", "success")
        return redirect(url_for("profile.show"))
    if not form.is_submitted():
        return _edit_page(user, schedule)
    return _edit_page(user, schedule, form=form, status=400)


@bp.get("/profile/booking-rules")
def rules_form_reopened() -> Response:
    """Its form, with mistakes, came back at this address (account/routes.py form_reopened)."""
    return redirect(url_for("profile.edit") + "#booking-rules")


@bp.post("/profile/booking-rules")
@login_required
@validates_own_csrf
def save_rules() -> Response | tuple[str, int]:
    user, schedule = _own_profile()
    rules_form = BookingRulesForm()
    if rules_form.validate_on_submit():
        services.rules.save_rules(repo(), user.id, rules_form.rules(user.timezone))
        flash("Your booking rules are saved.", "success")
        return redirect(url_for("profile.edit") + "#booking-rules")
    return _edit_page(user, schedule, rules_form=rules_form, status=400)


@bp.get("/user/<username>")
def public(username: str) -> str:
    user, schedule = person_or_abort(username)
    moment, zone = now(), viewer_zone()
    # The soonest free times (the booking page lists them all): a teacher's thousand
    # published times are not all worked out for twelve.
    free = schedule.times_page(user.teach, None, moment, FREE_SHOWN)
    received = schedule.received_reviews(moment)
    tally = schedule.live_tally(moment)
    return render_template(
        "profile/public.html",
        user=user,
        stats=schedule.stats(moment, received, tally, ranking=False),
        late_record=late_record(*schedule.late_counts(moment)),
        record=record_lines(schedule.reliability_record(moment, tally=tally)),
        # Worded here, each in one string, not by calls from the template for each.
        free=[
            f"{when(slot.start, slot.end, zone)} · {offer.skill} · {offer.mode.capitalize()}"
            for offer, slot in free.times
        ],
        more_free=bool(free.later),
        reviews=schedule.latest_reviews(received, REVIEWS_SHOWN),
    )

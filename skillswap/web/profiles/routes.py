"""Profiles: your own (/profile, editable) and other people's (/user/<username>, read-only)."""

from __future__ import annotations

from functools import cache

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice

from skillswap import services
from skillswap.domain.schedule import Schedule
from skillswap.domain.teacher_rules import late_record
from skillswap.domain.times import iso_utc
from skillswap.domain.users import User, split_tags
from skillswap.domain.zones import all_zone_names, is_valid_zone
from skillswap.web.common import now, repo, validates_own_csrf, viewer_zone, when
from skillswap.web.profiles.forms import BookingRulesForm, ProfileForm

bp = Blueprint("profile", __name__)
REVIEWS_SHOWN = 20


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
def _canonical_zone_choices() -> tuple[SelectChoice, ...]:
    return tuple(SelectChoice(name) for name in all_zone_names())


def _zone_choices(current: str) -> list[SelectChoice]:
    """Every canonical zone, plus the person's own when it is an alias a browser reported
    (US/Eastern, Asia/Calcutta): it must stay selectable or saving would change it."""
    canonical = _canonical_zone_choices()
    if not current or any(choice.value == current for choice in canonical):
        return list(canonical)
    return sorted([*canonical, SelectChoice(current)], key=lambda choice: choice.value)


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


def _page(
    user: User,
    schedule: Schedule,
    form: ProfileForm | None = None,
    rules_form: BookingRulesForm | None = None,
    status: int = 200,
) -> tuple[str, int]:
    """The profile page; a form given is shown as sent (errors and typed values kept)."""
    if form is None:
        form = ProfileForm(formdata=None)
        form.timezone.choices = _zone_choices(user.timezone)
        _fill_form(form, user)
    if rules_form is None:
        rules_form = BookingRulesForm(formdata=None)
        rules_form.fill(schedule.teacher_rules)
    moment = now()
    page = render_template(
        "profile/show.html",
        user=user,
        schedule=schedule,  # the "This week" calendar block reuses it: no second read
        stats=schedule.stats(moment),
        late_record=late_record(*schedule.late_counts(moment)),
        form=form,
        csrf_expired=form.csrf_failed(),
        rules_form=rules_form,
        rules_csrf_expired=rules_form.csrf_failed(),
        **_split_by_time(schedule),
    )
    return page, status


@bp.route("/profile", methods=["GET", "POST"])
@login_required
@validates_own_csrf
def show() -> Response | tuple[str, int]:
    user, schedule = _own_profile()
    form = ProfileForm()
    form.timezone.choices = _zone_choices(user.timezone)
    if form.validate_on_submit():
        old_teach, old_zone = user.teach, user.timezone
        user.display_name = (form.display_name.data or "").strip()
        user.bio = (form.bio.data or "").strip()
        user.teach = split_tags(form.teach.data or "")
        user.learn = split_tags(form.learn.data or "")
        user.links = [line.strip() for line in (form.links.data or "").splitlines() if line.strip()]
        if is_valid_zone(form.timezone.data or ""):
            user.timezone = form.timezone.data
        services.offers.save_profile(repo(), user, old_teach)
        if user.timezone != old_zone and schedule.booking_rules:
            services.rules.follow_zone(repo(), user.id, user.timezone)
        flash("Your profile is saved.", "success")
        return redirect(url_for("profile.show"))
    if not form.is_submitted():
        _fill_form(form, user)
    return _page(user, schedule, form=form, status=400 if form.errors else 200)


@bp.post("/profile/booking-rules")
@login_required
@validates_own_csrf
def save_rules() -> Response | tuple[str, int]:
    user, schedule = _own_profile()
    rules_form = BookingRulesForm()
    if rules_form.validate_on_submit():
        services.rules.save_rules(repo(), user.id, rules_form.rules(user.timezone))
        flash("Your booking rules are saved.", "success")
        return redirect(url_for("profile.show") + "#booking-rules")
    return _page(user, schedule, rules_form=rules_form, status=400)


@bp.get("/user/<username>")
def public(username: str) -> str:
    found = repo().find_person(username)
    if found is None:
        abort(404)
    user, schedule = found
    moment, zone = now(), viewer_zone()
    free = schedule.free_slots(moment)
    received = schedule.received_reviews(moment)
    return render_template(
        "profile/public.html",
        user=user,
        stats=schedule.stats(moment, received),
        late_record=late_record(*schedule.late_counts(moment)),
        # Worded here, not by a call from the template for each.
        free=[(when(slot.start, slot.end, zone), offer) for offer, slot in free[:12]],
        free_count=len(free),
        reviews=schedule.latest_reviews(received, REVIEWS_SHOWN),
    )

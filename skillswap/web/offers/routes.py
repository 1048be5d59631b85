"""Teaching offers: publish when you are free to teach, edit, delete."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from skillswap import services
from skillswap.domain.limits import MAX_SLOTS_PER_OFFER, LimitReached
from skillswap.domain.records import Offer, StoredSlot
from skillswap.domain.refusals import OfferHasBookings, ScheduleRefusal
from skillswap.domain.times import expand_slots, iso_utc, to_zone
from skillswap.domain.zones import zone_or_utc
from skillswap.repo.keys import new_id
from skillswap.web.availability import add_error, read_availability, wants_another_row
from skillswap.web.common import ask_first, now, repo, validates_own_csrf
from skillswap.web.offers.forms import SESSION_LENGTHS, OfferForm

bp = Blueprint("offers", __name__)


def _fill(form: OfferForm, offer: Offer) -> None:
    form.title.data, form.skill.data = offer.title, offer.skill
    form.description.data, form.mode.data = offer.description, offer.mode
    form.session_minutes.data = str(offer.session_minutes or "")
    form.preset.data = offer.preset.get("kind", "")
    form.preset_first.data = offer.preset.get("first", "")
    form.preset_last.data = offer.preset.get("last", "")
    while len(form.dates) < len(offer.custom_dates) + 1:
        form.dates.append_entry()
    for entry, day in zip(form.dates, offer.custom_dates, strict=False):
        entry.data = day
    while len(form.ranges) < len(offer.time_ranges) + 1:
        form.ranges.append_entry()
    for entry, (start, end) in zip(form.ranges, offer.time_ranges, strict=False):
        entry.start.data, entry.end.data = start, end


def _build(
    form: OfferForm, offer_id: str, created: str, saved: Offer | None = None
) -> Offer | None:
    """The Offer a submitted form describes, or None with every problem shown at its field
    (the fields' own and the availability's, all at once). `saved`: the offer being edited,
    whose dates stay acceptable once past."""
    fields_ok = form.validate()
    zone = zone_or_utc(current_user.timezone)
    minutes = form.session_minutes.data
    minutes = int(minutes) if minutes in {v for v, _ in SESSION_LENGTHS if v} else None
    kept = saved.given_dates() if saved is not None else set()
    kept_ranges = saved.given_ranges() if saved is not None else set()
    moment = now()
    availability = read_availability(
        form, zone, moment, minutes, form.session_minutes, kept, kept_ranges
    )
    if availability is None or not fields_ok:
        return None
    # Past dates an edited offer keeps are over: listed, not cut into sessions (nor checked).
    today = to_zone(moment, zone).date()
    ahead = [day for day in availability.dates if day >= today]
    slots = expand_slots(ahead, availability.ranges, zone, minutes)
    if len(slots) > MAX_SLOTS_PER_OFFER:
        add_error(
            form,
            form.dates,
            f"One offer can hold at most {MAX_SLOTS_PER_OFFER:,} sessions; these dates and "
            f"times make {len(slots):,}. Pick fewer dates or time ranges, or longer sessions, "
            "or split them into two offers.",
        )
        return None
    return Offer(
        id=offer_id,
        owner=current_user.id,
        user=current_user.username,
        title=form.title.data.strip(),
        skill=" ".join(form.skill.data.split()),
        description=(form.description.data or "").strip(),
        mode=form.mode.data,
        timezone=zone.key,
        dates=[d.isoformat() for d in availability.dates],
        time_ranges=[[f"{a:%H:%M}", f"{b:%H:%M}"] for a, b in availability.ranges],
        timestamp=created,
        session_minutes=minutes,
        preset=availability.preset,
        custom_dates=[d.isoformat() for d in availability.custom_dates],
        slots=[StoredSlot.of(s) for s in slots],
        updated=iso_utc(now()),
    )


def show_refusal(form: OfferForm, refusal: ScheduleRefusal) -> None:
    """A rule's answer next to the field it is about (a limit names one), else at the top."""
    target = getattr(form, refusal.field, None) if isinstance(refusal, LimitReached) else None
    if target is None:
        form.form_errors.append(str(refusal))
    else:
        add_error(form, target, str(refusal))


def _render(form: OfferForm, offer: Offer | None, status: int) -> tuple[str, int]:
    return render_template(
        "offers/form.html",
        form=form,
        offer=offer,
        teach_tags=current_user.teach,
        csrf_expired=form.csrf_failed(),
    ), status


@bp.route("/offer", methods=["GET", "POST"])
@login_required
@validates_own_csrf
def new() -> Response | tuple[str, int]:
    form = OfferForm()
    if form.is_submitted() and wants_another_row(form):
        return _render(form, None, 200)
    if form.is_submitted():
        offer = _build(form, new_id(), iso_utc(now()))
        full = repo().capacity_problem("new offers") if offer is not None else None
        if full:
            form.form_errors.append(full)
            return _render(form, None, 409)
        if offer is not None:
            sessions = len(offer.slots)
            try:
                services.offers.save_offer(repo(), offer)
            except ScheduleRefusal as refusal:
                show_refusal(form, refusal)
                return _render(form, None, 409)
            services.offers.teach_offered_skill(repo(), current_user.record, offer.skill)
            flash(
                f"Your offer “{offer.title}” is published with {sessions} "
                f"bookable session{'s' if sessions != 1 else ''}.",
                "success",
            )
            return redirect(url_for("profile.show") + "#offers")
    else:
        form.mode.data = "online"
    return _render(form, None, 400 if form.is_submitted() else 200)


def _own_offer(offer_id: str) -> Offer:
    offer = repo().schedule(current_user.id).offers.get(offer_id)
    if offer is None:
        abort(404)
    return offer


@bp.route("/offer/<offer_id>/edit", methods=["GET", "POST"])
@login_required
@validates_own_csrf
def edit(offer_id: str) -> Response | tuple[str, int]:
    offer = _own_offer(offer_id)
    form = OfferForm()
    if form.is_submitted() and wants_another_row(form):
        return _render(form, offer, 200)
    if form.is_submitted():
        updated = _build(form, offer.id, offer.timestamp, saved=offer)
        if updated is not None:
            try:
                services.offers.save_offer(repo(), updated, previous_skill_key=offer.skill_key)
            except ScheduleRefusal as refusal:
                show_refusal(form, refusal)
                if isinstance(refusal, OfferHasBookings) and offer.timezone != updated.timezone:
                    # The likely cause, and nothing on the form shows it.
                    form.form_errors.append(
                        f"This offer's times were set in {offer.timezone}; the form reads them "
                        f"in {updated.timezone}, your profile's time zone now."
                    )
            else:
                services.offers.teach_offered_skill(repo(), current_user.record, updated.skill)
                flash("Your offer is updated.", "success")
                return redirect(url_for("profile.show") + "#offers")
    else:
        _fill(form, offer)
    return _render(form, offer, 400 if form.is_submitted() else 200)


@bp.post("/offer/<offer_id>/delete")
@login_required
def delete(offer_id: str) -> Response | str:
    offer = _own_offer(offer_id)  # someone else's or unknown: 404, nothing changed
    page = ask_first(
        f"Delete your offer “{offer.title}”?",
        "Its free times disappear from search at once.",
        "Yes, delete the offer",
        url_for("offers.edit", offer_id=offer_id),
    )
    if page is not None:
        return page
    try:
        offer = services.offers.delete_offer(repo(), current_user.id, offer_id)
    except ScheduleRefusal as exc:
        flash(str(exc), "error")
        return redirect(url_for("offers.edit", offer_id=offer_id))
    flash(f"Your offer “{offer.title}” is deleted.", "success")
    return redirect(url_for("profile.show") + "#offers")

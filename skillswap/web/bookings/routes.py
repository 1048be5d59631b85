"""Booking a teacher's slot, cancelling, and rating a session afterwards."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from skillswap import services
from skillswap.domain.matching import match_person
from skillswap.domain.records import Booking, slot_ref, split_ref
from skillswap.domain.refusals import NotParticipant, ScheduleRefusal, SlotTaken
from skillswap.domain.schedule import Schedule, TimesPage
from skillswap.domain.skills import normalise_skill
from skillswap.domain.teacher_rules import is_late
from skillswap.domain.times import iso_utc, parse_iso_utc
from skillswap.domain.users import User
from skillswap.repo.keys import new_id
from skillswap.web.bookings.forms import CancelForm, ReviewForm
from skillswap.web.common import (
    at,
    notifier,
    now,
    person_or_abort,
    repo,
    url_maker,
    validates_own_csrf,
    viewer_zone,
    when,
)
from skillswap.web.forms import action_csrf_valid

bp = Blueprint("bookings", __name__)
TAKEN = "That slot was just booked by someone else. Here are the times still free."
#: Free times a booking page lists at once, in time order; "Later times" shows the next. A
#: teacher may publish 2,000 future times, and every refused booking shows the page again.
TIMES_PER_PAGE = 40


def _mine(schedule: Schedule, offer_id: str, slot_id: str) -> Booking | None:
    """The current learner's own live booking of this slot, if it is theirs (a double click,
    two tabs, the back button)."""
    return next(
        (
            b
            for b in schedule.bookings.values()
            if b.active
            and b.offer_id == offer_id
            and b.slot_id == slot_id
            and b.learner == current_user.id
        ),
        None,
    )


def _booked(booking: Booking, teacher: User) -> Response:
    """Where booking a slot ends, the first time and again (a double click, two tabs, the back
    button): the booking on the dashboard. The browser shows the answer to the last click, so
    a refusal there would hide the success."""
    flash(f"Booked: {booking.skill} with {teacher.name}. It is on your dashboard.", "success")
    return redirect(url_for("dashboard.show") + f"#booking-{booking.id}")


def _teacher(username: str) -> tuple[User, Schedule]:
    teacher, schedule = person_or_abort(username)
    # Holds whose time is up pass on when the teacher's document is read (no write, and no
    # round trip, when none is due: domain/waitlist.py).
    return teacher, services.waitlist.settle(repo(), teacher.id, schedule)


def _page(
    teacher: User,
    schedule: Schedule,
    skill: str,
    chosen: str = "",
    refusal: str = "",
    status: int = 200,
    skills: dict[str, str] | None = None,
    after: str = "",
) -> tuple[str, int]:
    if skills is None:
        skills = schedule.taught_skills(teacher.teach)
    moment, zone = now(), viewer_zone()
    if skill not in skills:
        # The first skill they have an offer of with time ahead, before skills only on their
        # profile: a tag makes every offer's time teachable for it, but "Baking" first, on a
        # page of German lessons, was not what a learner came for (an outside walkthrough).
        ahead = {normalise_skill(name) for name in schedule.offered_skills(iso_utc(moment))}
        skill = next((key for key in skills if key in ahead), next(iter(skills), ""))
    try:
        since = parse_iso_utc(after) if after else None
    except ValueError:
        since = None  # a hand-edited link: the first times
    page = (
        schedule.times_page(
            teacher.teach,
            skill,
            moment,
            TIMES_PER_PAGE,
            after=since,
            chosen=chosen,
            viewer=current_user.id,
        )
        if skill
        else TimesPage([], "", False)
    )
    # A time held for me (the waitlist) is listed, and says so; held for others, it is not.
    held = schedule.effective_holds(moment)
    # The times listed are also what each refused booking shows: what the template shows of
    # each is worked out here, cheaper than calls from the template.
    slots = [
        (
            ref := slot_ref(offer.id, slot.id),
            f"{when(slot.start, slot.end, zone)} · {offer.mode.capitalize()} · {offer.title}",
            at(held[ref].until) if ref in held else "",
        )
        for offer, slot in page.times
    ]
    # The page's own links, from patterns kept per mount point (common.url_maker), not
    # url_for from the template for each.
    username = teacher.username
    return render_template(
        "bookings/book.html",
        teacher=teacher,
        stats=schedule.rating(moment),  # all the page shows of the teacher's figures
        skills=skills,
        skill=skill,
        slots=slots,
        # The chosen time stays selected; with none chosen, the first.
        checked=chosen or (slots[0][0] if slots else ""),
        refusal=refusal,
        later=page.later,
        earlier=page.earlier,
        zone_name=zone.key,
        profile_path=url_maker("profile.public", "username")(username),
        book_path=url_maker("bookings.book", "username")(username),
    ), status


@bp.get("/book/<username>")
@login_required
def show(username: str) -> tuple[str, int]:
    teacher, schedule = _teacher(username)
    skill = normalise_skill(request.args.get("skill", ""))
    chosen = request.args.get("slot", "") or _first_fit(
        teacher, schedule, request.args.get("request", "")
    )
    return _page(teacher, schedule, skill, chosen=chosen, after=request.args.get("after", ""))


def _first_fit(teacher: User, schedule: Schedule, request_id: str) -> str:
    """The teacher's best time for one of my requests (an invitation links here with it), by
    the matches page's rule: chosen for me, so the page's first time, perhaps in my night,
    is not one tap from booked. "" when there is no such request or time."""
    learn = repo().schedule(current_user.id).requests.get(request_id) if request_id else None
    if learn is None:
        return ""
    found = match_person(
        teacher,
        schedule,
        learn.skill_key,
        learn.window_instants(),
        learn.mode,
        now(),
        viewer=current_user.id,
    )
    if found is None:
        return ""
    offer, slot = found.slots[0]
    return slot_ref(offer.id, slot.id)


@bp.post("/book/<username>")
@login_required
@validates_own_csrf
def book(username: str) -> Response | tuple[str, int]:
    teacher, schedule = _teacher(username)
    skill = normalise_skill(request.form.get("skill", ""))
    chosen = request.form.get("slot", "")
    offer_id, slot_id = split_ref(chosen)
    skills = schedule.taught_skills(teacher.teach)
    if not action_csrf_valid():
        expired = (
            "This page had expired, so nothing was booked. Your choice is kept: "
            "press Book Session again."
        )
        return _page(teacher, schedule, skill, chosen, expired, 400)
    if teacher.id == current_user.id:
        return _page(teacher, schedule, skill, chosen, "You cannot book your own slot.", 400)
    if skill not in skills:
        return _page(teacher, schedule, skill, chosen, f"{teacher.name} does not teach that.", 400)
    offer = schedule.offer_to_read(offer_id)
    stored = offer.slot(slot_id) if offer else None
    if offer is None or stored is None:
        message = (
            "Pick one of the free times below."
            if not chosen
            else ("That time is no longer offered. Pick one of the free times below.")
        )
        return _page(teacher, schedule, skill, "", message, 400)
    if stored.id in schedule.booked_slot_ids(offer.id):
        # Already taken when this request read the teacher's schedule: answered without
        # writing anything. Only a refusal is decided here; claim() alone decides who wins.
        mine = _mine(schedule, offer.id, stored.id)
        if mine is not None:
            return _booked(mine, teacher)
        return _page(teacher, schedule, skill, "", TAKEN, 409, skills)
    booking = Booking(
        id=new_id(),
        teacher=teacher.id,
        teacher_name=teacher.username,
        learner=current_user.id,
        learner_name=current_user.username,
        offer_id=offer.id,
        slot_id=stored.id,
        title=offer.title if offer.skill_key == skill else skills[skill],
        skill=skills[skill],
        mode=offer.mode,
        start=stored.start,
        end=stored.end,
        created=iso_utc(now()),
    )
    try:
        booked = services.booking.book(repo(), booking)
    except ScheduleRefusal as exc:
        # Show what is still free now, read after the refusal.
        teacher, schedule = _teacher(username)
        mine = _mine(schedule, offer.id, stored.id)
        if mine is not None:  # the same learner's other click won the race
            return _booked(mine, teacher)
        message = TAKEN if isinstance(exc, SlotTaken) else str(exc)
        return _page(teacher, schedule, skill, "", message, 409)
    if not booked.active:  # their deletion cancelled it as it was made, and mailed that
        reason = f": “{booked.cancel_reason}”" if booked.cancel_reason else ""
        flash(f"{teacher.name} cancelled this session as you booked it{reason}.", "info")
        return redirect(url_for("dashboard.show"))
    notifier().booking_confirmed(booked)  # never fails: the booking is done
    return _booked(booked, teacher)


def _my_booking(booking_id: str) -> Booking:
    booking = repo().schedule(current_user.id).bookings.get(booking_id)
    if booking is None:
        abort(403)  # someone else's session, or none at all: nothing to see here
    return booking


@bp.route("/booking/<booking_id>/cancel", methods=["GET", "POST"])
@login_required
@validates_own_csrf
def cancel(booking_id: str) -> Response | tuple[str, int]:
    booking = _my_booking(booking_id)
    form = CancelForm()
    if form.validate_on_submit():
        try:
            cancelled, cancelled_now = services.booking.cancel(
                repo(), current_user.id, booking_id, (form.reason.data or "").strip()
            )
        except NotParticipant:
            abort(403)
        except ScheduleRefusal as exc:
            form.form_errors.append(str(exc))
        else:
            other = booking.other_name(current_user.id)
            if cancelled_now:
                notifier().booking_cancelled(cancelled)  # never fails: the cancel is done
            if cancelled.cancelled_by == current_user.id:
                flash(f"Cancelled: {booking.skill} with {other}.", "info")
            else:  # theirs came first (services/booking.py cancel): their reason stands
                flash(
                    f"{other} cancelled {booking.skill} with you a moment before you did.", "info"
                )
            return redirect(url_for("dashboard.show"))
    status = 400 if form.is_submitted() else 200
    moment = now()
    return render_template(
        "bookings/cancel.html",
        booking=booking,
        form=form,
        csrf_expired=form.csrf_failed(),
        # Warned before, as the reschedule page warns: a cancel now counts on their profile.
        late=booking.start_at > moment and is_late(booking.start_at, booking.cancel_hours, moment),
    ), status


@bp.route("/booking/<booking_id>/review", methods=["GET", "POST"])
@login_required
@validates_own_csrf
def review(booking_id: str) -> Response | tuple[str, int]:
    booking = _my_booking(booking_id)
    form = ReviewForm()
    if form.validate_on_submit():
        try:
            reviewed = services.booking.review(
                repo(),
                current_user.id,
                booking_id,
                int(form.rating.data),
                (form.feedback.data or "").strip(),
            )
        except NotParticipant:
            abort(403)
        except ScheduleRefusal as exc:
            form.form_errors.append(str(exc))
        else:
            notifier().review_received(reviewed, current_user.id)  # never fails
            flash(
                f"Thank you: your rating of {booking.other_name(current_user.id)} is saved.",
                "success",
            )
            return redirect(url_for("dashboard.past") + f"#booking-{booking_id}")
    elif not form.is_submitted() and booking.end_at > now():
        form.form_errors.append("You can rate this session once it has ended.")
    status = 400 if form.is_submitted() else 200
    return render_template(
        "bookings/review.html", booking=booking, form=form, csrf_expired=form.csrf_failed()
    ), status

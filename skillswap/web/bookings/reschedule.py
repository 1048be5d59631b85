"""Moving a session to another free time of the same teacher and skill (/booking/<id>/reschedule):
pick the new time, add a message if you like, confirm. services/reschedule.py does the move."""

from __future__ import annotations

from dataclasses import dataclass

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from skillswap import services
from skillswap.domain.records import Booking, Offer, slot_ref, split_ref
from skillswap.domain.refusals import NotParticipant, ScheduleRefusal
from skillswap.domain.schedule import Schedule
from skillswap.domain.skills import normalise_skill
from skillswap.domain.teacher_rules import is_late
from skillswap.domain.times import Slot, parse_iso_utc
from skillswap.web.bookings.forms import RescheduleForm
from skillswap.web.bookings.routes import TIMES_PER_PAGE, bp
from skillswap.web.common import notifier, now, repo, validates_own_csrf, viewer_zone, when


def _why_not(booking: Booking) -> str:
    """Why this session cannot move at all, or ""."""
    if not booking.active:
        return "This session was cancelled, so it cannot be moved."
    if booking.start_at <= now():
        return "This session has started, so it can no longer be moved."
    return ""


@dataclass
class NewTimes:
    """A page of the times a session may move to, as (value, time, mode and offer), and
    where the pages around it start: `later` the ISO instant after which the next begins,
    "" if none."""

    times: list[tuple[str, str, str]]
    earlier: bool
    later: str


def _new_times(booking: Booking, mine: Schedule, after: str, chosen: str) -> NewTimes:
    """The teacher's free times for this session's skill, TIMES_PER_PAGE at a time (a busy
    teacher publishes hundreds): the session itself not counting as busy, its current time
    left out, and when I am the learner, only times I am free (the teacher's other sessions
    are not mine to see). From the first after `after`, else from `chosen`, as booking does."""
    people = repo().people([booking.teacher])
    if booking.teacher not in people:
        return NewTimes([], False, "")
    teacher, schedule = people[booking.teacher]
    zone = viewer_zone()
    try:
        since = parse_iso_utc(after) if after else None
    except ValueError:
        since = None  # a hand-edited link: the first times

    def elsewhere(offer: Offer, slot: Slot) -> bool:
        if (offer.id, slot.id) == (booking.offer_id, booking.slot_id):
            return False
        return booking.teacher == mine.owner or mine.clash(booking.id, slot.start, slot.end) is None

    page = schedule.times_page(
        teacher.teach,
        normalise_skill(booking.skill),
        now(),
        TIMES_PER_PAGE,
        after=since,
        chosen=chosen,
        exclude=booking.id,
        keep=elsewhere,
    )
    times = [
        (
            slot_ref(offer.id, slot.id),
            when(slot.start, slot.end, zone),
            # Named as the booking page names them: a teacher who lists the skill on their
            # profile teaches it in any offer's time, and the time's length may differ.
            f"{offer.mode.capitalize()} · {offer.title}",
        )
        for offer, slot in page.times
    ]
    return NewTimes(times, page.earlier, page.later)


@bp.route("/booking/<booking_id>/reschedule", methods=["GET", "POST"])
@login_required
@validates_own_csrf
def reschedule(booking_id: str) -> Response | tuple[str, int]:
    mine = repo().schedule(current_user.id)
    booking = mine.bookings.get(booking_id)
    if booking is None or booking.status == "pending":
        abort(403)  # someone else's session, or none at all, as on the other booking pages
    form = RescheduleForm()
    status = 200
    if form.is_submitted():
        status = 400
        if form.validate():
            offer_id, slot_id = split_ref(form.slot.data or "")
            try:
                sequence = int(form.sequence.data or "")
            except ValueError:
                sequence = -1  # not a form this page made: refused as changed
            try:
                moved, moved_now = services.reschedule.reschedule(
                    repo(),
                    current_user.id,
                    booking_id,
                    offer_id,
                    slot_id,
                    sequence,
                    (form.message.data or "").strip(),
                )
            except NotParticipant:
                abort(403)
            except ScheduleRefusal as exc:
                form.form_errors.append(str(exc))
                status = 409
                # What the page shows next is the session as it is now.
                mine = repo().schedule(current_user.id)
                booking = mine.bookings.get(booking_id, booking)
            else:
                was_start, was_end = moved.moved.get("from") or (booking.start, booking.end)
                if moved_now:  # not the same form sent twice
                    # Both people, with the invite moved (same UID, higher SEQUENCE), and the
                    # reminders moved with it. Never fails: the move is done.
                    notifier().booking_changed(moved, was_start, was_end, current_user.id)
                other = moved.other_name(current_user.id)
                flash(
                    f"Moved: {moved.skill} with {other} is now {when(moved.start, moved.end)}. "
                    f"{other} has been told.",
                    "success",
                )
                return redirect(url_for("dashboard.show") + f"#booking-{booking_id}")
    form.sequence.data = str(booking.sequence)
    why_not = _why_not(booking)
    return render_template(
        "bookings/reschedule.html",
        booking=booking,
        other=booking.other_name(current_user.id),
        form=form,
        csrf_expired=form.csrf_failed(),
        why_not=why_not,
        new_times=NewTimes([], False, "")
        if why_not
        else _new_times(booking, mine, request.args.get("after", ""), form.slot.data or ""),
        late=not why_not and is_late(booking.start_at, booking.cancel_hours, now()),
    ), status

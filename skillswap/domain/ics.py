"""A session as an iCalendar event (RFC 5545): the one builder behind the .ics download, the
calendar feed (web/feeds/) and the invites in booking mail (services/notify.py, RFC 6047).
Pure: no Flask; the links an event carries are passed in.

Every event's UID is the booking's, so a calendar that already has the session updates it in
place. Its SEQUENCE rises with every change of the session, a move or the cancel
(event_sequence), so calendar apps take a new time or a cancellation over what they hold.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.headerregistry import Address
from typing import Literal

from icalendar import Calendar, Event, vCalAddress

from skillswap.domain.records import Booking

PRODID = "-//SkillSwap//SkillSwap calendar//EN"
MODES = {"online": "Online", "offline": "In person"}
Method = Literal["PUBLISH", "REQUEST", "CANCEL"]


@dataclass(frozen=True)
class EventLinks:
    """Absolute addresses an event names: a person's public profile (by username) and a
    session on the dashboard (by booking id)."""

    profile: Callable[[str], str]
    session: Callable[[str], str]


@dataclass(frozen=True)
class Invitee:
    """For an invite mailed to one person (iMIP): who it is addressed to, and the address it
    comes from. Calendar apps act on an invite only when it names them as an attendee, and
    apply a CANCEL only from the organizer of the REQUEST, so both are mail addresses here
    (the person's own and SkillSwap's sender), while the .ics download and the feed name
    profiles: emails stay private."""

    name: str
    address: str
    organizer: Address


def event_uid(booking: Booking) -> str:
    return f"booking-{booking.id}@skillswap"


def event_sequence(booking: Booking) -> int:
    """The booking's sequence (one more per move), and one more once cancelled, so a CANCEL is
    newer than the REQUEST of the session's latest time."""
    return booking.sequence + (1 if booking.status == "cancelled" else 0)


def _profile_address(url: str, name: str, role: str) -> vCalAddress:
    # A profile address rather than an email: emails stay private, and calendar apps will not
    # try to mail replies to it.
    address = vCalAddress(url)
    address.params["CN"] = name
    address.params["ROLE"] = role
    return address


def _mail_address(address: str, name: str, role: str) -> vCalAddress:
    found = vCalAddress(f"mailto:{address}")
    found.params["CN"] = name
    found.params["ROLE"] = role
    return found


def booking_event(
    booking: Booking,
    viewer: str,
    names: dict[str, str],
    stamp: datetime,
    links: EventLinks,
    invitee: Invitee | None = None,
) -> Event:
    """One session as `viewer` sees it. `names` maps user ids to display names (usernames are
    the fallback). Times are UTC; a calendar shows them in its own zone. With `invitee`, the
    event of an invite mailed to that person (see Invitee)."""
    teacher = names.get(booking.teacher) or booking.teacher_name
    learner = names.get(booking.learner) or booking.learner_name
    cancelled = booking.status == "cancelled"
    mode = MODES.get(booking.mode, booking.mode.capitalize())
    if booking.role(viewer) == "teacher":
        summary = f"Teaching {booking.skill} to {learner}"
    else:
        summary = f"{booking.skill} with {teacher}"
    lines = [
        f"{booking.title} · {booking.skill} · {mode}"
        if booking.title and booking.title != booking.skill
        else f"{booking.skill} · {mode}",
        f"Teacher: {teacher} (@{booking.teacher_name})",
        f"Learner: {learner} (@{booking.learner_name})",
    ]
    if cancelled:
        who = teacher if booking.cancelled_by == booking.teacher else learner
        reason = f": {booking.cancel_reason}" if booking.cancel_reason else ""
        lines.append(f"Cancelled by {who}{reason}")
    dashboard = links.session(booking.id)
    lines.append(f"On SkillSwap: {dashboard}")
    if invitee is None:
        organizer = _profile_address(links.profile(booking.teacher_name), teacher, "CHAIR")
    else:
        sender = invitee.organizer
        organizer = _mail_address(sender.addr_spec, sender.display_name or "SkillSwap", "CHAIR")
    event = Event.new(
        uid=event_uid(booking),
        sequence=event_sequence(booking),
        status="CANCELLED" if cancelled else "CONFIRMED",
        summary=f"Cancelled: {summary}" if cancelled else summary,
        start=booking.start_at,
        end=booking.end_at,
        stamp=stamp,
        location=mode,
        description="\n".join(lines),
        categories=["SkillSwap", booking.skill],
        url=dashboard,
        organizer=organizer,
        transparency="TRANSPARENT" if cancelled else "OPAQUE",
    )
    if invitee is None:
        attendee = _profile_address(links.profile(booking.learner_name), learner, "REQ-PARTICIPANT")
    else:
        attendee = _mail_address(invitee.address, invitee.name, "REQ-PARTICIPANT")
        attendee.params["RSVP"] = "FALSE"  # booked already: nothing to answer
    attendee.params["PARTSTAT"] = "DECLINED" if cancelled else "ACCEPTED"
    event.add("attendee", attendee)
    return event


def as_calendar(
    events: Iterable[Event],
    name: str | None = None,
    uid: str | None = None,
    method: Method = "PUBLISH",
) -> bytes:
    cal = Calendar.new(prodid=PRODID, method=method, name=name, uid=uid)
    if name:
        # Apple and Google poll a subscription at their own pace; this is a hint, not a rule.
        cal.refresh_interval = timedelta(hours=1)
        cal.add("x-published-ttl", "PT1H")
    for event in events:
        cal.add_component(event)
    return cal.to_ical()


def invite(booking: Booking, event: Event) -> tuple[bytes, Literal["REQUEST", "CANCEL"]]:
    """The calendar of an invite mailed about `booking`: REQUEST adds or updates the event,
    CANCEL (a cancelled session) removes it."""
    method: Literal["REQUEST", "CANCEL"] = "CANCEL" if booking.status == "cancelled" else "REQUEST"
    return as_calendar([event], method=method), method

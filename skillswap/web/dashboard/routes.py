"""The dashboard, in three tabs under my figures: what I teach and attend upcoming, the past
two weeks' sessions to rate or mark, and the newest reviews; the history page, where the rest
of the past is, and the review pages, where the rest of the month's reviews are, a page at a
time."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from skillswap import services
from skillswap.domain.attendance import (
    MARKS,
    OPEN,
    marks_open_to,
    may_mark,
    no_show_of,
    outcome,
    reply_until,
    reported_no_show,
)
from skillswap.domain.booking import session_state
from skillswap.domain.display import title_and_skill
from skillswap.domain.records import Booking, Review
from skillswap.domain.schedule import Schedule, sessions
from skillswap.domain.times import iso_utc
from skillswap.domain.waitlist import MyWait
from skillswap.web.calendar.layout import iso_week_text
from skillswap.web.common import (
    at,
    now,
    paged,
    per_mount,
    repo,
    url_maker,
    viewer_zone,
    when,
)

bp = Blueprint("dashboard", __name__)
# Past sessions per role on the past tab: those still open to rating and marks (the last
# two weeks, and older ones with a no-show report to answer), newest first. Everything older
# is on /history: a dashboard lists what still needs doing, not the month behind it.
PAST_SHOWN = 5
# Upcoming sessions per role, soonest first; the rest are on the calendar. A busy teacher may
# have hundreds booked ahead, and the dashboard must not list them all on every view.
UPCOMING_SHOWN = 20
# Reviews received and given on the reviews tab, newest first: a month of a busy teacher's
# sessions may hold hundreds. The rest of the month's are on /reviews/<kind>, REVIEWS_PAGE a
# page; the profile shows the newest received too; averages count them all.
REVIEWS_SHOWN = 5
REVIEWS_PAGE = 25
REVIEW_KINDS = {"received": "Reviews I received", "given": "Reviews I gave"}
HISTORY_PAGE = 25
RECENT = "recent"
PERIOD_RE = re.compile(r"\d{4}Q[1-4]", re.ASCII)


@dataclass
class SessionItem:
    """A session as the dashboard lists it. Worked out here, not in the template: a dashboard
    lists dozens, and each call made from Jinja costs several times what it costs here."""

    booking: Booking
    title: str  # what the session is called ("Intro to Figma")
    skill: str  # the skill, beside the title; "" when the title is the skill's name
    other: str  # the other person's username
    when: str
    # Which session, for the hidden words that tell its buttons from the next session's.
    about: str
    # "cancelled", "upcoming" (can be cancelled), "in progress", "to rate", "rated" or
    # "closed" (over, not rated by me, reviews closed)
    state: str
    cancelled_by: str  # "you" or the other person's username, when cancelled
    my_rating: int | None
    profile_path: str
    action_path: str  # the cancel or review page; "" when there is none
    ics_path: str  # "" for sessions that are over
    move_path: str = ""  # the reschedule page of an upcoming session
    late: bool = False  # cancelled or moved past its cancel deadline (the "Late" badge)
    # The last move, as read: "you" or the other person's name, and the time it had before.
    moved_by: str = ""
    moved_from: str = ""
    # Did it happen (domain/attendance.py): the outcome ("held", "unconfirmed", "disputed",
    # "missed"; "" before the end or when cancelled), each person's mark as worded, and the
    # buttons (value, label, chosen) while marks are open.
    outcome: str = ""
    my_mark: str = ""
    their_mark: str = ""
    absent: str = ""  # a missed session: "you" or the other person's name
    mark_path: str = ""
    mark_buttons: tuple[tuple[str, str, bool], ...] = ()


def _attendance(b: Booking, me: str, other: str, moment: datetime, mark_path: str) -> dict:
    """The did-it-happen part of a dashboard row; `mark_path` "" for archived sessions."""
    result = outcome(b, moment)
    if result == OPEN:
        return {}
    mine = b.attendance.get(me, {}).get("mark", "")
    theirs = b.attendance.get(b.other(me), {}).get("mark", "")
    absent = no_show_of(b, moment)
    fields: dict = {
        "outcome": result,
        "my_mark": MARKS.get(mine, ""),
        "their_mark": MARKS.get(theirs, ""),
        "absent": "" if absent is None else "you" if absent == me else other,
    }
    if mark_path and may_mark(b, me, moment):
        fields["mark_path"] = mark_path
        open_to_me = marks_open_to(b, me)
        fields["mark_buttons"] = tuple((v, label, v == mine) for v, label in open_to_me.items())
    return fields


def _row_links() -> tuple[Callable[[str], str], ...]:
    """The links of a session row, by booking id (the profile's by username): made once per
    mount point, as every view of a tab lists sessions."""
    return (
        url_maker("bookings.cancel", "booking_id"),
        url_maker("bookings.review", "booking_id"),
        url_maker("profile.public", "username"),
        url_maker("ics.booking", "booking_id"),
        url_maker("bookings.reschedule", "booking_id"),
        url_maker("attendance.mark", "booking_id"),
    )


def session_items(
    lists: dict[str, list[Booking]], me: str, moment: datetime, archived: bool = False
) -> dict[str, list[SessionItem]]:
    """Each list of sessions as the dashboard shows it, by the same name."""
    zone = viewer_zone()
    cancel_url, review_url, profile_url, ics_url, move_url, mark_url = per_mount(
        "session_row_links", _row_links
    )

    def item(b: Booking) -> SessionItem:
        other = b.other_name(me)
        state = session_state(b, me, moment)
        action = move = ""
        if state == "upcoming":
            action = cancel_url(b.id)
            move = move_url(b.id)
        elif state == "to rate":
            if reported_no_show(b, me):
                state = "reported"  # no rating from someone who said it did not take place
            else:
                action = review_url(b.id)
        moved_by = moved_from = ""
        if b.moved:
            moved_by = "you" if b.moved.get("by") == me else other
            moved_from = when(*b.moved["from"], zone)
        title, skill = title_and_skill(b.title, b.skill)
        span = when(b.start, b.end, zone)
        return SessionItem(
            booking=b,
            title=title,
            skill=skill,
            other=other,
            when=span,
            about=f"{title} with {other}, {span}",
            state=state,
            cancelled_by="you" if b.cancelled_by == me else other,
            my_rating=b.reviews[me].rating if me in b.reviews else None,
            profile_path=profile_url(other),
            action_path=action,
            # A session that is over has no place in a calendar app any more.
            ics_path="" if archived or b.end_at <= moment else ics_url(b.id),
            move_path=move,
            late=b.cancelled_late or bool(b.moved.get("late")),
            moved_by=moved_by,
            moved_from=moved_from,
            **_attendance(b, me, other, moment, "" if archived else mark_url(b.id)),
        )

    return {name: [item(b) for b in bookings] for name, bookings in lists.items()}


# The dashboard's tabs, in order: upcoming sessions open it (with the figures and waitlists),
# and the past two weeks and the newest reviews each have their own, so each view reads one
# person's document and renders only its own part: a busy person's dashboard grew with both.
TABS = (
    ("dashboard.show", "Upcoming"),
    ("dashboard.past", "Past two weeks"),
    ("dashboard.recent_reviews", "Reviews"),
)


# Pages the dashboard's tabs link to, besides the tabs themselves.
LINKED = ("learners.show", "calendar.show", "dashboard.history", "offers.new", "requests.new")


def _paths() -> dict[str, str]:
    """The paths of the tabs and of LINKED, built once per mount point (common.per_mount):
    every view of a tab shows them."""
    return per_mount(
        "dashboard_paths",
        lambda: {e: url_for(e) for e in (*(endpoint for endpoint, _ in TABS), *LINKED)},
    )


def _tabs(paths: dict[str, str], waiting: int) -> list[tuple[str, str, bool, int]]:
    """The tabs as the template's dashboard_tabs lists them: (path, label, shown now, count)."""
    here = request.endpoint
    return [
        (paths[endpoint], label, endpoint == here, waiting if endpoint == "dashboard.past" else 0)
        for endpoint, label in TABS
    ]


def _my_schedule(me: str) -> Schedule:
    schedule = services.booking.resolve_pending(repo(), repo().schedule(me))
    # My own holds as a teacher pass on when my document is read (no read when none is due).
    return services.waitlist.settle(repo(), me, schedule)


# Each role's sessions by the lists' names on the tabs: (upcoming, past).
Split = dict[str, tuple[list[Booking], list[Booking]]]


def _split(schedule: Schedule, moment: datetime) -> Split:
    """Each role's sessions, upcoming soonest first and past newest first, by the lists'
    names on the tabs ("teaching", "attending")."""
    by_role = sessions(schedule, moment)
    return {"teaching": by_role["teacher"], "attending": by_role["learner"]}


def _opened() -> tuple[str, datetime, Schedule, Split]:
    """What every tab starts from: me, the moment, my document after upkeep, my sessions."""
    me, moment = current_user.id, now()
    schedule = _my_schedule(me)
    return me, moment, schedule, _split(schedule, moment)


def _upcoming(split: Split) -> tuple[dict[str, list[Booking]], dict[str, int]]:
    """The upcoming tab's sessions per role, the soonest UPCOMING_SHOWN, and how many later
    ones there are (on the calendar)."""
    lists, later = {}, {}
    for name, (upcoming, _) in split.items():
        lists[f"{name}_upcoming"] = upcoming[:UPCOMING_SHOWN]
        later[f"later_{name}"] = len(upcoming) - UPCOMING_SHOWN
    return lists, later


def _past(
    split: Split, me: str, moment: datetime
) -> tuple[dict[str, list[Booking]], dict[str, int]]:
    """The past tab's sessions per role, those still open to rating and marks, and how many
    earlier ones there are (on /history)."""
    lists, earlier = {}, {}
    for name, (_, past) in split.items():
        shown = [b for b in past if may_mark(b, me, moment)][:PAST_SHOWN]
        lists[f"{name}_past"] = shown
        earlier[f"earlier_{name}"] = len(past) - len(shown)
    return lists, earlier


def _waits_for_me(b: Booking, me: str, moment: datetime) -> bool:
    """A past session waiting for me: to rate, or a report that I did not come, to answer."""
    if session_state(b, me, moment) == "to rate" and not reported_no_show(b, me):
        return True
    answer_by = reply_until(b, me)
    return answer_by is not None and moment < answer_by and me not in b.attendance


def _waiting(split: Split, me: str, moment: datetime) -> int:
    """How many past sessions wait for me, in either role: the count on the past tab."""
    return sum(
        1
        for _, past in split.values()
        for b in past
        if may_mark(b, me, moment) and _waits_for_me(b, me, moment)
    )


def _header(
    schedule: Schedule,
    me: str,
    moment: datetime,
    split: Split,
    received: list[tuple[Booking, Review]],
) -> dict[str, Any]:
    """What every tab shows above its own part (dashboard/_tab.html): my figures and the
    tabs, the past one with the sessions waiting for me."""
    paths = _paths()
    return {
        "nav_here": "dashboard.show",  # the nav's Dashboard entry is marked on every tab
        "paths": paths,
        "zone_name": viewer_zone().key,
        "tabs": _tabs(paths, _waiting(split, me, moment)),
        "stats": schedule.stats(moment, received, ranking=False),
    }


@bp.get("/dashboard")
@login_required
def show() -> str:
    me, moment, schedule, split = _opened()
    lists, later = _upcoming(split)
    return render_template(
        "dashboard/show.html",
        **_header(schedule, me, moment, split, schedule.received_reviews(moment)),
        **session_items(lists, me, moment),
        **later,
        waitlists=waitlist_items(schedule.my_waitlists(moment), moment),
        waiting_for_me=list(schedule.waiting_counts(moment).values()),
    )


@bp.get("/dashboard/session/<booking_id>")
@login_required
def session_link(booking_id: str) -> Response:
    """Where mail, notices and calendar events link a session, read long after they were sent:
    the tab listing it when the link is opened (upcoming until it ends, then past while it can
    be rated or marked), the calendar's week for an upcoming one beyond the tab's first
    UPCOMING_SHOWN, else the history. Someone else's id, or none, goes to the history."""
    moment = now()
    me = current_user.id
    schedule = repo().schedule(me)
    booking = schedule.bookings.get(booking_id)
    if booking is None or booking.status == "pending":  # archived, not mine, or not made
        return redirect(url_for("dashboard.history"))
    anchor = f"#booking-{booking.id}"
    split = _split(schedule, moment)
    role = "teaching" if booking.teacher == me else "attending"
    # Listed by the tabs' own rules (_upcoming, _past), so the link and the tab agree.
    if any(b.id == booking.id for b in _upcoming(split)[0][f"{role}_upcoming"]):
        return redirect(url_for("dashboard.show") + anchor)
    if booking.end_at > moment:
        week = iso_week_text(booking.start_at.astimezone(viewer_zone()).date())
        return redirect(url_for("calendar.show", week=week))
    if any(b.id == booking.id for b in _past(split, me, moment)[0][f"{role}_past"]):
        return redirect(url_for("dashboard.past") + anchor)
    return redirect(url_for("dashboard.history") + anchor)


@bp.get("/dashboard/past")
@login_required
def past() -> str:
    """Sessions of the past two weeks still open to rating and marks, per role."""
    me, moment, schedule, split = _opened()
    lists, earlier = _past(split, me, moment)
    return render_template(
        "dashboard/past.html",
        **_header(schedule, me, moment, split, schedule.received_reviews(moment)),
        **session_items(lists, me, moment),
        **earlier,
    )


@bp.get("/dashboard/reviews")
@login_required
def recent_reviews() -> str:
    """The newest reviews received and given; the month's all are on /reviews/<kind>."""
    me, moment, schedule, split = _opened()
    received = schedule.received_reviews(moment)
    given = schedule.given_reviews()
    return render_template(
        "dashboard/recent_reviews.html",
        **_header(schedule, me, moment, split, received),
        # With the other person's name: one lookup here, not a call from the template each.
        given=[(b, review, b.other_name(me)) for b, review in given[:REVIEWS_SHOWN]],
        given_total=len(given),
        received=[(b, review, b.other_name(me)) for b, review in received[:REVIEWS_SHOWN]],
        received_total=len(received),
        hidden_reviews=schedule.hidden_reviews(moment),
    )


@dataclass
class WaitItem:
    wait: MyWait
    ends: str
    profile: str
    held: str = ""  # the time held for me, worded, while it is
    held_until: str = ""
    book: str = ""


def waitlist_items(waits: list[MyWait], moment: datetime) -> list[WaitItem]:
    """My waitlists as the dashboard lists them; a hold shows while its time lasts (the
    booking page, which reads the teacher's document, has the last word)."""
    zone = viewer_zone()
    items = []
    for w in waits:
        item = WaitItem(w, at(w.ends), url_for("profile.public", username=w.teacher_name))
        held = w.held
        if held and held["until"] > iso_utc(moment):
            item.held = when(held["start"], held["end"], zone)
            item.held_until = at(held["until"])
            item.book = url_for(
                "bookings.show", username=w.teacher_name, skill=w.skill_key, slot=held["slot"]
            )
        items.append(item)
    return items


@bp.get("/history")
@login_required
def history() -> tuple[str, int]:
    """Past sessions, offers and requests, a period at a time: the recent past (the live
    document), then each archived quarter, newest first. The only page that reads the
    archive; each view reads one quarter and shows HISTORY_PAGE sessions."""
    moment = now()
    me = current_user.id
    period = request.args.get("period", RECENT)
    if period != RECENT and not PERIOD_RE.fullmatch(period):
        abort(404)
    periods = repo().archive_periods(me)
    if period != RECENT and period not in periods:
        abort(404)  # no archive piece of that quarter: nothing of mine in it
    if period == RECENT:
        schedule = services.booking.resolve_pending(repo(), repo().schedule(me))
        past = [
            b for b in schedule.bookings.values() if b.status != "pending" and b.end_at <= moment
        ]
        over = iso_utc(moment)
        offers = [o for o in schedule.offers.values() if o.last_end <= over]
        requests = [r for r in schedule.requests.values() if r.last_end <= over]
    else:
        found = repo().archived(me, period)
        past, offers, requests = found["bookings"], found["offers"], found["requests"]
    past.sort(key=lambda b: b.start, reverse=True)
    shown = paged(past, HISTORY_PAGE, "dashboard.history", period=period)
    return render_template(
        "dashboard/history.html",
        period=period,
        periods=periods,
        sessions=session_items({"all": shown.items}, me, moment, archived=period != RECENT)["all"],
        total=len(past),
        shown=shown,
        offers=sorted(offers, key=lambda o: o.last_end, reverse=True),
        requests=sorted(requests, key=lambda r: r.last_end, reverse=True),
    ), 200


@bp.get("/reviews/<kind>")
@login_required
def reviews(kind: str) -> str:
    """Every review of the last month (the live document) received or given, newest first,
    REVIEWS_PAGE at a time: the dashboard shows the newest few. Upkeep first, as on the
    dashboard: sessions over a month ago leave for the archive, so both say the same."""
    if kind not in REVIEW_KINDS:
        abort(404)
    moment = now()
    me = current_user.id
    schedule = services.booking.resolve_pending(repo(), repo().schedule(me))
    found = schedule.received_reviews(moment) if kind == "received" else schedule.given_reviews()
    shown = paged(found, REVIEWS_PAGE, "dashboard.reviews", kind=kind)
    return render_template(
        "dashboard/reviews.html",
        kind=kind,
        kinds=REVIEW_KINDS,
        reviews=[(b, review, b.other_name(me)) for b, review in shown.items],
        total=len(found),
        hidden_reviews=schedule.hidden_reviews(moment) if kind == "received" else 0,
        shown=shown,
    )

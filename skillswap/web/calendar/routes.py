"""The calendar: a month or a week of what I offer, teach, attend and ask for (/calendar).

Plain links move between periods (?month=2026-12, ?week=2026-W50), so it works without
JavaScript and every view has a URL to share. The page reads one document: my schedule.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, Flask, g, render_template, request
from flask_login import current_user, login_required

from skillswap import services
from skillswap.domain.schedule import Schedule
from skillswap.web.calendar.layout import (
    PeriodError,
    iso_week_text,
    month_view,
    parse_month,
    parse_week,
    week_view,
)
from skillswap.web.calendar.pieces import KIND_LABELS, Item, Kind
from skillswap.web.common import now, repo, url_maker, viewer_zone

bp = Blueprint("calendar", __name__)


def item_url(item: Item) -> str:
    """Where an item's link goes: a session's lasting address (it finds the dashboard tab
    listing it), the offer, the request. A month shows dozens of items: each kind's URL is
    built once per request."""
    makers = g.get("calendar_urls")
    if makers is None:
        makers = g.calendar_urls = {
            "booking": url_maker("dashboard.session_link", "booking_id"),
            "offer": url_maker("offers.edit", "offer_id"),
            "request": url_maker("requests.matches", "request_id"),
        }
    kind, ident = item.target
    return makers[kind if kind in ("booking", "offer") else "request"](ident)


def _bad_period(message: str) -> tuple[str, int]:
    page = render_template(
        "error.html",
        status=400,
        title="That is not a month or week we can show",
        detail=message,
    )
    return page, 400


def _today(zone: ZoneInfo) -> date:
    return now().astimezone(zone).date()


def _schedule() -> Schedule:
    # Like the dashboard: settle a hold a crash left behind before showing sessions.
    return services.booking.resolve_pending(repo(), repo().schedule(current_user.id))


@bp.get("/calendar")
@login_required
def show() -> tuple[str, int]:
    zone = viewer_zone()
    today = _today(zone)
    week_text = request.args.get("week", "")
    month_text = request.args.get("month", "")
    try:
        if week_text or request.args.get("view") == "week":
            year, number = parse_week(week_text) if week_text else today.isocalendar()[:2]
            period = ("week", year, number)
        else:
            year, number = parse_month(month_text) if month_text else (today.year, today.month)
            period = ("month", year, number)
    except PeriodError as exc:
        return _bad_period(str(exc))

    moment = now()
    schedule = _schedule()
    context: dict[str, Any] = {
        "zone": zone,
        "today_month": f"{today.year:04d}-{today.month:02d}",
        "today_week": iso_week_text(today),
        "kinds": [(kind.value, KIND_LABELS[kind]) for kind in Kind],
    }
    if period[0] == "week":
        week = week_view(schedule, zone, period[1], period[2], moment)
        return render_template("calendar/week.html", week=week, **context), 200
    month = month_view(schedule, zone, period[1], period[2], moment)
    first = date(month.year, month.month, 1)
    in_month = first.year == today.year and first.month == today.month
    context["month_week"] = iso_week_text(today if in_month else first)
    return render_template("calendar/month.html", month=month, **context), 200


def _register_globals(app: Flask) -> None:
    app.jinja_env.globals["calendar_item_url"] = item_url


bp.record_once(lambda state: _register_globals(state.app))

"""The calendar's pure rules: items from a schedule, pieces cut at local midnight, DST-correct
hours, month and week grids, and the periods a URL may name."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skillswap.domain.records import Booking, LearnRequest, Offer, StoredSlot
from skillswap.domain.schedule import Schedule
from skillswap.domain.times import iso_utc
from skillswap.web.calendar.layout import (
    MONTH_CELL_LIMIT,
    PeriodError,
    month_view,
    parse_month,
    parse_week,
    week_view,
)
from skillswap.web.calendar.pieces import Item, Kind, day_start, hours_of, items_of, split_by_day

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
ME, OTHER = "me", "them"

# Zones with every kind of oddity: DST both ways, half-hour DST (Lord Howe), midnight inside a
# DST gap (Santiago, Havana), a skipped day (Apia, 30 Dec 2011), odd offsets (Kathmandu,
# Chatham), and none at all.
ZONES = [
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "America/Santiago",
    "America/Havana",
    "Australia/Lord_Howe",
    "Pacific/Apia",
    "Pacific/Chatham",
    "Asia/Kathmandu",
    "Asia/Tokyo",
]


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def u(instant: datetime) -> datetime:
    return instant.astimezone(UTC)


def item(start: datetime, end: datetime, kind: Kind = Kind.TEACH, uid: str = "x") -> Item:
    return Item(kind, start, end, "Python", ("booking", uid), uid)


def stored(start: datetime, end: datetime) -> StoredSlot:
    return StoredSlot(f"{start:%Y-%m-%dT%H%M}-{end:%H%M}", iso_utc(start), iso_utc(end))


def offer(offer_id: str, *slots: StoredSlot, owner: str = ME) -> Offer:
    return Offer(
        id=offer_id,
        owner=owner,
        user=owner,
        title="Intro to Python",
        skill="Python",
        description="",
        mode="online",
        timezone="UTC",
        dates=[],
        time_ranges=[],
        timestamp=iso_utc(NOW),
        slots=list(slots),
    )


def booking(
    booking_id: str,
    start: datetime,
    end: datetime,
    teacher: str = ME,
    learner: str = OTHER,
    status: str = "confirmed",
) -> Booking:
    return Booking(
        id=booking_id,
        teacher=teacher,
        teacher_name=teacher,
        learner=learner,
        learner_name=learner,
        offer_id="o-elsewhere",
        slot_id="s",
        title="Python",
        skill="Python",
        mode="online",
        start=iso_utc(start),
        end=iso_utc(end),
        created=iso_utc(NOW),
        status=status,
    )


def request(request_id: str, *windows: tuple[datetime, datetime]) -> LearnRequest:
    return LearnRequest(
        id=request_id,
        owner=ME,
        user=ME,
        skill="Cooking",
        mode="either",
        timezone="UTC",
        dates=[],
        time_ranges=[],
        timestamp=iso_utc(NOW),
        windows=[[iso_utc(a), iso_utc(b)] for a, b in windows],
    )


# --- items -------------------------------------------------------------------------------


def test_items_are_free_slots_sessions_and_open_request_windows() -> None:
    mine = offer(
        "o1",
        stored(utc(2026, 12, 1, 9), utc(2026, 12, 1, 10)),
        stored(utc(2026, 12, 1, 10), utc(2026, 12, 1, 11)),
        stored(utc(2026, 11, 20, 9), utc(2026, 11, 20, 10)),  # past: not bookable
    )
    schedule = Schedule(ME, offers={"o1": mine})
    taught = booking("b1", utc(2026, 12, 1, 10), utc(2026, 12, 1, 11))
    taught.offer_id, taught.slot_id = "o1", mine.slots[1].id
    schedule.bookings = {
        "b1": taught,
        "b2": booking("b2", utc(2026, 12, 2, 9), utc(2026, 12, 2, 10), teacher=OTHER, learner=ME),
        "b3": booking("b3", utc(2026, 12, 3, 9), utc(2026, 12, 3, 10), status="cancelled"),
        "b4": booking("b4", utc(2026, 12, 4, 9), utc(2026, 12, 4, 10), status="pending"),
        "b5": booking("b5", utc(2026, 11, 2, 9), utc(2026, 11, 2, 10)),
    }
    schedule.requests = {
        "r1": request(
            "r1",
            (utc(2026, 11, 1, 9), utc(2026, 11, 1, 12)),  # over
            (utc(2026, 12, 5, 9), utc(2026, 12, 5, 12)),
        )
    }

    found = {i.uid: i for i in items_of(schedule, NOW)}

    assert set(found) == {
        f"free:o1:{mine.slots[0].id}",
        "booking:b1",
        "booking:b2",
        "booking:b3",
        "booking:b5",
        "request:r1:1",
    }
    assert found[f"free:o1:{mine.slots[0].id}"].kind is Kind.FREE
    assert found[f"free:o1:{mine.slots[0].id}"].target == ("offer", "o1")
    assert found["booking:b1"].kind is Kind.TEACH
    assert found["booking:b1"].other == OTHER
    assert found["booking:b2"].kind is Kind.ATTEND
    assert found["booking:b2"].other == OTHER
    assert found["booking:b3"].cancelled and not found["booking:b3"].past
    assert found["booking:b5"].past and not found["booking:b5"].cancelled
    assert found["request:r1:1"].kind is Kind.REQUEST
    assert found["request:r1:1"].target == ("request", "r1")


# --- cutting at local midnight -------------------------------------------------------------


def test_a_session_across_local_midnight_is_on_both_days() -> None:
    # 23:30-00:30 in Berlin (CET, UTC+1) on 1/2 December.
    session = item(utc(2026, 12, 1, 22, 30), utc(2026, 12, 1, 23, 30))

    first, second = split_by_day(session, BERLIN)

    assert (first.day, second.day) == (date(2026, 12, 1), date(2026, 12, 2))
    assert (f"{first.start:%H:%M}", f"{first.end:%H:%M}") == ("23:30", "00:00")
    assert (f"{second.start:%H:%M}", f"{second.end:%H:%M}") == ("00:00", "00:30")
    assert first.duration == second.duration == timedelta(minutes=30)
    assert first.into_next_day and not first.from_previous_day
    assert second.from_previous_day and not second.into_next_day
    assert first.time_text == "23:30–Wed 00:30"
    assert second.time_text == "Tue 23:30–00:30"


def test_the_same_session_is_on_one_day_in_another_zone() -> None:
    session = item(utc(2026, 12, 1, 22, 30), utc(2026, 12, 1, 23, 30))

    (only,) = split_by_day(session, NEW_YORK)

    assert only.day == date(2026, 12, 1)
    assert only.time_text == "17:30–18:30"


def test_an_item_ending_at_midnight_stays_on_its_day() -> None:
    (only,) = split_by_day(item(utc(2026, 12, 1, 22), utc(2026, 12, 1, 23)), BERLIN)
    assert only.day == date(2026, 12, 1)
    assert not only.into_next_day


def test_a_skipped_day_holds_nothing() -> None:
    # Samoa moved across the date line: 30 December 2011 never happened in Apia.
    apia = ZoneInfo("Pacific/Apia")
    assert day_start(date(2011, 12, 30), apia) == day_start(date(2011, 12, 31), apia)
    pieces = split_by_day(item(utc(2011, 12, 30, 8), utc(2011, 12, 30, 12)), apia)
    assert [p.day for p in pieces] == [date(2011, 12, 29), date(2011, 12, 31)]
    assert sum((p.duration for p in pieces), timedelta()) == timedelta(hours=4)


def test_a_day_whose_midnight_does_not_exist_starts_when_the_clocks_jump() -> None:
    # Santiago springs forward at 00:00 -> 01:00 on 6 September 2026.
    santiago = ZoneInfo("America/Santiago")
    start = day_start(date(2026, 9, 6), santiago)
    assert f"{start.astimezone(santiago):%Y-%m-%d %H:%M}" == "2026-09-06 01:00"
    assert start - timedelta(seconds=1) < start
    assert (start - timedelta(seconds=1)).astimezone(santiago).date() == date(2026, 9, 5)


@settings(max_examples=300, deadline=None)
@given(
    zone_name=st.sampled_from(ZONES),
    start=st.datetimes(min_value=datetime(2010, 1, 1), max_value=datetime(2030, 12, 31)),
    minutes=st.integers(min_value=1, max_value=4 * 24 * 60),
)
def test_pieces_cover_exactly_the_items_duration(
    zone_name: str, start: datetime, minutes: int
) -> None:
    zone = ZoneInfo(zone_name)
    begin = start.replace(tzinfo=UTC)
    whole = item(begin, begin + timedelta(minutes=minutes))

    pieces = split_by_day(whole, zone)

    # Compared in UTC: Python never finds a local time in a DST fold equal to another zone's.
    assert u(pieces[0].start) == whole.start and u(pieces[-1].end) == whole.end
    assert sum((p.duration for p in pieces), timedelta()) == whole.end - whole.start
    for before, after in itertools.pairwise(pieces):
        assert u(before.end) == u(after.start)  # no gap, no overlap
        assert before.day < after.day
    for piece in pieces:
        assert piece.duration > timedelta(0)
        assert piece.start.date() == piece.day
        assert day_start(piece.day, zone) <= u(piece.start)
        assert u(piece.end) <= day_start(piece.day + timedelta(days=1), zone)


# --- hours ---------------------------------------------------------------------------------


def labels(day: date, zone: ZoneInfo) -> list[str]:
    return [hour.label for hour in hours_of(day, zone)]


def test_an_ordinary_day_has_24_hours() -> None:
    assert labels(date(2026, 12, 1), BERLIN) == [f"{h:02d}:00" for h in range(24)]


def test_clocks_going_forward_leave_out_the_skipped_hour() -> None:
    found = labels(date(2026, 3, 29), BERLIN)
    assert len(found) == 23
    assert "02:00" not in found
    assert found[:3] == ["00:00", "01:00", "03:00"]
    assert len(labels(date(2026, 3, 8), NEW_YORK)) == 23


def test_clocks_going_back_repeat_an_hour_named_by_its_zone() -> None:
    found = labels(date(2026, 10, 25), BERLIN)
    assert len(found) == 25
    assert found[1:5] == ["01:00", "02:00 CEST", "02:00 CET", "03:00"]
    assert labels(date(2026, 11, 1), NEW_YORK)[1:3] == ["01:00 EDT", "01:00 EST"]


@settings(max_examples=200, deadline=None)
@given(
    zone_name=st.sampled_from(ZONES),
    day=st.dates(min_value=date(2010, 1, 1), max_value=date(2030, 12, 31)),
)
def test_hours_tile_the_day(zone_name: str, day: date) -> None:
    zone = ZoneInfo(zone_name)
    hours = hours_of(day, zone)
    begin, finish = day_start(day, zone), day_start(day + timedelta(days=1), zone)
    if begin == finish:
        assert hours == []
        return
    assert u(hours[0].start) == begin and u(hours[-1].end) == finish
    for before, after in itertools.pairwise(hours):
        assert u(before.end) == u(after.start)
    assert len({h.key for h in hours}) == len(hours)
    if finish - begin == timedelta(hours=24) and zone_name != "Australia/Lord_Howe":
        assert len(hours) == 24


# --- month and week ------------------------------------------------------------------------


def test_a_month_is_whole_weeks_monday_first() -> None:
    month = month_view(Schedule(ME), BERLIN, 2026, 12, NOW)
    assert month.title == "December 2026"
    assert [len(week) for week in month.weeks] == [7] * 5
    assert month.weeks[0][0].date == date(2026, 11, 30)  # a Monday
    assert month.weeks[-1][-1].date == date(2027, 1, 3)  # a Sunday
    assert [d.date.day for d in month.days] == list(range(1, 32))
    assert not month.weeks[0][0].in_period
    assert (month.previous, month.next) == ("2026-11", "2027-01")
    assert month_view(Schedule(ME), BERLIN, 2027, 2, NOW).weeks[0][0].date == date(2027, 2, 1)


def test_today_is_marked_in_the_viewers_zone() -> None:
    late = utc(2026, 11, 23, 23, 30)  # already 24 November in Berlin
    month = month_view(Schedule(ME), BERLIN, 2026, 11, late)
    assert [d.date for d in month.days if d.is_today] == [date(2026, 11, 24)]
    month = month_view(Schedule(ME), NEW_YORK, 2026, 11, late)
    assert [d.date for d in month.days if d.is_today] == [date(2026, 11, 23)]


def test_a_crowded_day_collapses_after_the_limit() -> None:
    slots = [stored(utc(2026, 12, 1, h), utc(2026, 12, 1, h + 1)) for h in range(8, 8 + 6)]
    schedule = Schedule(ME, offers={"o1": offer("o1", *slots)})
    month = month_view(schedule, ZoneInfo("UTC"), 2026, 12, NOW)
    (day,) = [d for d in month.days if d.date == date(2026, 12, 1)]
    assert len(day.pieces) == 6
    assert len(day.shown) == MONTH_CELL_LIMIT
    assert day.more == 6 - MONTH_CELL_LIMIT
    assert day.iso_week == "2026-W49"


def test_a_month_shows_everything_in_it_around_a_request_window() -> None:
    # A session, a free slot and a second request window after an early request window,
    # and a session before it: the month shows all of them, on their days.
    schedule = Schedule(
        ME,
        offers={"o1": offer("o1", stored(utc(2026, 12, 22, 9), utc(2026, 12, 22, 10)))},
        bookings={
            "b1": booking("b1", utc(2026, 12, 2, 9), utc(2026, 12, 2, 10)),
            "b2": booking("b2", utc(2026, 12, 20, 9), utc(2026, 12, 20, 10)),
        },
        requests={
            "r1": request(
                "r1",
                (utc(2026, 12, 5, 9), utc(2026, 12, 5, 12)),
                (utc(2026, 12, 28, 9), utc(2026, 12, 28, 12)),
            ),
            "r2": request("r2", (utc(2026, 12, 10, 9), utc(2026, 12, 10, 12))),
        },
    )
    month = month_view(schedule, ZoneInfo("UTC"), 2026, 12, NOW)
    holding = {d.date.day: [p.item.uid for p in d.pieces] for d in month.days if d.pieces}
    assert holding == {
        2: ["booking:b1"],
        5: ["request:r1:0"],
        10: ["request:r2:0"],
        20: ["booking:b2"],
        22: [f"free:o1:{schedule.offers['o1'].slots[0].id}"],
        28: ["request:r1:1"],
    }


def test_the_midnight_session_is_in_both_days_of_the_month() -> None:
    schedule = Schedule(
        ME, bookings={"b1": booking("b1", utc(2026, 12, 1, 22, 30), utc(2026, 12, 1, 23, 30))}
    )
    month = month_view(schedule, BERLIN, 2026, 12, NOW)
    holding = [d.date.day for d in month.days if d.pieces]
    assert holding == [1, 2]


def test_week_places_each_piece_in_the_hour_it_starts() -> None:
    schedule = Schedule(
        ME,
        bookings={
            "b1": booking("b1", utc(2026, 12, 8, 8, 30), utc(2026, 12, 8, 9, 30)),  # 09:30 CET
            "b2": booking("b2", utc(2026, 12, 6, 22, 30), utc(2026, 12, 6, 23, 30)),  # Sun-Mon
        },
    )
    week = week_view(schedule, BERLIN, 2026, 50, NOW)
    assert week.title == "Week 50: 7–13 December 2026"
    assert next(d.date for d in week.days) == date(2026, 12, 7)
    assert (week.previous, week.next, week.month_param) == ("2026-W49", "2026-W51", "2026-12")

    def placed(row_label: str, column: int) -> list[str]:
        (row,) = [r for r in week.rows if r.label == row_label]
        cell = row.cells[column]
        assert cell is not None
        return [p.item.uid for p in cell.pieces]

    assert placed("09:00", 1) == ["booking:b1"]  # Tuesday
    assert placed("00:00", 0) == ["booking:b2"]  # the Monday half of Sunday's late session
    assert sum(len(c.pieces) for r in week.rows for c in r.cells if c) == 2


def test_a_long_window_marks_the_hours_it_goes_on_through() -> None:
    schedule = Schedule(
        ME, requests={"r1": request("r1", (utc(2026, 12, 3, 13), utc(2026, 12, 3, 17)))}
    )
    week = week_view(schedule, BERLIN, 2026, 49, NOW)  # 14:00-18:00 in Berlin
    thursday = {r.label: r.cells[3] for r in week.rows}
    assert [p.item.kind for p in thursday["14:00"].pieces] == [Kind.REQUEST]
    assert thursday["14:00"].continuing == []
    for hour in ("15:00", "16:00", "17:00"):
        assert thursday[hour].pieces == [] and thursday[hour].continuing == [Kind.REQUEST]
    assert thursday["18:00"].continuing == []


def test_spring_forward_week_has_a_missing_hour_on_sunday_only() -> None:
    week = week_view(Schedule(ME), BERLIN, 2026, 13, NOW)  # 23-29 March
    assert len(week.rows) == 24
    (two,) = [r for r in week.rows if r.label == "02:00"]
    assert [c is None for c in two.cells] == [False] * 6 + [True]
    assert [sum(1 for r in week.rows if r.cells[i]) for i in range(7)] == [24] * 6 + [23]
    assert week.days[6].clock_change == "23 hours: clocks go forward"


def test_fall_back_week_has_an_extra_hour_on_sunday_only() -> None:
    week = week_view(Schedule(ME), BERLIN, 2026, 43, NOW)  # 19-25 October
    assert len(week.rows) == 25
    assert [r.label for r in week.rows][2:4] == ["02:00 CEST", "02:00 CET"]
    assert [sum(1 for r in week.rows if r.cells[i]) for i in range(7)] == [24] * 6 + [25]
    assert week.days[6].clock_change == "25 hours: clocks go back"
    assert week.days[0].clock_change == ""


def test_a_week_across_new_year() -> None:
    week = week_view(Schedule(ME), BERLIN, 2026, 53, NOW)
    assert week.title == "Week 53: 28 December 2026 – 3 January 2027"
    assert week.next == "2027-W01"


# --- periods in URLs -----------------------------------------------------------------------


def test_periods_parse() -> None:
    assert parse_month("2026-12") == (2026, 12)
    assert parse_week("2026-W50") == (2026, 50)
    assert parse_week("2026-w05") == (2026, 5)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2026-13", "not a month"),
        ("2026-00", "not a month"),
        ("Dec 2026", "YYYY-MM"),
        ("1850-01", "2000 to 2100"),
        ("２０２６-12", "YYYY-MM"),
    ],
)
def test_bad_months_are_refused_with_a_reason(text: str, message: str) -> None:
    with pytest.raises(PeriodError, match=message):
        parse_month(text)


@pytest.mark.parametrize(
    ("text", "message"),
    [("2027-W53", "no week 53"), ("2026-W00", "no week 0"), ("2026-50", "YYYY-Www")],
)
def test_bad_weeks_are_refused_with_a_reason(text: str, message: str) -> None:
    with pytest.raises(PeriodError, match=message):
        parse_week(text)

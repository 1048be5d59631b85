"""What the landing search shows of a teacher and of a skill, kept beside the indexes so a page
of results reads a few small documents instead of every teacher's schedule and a popular
skill's whole index entry. Pure functions of the records: no Flask, no I/O.

A teacher's card holds, for each skill they offer and for all their offers together (what a
teach tag makes teachable: `Schedule.times_page`), their first CARD_TIMES bookable times as
their schedule stood when it was last written, and whether that is all of them; and the reviews
that make their rating: the ones shown, summed, and the hidden ones with the moment each shows
by itself. The repository writes a card after every change to the parts it comes from.

Time passing changes nothing else in it but the front of each list: a time starts, or comes
within the teacher's notice, and stops being bookable; later ones stay as they were, since
buffers, daily caps and clashes depend on bookings, not on the clock. So a list cut at the
reader's moment is exactly what the schedule would answer then, as long as enough of it is
left. When not enough is, or the teacher holds times for a waitlist (holds settle by the clock),
`card_times` says None and the reader reads the schedule instead.

A skill's head holds its label and its first HEAD_TEACHERS teachers by id, and which of them
have it as a teach tag: what search picks from.

Bounds: a card has CARD_TIMES times per skill the teacher offers (MAX_OFFERS bounds those) and
a reveal per live session with a hidden review (the schedule's own bound); a head has
HEAD_TEACHERS ids.
"""

from __future__ import annotations

import heapq
from datetime import datetime, timedelta
from typing import Any

from skillswap.domain.limits import REVIEW_WINDOW
from skillswap.domain.records import Rating
from skillswap.domain.schedule import Schedule
from skillswap.domain.times import iso_utc, parse_iso_utc

# A search result shows a teacher's next SEARCH_TIMES times and whether more exist; a card
# keeps a few more, so its lists stay good for a while as times pass.
SEARCH_TIMES = 3
CARD_TIMES = 8
ALL_OFFERS = "*"  # the list of every offer's times: for a skill the teacher has as a tag
HEAD_TEACHERS = 24

Times = list[tuple[datetime, datetime]]


def build_card(schedule: Schedule, now: datetime) -> dict[str, Any]:
    """The card of the teacher whose schedule this is, as of `now`."""
    counters = schedule.counters
    count, total = counters.get("rating_count", 0), counters.get("rating_sum", 0)
    reveals = []
    for booking in schedule.bookings.values():
        other = booking.other(schedule.owner)
        if booking.status != "confirmed" or other not in booking.reviews:
            continue
        rating = booking.reviews[other].rating
        if schedule.owner in booking.reviews:  # both reviewed: shown (Booking.review_visible)
            count, total = count + 1, total + rating
        else:
            reveals.append([iso_utc(booking.end_at + REVIEW_WINDOW), rating])
    card: dict[str, Any] = {
        "rating": [count, total],
        "reveals": sorted(reveals),
        "notice": schedule.teacher_rules.notice_hours,
        "free": None,
    }
    if schedule.holds:  # held times are passed on or freed by the clock
        return card
    skills = sorted({offer.skill_key for offer in schedule.offers.values()} - {""})
    card["free"] = {}
    for key in [ALL_OFFERS, *skills]:
        page = schedule.times_page((), None if key == ALL_OFFERS else key, now, CARD_TIMES)
        card["free"][key] = {
            "times": [[iso_utc(slot.start), iso_utc(slot.end)] for _, slot in page.times],
            "complete": not page.later,
        }
    return card


def card_rating(card: dict[str, Any], now: datetime) -> Rating:
    """The teacher's rating at `now`: what `Schedule.rating` says of the schedule the card
    was built from."""
    count, total = card["rating"]
    if reveals := card["reveals"]:
        moment = iso_utc(now)
        for at, rating in reveals:
            if at <= moment:
                count, total = count + 1, total + rating
    return Rating.of(count, total)


def card_times(
    card: dict[str, Any], skill: str, tagged: bool, now: datetime, count: int = SEARCH_TIMES
) -> tuple[Times, bool] | None:
    """The first `count` free times for `skill` at `now` and whether more follow, as
    `Schedule.times_page` would answer from the schedule the card was built from (`tagged`:
    the teacher has the skill as a teach tag); None when the card cannot tell."""
    free = card.get("free")
    if free is None:
        return None
    entry = free.get(ALL_OFFERS if tagged else skill)
    if entry is None:
        return [], False
    earliest = now + timedelta(hours=card["notice"])
    left: Times = []
    for start_text, end_text in entry["times"]:
        start = parse_iso_utc(start_text)
        if start > now and start >= earliest:
            left.append((start, parse_iso_utc(end_text)))
            if len(left) > count:
                return left[:count], True
    if entry["complete"]:
        return left, False
    return None  # the card's times have passed: the schedule knows the next ones


def skill_head(doc: dict[str, Any] | None) -> dict[str, Any] | None:
    """The head of a skill's index entry (skill_index.build_skill_index's form), or None for
    no entry."""
    if not doc:
        return None
    taggers = doc.get("taggers", {})
    first = heapq.nsmallest(HEAD_TEACHERS, {*doc.get("teachers", {}), *taggers})
    return {
        "label": doc.get("label", ""),
        "teachers": first,
        # Who of them has it as a teach tag (which makes all their times teachable for it),
        # so search need not normalise every teacher's tags to find out.
        "tagged": [uid for uid in first if uid in taggers],
    }

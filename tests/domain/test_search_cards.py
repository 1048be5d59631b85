"""Search cards (domain/search_cards.py): what a card answers at any later moment is what the
schedule it was built from answers then, or it says it cannot tell."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from skillswap.domain.records import Review
from skillswap.domain.schedule import Schedule
from skillswap.domain.search_cards import (
    CARD_TIMES,
    SEARCH_TIMES,
    build_card,
    card_rating,
    card_times,
    skill_head,
)
from skillswap.domain.teacher_rules import TeacherRules
from skillswap.domain.times import iso_utc
from skillswap.domain.waitlist import Hold
from tests.domain.test_schedule import LEARNER, NOW, TEACHER, booking, offer, slot

SKILLS = ("Python", "Guitar")
DAYS = [NOW.replace(hour=0) + timedelta(days=d) for d in range(5)]


def _expected(schedule: Schedule, skill: str, tagged: bool, now) -> tuple[list, bool]:
    page = schedule.times_page([skill] if tagged else [], skill.lower(), now, SEARCH_TIMES)
    return [(s.start, s.end) for _, s in page.times], bool(page.later)


@st.composite
def schedules(draw: st.DrawFn) -> Schedule:
    """A teacher with offers of two skills over five days, some of them booked (as teacher
    or as learner elsewhere), one-sided and mutual reviews, and booking rules."""
    schedule = Schedule(TEACHER)
    hours = st.lists(st.integers(0, 22), min_size=1, max_size=6, unique=True)
    stored = []
    for n, skill in enumerate(SKILLS):
        for d, day in enumerate(DAYS):
            for hour in draw(hours) if draw(st.booleans()) else []:
                stored.append((f"o{n}{d}", skill, slot(hour, hour + 1, day)))
    offers: dict[str, list] = {}
    for offer_id, skill, s in stored:
        offers.setdefault((offer_id, skill), []).append(s)
    for (offer_id, skill), slots in offers.items():
        schedule.offers[offer_id] = offer(offer_id, *slots, skill=skill)
    for i, (offer_id, _, s) in enumerate(stored):
        if draw(st.integers(0, 3)) != 0:
            continue
        b = replace(booking(schedule.offers[offer_id], s), id=f"b{i}", status="confirmed")
        if draw(st.booleans()):  # attending someone else's session at that time
            b = replace(b, teacher="x9", learner=TEACHER, id=f"a{i}")
        other = b.other(TEACHER)
        shape = draw(st.sampled_from(["none", "theirs", "both", "mine"]))
        if shape in ("theirs", "both"):
            b.reviews[other] = Review(draw(st.integers(1, 10)), "", iso_utc(NOW))
        if shape in ("both", "mine"):
            b.reviews[TEACHER] = Review(5, "", iso_utc(NOW))
        schedule.bookings[b.id] = b
    rules = TeacherRules(
        notice_hours=draw(st.sampled_from([0, 2, 30])),
        buffer_minutes=draw(st.sampled_from([0, 30])),
        daily_cap=draw(st.sampled_from([0, 1, 2])),
    )
    schedule.set_rules(rules)
    schedule.counters = draw(st.sampled_from([{}, {"rating_count": 2, "rating_sum": 15}]))
    return schedule


@settings(max_examples=150, deadline=None)
@given(
    schedule=schedules(),
    later=st.lists(st.integers(0, 25 * 24 * 60), min_size=1, max_size=6),
)
def test_a_card_answers_as_its_schedule_would_at_any_later_moment(
    schedule: Schedule, later: list[int]
) -> None:
    card = build_card(schedule, NOW)
    for minutes in [0, *later]:
        moment = NOW + timedelta(minutes=minutes)
        assert card_rating(card, moment) == schedule.rating(moment)
        for skill in SKILLS:
            for tagged in (False, True):
                answer = card_times(card, skill.lower(), tagged, moment)
                if minutes == 0:
                    assert answer is not None  # a fresh card always knows
                if answer is not None:
                    assert answer == _expected(schedule, skill, tagged, moment)


def test_a_card_whose_times_have_passed_says_it_cannot_tell() -> None:
    python = offer("o1", *(slot(h, h + 1, DAYS[1]) for h in range(CARD_TIMES + 2)))
    schedule = Schedule(TEACHER)
    schedule.put_offer(python, NOW)
    card = build_card(schedule, NOW)
    assert len(card["free"]["python"]["times"]) == CARD_TIMES
    assert not card["free"]["python"]["complete"]
    assert card_times(card, "python", False, NOW) is not None
    # Past the card's sixth time, fewer than SEARCH_TIMES + 1 are left of a longer list.
    sixth = DAYS[1] + timedelta(hours=CARD_TIMES - 3, minutes=1)
    assert card_times(card, "python", False, sixth) is None
    assert card_times(card, "guitar", False, sixth) == ([], False)  # offers none


def test_times_held_for_a_waitlist_leave_the_card_to_the_schedule() -> None:
    s = slot(9, 10, DAYS[1])
    schedule = Schedule(TEACHER)
    schedule.put_offer(offer("o1", s), NOW)
    schedule.holds = [
        Hold("o1", s.id, s.start, s.end, LEARNER, "leo", "Python", "python", iso_utc(DAYS[1]))
    ]
    card = build_card(schedule, NOW)
    assert card_times(card, "python", False, NOW) is None
    assert card_rating(card, NOW).rating_count == 0


def test_a_skill_head_holds_its_label_and_first_teachers_by_id() -> None:
    doc = {
        "label": "Python",
        "teachers": {f"u{n:03d}": ["o"] for n in range(40, 0, -1)},
        "learners": {"l1": ["r"]},
        "taggers": {"a000": "python"},
    }
    head = skill_head(doc)
    assert head is not None
    assert head["label"] == "Python"
    assert head["teachers"][:3] == ["a000", "u001", "u002"]
    assert len(head["teachers"]) == 24
    assert head["tagged"] == ["a000"]
    assert skill_head(None) is None

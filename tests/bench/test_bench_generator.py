"""The benchmark's community generator: deterministic, realistic, and loadable as the app's own
records (small scale here; the benchmark itself runs 1,000 and 20,000 people)."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import date, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bench import generate as gen
from skillswap.domain.records import Offer, StoredSlot
from skillswap.domain.schedule import Schedule
from skillswap.domain.skills import normalise_skill
from skillswap.domain.times import expand_slots, overlaps, parse_iso_utc
from skillswap.domain.users import USERNAME_RE, User
from skillswap.repo.indexes import (
    everyone,
    rebuild_skill_index,
    rebuild_slot_index,
    search_records,
)
from skillswap.store.sqlite import SQLiteStore

USERS = 200


@pytest.fixture(scope="module")
def community() -> gen.Community:
    return gen.generate(USERS)


def test_same_seed_same_records_other_seed_other_records(community: gen.Community) -> None:
    again = gen.generate(USERS)
    assert list(again.items()) == list(community.items())
    assert again.meta == community.meta
    other = gen.generate(USERS, seed=gen.SEED + 1)
    assert list(other.items()) != list(community.items())


def test_records_are_what_the_app_writes(community: gen.Community) -> None:
    """The fast serialisers agree with the dataclasses' own to_dict/to_doc, and every record
    reads back through the domain classes."""
    for user in community.users:
        assert gen.user_doc(user) == user.to_dict()
        assert User.from_dict(gen.user_doc(user)) == user
        schedule = community.schedules[user.id]
        assert gen.schedule_doc(schedule) == schedule.to_doc()
        assert Schedule.from_doc(user.id, schedule.to_doc()) == schedule


def all_slots(offer: Offer) -> list[StoredSlot]:
    """Every slot the offer form expands the offer to, those that started included."""
    dates = [date.fromisoformat(d) for d in offer.dates]
    ranges = [(time.fromisoformat(a), time.fromisoformat(b)) for a, b in offer.time_ranges]
    expanded = expand_slots(dates, ranges, ZoneInfo(offer.timezone), offer.session_minutes)
    return [StoredSlot.of(s) for s in expanded]


def test_slots_are_what_the_offer_form_would_expand(community: gen.Community) -> None:
    """As the app keeps them: the slots still ahead, and when the offer ends."""
    now_iso = gen.iso_utc(gen.NOW)
    for schedule in community.schedules.values():
        for offer in schedule.offers.values():
            expected = all_slots(offer)
            assert offer.slots == [s for s in expected if s.start > now_iso]
            assert offer.last_end == max(s.end for s in expected)


def test_people_look_real(community: gen.Community) -> None:
    users = community.users
    assert len(users) == USERS
    assert len({u.username for u in users}) == USERS
    assert len({u.id for u in users}) == USERS
    for user in users:
        assert USERNAME_RE.fullmatch(user.username)
        assert user.display_name and user.bio
        assert 1 <= len(user.teach) <= 5 and 1 <= len(user.learn) <= 5
        assert not {normalise_skill(t) for t in user.teach} & {
            normalise_skill(t) for t in user.learn
        }
    assert len({u.timezone for u in users}) >= 15


def test_skill_popularity_is_zipf_like(community: gen.Community) -> None:
    assert len(gen.SKILLS) >= 300
    assert len({normalise_skill(s) for s in gen.SKILLS}) == len(gen.SKILLS)
    taggers = Counter(normalise_skill(t) for u in community.users for t in u.teach)
    counts = sorted(taggers.values(), reverse=True)
    popular = community.meta["skills"]["popular"]["key"]
    assert taggers[popular] == counts[0]
    # A heavy head and a long tail: the top skill has many times the median's teachers.
    assert counts[0] >= 8 * counts[len(counts) // 2]
    assert len(taggers) >= 150


def test_offers_span_the_next_eight_weeks_in_one_to_three_ranges(
    community: gen.Community,
) -> None:
    counts = community.counts()
    assert 4 * USERS <= counts["offers"] <= 6 * USERS
    today = gen.NOW.date()
    future_dates = set()
    for schedule in community.schedules.values():
        for offer in schedule.offers.values():
            assert 1 <= len(offer.time_ranges) <= 3
            assert offer.skill_key in {
                normalise_skill(t) for t in community_user(community, offer.owner).teach
            }
            for d in offer.dates:
                day = date.fromisoformat(d)
                assert (
                    today - timedelta(days=gen.PAST_DAYS)
                    <= day
                    < today + timedelta(days=gen.FUTURE_DAYS)
                )
                if day >= today:
                    future_dates.add(day)
    assert max(future_dates) >= today + timedelta(days=gen.FUTURE_DAYS - 7)


def community_user(community: gen.Community, uid: str) -> User:
    return next(u for u in community.users if u.id == uid)


def test_a_fifth_of_past_slots_are_booked_and_reviewed(community: gen.Community) -> None:
    now_iso = gen.iso_utc(gen.NOW)
    past = booked = 0
    for schedule in community.schedules.values():
        taken = {
            (b.offer_id, b.slot_id)
            for b in schedule.bookings.values()
            if b.teacher == schedule.owner
        }
        for offer in schedule.offers.values():
            for slot in all_slots(offer):
                if slot.end <= now_iso:
                    past += 1
                    booked += (offer.id, slot.id) in taken
    assert 0.15 <= booked / past <= 0.25
    for schedule in community.schedules.values():
        for booking in schedule.bookings.values():
            if booking.end <= now_iso:
                assert booking.learner in booking.reviews
                for review in booking.reviews.values():
                    assert booking.end <= review.created <= now_iso
                    assert 1 <= review.rating <= 10


def test_nobody_is_booked_twice_at_once_and_both_copies_agree(community: gen.Community) -> None:
    for schedule in community.schedules.values():
        live = sorted(schedule.busy())
        for (a, b), (c, d) in itertools.pairwise(live):
            assert not overlaps(a, b, c, d), schedule.owner
        for booking in schedule.bookings.values():
            other = community.schedules[booking.other(schedule.owner)]
            assert other.bookings[booking.id] == booking
            assert booking.start < booking.end


def test_viewer_asks_for_a_popular_a_mid_and_a_rare_skill(community: gen.Community) -> None:
    meta = community.meta
    viewer = community.schedules[meta["viewer"]["id"]]
    candidates = [meta["skills"][level]["candidates"] for level in ("popular", "mid", "rare")]
    assert candidates[0] > candidates[1] >= 0 and candidates[0] > candidates[2] >= 0
    for level in ("popular", "mid", "rare"):
        request = viewer.requests[meta["skills"][level]["request_id"]]
        assert request.skill_key == meta["skills"][level]["key"]
        start, end = request.window_instants()[0][0], request.window_instants()[-1][1]
        assert timedelta(days=6) < end - start <= timedelta(days=7)
        assert start > gen.NOW
    teacher = meta["teacher"]
    assert teacher["free_slots"] >= 5
    assert parse_iso_utc(teacher["first_free"]["start"]) > gen.NOW


def test_loaded_store_has_every_record_and_a_consistent_skill_index(
    community: gen.Community, tmp_path: Path
) -> None:
    store = SQLiteStore(str(tmp_path / "bench.db"))
    try:
        written = gen.load(store, community, batch=250)
        slots = community.slot_index(weekly=True)
        # Per person: username, email, user, schedule and search card; per skill its entry
        # and head.
        assert written == 5 * USERS + 2 * len(community.skills) + len(slots)
        assert len(store.keys("user/")) == USERS
        stored = {k.removeprefix("skill/"): store.get(k) for k in store.keys("skill/")}
        assert stored == rebuild_skill_index(store) == community.skills
        assert store.get_many(store.keys("slots/")) == rebuild_slot_index(store, gen.NOW) == slots
        search = store.get_many([*store.keys("card/"), *store.keys("skillhead/")])
        assert search == search_records(everyone(store), community.skills, gen.NOW)
    finally:
        store.close()

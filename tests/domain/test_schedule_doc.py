"""Reading and writing a stored schedule document: each section is parsed when first used, and
what is written stays exactly the stored format (old documents load; what we write, the old
code loads)."""

from __future__ import annotations

import copy
from datetime import datetime, timedelta
from typing import Any

import pytest

from bench import generate as gen
from skillswap.domain.records import Booking, LearnRequest, Notification, Offer
from skillswap.domain.schedule import Schedule, sessions
from skillswap.domain.times import iso_utc, parse_iso_utc
from skillswap.domain.users import User
from tests.domain.test_schedule import (
    NOW,
    TEACHER,
    at,
    teacher_with_request_and_review,
)

SECTIONS = ("offers", "requests", "bookings", "notifications")


def eager(owner: str, doc: dict[str, Any] | None) -> Schedule:
    """Every section parsed up front, as Schedule.from_doc used to: the reference."""
    doc = doc or {}
    return Schedule(
        owner,
        offers={k: Offer.from_dict(v) for k, v in doc.get("offers", {}).items()},
        requests={k: LearnRequest.from_dict(v) for k, v in doc.get("requests", {}).items()},
        bookings={k: Booking.from_dict(v) for k, v in doc.get("bookings", {}).items()},
        notifications=[Notification(**n) for n in doc.get("notifications", [])],
    )


def full_doc() -> dict[str, Any]:
    """A teacher's document with something in every section."""
    teacher, _ = teacher_with_request_and_review()
    teacher.notify(
        Notification(id="n1", kind="booked", actor="leo", skill="Python", created=iso_utc(NOW))
    )
    return teacher.to_doc()


def test_reading_only_bookings_gives_what_the_full_parse_gives() -> None:
    doc = full_doc()
    lazy = Schedule.from_doc(TEACHER, copy.deepcopy(doc))
    reference = eager(TEACHER, doc)
    later = at(10) + timedelta(days=20)
    assert lazy.bookings == reference.bookings
    assert lazy.stats(later) == reference.stats(later)
    assert lazy.received_reviews(later) == reference.received_reviews(later)
    assert sessions(lazy, NOW) == sessions(reference, NOW)
    assert lazy == reference  # and every other section, once read


@pytest.mark.parametrize(
    "read", [(), ("bookings",), ("offers", "bookings"), SECTIONS], ids=lambda r: "+".join(r)
)
def test_what_is_written_is_what_the_full_parse_writes(read: tuple[str, ...]) -> None:
    doc = full_doc()
    lazy = Schedule.from_doc(TEACHER, copy.deepcopy(doc))
    for name in read:
        getattr(lazy, name)
    assert lazy.to_doc() == eager(TEACHER, doc).to_doc() == doc


def test_a_change_writes_its_section_and_keeps_the_others_as_stored() -> None:
    doc = full_doc()
    # Fields another version may have written: kept in the sections nobody read.
    doc["requests"]["r1"]["future_field"] = 1
    doc["offers"]["o1"]["future_field"] = 2
    [booking_id] = doc["bookings"]
    lazy = Schedule.from_doc(TEACHER, copy.deepcopy(doc))
    lazy.mark_synced(booking_id)
    lazy.bookings[booking_id].title = "Renamed"
    written = lazy.to_doc()
    assert written["requests"] == doc["requests"]
    assert written["offers"] == doc["offers"]
    assert written["notifications"] == doc["notifications"]
    assert written["bookings"][booking_id]["title"] == "Renamed"
    # The old code (every section parsed) reads it, unknown fields dropped as before.
    again = eager(TEACHER, written)
    assert again.bookings[booking_id].title == "Renamed"
    assert again.requests == eager(TEACHER, doc).requests


def test_a_document_nobody_read_is_written_back_as_it_came() -> None:
    doc = full_doc()
    assert Schedule.from_doc(TEACHER, doc).to_doc() == doc


@pytest.mark.parametrize(
    ("doc", "empty"),
    [
        (None, True),
        ({}, True),
        ({"offers": {}, "requests": {}, "bookings": {}, "notifications": []}, True),
        ({"bookings": None}, True),
        (full_doc(), False),
        ({"notifications": full_doc()["notifications"]}, False),
    ],
)
def test_is_empty_with_or_without_reading(doc: dict | None, empty: bool) -> None:
    assert Schedule.from_doc(TEACHER, doc).is_empty is empty
    read = Schedule.from_doc(TEACHER, doc)
    for name in SECTIONS:
        getattr(read, name)
    assert read.is_empty is empty


def test_emptied_sections_make_an_empty_schedule() -> None:
    schedule = Schedule.from_doc(TEACHER, {"notifications": full_doc()["notifications"]})
    schedule.notifications.clear()
    assert schedule.is_empty
    assert schedule.to_doc() == {
        "offers": {},
        "requests": {},
        "bookings": {},
        "notifications": [],
        "due": {},
    }


def test_a_missing_or_null_section_reads_as_empty() -> None:
    schedule = Schedule.from_doc(TEACHER, {"bookings": None})
    assert schedule.bookings == {}
    assert schedule.offers == {}
    assert schedule.notifications == []
    assert schedule == Schedule(TEACHER)


def test_unknown_attributes_still_raise() -> None:
    schedule = Schedule.from_doc(TEACHER, full_doc())
    with pytest.raises(AttributeError):
        _ = schedule.offer_list  # type: ignore[attr-defined]
    assert not hasattr(schedule, "nothing_here")
    assert not hasattr(Schedule(TEACHER), "nothing_here")


def test_records_with_fields_this_version_does_not_know_still_load() -> None:
    doc = full_doc()
    reference = eager(TEACHER, copy.deepcopy(doc))
    [booking_id] = doc["bookings"]
    doc["bookings"][booking_id]["added_later"] = True
    doc["notifications"][0]["added_later"] = True
    schedule = Schedule.from_doc(TEACHER, doc)
    assert schedule.bookings[booking_id] == reference.bookings[booking_id]
    assert schedule.notifications[0].id == "n1"
    data = User(id="u1", username="ada", email="ada@example.com", password_hash="x").to_dict()
    assert User.from_dict({**data, "added_later": 1}) == User.from_dict(data)


def test_a_record_missing_a_required_field_is_refused() -> None:
    doc = full_doc()
    [booking_id] = doc["bookings"]
    del doc["bookings"][booking_id]["start"]
    with pytest.raises(TypeError):
        _ = Schedule.from_doc(TEACHER, doc).bookings


def test_every_generated_schedule_reads_the_same_section_by_section() -> None:
    """The benchmark's generated community: for each person, each
    section read alone equals the full parse, and an unread document is written back as is."""
    community = gen.generate(60)
    for uid, schedule in community.schedules.items():
        doc = schedule.to_doc()
        reference = eager(uid, doc)
        for name in SECTIONS:
            alone = Schedule.from_doc(uid, copy.deepcopy(doc))
            assert getattr(alone, name) == getattr(reference, name)
            assert alone.to_doc() == doc
        assert Schedule.from_doc(uid, doc).stats(gen.NOW) == reference.stats(gen.NOW)


def slot_ids(pairs: list) -> list[tuple[str, str]]:
    return [(offer.id, slot.id) for offer, slot in pairs]


def test_a_match_reads_only_the_slots_it_needs_and_the_same_ones() -> None:
    """`slots_to_read` parses only the offers and slots near a request when nothing has read
    the offers, and answers exactly what the parsed offers answer."""
    community = gen.generate(60)
    low, high = iso_utc(gen.NOW), iso_utc(gen.NOW + timedelta(days=5))
    checked = 0
    for uid, schedule in community.schedules.items():
        doc = schedule.to_doc()
        for skill in {offer.skill_key for offer in schedule.offers.values()}:
            for every in (False, True):
                lazy = Schedule.from_doc(uid, copy.deepcopy(doc))
                found = lazy.slots_to_read(skill, every, low, high)
                assert "offers" not in lazy._parsed  # nothing else was parsed
                parsed = Schedule.from_doc(uid, copy.deepcopy(doc))
                _ = parsed.offers
                assert slot_ids(found) == slot_ids(parsed.slots_to_read(skill, every, low, high))
                assert all(low <= slot.start <= high for _, slot in found)
                checked += len(found)
    assert checked  # the generated community has slots in the range


def test_one_offer_and_the_skills_are_read_without_parsing_the_offers() -> None:
    """`offer_to_read` and `taught_skills` answer what the parsed offers answer, and parse
    nothing else when nothing has read the offers."""
    community = gen.generate(30)
    tags_of = {user.id: user.teach for user in community.users}
    for uid, schedule in community.schedules.items():
        doc = schedule.to_doc()
        parsed = Schedule.from_doc(uid, copy.deepcopy(doc))
        lazy = Schedule.from_doc(uid, copy.deepcopy(doc))
        assert lazy.taught_skills(tags_of[uid]) == parsed.taught_skills(tags_of[uid])
        for offer_id in [*parsed.offers, "nobody"]:
            assert lazy.offer_to_read(offer_id) == parsed.offers.get(offer_id)
            assert parsed.offer_to_read(offer_id) is parsed.offers.get(offer_id)
        assert "offers" not in lazy._parsed


def test_the_first_free_slots_are_the_first_teachable_ones() -> None:
    """`times_page` (search results, public profiles) answers the head of `teachable_slots`,
    read lazily or not, for tagged teachers (all their time) and for one offer's skill, and
    with no skill the head of `free_slots`."""
    community = gen.generate(60)
    moment = gen.NOW + timedelta(hours=5)
    compared = 0
    tags_of = {user.id: user.teach for user in community.users}
    for uid, schedule in community.schedules.items():
        doc = schedule.to_doc()
        tags = tags_of[uid]
        for skill in [*{offer.skill_key for offer in schedule.offers.values()}, "nobody", None]:
            whole = Schedule.from_doc(uid, copy.deepcopy(doc))
            everything = (
                whole.free_slots(moment)
                if skill is None
                else whole.teachable_slots(tags, skill, moment)
            )
            for count in (1, 4, 13):
                lazy = Schedule.from_doc(uid, copy.deepcopy(doc))
                first = lazy.times_page(tags, skill, moment, count).times
                # The offers read lazily come without their other slots: compare by id.
                assert [(o.id, slot) for o, slot in first] == [
                    (o.id, slot) for o, slot in everything[:count]
                ]
                compared += len(everything[:count])
    assert compared


def _window_of_the_whole_list(
    free: list, count: int, after: datetime | None, chosen: str
) -> tuple[list, str, bool]:
    """The booking page's window as it was first written: over every free time, parsed."""
    begin = 0
    if after is not None:
        begin = next((i for i, (_, s) in enumerate(free) if s.start > after), len(free))
    elif chosen:
        begin = next((i for i, (o, s) in enumerate(free) if f"{o.id}:{s.id}" == chosen), 0)
    if begin >= len(free):
        begin = 0
    shown = free[begin : begin + count]
    more = begin + count < len(free)
    return shown, iso_utc(shown[-1][1].start) if more and shown else "", begin > 0


def test_a_page_of_free_times_is_the_window_of_every_free_time() -> None:
    """`times_page` (the booking page) answers what windowing the whole of `teachable_slots`
    answers: from the first, after a "later" instant (stale ones too), from a chosen time
    (free, taken, or unknown), with the next page's start and whether earlier times exist."""
    community = gen.generate(60)
    moment = gen.NOW + timedelta(hours=5)
    tags_of = {user.id: user.teach for user in community.users}
    compared = 0
    for uid, schedule in community.schedules.items():
        doc = schedule.to_doc()
        tags = tags_of[uid]
        for skill in {offer.skill_key for offer in schedule.offers.values()}:
            whole = Schedule.from_doc(uid, copy.deepcopy(doc))
            free = whole.teachable_slots(tags, skill, moment)
            every_ref = [f"{o.id}:{s.id}" for o in whole.offers.values() for s in o.slots]
            starts = [s.start for _, s in free]
            afters = [None, moment, *starts[::7], gen.NOW + timedelta(days=400)]
            for count in (1, 3, 40):
                for after in afters:
                    for chosen in ("", "x:y", *every_ref[::9]):
                        lazy = Schedule.from_doc(uid, copy.deepcopy(doc))
                        page = lazy.times_page(
                            tags, skill, moment, count, after=after, chosen=chosen
                        )
                        shown, later, earlier = _window_of_the_whole_list(
                            free, count, after, chosen
                        )
                        assert [(o.id, s) for o, s in page.times] == [(o.id, s) for o, s in shown]
                        assert (page.later, page.earlier) == (later, earlier)
                        compared += 1
    assert compared > 1000


def test_the_free_times_of_a_span_are_those_of_every_free_time_that_overlap_it() -> None:
    """`free_between` (a calendar's week or month) answers what filtering all of
    `free_slots` answers, for spans before, around and after now, and reads only the
    offers with slots near the span when nothing has parsed them."""
    community = gen.generate(40)
    moment = gen.NOW + timedelta(hours=5)
    spans = [
        (gen.NOW + timedelta(days=d), gen.NOW + timedelta(days=d + n))
        for d in (-10, -1, 0, 3, 20, 70)
        for n in (1, 7, 35)
    ]
    compared = 0
    for uid, schedule in community.schedules.items():
        doc = schedule.to_doc()
        every = Schedule.from_doc(uid, copy.deepcopy(doc)).free_slots(moment)
        for begin, end in spans:
            lazy = Schedule.from_doc(uid, copy.deepcopy(doc))
            found = lazy.free_between(moment, begin, end)
            wanted = [(o, s) for o, s in every if s.end > begin and s.start < end]
            assert [(o.id, s) for o, s in found] == [(o.id, s) for o, s in wanted]
            assert "offers" not in lazy._parsed
            compared += len(wanted)
    assert compared


def test_a_document_says_when_its_upkeep_is_due_without_parsing_a_section() -> None:
    """Checking whether history must move reads only the small `due` map; the map is worked
    out anew only for sections that were read (only those can have changed)."""
    doc = full_doc()
    assert set(doc["due"]) == {"offers", "requests", "bookings"}
    schedule = Schedule.from_doc(TEACHER, copy.deepcopy(doc))
    assert not schedule.maintenance_due(NOW)
    assert schedule._parsed == {}  # nothing was parsed to answer
    latest = max(doc["due"].values())
    assert schedule.maintenance_due(parse_iso_utc(latest))
    # A section nobody read keeps its stored moment, even if it is wrong on purpose.
    doc["due"]["bookings"] = "2000-01-01T00:00:00Z"
    lazy = Schedule.from_doc(TEACHER, copy.deepcopy(doc))
    _ = lazy.notifications
    assert lazy.to_doc()["due"]["bookings"] == "2000-01-01T00:00:00Z"
    _ = lazy.bookings  # read: worked out again from the bookings
    assert lazy.to_doc()["due"]["bookings"] == full_doc()["due"]["bookings"]


def test_a_document_from_before_history_moved_is_due_at_once() -> None:
    doc = full_doc()
    del doc["due"]
    assert Schedule.from_doc(TEACHER, doc).maintenance_due(NOW)
    assert not Schedule.from_doc(TEACHER, {"notifications": []}).maintenance_due(NOW)


def test_history_sections_are_written_only_when_they_hold_something() -> None:
    schedule = Schedule.from_doc(TEACHER, full_doc())
    assert "counters" not in schedule.to_doc()
    schedule.counters = {"taught": 3}
    schedule.highlights = [{"booking": "b", "created": "2026-01-01T00:00:00Z"}]
    doc = schedule.to_doc()
    assert doc["counters"] == {"taught": 3}
    again = Schedule.from_doc(TEACHER, doc)
    assert again.counters == {"taught": 3}
    assert again.highlights == schedule.highlights
    assert not Schedule.from_doc(TEACHER, {"counters": {"taught": 1}}).is_empty

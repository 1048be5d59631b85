"""The landing search reads teachers' search cards (domain/search_cards.py), kept in step by the
writes that change them, and reads a schedule only where a card cannot answer."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import TypeVar

import pytest
from flask import Flask
from flask.testing import FlaskClient

from skillswap.domain.schedule import Schedule
from skillswap.domain.search_cards import build_card, skill_head
from skillswap.domain.teacher_rules import TeacherRules
from skillswap.domain.waitlist import Hold
from skillswap.repo.keys import card_key, schedule_key, skill_head_key
from skillswap.store import Store, open_store
from tests.support.app_fixtures import START, Clock, close_app, make_app
from tests.support.counting_store import CountingStore
from tests.support.faulty_store import FaultyStore
from tests.web.test_auth import page
from tests.web.test_offers import book, person, post_offer, repo, uid

W = TypeVar("W", CountingStore, FaultyStore)


def _served(
    wrapper: Callable[[Store], W], tmp_path: Path, clock: Clock
) -> Iterator[tuple[Flask, W]]:
    """An app on a SQLite store seen through `wrapper` (counting reads, or failing some)."""
    store = wrapper(open_store(f"sqlite:///{tmp_path / 'search.db'}"))
    app = make_app(tmp_path, clock, STORE=store)
    yield app, store
    close_app(app)


@pytest.fixture
def counted(tmp_path: Path, clock: Clock) -> Iterator[tuple[Flask, CountingStore]]:
    yield from _served(CountingStore, tmp_path, clock)


@pytest.fixture
def faulty(tmp_path: Path, clock: Clock) -> Iterator[tuple[Flask, FaultyStore]]:
    yield from _served(FaultyStore, tmp_path, clock)


def _search(client: FlaskClient, store: CountingStore, query: str = "pyth") -> str:
    store.reset()
    response = client.get(f"/?q={query}")
    assert response.status_code == 200
    return page(response).main_text


def _schedules_read(store: CountingStore) -> list[str]:
    return [k for call in store.log for k in call.keys if k.startswith("schedule/")]


def _first_slot(app: Flask, username: str) -> tuple[str, str]:
    offers = repo(app).schedule(uid(app, username)).offers
    offer = next(iter(offers.values()))
    return offer.id, offer.slots[0].id


def test_search_reads_cards_and_heads_not_schedules_or_whole_entries(
    counted: tuple[Flask, CountingStore],
) -> None:
    app, store = counted
    ada = person(app, "ada")
    post_offer(ada, {"session_minutes": "30", "ranges-0-end": "11:00"})
    person(app, "cyd")
    cyd = repo(app).find_user("cyd")  # Python as a tag only
    cyd.teach = ["Python"]
    repo(app).save_profile(cyd)
    repo(app).index_teach_tags(cyd.id, [], cyd.teach)
    bob = person(app, "bob")
    text = _search(bob, store)
    assert "Next free: Tue 1 Dec 2026, 09:00–09:30 (UTC); " in text
    assert "and more on their page" in text
    assert "cyd · No ratings yet No free times published right now." in text
    # No schedule at all: not ada's, nor bob's (his next session greets him on the plain
    # landing page, not above results).
    assert _schedules_read(store) == []
    read = {k for call in store.log for k in call.keys}
    assert card_key(uid(app, "ada")) in read and skill_head_key("python") in read
    assert "skill/python" not in read


def test_a_booked_time_leaves_the_search_at_once(counted: tuple[Flask, CountingStore]) -> None:
    app, store = counted
    ada = person(app, "ada")
    post_offer(ada, {"session_minutes": "30"})  # 09:00 and 09:30
    leo = person(app, "leo")
    assert "09:00–09:30 (UTC); Tue 1 Dec 2026, 09:30–10:00" in _search(leo, store)
    offer_id, slot_id = _first_slot(app, "ada")
    assert book(app, leo, "ada", "python", offer_id, slot_id).status_code == 302
    text = _search(leo, store)
    assert "Next free: Tue 1 Dec 2026, 09:30–10:00 (UTC) Book" in text
    assert _schedules_read(store) == []


def test_times_passed_beyond_a_card_are_read_from_the_schedule(
    counted: tuple[Flask, CountingStore], clock: Clock
) -> None:
    app, store = counted
    ada = person(app, "ada")
    # Ten times from 09:00: the card keeps eight, and at 09:05 the first five are within the
    # two hours' notice a teacher takes by default.
    assert post_offer(ada, {"session_minutes": "30", "ranges-0-end": "14:00"}).status_code == 302
    bob = person(app, "bob")
    clock.set(clock.now.replace(month=12, day=1, hour=9, minute=5))
    text = _search(bob, store)
    assert "Next free: Tue 1 Dec 2026, 11:30–12:00 (UTC); " in text
    assert "12:30–13:00 (UTC), and more on their page" in text
    assert schedule_key(uid(app, "ada")) in _schedules_read(store)


def test_a_card_made_stale_by_a_crossing_change_is_written_again(app: Flask, clock: Clock) -> None:
    """Two changes at once: the earlier one's card lands last. Its refresh reads the
    schedule again and writes the card of what it finds."""
    ada = person(app, "ada")
    post_offer(ada, {"session_minutes": "30"})
    r = repo(app)
    ada_id = uid(app, "ada")
    stale = r.store.get(schedule_key(ada_id))
    r.change_schedule(ada_id, lambda s: s.set_rules(TeacherRules(notice_hours=48)))
    r.refresh_card(ada_id, stale)  # the earlier change's refresh, landing after the later one
    fresh = build_card(Schedule.from_doc(ada_id, r.store.get(schedule_key(ada_id))), clock())
    assert r.store.get(card_key(ada_id)) == fresh
    assert fresh["notice"] == 48


def test_everyone_has_a_card_from_sign_up_to_deletion(app: Flask) -> None:
    """A teacher with the skill only as a tag has one too: search reads no schedule for
    them."""
    r = repo(app)
    ada = person(app, "ada")
    ada_id = uid(app, "ada")
    assert r.store.get(card_key(ada_id)) == {
        "rating": [0, 0],
        "reveals": [],
        "notice": 2,
        "free": {"*": {"times": [], "complete": True}},
    }
    post_offer(ada)
    assert r.store.get(card_key(ada_id))["free"]["python"]["times"]
    offer_id = next(iter(r.schedule(ada_id).offers))
    r.change_schedule(ada_id, lambda s: s.offers.pop(offer_id))
    assert r.store.get(card_key(ada_id))["free"] == {"*": {"times": [], "complete": True}}
    r.delete_person(ada_id, START)
    assert r.store.get(card_key(ada_id)) is None


def test_a_time_held_for_me_shows_in_my_search_only(
    counted: tuple[Flask, CountingStore], clock: Clock
) -> None:
    """Holds settle by the clock, so a teacher holding a time has a card without times: the
    search reads their schedule, which shows a held time to the person it is held for."""
    app, store = counted
    ada = person(app, "ada")
    post_offer(ada)
    r = repo(app)
    ada_id, leo = uid(app, "ada"), person(app, "leo")
    leo_id = uid(app, "leo")
    offer_id, slot_id = _first_slot(app, "ada")

    def hold(s: Schedule) -> None:
        offer = s.offers[offer_id]
        stored = offer.slots[0]

        until = (clock() + timedelta(hours=12)).isoformat().replace("+00:00", "Z")
        s.holds = [
            Hold(
                offer_id,
                slot_id,
                stored.start,
                stored.end,
                leo_id,
                "leo",
                "Python",
                "python",
                until,
            )
        ]

    r.change_schedule(ada_id, hold)
    assert "Next free: Tue 1 Dec 2026, 09:00–10:00" in _search(leo, store)
    assert schedule_key(ada_id) in _schedules_read(store)
    assert "No free times published right now." in _search(person(app, "bob"), store)


def test_reindex_writes_cards_and_heads_and_a_budgeted_store_keeps_none(app: Flask) -> None:
    ada = person(app, "ada")
    post_offer(ada)
    r = repo(app)
    ada_id = uid(app, "ada")
    r.store.delete(card_key(ada_id))
    r.store.delete(skill_head_key("python"))
    result = app.test_cli_runner().invoke(args=["reindex"])
    assert result.exit_code == 0, result.output
    assert r.store.get(card_key(ada_id)) is not None
    head = r.store.get(skill_head_key("python"))
    assert head == skill_head(r.store.get("skill/python"))
    assert head["teachers"] == [ada_id]


def test_results_come_a_page_of_twelve_at_a_time(app: Flask) -> None:
    """A skill's first 24 teachers by id, twelve a page."""
    r = repo(app)
    for n in range(30):
        teacher = r.create_user(f"goteacher{n:02d}", f"go{n}@example.com", "x", "UTC")
        teacher.teach = ["Go"]
        r.save_profile(teacher)
        r.index_teach_tags(teacher.id, [], teacher.teach)
    visitor = app.test_client()
    first = page(visitor.get("/?q=go"))
    names = [a.text for a in first.all("a") if a.text.startswith("goteacher")]
    assert len(names) == 12
    assert "Page 1 of 2" in first.main_text
    more = [a.attrs["href"] for a in first.all("a") if a.text == "More teachers"]
    assert more == ["/?q=go&page=2"]
    second = page(visitor.get(more[0]))
    later = [a.text for a in second.all("a") if a.text.startswith("goteacher")]
    assert len(later) == 12 and not set(later) & set(names)
    assert [a.text for a in second.all("a") if a.attrs.get("rel") == "prev"] == [
        "Previous teachers"
    ]


def test_a_booking_rewrites_the_teachers_card_only(counted: tuple[Flask, CountingStore]) -> None:
    """A learner who offers nothing has a card whose times cannot change: their booking
    writes none (a review of them will: it changes their rating)."""
    app, store = counted
    ada = person(app, "ada")
    post_offer(ada)
    leo = person(app, "leo")
    offer_id, slot_id = _first_slot(app, "ada")
    store.reset()
    assert book(app, leo, "ada", "python", offer_id, slot_id).status_code == 302
    written = {k for call in store.log if call.method in ("put", "delete") for k in call.keys}
    assert card_key(uid(app, "ada")) in written
    assert card_key(uid(app, "leo")) not in written


def test_the_background_round_brings_cards_whose_times_passed_up_to_date(
    counted: tuple[Flask, CountingStore], clock: Clock
) -> None:
    """A teacher who changes nothing: their card's times pass, search reads their schedule,
    until a round of `flask send-due-mail` (or the background sender) rebuilds the card."""
    app, store = counted
    ada = person(app, "ada")
    assert post_offer(ada, {"session_minutes": "30", "ranges-0-end": "14:00"}).status_code == 302
    bob = person(app, "bob")
    clock.set(clock.now.replace(month=12, day=1, hour=9, minute=5))
    _search(bob, store)
    assert schedule_key(uid(app, "ada")) in _schedules_read(store)
    result = app.test_cli_runner().invoke(args=["send-due-mail"])
    assert result.exit_code == 0, result.output
    assert "search cards: 1 brought up to date" in result.output  # ada's; bob's has not changed
    text = _search(bob, store)
    assert "Next free: Tue 1 Dec 2026, 11:30–12:00 (UTC); " in text
    assert _schedules_read(store) == []
    again = app.test_cli_runner().invoke(args=["send-due-mail"])
    assert "search cards: 0 brought up to date" in again.output


def test_the_background_round_goes_round_in_batches(app: Flask, clock: Clock) -> None:
    r = repo(app)
    for n in range(5):
        person(app, f"member{n}")
    people = [uid(app, f"member{n}") for n in range(5)]
    clock.advance(days=1)
    for n in range(5):  # change what every card says: a rule of 48 hours' notice
        r.store.put(schedule_key(people[n]), {"booking_rules": {"notice_hours": 48}, "offers": {}})
    assert r.refresh_cards_batch(2) == 2
    assert r.refresh_cards_batch(2) == 2
    assert r.refresh_cards_batch(2) == 1  # the last one; the next round starts over
    assert r.store.get("sweep/cards") == {"after": ""}
    assert r.refresh_cards_batch(2) == 0
    assert all(r.store.get(card_key(p))["notice"] == 48 for p in people)


def test_a_change_made_during_a_round_keeps_its_own_card(app: Flask) -> None:
    """The round read ada's schedule before her change, and its card lands after her own
    refresh: the round reads the schedule again and writes her card as her change left it."""
    ada = person(app, "ada")
    post_offer(ada)
    r = repo(app)
    ada_id = uid(app, "ada")
    real_put_many = r.store.put_many

    def put_many_after_a_change(items: dict) -> None:
        r.change_schedule(ada_id, lambda s: s.set_rules(TeacherRules(notice_hours=48)))
        real_put_many(items)  # the round's cards, built before the change

    r.store.put(card_key(ada_id), {"out of date": True})  # so the round rewrites it
    r.store.put_many = put_many_after_a_change
    try:
        r.refresh_cards_batch(10)
    finally:
        del r.store.put_many
    assert r.store.get(card_key(ada_id))["notice"] == 48


def test_two_rounds_at_once_never_do_the_same_batch(app: Flask, clock: Clock) -> None:
    """Every worker's mail sender runs rounds: one that read the cursor while another took the
    batch after it leaves that batch alone."""
    r = repo(app)
    for n in range(4):
        person(app, f"member{n}")
    clock.advance(days=1)
    for n in range(4):
        r.store.put(schedule_key(uid(app, f"member{n}")), {"booking_rules": {"notice_hours": 48}})
    real_keys = r.store.keys
    other: list[int] = []

    def keys_while_another_round_runs(prefix: str, **kw):
        found = real_keys(prefix, **kw)
        if prefix == "card/" and not other:
            other.append(-1)
            other[0] = r.refresh_cards_batch(2)  # the other worker, between read and take
            # and a change that bypasses the cards: redoing the batch would show in the count
            first = found[0].removeprefix("card/")
            r.store.put(schedule_key(first), {"booking_rules": {"notice_hours": 6}})
        return found

    r.store.keys = keys_while_another_round_runs
    try:
        assert r.refresh_cards_batch(2) == 0
    finally:
        del r.store.keys
    assert other == [2]
    assert r.refresh_cards_batch(2) == 2  # the next batch, not the first again
    assert r.store.get("sweep/cards") == {"after": max(r.store.keys("card/"))}


def test_an_export_taken_after_a_round_imports_again_into_its_own_store(
    app: Flask, clock: Clock, tmp_path: Path
) -> None:
    """Where the round got to is not a record: re-importing a backup is harmless, as the
    README says, however far the round has moved since."""
    for n in range(3):
        person(app, f"member{n}")
    r = repo(app)
    r.refresh_cards_batch(1)
    runner = app.test_cli_runner()
    dump = tmp_path / "dump.jsonl"
    assert runner.invoke(args=["export", str(dump)]).exit_code == 0
    assert '"sweep/cards"' in dump.read_text()
    r.refresh_cards_batch(1)  # the cursor moves on
    result = runner.invoke(args=["import", str(dump)])
    assert result.exit_code == 0, result.output


def test_a_card_that_cannot_be_written_does_not_undo_the_booking(
    faulty: tuple[Flask, FaultyStore], caplog: pytest.LogCaptureFixture
) -> None:
    """The booking is written before its card: a store error on the card is logged and left
    to the background round, not shown to the learner as a failed booking."""
    app, store = faulty
    ada = person(app, "ada")
    post_offer(ada)
    leo = person(app, "leo")
    offer_id, slot_id = _first_slot(app, "ada")
    store.fail_on("put", key_prefix="card/")
    response = book(app, leo, "ada", "python", offer_id, slot_id)
    assert response.status_code == 302
    assert "/dashboard" in response.headers["Location"]
    assert any(b.active for b in repo(app).schedule(uid(app, "leo")).bookings.values())
    assert "search card of" in caplog.text


def test_a_skill_head_that_cannot_be_written_does_not_undo_the_offer(
    faulty: tuple[Flask, FaultyStore], caplog: pytest.LogCaptureFixture
) -> None:
    app, store = faulty
    ada = person(app, "ada")
    store.fail_on("put", key_prefix="skillhead/")
    assert post_offer(ada).status_code == 302
    assert repo(app).schedule(uid(app, "ada")).offers
    assert "search head of python not written" in caplog.text


def test_teachers_with_free_time_come_first_across_pages_not_within_one(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ranked before paged: a teacher with free time whose id sorts last is first on page 1,
    ahead of twelve who have the skill as a tag and publish nothing."""
    ids = iter(f"{n:016x}" for n in range(1, 100))
    monkeypatch.setattr("skillswap.repo.people.new_id", lambda: next(ids))
    r = repo(app)
    for n in range(13):
        teacher = r.create_user(f"tagonly{n:02d}", f"t{n}@example.com", "x", "UTC")
        teacher.teach = ["Python"]
        r.save_profile(teacher)
        r.index_teach_tags(teacher.id, [], teacher.teach)
    ada = person(app, "ada")  # the highest id of the fourteen
    assert post_offer(ada).status_code == 302
    first = page(app.test_client().get("/?q=python"))
    names = [a.text for a in first.all("a") if a.attrs.get("href", "").startswith("/user/")]
    assert names[0] == "ada" and len(names) == 12
    assert "Page 1 of 2" in first.main_text


def test_a_search_reads_every_listed_card_and_user_records_for_its_page_only(
    counted: tuple[Flask, CountingStore],
) -> None:
    """Fourteen teachers, twelve a page: every card is read to rank them, user records only
    for the page shown, and nothing of the viewer's but the session's own user record."""
    app, store = counted
    r = repo(app)
    for n in range(14):
        teacher = r.create_user(f"tagonly{n:02d}", f"t{n}@example.com", "x", "UTC")
        teacher.teach = ["Python"]
        r.save_profile(teacher)
        r.index_teach_tags(teacher.id, [], teacher.teach)
    bob = person(app, "bob")
    _search(bob, store)
    read = [k for call in store.log for k in call.keys]
    assert len([k for k in read if k.startswith("card/")]) == 14
    assert len([k for k in read if k.startswith("user/")]) == 12 + 1  # the page's, and bob
    assert len(store.log) == 5


def test_an_import_rebuilds_cards_an_export_caught_a_change_behind(
    app: Flask, clock: Clock, tmp_path: Path
) -> None:
    """A card is written just after its schedule: an export taken between the two holds the
    new schedule with the old card, which an import must not keep (it would list a booked
    time as free)."""
    ada = person(app, "ada")
    post_offer(ada)
    ada_id = uid(app, "ada")
    dump = tmp_path / "dump.jsonl"
    assert app.test_cli_runner().invoke(args=["export", str(dump)]).exit_code == 0
    lines = dump.read_text().splitlines()
    behind = {"rating": [0, 0], "reveals": [], "notice": 2, "free": {"*": {"times": []}}}
    lines = [
        json.dumps({"key": card_key(ada_id), "value": behind})
        if json.loads(line).get("key") == card_key(ada_id)
        else line
        for line in lines
    ]
    dump.write_text("\n".join(lines) + "\n")
    other = make_app(tmp_path / "other", clock)
    try:
        result = other.test_cli_runner().invoke(args=["import", str(dump)])
        assert result.exit_code == 0, result.output
        store = other.extensions["skillswap.store"]
        schedule = Schedule.from_doc(ada_id, store.get(schedule_key(ada_id)))
        assert store.get(card_key(ada_id)) == build_card(schedule, clock.now)
    finally:
        close_app(other)

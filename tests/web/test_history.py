"""History that does not slow anyone down (issue 15): reviews close after 14 days, the past moves
from the live documents to archives without being lost or counted twice (whatever crashes
when), counters cover the archive, and a store written by the previous version converts."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask

from skillswap import services
from skillswap.domain import archive
from skillswap.domain.limits import LIVE_PAST
from skillswap.domain.records import Booking, Offer, Review, StoredSlot
from skillswap.domain.schedule import Schedule
from skillswap.domain.times import iso_utc
from skillswap.repo import Repository
from skillswap.repo.keys import schedule_key, user_key
from skillswap.services.backup import export_records, import_records, read_export
from skillswap.store import Store
from skillswap.store.sqlite import SQLiteStore
from tests.support.app_fixtures import TEMPLATE_CODE, Clock, make_app
from tests.support.faulty_store import Crash, FaultyStore
from tests.web.test_attendance import mark
from tests.web.test_bookings import (
    book,
    booked_id,
    free_slots,
    person,
    publish,
    rate,
    schedule,
    text,
    uid,
)
from tests.web.test_ics import create_feed, events

SESSION_END = datetime(2026, 12, 1, 16, 0, tzinfo=UTC)  # tess's first slot: 14:00-15:00 UTC


def _one_session(app: Flask, clock: Clock) -> tuple[str, object, object]:
    """tess (New York) teaches leo (Berlin) on 1 Dec 09:00 New York; returns the booking."""
    tess = person(app, "tess", "America/New_York")
    publish(tess)
    leo = person(app, "leo", "Europe/Berlin")
    [first, *_] = free_slots(leo, "tess")
    booking = booked_id(book(leo, "tess", first))
    return booking, tess, leo


def test_reviews_close_fourteen_days_after_the_session(app: Flask, clock: Clock) -> None:
    booking, tess, leo = _one_session(app, clock)
    clock.set(SESSION_END + timedelta(days=13, hours=22))
    assert rate(leo, booking, "9", "Great").status_code == 302
    clock.set(SESSION_END + timedelta(days=14))
    response = rate(tess, booking, "8")
    assert response.status_code == 400
    assert "Reviews of this session closed 14 days after it ended" in text(response)
    # Closed for good: it has left tess's dashboard for her history, which says why.
    assert booking not in tess.get("/dashboard/past").get_data(as_text=True)
    assert "Not rated: reviews closed 14 days after the session." in text(tess.get("/history"))
    assert set(schedule(app, "tess").bookings[booking].reviews) == {uid(app, "leo")}


def test_the_past_moves_to_the_history_and_every_figure_stays(app: Flask, clock: Clock) -> None:
    booking, tess, leo = _one_session(app, clock)
    clock.set(SESSION_END + timedelta(hours=1))
    assert rate(leo, booking, "9", "Clear and patient").status_code == 302
    assert rate(tess, booking, "7").status_code == 302
    assert mark(tess, booking, "happened").status_code == 302  # held at once, not in 7 days
    before = tess.get("/user/tess").get_data(as_text=True)
    assert "Clear and patient" in before
    now_stats = {name: schedule(app, name).stats(clock()) for name in ("tess", "leo")}

    # Six weeks on, each person's own pages move what may leave into the archive.
    clock.set(SESSION_END + LIVE_PAST + timedelta(days=8))
    assert tess.get("/dashboard").status_code == 200
    assert leo.get("/profile").status_code == 200
    for name in ("tess", "leo"):
        live = schedule(app, name)
        assert booking not in live.bookings
        assert live.offers == {} or name == "leo"
        assert live.stats(clock()) == now_stats[name]
    assert schedule(app, "tess").offers == {}
    assert schedule(app, "tess").counters == {"taught": 1, "rating_sum": 9, "rating_count": 1}
    # The public profile keeps the review and the average.
    after = tess.get("/user/tess").get_data(as_text=True)
    assert "Clear and patient" in after
    assert "9.0/10" in after
    # The history page has the session, the offer and the ratings.
    history = tess.get("/history?period=2026Q4")
    assert history.status_code == 200
    shown = text(history)
    assert "Python with leo" in shown
    assert "You rated this 7/10" in shown
    assert "Intro to Python" in shown
    assert "2026 quarter 4" in text(tess.get("/history"))
    assert tess.get("/history?period=1999Q9").status_code == 404
    # A quarter with nothing archived, and digits that are not ASCII: no such page.
    assert tess.get("/history?period=2025Q1").status_code == 404
    assert tess.get("/history?period=٢٠٢٦Q4").status_code == 404


def test_the_calendar_feed_keeps_a_session_until_it_leaves_for_the_history(
    app: Flask, clock: Clock
) -> None:
    """The feed is the live document's: a session stays in it for LIVE_PAST after it ends
    (the profile says so), then only the history has it."""
    booking, tess, _ = _one_session(app, clock)
    address, _ = create_feed(tess)
    feed = app.test_client()  # a calendar app: no cookies
    clock.set(SESSION_END + LIVE_PAST - timedelta(days=1))
    assert tess.get("/dashboard").status_code == 200
    assert [str(e.uid) for e in events(feed.get(address))] == [f"booking-{booking}@skillswap"]
    clock.set(SESSION_END + LIVE_PAST + timedelta(days=8))
    assert tess.get("/dashboard").status_code == 200
    assert events(feed.get(address)) == []
    assert "Python with leo" in text(tess.get("/history?period=2026Q4"))
    assert "those of the last month" in text(tess.get("/profile"))


def test_an_archived_sessions_pages_say_where_it_is(app: Flask, clock: Clock) -> None:
    """An old link to a session that has left for the history (its .ics, its cancel or
    review page) is refused, as before; the page now says where the session is, where it
    said only "That is not yours" to its own participant."""
    booking, tess, _ = _one_session(app, clock)
    clock.set(SESSION_END + LIVE_PAST + timedelta(days=8))
    assert tess.get("/dashboard").status_code == 200  # the move to the history
    for path in (f"/booking/{booking}.ics", f"/booking/{booking}/review"):
        refused = tess.get(path)
        assert refused.status_code == 403
        assert "in your history" in text(refused)


def _people(store: Store) -> tuple[str, str]:
    """Two people with a year of weekly sessions between them, all over, all rated, written
    as the previous version wrote them: everything in the live documents, no counters."""
    teacher, learner = "t" * 16, "l" * 16
    start = datetime(2025, 11, 3, 9, tzinfo=UTC)
    docs: dict[str, dict] = {teacher: _empty_doc(), learner: _empty_doc()}
    for week in range(52):
        at = start + timedelta(weeks=week)
        offer = Offer(
            id=f"o{week}",
            owner=teacher,
            user="tess",
            title=f"Week {week}",
            skill="Python",
            description="",
            mode="online",
            timezone="UTC",
            dates=[at.date().isoformat()],
            time_ranges=[["09:00", "10:00"]],
            timestamp=iso_utc(at - timedelta(days=7)),
            slots=[StoredSlot(f"s{week}", iso_utc(at), iso_utc(at + timedelta(hours=1)))],
        )
        booking = Booking(
            id=f"b{week}",
            teacher=teacher,
            teacher_name="tess",
            learner=learner,
            learner_name="leo",
            offer_id=offer.id,
            slot_id=f"s{week}",
            title=offer.title,
            skill="Python",
            mode="online",
            start=iso_utc(at),
            end=iso_utc(at + timedelta(hours=1)),
            created=iso_utc(at - timedelta(days=3)),
            status="cancelled" if week % 10 == 9 else "confirmed",
            reviews={}
            if week % 10 == 9
            else {
                learner: Review(1 + week % 10, f"week {week}", iso_utc(at + timedelta(hours=2))),
                teacher: Review(8, "", iso_utc(at + timedelta(hours=3))),
            },
        )
        old_offer = offer.to_dict()
        del old_offer["ends"]  # a field this version added
        docs[teacher]["offers"][offer.id] = old_offer
        for owner in (teacher, learner):
            docs[owner]["bookings"][booking.id] = booking.to_dict()
    for owner, name in ((teacher, "tess"), (learner, "leo")):
        store.put(
            user_key(owner),
            {
                "id": owner,
                "username": name,
                "email": f"{name}@example.com",
                "password_hash": "x",
                "timezone": "UTC",
                "teach": ["Python"] if owner == teacher else [],
            },
        )
        store.put(f"username/{name}", {"uid": owner})
        store.put(f"email/{name}@example.com", {"uid": owner})
        store.put(schedule_key(owner), docs[owner])
    return teacher, learner


def _empty_doc() -> dict:
    return {"offers": {}, "requests": {}, "bookings": {}, "notifications": []}


NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def _check_converted(repo: Repository, uid_: str, stats: object) -> None:
    live = repo.schedule(uid_)
    assert live.stats(NOW) == stats
    assert not live.maintenance_due(NOW)
    assert all(b.end_at > NOW - LIVE_PAST for b in live.bookings.values())
    archived = repo.archived_records(uid_)
    bookings = [r for k, r in archived.items() if k.split("/")[1] == "bookings"]
    assert len(bookings) + len(live.bookings) == 52
    assert live.counters == archive.counters_of(uid_, bookings)


@pytest.fixture(params=["sqlite", "replit", pytest.param("postgres", marks=pytest.mark.postgres)])
def old_store_app(request: pytest.FixtureRequest, tmp_path: Path, clock: Clock) -> Iterator[Flask]:
    options: dict[str, object] = {}
    if request.param == "replit":
        fake = request.getfixturevalue("fake_replitdb")
        options = {
            "STORE_URL": "replit",
            "REPLIT_URL_FILE": str(fake.write_url_file(tmp_path / "replitdb")),
            "REPLIT_LOCK_PATH": str(tmp_path / "replit.lock"),
        }
    elif request.param == "postgres":
        options = {"STORE_URL": request.getfixturevalue("fresh_postgres_url")}
    clock.set(NOW)
    app = make_app(tmp_path, clock, **options)
    app.jinja_env.bytecode_cache = TEMPLATE_CODE
    yield app
    app.extensions["skillswap.store"].close()


def test_migrate_converts_a_store_written_by_the_previous_version(old_store_app: Flask) -> None:
    """Every backend: `flask migrate` moves a year of history to the archive, every figure
    stays, running it again moves nothing, and export -> import round-trips it."""
    app = old_store_app
    store: Store = app.extensions["skillswap.store"]
    repo: Repository = app.extensions["skillswap.repo"]
    teacher, learner = _people(store)
    # Read as the previous version would: the stats from the whole live document.
    stats = {
        u: Schedule.from_doc(u, store.get(schedule_key(u))).stats(NOW) for u in (teacher, learner)
    }
    assert stats[teacher].taught == 47 and stats[teacher].rating_count == 47

    runner = app.test_cli_runner()
    result = runner.invoke(args=["migrate"])
    assert result.exit_code == 0, result.output
    assert "migrated 2 people" in result.output
    for u in (teacher, learner):
        _check_converted(repo, u, stats[u])
    assert "0 batches" in runner.invoke(args=["migrate"]).output

    # A public profile still shows reviews, from the highlights the archive left behind.
    public = app.test_client().get("/user/tess").get_data(as_text=True)
    assert "week 50" in public

    dump = io.StringIO()
    _, torn = export_records(store, dump, NOW)
    assert torn == []
    copy = SQLiteStore(str(Path(app.instance_path) / "copy.db"))
    try:
        import_records(copy, read_export(io.StringIO(dump.getvalue())), overwrite=False, now=NOW)
        assert {k: copy.get(k) for k in copy.keys("")} == {k: store.get(k) for k in store.keys("")}
    finally:
        copy.close()


def test_a_document_not_yet_converted_converts_when_its_owner_opens_a_page(app: Flask) -> None:
    store: Store = app.extensions["skillswap.store"]
    repo: Repository = app.extensions["skillswap.repo"]
    teacher, _ = _people(store)
    stats = Schedule.from_doc(teacher, store.get(schedule_key(teacher))).stats(NOW)
    with app.test_request_context():
        services.booking.resolve_pending(repo, repo.schedule(teacher))
    live = repo.schedule(teacher)
    assert len(live.bookings) < 52
    assert live.stats(NOW) == stats


@pytest.mark.parametrize(
    ("method", "nth", "after"),
    [
        ("update", 1, True),  # the batch was written down, then the process died
        ("update", 2, True),  # the records were copied into the archive, then it died
        ("update", 3, False),  # it died just before the records left the live document
        ("update", 3, True),  # they left, but the answer was lost
    ],
    ids=["after-begin", "after-copy", "before-drop", "after-drop"],
)
def test_archiving_a_batch_survives_a_crash_at_any_step(
    tmp_path: Path, method: str, nth: int, after: bool
) -> None:
    """Copy first, then drop: a crash between the two loses nothing, and resuming repeats
    nothing (each record once in the archive, counted once)."""
    inner = SQLiteStore(str(tmp_path / "kv.db"))
    store = FaultyStore(inner)
    repo = Repository(store, lambda: NOW, archive_piece_bytes=20_000)
    teacher, _ = _people(inner)
    stats = Schedule.from_doc(teacher, inner.get(schedule_key(teacher))).stats(NOW)
    store.crash_on(method, nth, after=after)
    with pytest.raises(Crash):
        services.upkeep.maintain(repo, teacher)
    store.revive()
    services.upkeep.maintain(repo, teacher)
    _check_converted(repo, teacher, stats)
    # Each record once: keys are unique per piece, so count across pieces.
    seen: list[str] = []
    for key in inner.keys("archive/"):
        seen.extend(inner.get(key)["records"])
    assert len(seen) == len(set(seen))
    inner.close()

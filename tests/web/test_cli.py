"""Operator commands: the index is derived data, and export/import is the backup path."""

from __future__ import annotations

import json
from pathlib import Path

from flask import Flask

from skillswap import services
from skillswap.domain.records import LearnRequest, Offer, StoredSlot
from skillswap.domain.slot_index import bucket_doc, bucket_rows
from skillswap.domain.times import expand_slots, parse_date, parse_hhmm
from skillswap.domain.zones import zone_or_utc
from skillswap.repo import Repository
from skillswap.repo.indexes import rebuild_skill_index
from tests.support.app_fixtures import Clock, make_app
from tests.support.fake_replitdb import FakeReplitDB


def _community(repo: Repository) -> dict[str, str]:
    """Three people: two teach Python (one through tags only), one wants to learn it."""
    ids = {}
    for name in ("ada", "bob", "cyd"):
        ids[name] = repo.create_user(name, f"{name}@example.com", "x", "UTC").id
    zone = zone_or_utc("UTC")
    slots = expand_slots(
        [parse_date("2026-12-01")], [(parse_hhmm("09:00"), parse_hhmm("11:00"))], zone, 60
    )
    offer = Offer(
        id="o1",
        owner=ids["ada"],
        user="ada",
        title="Python basics",
        skill="Python",
        description="",
        mode="online",
        timezone="UTC",
        dates=["2026-12-01"],
        time_ranges=[["09:00", "11:00"]],
        timestamp="2026-11-23T12:00:00Z",
        session_minutes=60,
        slots=[StoredSlot.of(s) for s in slots],
    )
    services.offers.save_offer(repo, offer)
    user = repo.get_user(ids["bob"])
    assert user is not None
    user.teach = ["python ", "Go"]
    repo.save_profile(user)
    repo.index_teach_tags(user.id, [], user.teach)
    services.offers.save_request(
        repo,
        LearnRequest(
            id="r1",
            owner=ids["cyd"],
            user="cyd",
            skill="PYTHON",
            mode="either",
            timezone="UTC",
            dates=["2026-12-01"],
            time_ranges=[["08:00", "12:00"]],
            timestamp="2026-11-23T12:00:00Z",
            windows=[["2026-12-01T08:00:00Z", "2026-12-01T12:00:00Z"]],
        ),
    )
    return ids


def test_reindex_rebuilds_what_the_app_maintains(app: Flask) -> None:
    repo: Repository = app.extensions["skillswap.repo"]
    store = app.extensions["skillswap.store"]
    ids = _community(repo)
    maintained = {k: store.get(k) for k in store.keys("skill/")}
    assert maintained["skill/python"]["teachers"] == {ids["ada"]: ["o1"]}
    slots = {k: store.get(k) for k in store.keys("slots/")}
    # Ada's two slots under Python; Bob's tags add none, as he publishes no time.
    assert list(slots) == ["slots/python/2026-11-30"]
    assert len(bucket_rows(slots["slots/python/2026-11-30"])) == 2

    # A crash could leave the index anywhere: wrong, missing, or with extra skills.
    store.delete("skill/python")
    store.put(
        "skill/ghost", {"label": "Ghost", "teachers": {"x": ["y"]}, "learners": {}, "taggers": {}}
    )
    store.delete("slots/python/2026-11-30")
    store.put("slots/ghost/2026-11-30", bucket_doc(["1796115600 1796119200 x y online"]))
    result = app.test_cli_runner().invoke(args=["reindex"])
    assert result.exit_code == 0, result.output
    assert "2 stale removed" in result.output
    assert {k: store.get(k) for k in store.keys("slots/")} == slots
    rebuilt = {k: store.get(k) for k in store.keys("skill/")}
    assert rebuilt.keys() == maintained.keys()
    for key, doc in maintained.items():
        for role in ("teachers", "learners", "taggers"):
            assert rebuilt[key][role] == doc[role], (key, role)


def test_matching_is_the_same_with_a_rebuilt_index(app: Flask) -> None:
    repo: Repository = app.extensions["skillswap.repo"]
    ids = _community(repo)
    request = repo.schedule(ids["cyd"]).requests["r1"]
    before = services.matching.find_teachers(
        repo, "python", request.window_instants(), "either", ids["cyd"]
    )
    app.test_cli_runner().invoke(args=["reindex"])
    after = services.matching.find_teachers(
        repo, "python", request.window_instants(), "either", ids["cyd"]
    )
    assert [(m.user.username, [s.id for _, s in m.slots]) for m in before] == [
        (m.user.username, [s.id for _, s in m.slots]) for m in after
    ]
    assert [m.user.username for m in after] == ["ada"]  # bob has no free time published


def test_rebuild_is_pure(app: Flask) -> None:
    repo: Repository = app.extensions["skillswap.repo"]
    _community(repo)
    store = app.extensions["skillswap.store"]
    keys_before = store.keys("")
    rebuild_skill_index(store)
    assert store.keys("") == keys_before


def test_export_wipe_import_gives_identical_records(app: Flask, tmp_path: Path) -> None:
    repo: Repository = app.extensions["skillswap.repo"]
    _community(repo)
    store = app.extensions["skillswap.store"]
    runner = app.test_cli_runner()
    dump = tmp_path / "backup.jsonl"
    assert runner.invoke(args=["export", str(dump)]).exit_code == 0
    original = {k: store.get(k) for k in store.keys("")}
    *lines, end = dump.read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(original)
    assert json.loads(end) == {"end": len(original)}  # by which an import knows it is whole
    assert {json.loads(line)["key"] for line in lines} == set(original)

    fresh = make_app(tmp_path / "other", Clock())
    result = fresh.test_cli_runner().invoke(args=["import", str(dump)])
    assert result.exit_code == 0, result.output
    other = fresh.extensions["skillswap.store"]
    assert {k: other.get(k) for k in other.keys("")} == original
    # Importing the same file again changes nothing and says so.
    again = fresh.test_cli_runner().invoke(args=["import", str(dump)])
    assert again.exit_code == 0
    assert "imported 0 records" in again.output
    other.close()


def test_import_refuses_to_overwrite_unless_asked(app: Flask, tmp_path: Path) -> None:
    store = app.extensions["skillswap.store"]

    def user(uid: str, username: str) -> dict:
        return {"id": uid, "username": username, "email": f"{uid}@example.com", "password_hash": ""}

    store.put("user/zzz", user("zzz", "zed"))
    dump = tmp_path / "d.jsonl"
    dump.write_text(
        json.dumps({"key": "user/zzz", "value": user("zzz", "other")})
        + "\n"
        + json.dumps({"key": "user/new", "value": user("new", "new")})
        + "\n"
        + json.dumps({"end": 2})
        + "\n",
        encoding="utf-8",
    )
    runner = app.test_cli_runner()
    refused = runner.invoke(args=["import", str(dump)])
    assert refused.exit_code != 0
    assert "nothing was written" in refused.output
    assert store.get("user/zzz")["username"] == "zed"
    assert store.get("user/new") is None
    assert runner.invoke(args=["import", "--overwrite", str(dump)]).exit_code == 0
    assert store.get("user/zzz")["username"] == "other"


def _dump(app: Flask, tmp_path: Path) -> Path:
    _community(app.extensions["skillswap.repo"])
    dump = tmp_path / "backup.jsonl"
    assert app.test_cli_runner().invoke(args=["export", str(dump)]).exit_code == 0
    return dump


def test_an_export_cut_short_is_refused_and_nothing_is_written(app: Flask, tmp_path: Path) -> None:
    """Cut at a line's end, an export imported "200 records" without a word: accounts'
    schedules without their users (an outside probe). Cut inside a line: a traceback."""
    text = _dump(app, tmp_path).read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    fresh = make_app(tmp_path / "other", Clock())
    other = fresh.extensions["skillswap.store"]
    for name, cut in (("at a line", "".join(lines[:5])), ("inside a line", text[: len(text) // 2])):
        part = tmp_path / f"{name}.jsonl"
        part.write_text(cut, encoding="utf-8")
        result = fresh.test_cli_runner().invoke(args=["import", str(part)])
        assert result.exit_code == 1, name
        assert "Nothing was written" in result.output, name
        assert "Traceback" not in result.output
        assert other.keys("") == [], name
    # An editor's byte-order mark is no problem; a count that is no whole number is.
    bom = tmp_path / "bom.jsonl"
    bom.write_text("\ufeff" + text, encoding="utf-8")
    assert fresh.test_cli_runner().invoke(args=["import", str(bom)]).exit_code == 0
    odd = tmp_path / "odd.jsonl"
    odd.write_text("".join(lines[:-1]) + json.dumps({"end": str(len(lines) - 1)}), encoding="utf-8")
    refused = fresh.test_cli_runner().invoke(args=["import", str(odd)])
    assert refused.exit_code == 1 and "not a whole number" in refused.output
    # An export made before exports had an end line: taken when asked.
    old = tmp_path / "old.jsonl"
    old.write_text("".join(lines[:-1]), encoding="utf-8")
    assert fresh.test_cli_runner().invoke(args=["import", str(old)]).exit_code == 1
    taken = fresh.test_cli_runner().invoke(args=["import", "--no-end-check", str(old)])
    assert taken.exit_code == 0, taken.output
    other.close()


def test_import_never_points_a_name_at_another_account(app: Flask, tmp_path: Path) -> None:
    """With --overwrite, a file's username and email claims replaced those of the store's own
    accounts: two user records per name, the store's own orphaned (an outside probe)."""
    dump = _dump(app, tmp_path)
    fresh = make_app(tmp_path / "other", Clock())
    fresh.extensions["skillswap.repo"].create_user("ada", "ada@example.com", "x", "UTC")
    before = {k: fresh.extensions["skillswap.store"].get(k) for k in ("username/ada",)}
    result = fresh.test_cli_runner().invoke(args=["import", "--overwrite", str(dump)])
    assert result.exit_code == 1
    assert "two accounts one name" in result.output
    assert fresh.extensions["skillswap.store"].get("username/ada") == before["username/ada"]
    fresh.extensions["skillswap.store"].close()


def test_an_old_export_cannot_give_an_address_in_another_form_a_second_account(
    app: Flask, tmp_path: Path
) -> None:
    """An export from before email_identity keyed a decomposed "zoë" as typed: imported
    where another account holds the composed one, two accounts shared one inbox (an outside
    probe)."""
    store = app.extensions["skillswap.store"]
    repo: Repository = app.extensions["skillswap.repo"]
    repo.create_user("zoey", "zo\u00eb@example.com", "x", "UTC")
    dump = tmp_path / "old.jsonl"
    lines = [
        {"key": "user/old1", "value": {"id": "old1", "username": "zoe"}},
        {"key": "username/zoe", "value": {"uid": "old1"}},
        {"key": "email/zoe\u0308@example.com", "value": {"uid": "old1"}},
    ]
    dump.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["import", "--no-end-check", str(dump)])
    assert result.exit_code == 1
    assert "two accounts one name" in result.output
    assert store.get("user/old1") is None


def test_importing_into_a_store_with_people_of_its_own_rebuilds_the_indexes_from_both(
    app: Flask, tmp_path: Path
) -> None:
    dump = _dump(app, tmp_path)
    fresh = make_app(tmp_path / "other", Clock())
    repo: Repository = fresh.extensions["skillswap.repo"]
    dee = repo.create_user("dee", "dee@example.com", "x", "UTC")
    dee.teach = ["Python"]
    repo.save_profile(dee)
    repo.index_teach_tags(dee.id, [], dee.teach)
    result = fresh.test_cli_runner().invoke(args=["import", str(dump)])
    assert result.exit_code == 0, result.output  # skill/python differs: derived, no conflict
    assert "indexes rebuilt from both" in result.output
    taggers = repo.skill_index("python")["taggers"]
    assert dee.id in taggers and repo.find_user("bob").id in taggers
    fresh.extensions["skillswap.store"].close()


def test_store_stats_reports_against_replit_limits(app: Flask) -> None:
    _community(app.extensions["skillswap.repo"])
    result = app.test_cli_runner().invoke(args=["store-stats"])
    assert result.exit_code == 0, result.output
    assert "store: sqlite" in result.output
    assert "users: 3" in result.output
    assert "of Replit's 5000" in result.output


def test_import_lays_the_slot_index_out_for_the_target_store(
    app: Flask, tmp_path: Path, clock: Clock, fake_replitdb: FakeReplitDB
) -> None:
    """SQLite keeps a skill's slots one document a week, Replit DB in one: a dump carried
    from one to the other must still find teachers there (and back again)."""
    ids = _community(app.extensions["skillswap.repo"])
    dump = tmp_path / "backup.jsonl"
    assert app.test_cli_runner().invoke(args=["export", str(dump)]).exit_code == 0
    replit = make_app(
        tmp_path / "replit",
        clock,
        STORE_URL="replit",
        REPLIT_URL_FILE=str(fake_replitdb.write_url_file(tmp_path / "replitdb")),
        REPLIT_LOCK_PATH=str(tmp_path / "replit.lock"),
    )
    try:
        result = replit.test_cli_runner().invoke(args=["import", str(dump)])
        assert result.exit_code == 0, result.output
        assert "slot index laid out for replit" in result.output
        store = replit.extensions["skillswap.store"]
        assert store.keys("slots/") == ["slots/python/all"]
        repo: Repository = replit.extensions["skillswap.repo"]
        request = repo.schedule(ids["cyd"]).requests["r1"]
        found = services.matching.find_teachers(
            repo, "python", request.window_instants(), "either", ids["cyd"]
        )
        assert [m.user.username for m in found] == ["ada"]
        # Importing the same dump again lays it out again: never the wrong layout left behind.
        assert replit.test_cli_runner().invoke(args=["import", str(dump)]).exit_code == 0
        assert store.keys("slots/") == ["slots/python/all"]
    finally:
        replit.extensions["skillswap.store"].close()


def test_export_names_torn_sessions_and_import_mends_them(app: Flask, tmp_path: Path) -> None:
    """A session in the teacher's schedule only (as an export of Replit DB can catch it)."""
    ids = _community(app.extensions["skillswap.repo"])
    store = app.extensions["skillswap.store"]
    booking = {
        "id": "b9",
        "teacher": ids["ada"],
        "teacher_name": "ada",
        "learner": ids["cyd"],
        "learner_name": "cyd",
        "offer_id": "o1",
        "slot_id": "s9",
        "title": "Python",
        "skill": "Python",
        "mode": "online",
        "start": "2026-12-10T10:00:00Z",
        "end": "2026-12-10T11:00:00Z",
        "created": "2026-11-23T12:00:00Z",
        "status": "confirmed",
    }
    store.update(
        f"schedule/{ids['ada']}",
        lambda doc: {**doc, "bookings": {**doc.get("bookings", {}), "b9": booking}},
    )
    dump = tmp_path / "backup.jsonl"
    exported = app.test_cli_runner().invoke(args=["export", str(dump)])
    assert exported.exit_code == 0
    assert "1 session in this copy is in one person's schedule only" in exported.output
    fresh = make_app(tmp_path / "other", Clock())
    try:
        imported = fresh.test_cli_runner().invoke(args=["import", str(dump)])
        assert imported.exit_code == 0, imported.output
        assert "mended 1 session the export had caught in one person's schedule only" in (
            imported.output
        )
        repo: Repository = fresh.extensions["skillswap.repo"]
        assert repo.schedule(ids["cyd"]).bookings["b9"].status == "confirmed"
    finally:
        fresh.extensions["skillswap.store"].close()

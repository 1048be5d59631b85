"""Moving a community between backends is lossless (issue 6: "lossless across all three").

A community is built on SQLite through the app (sign-ups, an offer, bookings, a cancelled
booking with a reason, reviews both ways, notifications) and the Repository (a learn request),
then carried SQLite -> PostgreSQL -> fake Replit DB -> a fresh SQLite with
`skillswap.cli.export_records` / `import_records`. Every stage's export holds the same records
(compared as parsed JSON: PostgreSQL's jsonb reorders object keys, so text would differ),
importing the same dump twice writes nothing the second time, and the app built on the final
SQLite renders the same pages as the original.
"""

from __future__ import annotations

import io
import re
import shutil
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from skillswap import services
from skillswap.domain.records import LearnRequest
from skillswap.repo import Repository
from skillswap.services.backup import export_records, import_records, read_export
from skillswap.store import Store, open_store
from tests.support.app_fixtures import TEMPLATE_CODE, AuthActions, Clock, make_app
from tests.support.fake_replitdb import FakeReplitDB
from tests.web.test_bookings import book, booked_id, cancel, free_slots, person, publish, rate

pytestmark = pytest.mark.postgres

PASSWORD = "correct horse battery"
CSRF_VALUE = re.compile(
    r'(name="csrf_token"[^>]*value=")[^"]+(")|(value=")[^"]+("[^>]*name="csrf_token")'
)
MAIN = re.compile(r"<main\b.*?</main>", re.S)


@pytest.fixture
def folder() -> Iterator[Path]:
    shm = Path("/dev/shm")
    path = Path(tempfile.mkdtemp(prefix="skillswap-moves-", dir=shm if shm.is_dir() else None))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _app(folder: Path, clock: Clock) -> Flask:
    app = make_app(folder, clock)
    app.jinja_env.bytecode_cache = TEMPLATE_CODE
    return app


def _build_community(app: Flask, clock: Clock) -> None:
    """tess teaches, leo and xia learn; one session happens and is rated, one is cancelled."""
    tess = person(app, "tess", "America/New_York")
    publish(tess)  # 1 Dec 09:00-11:00 New York, two one-hour sessions
    publish(tess, skill="Guitar", title="Chords", start="13:00", end="14:00")
    leo = person(app, "leo", "Europe/Berlin")
    xia = person(app, "xia", "Asia/Tokyo")
    first, second = free_slots(leo, "tess")[:2]
    kept = booked_id(book(leo, "tess", first))
    dropped = booked_id(book(xia, "tess", second))
    assert cancel(xia, dropped, "Something came up, sorry — ça arrive").status_code == 302
    repo: Repository = app.extensions["skillswap.repo"]
    leo_id = repo.find_user("leo")
    assert leo_id is not None
    services.offers.save_request(
        repo,
        LearnRequest(
            id="r1",
            owner=leo_id.id,
            user="leo",
            skill="Guitar",
            mode="either",
            timezone="Europe/Berlin",
            dates=["2026-12-03"],
            time_ranges=[["18:00", "20:00"]],
            timestamp="2026-11-23T12:00:00Z",
            windows=[["2026-12-03T17:00:00Z", "2026-12-03T19:00:00Z"]],
        ),
    )
    # After the session (14:00-15:00 UTC) both rate it.
    clock.set(datetime(2026, 12, 1, 16, 0, tzinfo=UTC))
    assert rate(leo, kept, "9", "Clear and patient ✓").status_code == 302
    assert rate(tess, kept, "8").status_code == 302


def _export(store: Store) -> tuple[str, dict[str, Any]]:
    out = io.StringIO()
    count, torn = export_records(store, out, datetime(2026, 12, 1, 16, 0, tzinfo=UTC))
    assert torn == []
    text = out.getvalue()
    records = {}
    for record in read_export(io.StringIO(text)):  # checks the end line's count too
        assert record["key"] not in records, f"{record['key']} exported twice"
        records[record["key"]] = record["value"]
    assert count == len(records)
    return text, records


def _import_twice(store: Store, dump: str, expected: dict[str, Any]) -> None:
    moment = datetime(2026, 12, 1, 16, 0, tzinfo=UTC)
    records = read_export(io.StringIO(dump))
    written, same, mended, merged = import_records(store, records, False, moment)
    assert (written, same, mended, merged) == (len(expected), 0, 0, False)
    # Idempotent: the same dump again writes nothing, even with --overwrite.
    assert import_records(store, records, False, moment) == (0, len(expected), 0, False)
    assert import_records(store, records, True, moment) == (0, len(expected), 0, False)


def _main(client: FlaskClient, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    match = MAIN.search(response.get_data(as_text=True))
    assert match, f"no <main> on {path}"
    return CSRF_VALUE.sub(lambda m: "".join(g for g in m.groups() if g is not None), match[0])


DASHBOARD_TABS = ("/dashboard", "/dashboard/past", "/dashboard/reviews")


def _pages(app: Flask) -> dict[str, str]:
    """What tess and leo see after logging in: dashboards, profiles, notifications."""
    pages = {}
    for name in ("tess", "leo"):
        client = app.test_client()
        response = AuthActions(client).login(name, PASSWORD)
        assert response.status_code == 302, response.get_data(as_text=True)[-2000:]
        for path in (*DASHBOARD_TABS, "/user/tess", "/user/leo", "/user/xia", "/notifications"):
            pages[f"{name} {path}"] = _main(client, path)
    return pages


def test_records_survive_sqlite_postgres_replit_sqlite(
    folder: Path, fresh_postgres_url: str, fake_replitdb: FakeReplitDB
) -> None:
    clock = Clock()
    original = _app(folder / "original", clock)
    final: Flask | None = None
    stores: list[Store] = []
    try:
        _build_community(original, clock)
        dump, records = _export(original.extensions["skillswap.store"])
        prefixes = {key.split("/", 1)[0] for key in records}
        assert {"user", "username", "email", "schedule", "skill"} <= prefixes, prefixes
        assert "Something came up" in dump and "Clear and patient" in dump

        postgres = open_store(fresh_postgres_url)
        stores.append(postgres)
        _import_twice(postgres, dump, records)
        dump, from_postgres = _export(postgres)
        assert from_postgres == records
        assert list(from_postgres) == list(records), "keys are exported in a different order"

        replit = open_store(
            "replit",
            db_url=fake_replitdb.url,
            url_file=str(folder / "no-replitdb"),
            lock_path=str(folder / "replit.lock"),
        )
        stores.append(replit)
        _import_twice(replit, dump, records)
        dump, from_replit = _export(replit)
        assert from_replit == records
        assert list(from_replit) == list(records)

        final = _app(folder / "final", clock)
        _import_twice(final.extensions["skillswap.store"], dump, records)
        _, from_final = _export(final.extensions["skillswap.store"])
        assert from_final == records

        # The app on the moved data shows the same pages.
        before, after = _pages(original), _pages(final)
        assert before.keys() == after.keys()
        for page in before:
            assert after[page] == before[page], page
        assert "tess" in before["leo /dashboard/past"]
        assert "9/10" in before["tess /dashboard/reviews"]
        assert "Something came up" in before["tess /dashboard/past"]
    finally:
        for store in stores:
            store.close()
        original.extensions["skillswap.store"].close()
        if final is not None:
            final.extensions["skillswap.store"].close()

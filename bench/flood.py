"""The benchmark's abuse run (issue 14): can a group of accounts fill a skill's slot index?

Over real HTTP, against gunicorn with the shipped settings on an empty SQLite store: (row cap ÷
per-person limit) + 1 accounts each post the largest offer the form allows (every day of one
week, ten time ranges, 30-minute sessions) for one skill, again and again until refused. Then
another teacher offers that skill that week and a learner's request must find them.

Targets: no answer ≥ 500; every refusal is the documented limit on future sessions; no piece of
the index holds more than the cap; the other teacher is found.
"""

from __future__ import annotations

import re
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import requests

from skillswap.domain import limits
from skillswap.domain.slot_index import bucket_rows, row_uid
from skillswap.store.sqlite import SQLiteStore

SKILL = "Welsh"
FIRST_DAY = date(2026, 11, 30)  # the Monday after the bench's NOW
CSRF_RE = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')
REFUSAL = f"You can have at most {limits.MAX_FUTURE_SLOTS:,} future sessions published"


def _csrf(session: requests.Session, url: str) -> str:
    match = CSRF_RE.search(session.get(url, timeout=30).text)
    assert match, f"no CSRF token on {url}"
    return match.group(1)


def _signup(base: str, username: str) -> requests.Session:
    session = requests.Session()
    response = session.post(
        base + "/signup",
        data={
            "username": username,
            "email": f"{username}@example.com",
            "password": "flood password 1234",
            "timezone": "UTC",
            "csrf_token": _csrf(session, base + "/signup"),
        },
        allow_redirects=False,
        timeout=30,
    )
    assert response.status_code == 302, f"sign-up of {username}: HTTP {response.status_code}"
    return session


def _week(first: date) -> list[date]:
    return [first + timedelta(days=n) for n in range(7)]


def largest_week_offer(title: str, first: date = FIRST_DAY) -> dict[str, str]:
    week = _week(first)
    fields = {
        "title": title,
        "skill": SKILL,
        "description": "",
        "mode": "online",
        "preset": "everyday",
        "preset_first": week[0].isoformat(),
        "preset_last": week[-1].isoformat(),
        "session_minutes": "30",
    }
    for n in range(10):  # the form's most ranges, covering the day
        fields[f"ranges-{n}-start"] = f"{2 * n:02d}:00"
        fields[f"ranges-{n}-end"] = f"{2 * n + 2:02d}:00" if n < 9 else "23:30"
    return fields


def _post(session: requests.Session, base: str, path: str, fields: dict[str, str]):
    data = {**fields, "csrf_token": _csrf(session, base + path)}
    return session.post(base + path, data=data, allow_redirects=False, timeout=120)


def flood(base: str, db: Path, first: date = FIRST_DAY) -> dict[str, Any]:
    """Run the flood against the server at `base`, whose SQLite store is the file `db`, for
    the week starting `first` (a date ahead of the server's clock)."""
    week = _week(first)
    accounts = limits.SLOT_PIECE_ROWS // limits.MAX_FUTURE_SLOTS + 1
    statuses: list[int] = []
    refusals_at_limit = 0
    started = time.perf_counter()
    for n in range(accounts):
        session = _signup(base, f"flood{n:02d}")
        for attempt in range(20):
            response = _post(session, base, "/offer", largest_week_offer(f"Welsh {attempt}", first))
            statuses.append(response.status_code)
            if response.status_code != 302:
                refusals_at_limit += REFUSAL in response.text
                break
    flood_s = time.perf_counter() - started

    teacher = _signup(base, "realteacher")
    offered = _post(
        teacher,
        base,
        "/offer",
        {
            "title": "Welsh conversation",
            "skill": SKILL,
            "description": "",
            "mode": "online",
            "dates-0": week[1].isoformat(),
            "ranges-0-start": "10:15",
            "ranges-0-end": "11:15",
            "session_minutes": "",
        },
    )
    learner = _signup(base, "learner")
    asked = _post(
        learner,
        base,
        "/request",
        {
            "skill": SKILL,
            "mode": "either",
            "dates-0": week[1].isoformat(),
            "ranges-0-start": "10:00",
            "ranges-0-end": "11:30",
        },
    )
    found_on = 0
    if asked.status_code == 302:
        # The flooders' slots start first, so the other teacher may be on a later page.
        for page in range(1, 4):
            matches = learner.get(f"{base}{asked.headers['Location']}?page={page}", timeout=60)
            statuses.append(matches.status_code)
            if "realteacher" in matches.text:
                found_on = page
                break
    statuses += [offered.status_code, asked.status_code]

    store = SQLiteStore(str(db))
    try:
        pieces = store.get_many(store.keys(f"slots/{SKILL.lower()}/"))
    finally:
        store.close()
    rows = {key: bucket_rows(doc) for key, doc in pieces.items()}
    split = sum(
        1
        for teacher_uid in {row_uid(line) for lines in rows.values() for line in lines}
        if sum(any(row_uid(line) == teacher_uid for line in lines) for lines in rows.values()) > 1
    )
    return {
        "accounts": accounts,
        "posts": len(statuses),
        "answers_5xx": sum(1 for s in statuses if s >= 500),
        "refused": sum(1 for s in statuses if 400 <= s < 500),
        "refusals_at_limit": refusals_at_limit,
        "pieces": len(pieces),
        "largest_piece_rows": max((len(r) for r in rows.values()), default=0),
        "teachers_split_across_pieces": split,
        "other_teacher_found": bool(found_on),
        "other_teacher_page": found_on,
        "flood_s": round(flood_s, 1),
    }


def targets(result: dict[str, Any]) -> list[tuple[str, float, float, str]]:
    """(name, value, limit, op) for the harness's table."""
    return [
        ("flood: answers ≥ 500", result["answers_5xx"], 0, "=="),
        (
            "flood: accounts refused at the future-sessions limit",
            result["refusals_at_limit"],
            result["accounts"],
            "==",
        ),
        (
            "flood: rows in the largest index piece",
            result["largest_piece_rows"],
            limits.SLOT_PIECE_ROWS,
            "<=",
        ),
        ("flood: another teacher still found", int(result["other_teacher_found"]), 1, "=="),
    ]


def figures(work: Path, env: dict[str, str], root: Path) -> dict[str, Any]:
    """The flood against gunicorn (2 workers, the shipped settings) on an empty store."""
    from tests.support.gunicorn_server import GunicornServer

    db = work / "flood.db"
    app_env = {
        **env,
        "SKILLSWAP_STORE": f"sqlite:///{db}",
        "BENCH_INSTANCE": str(work / "instance-flood"),
        "PYTHONPATH": str(root),
    }
    with GunicornServer(app_env, work / "flood.log", workers=2, app="bench.wsgi:app") as server:
        result = flood(server.url, db)
        result["server_log_errors"] = sum(
            server.log_tail(lines=10**7).count(sign) for sign in ("Traceback", "[ERROR]")
        )
    return result

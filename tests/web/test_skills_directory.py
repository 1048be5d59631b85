"""The skills directory: what people teach and want to learn, busiest first, read from the skill
index only."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from skillswap import services
from skillswap.domain.records import LearnRequest, Offer
from skillswap.repo import Repository
from skillswap.store import open_store
from tests.support.app_fixtures import Clock, make_app
from tests.support.counting_store import CountingStore
from tests.web.test_bookings import person, text

ROW_RE = re.compile(
    r'<a href="(/\?q=[^"]*)"><strong>([^<]+)</strong></a></p>\s*<p>(\d+) teachers? · '
    r"(\d+) learners?</p>"
)


def rows(response) -> list[tuple[str, str, int, int]]:
    """(link, skill, teachers, learners) as listed."""
    assert response.status_code == 200
    return [
        (link.replace("&amp;", "&"), label, int(t), int(lr))
        for link, label, t, lr in ROW_RE.findall(response.get_data(as_text=True))
    ]


def offer(repo: Repository, uid: str, skill: str) -> None:
    services.offers.save_offer(
        repo,
        Offer(
            id=f"{uid}-{skill}",
            owner=uid,
            user=uid,
            title=f"{skill} basics",
            skill=skill,
            description="",
            mode="online",
            timezone="UTC",
            dates=[],
            time_ranges=[],
            timestamp="2026-11-23T12:00:00Z",
        ),
    )


def wants(repo: Repository, uid: str, skill: str) -> None:
    services.offers.save_request(
        repo,
        LearnRequest(
            id=f"{uid}-{skill}",
            owner=uid,
            user=uid,
            skill=skill,
            mode="either",
            timezone="UTC",
            dates=[],
            time_ranges=[],
            timestamp="2026-11-23T12:00:00Z",
        ),
    )


def tags(repo: Repository, uid: str, teach: list[str]) -> None:
    repo.index_teach_tags(uid, [], teach)


@pytest.fixture
def counted(tmp_path: Path, clock: Clock) -> Iterator[tuple[Flask, CountingStore]]:
    store = CountingStore(open_store(f"sqlite:///{tmp_path / 'skills.db'}"))
    app = make_app(tmp_path, clock, STORE=store)
    try:
        yield app, store
    finally:
        store.close()


def test_directory_counts_teachers_and_learners_busiest_first(
    app: Flask, client: FlaskClient
) -> None:
    repo: Repository = app.extensions["skillswap.repo"]
    offer(repo, "ada", "Python")
    tags(repo, "bob", ["python ", "Chess"])  # a teach tag counts as teaching
    tags(repo, "ada", ["Python"])  # ada once, though she both offers and tags it
    wants(repo, "cyd", "PYTHON")
    wants(repo, "dan", "Python")
    offer(repo, "cyd", "Welsh")
    wants(repo, "eve", "Welsh")
    wants(repo, "eve", "Chess")

    listed = rows(client.get("/skills"))  # logged out: the directory is public
    assert listed == [
        ("/?q=Python", "Python", 2, 2),
        ("/?q=Chess", "Chess", 1, 1),
        ("/?q=Welsh", "Welsh", 1, 1),
    ]
    assert "3 skills" in text(client.get("/skills"))


def test_each_skill_links_to_the_landing_search_that_finds_it(
    app: Flask, client: FlaskClient
) -> None:
    teacher = person(app, "tess", "UTC")
    page = text(teacher.get("/profile"))
    assert "Skills" in page  # in the nav
    repo: Repository = app.extensions["skillswap.repo"]
    tess = repo.find_user("tess")
    tess.teach = ["C++"]
    repo.save_profile(tess)
    tags(repo, tess.id, tess.teach)
    [(link, label, teachers, learners)] = rows(client.get("/skills"))
    assert (link, label, teachers, learners) == ("/?q=C%2B%2B", "C++", 1, 0)
    assert "tess" in text(client.get(link))


def test_empty_directory_says_so(client: FlaskClient) -> None:
    page = text(client.get("/skills"))
    assert "No skills yet." in page


def test_many_skills_are_paged_a_hundred_at_a_time_with_bounded_reads(
    counted: tuple[Flask, CountingStore],
) -> None:
    app, store = counted
    index = {
        f"skill/skill {n:03d}": {
            "label": f"Skill {n:03d}",
            "teachers": {f"t{k}": ["o"] for k in range(n % 7)},
            "learners": {"l": ["r"]},
            "taggers": {},
        }
        for n in range(150)
    }
    store.put_many(index)
    client = app.test_client()

    store.reset()
    first = rows(client.get("/skills"))
    # One key listing and one get_many per hundred skills: nothing per user, whatever the size.
    assert [c.method for c in store.log] == ["keys", "get_many", "get_many"], store.summary()
    assert not any(k.startswith(("user/", "schedule/")) for c in store.log for k in c.keys)
    assert len(first) == 100
    counts = [t + lr for _, _, t, lr in first]
    assert counts == sorted(counts, reverse=True)
    assert first[0][2] == 6  # the busiest: six teachers

    page = client.get("/skills")
    assert 'href="/skills?page=2"' in page.get_data(as_text=True)
    assert "150 skills, page 1 of 2" in text(page)
    second = rows(client.get("/skills?page=2"))
    assert len(second) == 50
    assert {label for _, label, _, _ in first}.isdisjoint(label for _, label, _, _ in second)
    assert rows(client.get("/skills?page=99")) == second  # past the end: the last page


def test_directory_is_recomputed_after_a_minute(
    counted: tuple[Flask, CountingStore], clock: Clock
) -> None:
    app, store = counted
    repo: Repository = app.extensions["skillswap.repo"]
    client = app.test_client()
    offer(repo, "ada", "Go")
    assert rows(client.get("/skills")) == [("/?q=Go", "Go", 1, 0)]

    wants(repo, "bob", "Go")
    store.reset()
    assert rows(client.get("/skills")) == [("/?q=Go", "Go", 1, 0)]
    assert store.total == 0  # served from the minute-old copy

    clock.advance(seconds=61)
    assert rows(client.get("/skills")) == [("/?q=Go", "Go", 1, 1)]

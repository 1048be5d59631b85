"""The benchmark's second yardstick (bench/rendering.py) renders each page exactly as the page
itself does, from what it kept, and reads nothing from the store while it does."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bench import generate as gen
from bench import harness
from bench.rendering import add_rendering_pages
from skillswap.store.sqlite import SQLiteStore
from skillswap.web.common import ZONE_COOKIE
from tests.support.counting_store import CountingStore

# What differs by design: each request's own CSRF token, and the menu marking the page it is on
# (the rendering has its own URL: a dashboard tab's entry says "true" there, not "page").
TOKEN = re.compile(r'(name="csrf_token"[^>]*value=")[^"]+"')
CURRENT = re.compile(r' aria-current="(?:page|true)"')


def normalised(html: str) -> str:
    return CURRENT.sub("", TOKEN.sub(r'\1"', html))


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> tuple:
    work = tmp_path_factory.mktemp("rendering")
    community = gen.generate(200)
    store = SQLiteStore(str(work / "bench.db"))
    gen.load(store, community)
    counting = CountingStore(store)
    app = harness.make_app(counting, Path(work / "instance"))
    viewer = community.meta["viewer"]["id"]
    paths = {k: harness.http_pages(community.meta)[k] for k in harness.HTTP_TARGETS}
    add_rendering_pages(app, harness.session_client(app, viewer), paths)
    with app.app_context():
        zone = app.extensions["skillswap.repo"].get_user(viewer).timezone
    yield app, counting, harness.session_client(app, viewer), paths, zone
    store.close()


@pytest.mark.parametrize("page", sorted(harness.HTTP_TARGETS))
def test_each_page_renders_the_same_again_without_reading_the_store(
    served: tuple, page: str
) -> None:
    app, counting, viewer, paths, zone = served
    shown = viewer.get(paths[page])
    anonymous = app.test_client()
    anonymous.set_cookie(ZONE_COOKIE, zone)
    counting.reset()
    again = anonymous.get(f"/rendering/{page}")
    assert counting.total == 0
    assert again.status_code == shown.status_code == 200
    assert normalised(again.get_data(as_text=True)) == normalised(shown.get_data(as_text=True))
    # With the session its answers set sent back (harness.kept_session), the rendering makes
    # no new CSRF token and sends no cookie: no work the logged-in page does not do.
    anonymous.get(f"/rendering/{page}")  # Flask-Login marks the session not fresh
    kept = anonymous.get(f"/rendering/{page}")
    assert "Set-Cookie" not in kept.headers
    assert counting.total == 0
    assert normalised(kept.get_data(as_text=True)) == normalised(shown.get_data(as_text=True))

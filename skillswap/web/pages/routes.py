"""The landing page: what SkillSwap is, a skill search anyone can use, your next session."""

from __future__ import annotations

import heapq

from flask import Blueprint, render_template, request
from flask_login import current_user

from skillswap.domain.skills import normalise_skill
from skillswap.web.common import now, repo

bp = Blueprint("pages", __name__)
MAX_SKILLS = 8
MAX_TEACHERS = 24
SLOTS_SHOWN = 3


def _search(query: str) -> list[dict]:
    """Teachers of skills whose normalised name starts with the query, with their next free
    slots. Three store round trips whatever the community's size: the skill keys in range, those
    index documents, and the teachers' documents."""
    prefix = normalise_skill(query)
    if not prefix:
        return []
    entries = repo().skill_entries(prefix, limit=MAX_SKILLS)
    wanted: list[str] = []
    for entry in entries.values():
        # The first MAX_TEACHERS by id not already wanted: no need to sort a popular skill's
        # thousands of teachers on every search.
        for uid in heapq.nsmallest(MAX_TEACHERS + len(wanted), entry.teachers):
            if uid not in wanted and len(wanted) < MAX_TEACHERS:
                wanted.append(uid)
    people = repo().people(wanted)
    moment = now()
    viewer = current_user.id if current_user.is_authenticated else None  # sees times held for them
    results = []
    for key, entry in sorted(entries.items()):
        teachers = []
        for uid in sorted(uid for uid in people if uid in entry.teachers):
            user, schedule = people[uid]
            free = schedule.times_page(user.teach, key, moment, SLOTS_SHOWN, viewer=viewer)
            teachers.append(
                {
                    "user": user,
                    "stats": schedule.stats(moment),
                    "free": free.times,
                    "more": bool(free.later),
                }
            )
        # Teachers with free time first, soonest first; then the rest by name.
        teachers.sort(
            key=lambda t: (
                not t["free"],
                t["free"][0][1].start.isoformat() if t["free"] else "",
                t["user"].username,
            )
        )
        if teachers:
            results.append({"key": key, "label": entry.label, "teachers": teachers})
    return results


@bp.get("/")
def home() -> str:
    query = request.args.get("q", "").strip()[:60]
    upcoming = None
    if current_user.is_authenticated:
        upcoming = repo().schedule(current_user.id).next_session(now())
    return render_template(
        "pages/home.html",
        query=query,
        results=_search(query) if query else None,
        next_session=upcoming,
    )

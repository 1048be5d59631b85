"""The skills directory: every skill people teach or want to learn, busiest first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import Blueprint, current_app, render_template

from skillswap.domain.skill_index import SkillEntry
from skillswap.web.common import now, paged, repo

bp = Blueprint("skills", __name__)
PAGE_SIZE = 100
# Sorting by activity needs every skill's counts; on Replit DB that is one GET per skill, so a
# computed directory is kept this long per worker rather than re-read on every page view.
FRESH_FOR = timedelta(seconds=60)
CACHE = "skillswap.skills_directory"


@dataclass(frozen=True)
class SkillCount:
    key: str  # normalised: what the search matches on
    label: str  # as first typed
    teachers: int
    learners: int

    @property
    def activity(self) -> int:
        return self.teachers + self.learners


def count_skills(entries: dict[str, SkillEntry]) -> list[SkillCount]:
    """Teachers are people with an offer of the skill or a teach tag for it; learners are
    people with a learning request for it. Most active first, then by name."""
    counts = []
    for entry in entries.values():
        teachers, learners = len(entry.teachers), len(entry.learners)
        if teachers or learners:
            counts.append(SkillCount(entry.key, entry.label, teachers, learners))
    counts.sort(key=lambda s: (-s.activity, -s.teachers, s.label.casefold()))
    return counts


def _directory(moment: datetime) -> list[SkillCount]:
    cached = current_app.extensions.get(CACHE)
    if cached is not None and moment - cached[0] < FRESH_FOR:
        return cached[1]
    counts = count_skills(repo().all_skill_entries())
    current_app.extensions[CACHE] = (moment, counts)
    return counts


@bp.get("/skills")
def directory() -> str:
    skills = _directory(now())
    shown = paged(skills, PAGE_SIZE, "skills.directory")
    return render_template(
        "skills/directory.html", skills=shown.items, total=len(skills), shown=shown
    )

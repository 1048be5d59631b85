"""The skill index as the primary records say it should be: who teaches (an offer of the
skill, or a teach tag) and who wants to learn (a request) each skill. The repository keeps it up
to date one change at a time (repo/indexes.py); `flask reindex` writes what this builds.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from skillswap.domain.schedule import Schedule
from skillswap.domain.skills import normalise_skill
from skillswap.domain.users import User


def build_skill_index(people: Iterable[tuple[User, Schedule]]) -> dict[str, dict]:
    """skill -> {"label", "teachers": {uid: [offer ids]}, "learners": {uid: [request ids]},
    "taggers": {uid: tag as typed}}: what `Repository` keeps up to date one change at a time."""
    index: dict[str, dict] = {}

    def entry(skill: str, label: str) -> dict:
        return index.setdefault(
            skill, {"label": label, "teachers": {}, "learners": {}, "taggers": {}}
        )

    for user, schedule in people:
        for tag in user.teach:
            if key := normalise_skill(tag):
                entry(key, tag)["taggers"][user.id] = tag
        for offer in schedule.offers.values():
            if key := offer.skill_key:
                entry(key, offer.skill)["teachers"].setdefault(user.id, []).append(offer.id)
        for request in schedule.requests.values():
            if key := request.skill_key:
                entry(key, request.skill)["learners"].setdefault(user.id, []).append(request.id)
    for doc in index.values():
        for role in ("teachers", "learners"):
            doc[role] = {uid: sorted(ids) for uid, ids in doc[role].items()}
    return index


@dataclass(frozen=True)
class SkillEntry:
    """One skill's index entry as the pages read it: who teaches it (an offer of it or a teach
    tag), and who asked to learn it, with their request ids."""

    key: str
    label: str
    teachers: frozenset[str]
    learners: dict[str, list[str]]

    @classmethod
    def of(cls, key: str, doc: dict) -> SkillEntry:
        return cls(
            key=key,
            label=doc.get("label") or key,
            teachers=frozenset({*doc.get("teachers", {}), *doc.get("taggers", {})}),
            learners=dict(doc.get("learners", {})),
        )

"""The landing page: what SkillSwap is, a skill search anyone can use, your next session."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, render_template, request
from flask_login import current_user

from skillswap.domain.records import Rating
from skillswap.domain.search_cards import (
    HEAD_TEACHERS,
    SEARCH_TIMES,
    Times,
    card_rating,
    card_times,
)
from skillswap.domain.skills import normalise_skill
from skillswap.domain.users import User
from skillswap.web.common import Paged, now, paged, repo, url_maker, viewer_zone, when

bp = Blueprint("pages", __name__)
MAX_SKILLS = 8
# Results a page: a skill's head holds its first HEAD_TEACHERS teachers, two pages of them.
PAGE_TEACHERS = HEAD_TEACHERS // 2
# A skill and one of its teachers, as the page lists them.
Pair = tuple[str, str]


def _search(query: str) -> tuple[list[dict], Paged[Pair] | None]:
    """Teachers of skills whose normalised name starts with the query, with their next free
    times and rating, a page of them (of each skill's first HEAD_TEACHERS by id). Three store
    round trips whatever the community's size, and small documents only: the skill keys in
    range, their heads, and the page's teachers with their search cards
    (domain/search_cards.py); a fourth where a card cannot answer (`_free_times`)."""
    prefix = normalise_skill(query)
    if not prefix:
        return [], None
    heads = repo().search_heads(prefix, limit=MAX_SKILLS)
    pairs = [(key, uid) for key, head in heads.items() for uid in head["teachers"]]
    shown = paged(pairs, PAGE_TEACHERS, "pages.home", q=query)
    people = repo().search_cards_of(sorted({uid for _, uid in shown.items}))
    answers = _free_times(heads, shown.items, people, now())
    zone = viewer_zone()
    profile_url = url_maker("profile.public", "username")
    grouped: dict[str, list[dict]] = {}
    for key, uid in shown.items:
        if (key, uid) in answers:
            user = people[uid][0]
            free, more, rating = answers[key, uid]
            grouped.setdefault(key, []).append(
                {
                    "user": user,
                    "rating": rating,
                    "soonest": free[0][0] if free else None,
                    "free": [when(start, end, zone) for start, end in free],
                    "more": more,
                    "profile_url": profile_url(user.username),
                }
            )
    results = []
    for key, teachers in grouped.items():
        # Teachers with free time first, soonest first; then the rest by name.
        teachers.sort(
            key=lambda t: (
                not t["free"],
                t["soonest"].isoformat() if t["soonest"] else "",
                t["user"].username,
            )
        )
        book_url = url_maker("bookings.show", "username", skill=key)
        for teacher in teachers:
            teacher["book_url"] = book_url(teacher["user"].username)
        results.append({"key": key, "label": heads[key]["label"] or key, "teachers": teachers})
    return results, shown


def _free_times(
    heads: dict[str, dict],
    pairs: list[Pair],
    people: dict[str, tuple[User, dict | None]],
    moment: datetime,
) -> dict[Pair, tuple[Times, bool, Rating]]:
    """Each teacher's first free times for the skill, whether more follow, and their rating:
    from their search card, or, in one more round trip for all of them, from the schedules
    of those whose card cannot tell (none kept, its times passed, or times held for a
    waitlist, which the viewer may be the one they are held for)."""
    answers: dict[Pair, tuple[Times, bool, Rating]] = {}
    unanswered: list[Pair] = []
    for key, uid in pairs:
        if uid not in people:
            continue  # an account deleted since the index listed it
        card = people[uid][1]
        tagged = uid in heads[key].get("tagged", ())
        times = card_times(card, key, tagged, moment, SEARCH_TIMES) if card else None
        if card and times is not None:
            answers[key, uid] = (*times, card_rating(card, moment))
        else:
            unanswered.append((key, uid))
    if unanswered:
        schedules = repo().schedules(sorted({uid for _, uid in unanswered}))
        viewer = current_user.id if current_user.is_authenticated else None
        for key, uid in unanswered:
            schedule = schedules[uid]
            page = schedule.times_page(
                people[uid][0].teach, key, moment, SEARCH_TIMES, viewer=viewer
            )
            free = [(slot.start, slot.end) for _, slot in page.times]
            answers[key, uid] = (free, bool(page.later), schedule.rating(moment))
    return answers


@bp.get("/")
def home() -> str:
    query = request.args.get("q", "").strip()[:60]
    upcoming = None
    if current_user.is_authenticated:
        upcoming = repo().schedule(current_user.id).next_session(now())
    results, shown = _search(query) if query else (None, None)
    return render_template(
        "pages/home.html", query=query, results=results, shown=shown, next_session=upcoming
    )

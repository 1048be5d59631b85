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
#: Teachers a search ranks, over all its skills: each skill's head holds its first
#: HEAD_TEACHERS by id, and the first skills' come first. Every one of them is read (a user
#: record and a small card each) so the ranking holds across pages, not within one.
MAX_RESULTS = HEAD_TEACHERS
PAGE_TEACHERS = 12
# A skill and one of its teachers, as the page lists them.
Pair = tuple[str, str]


def _search(query: str) -> tuple[list[dict], Paged[Pair] | None]:
    """Teachers of skills whose normalised name starts with the query, with their next free
    times and rating: skill by skill, those with free time first, soonest first, then the
    rest by name, PAGE_TEACHERS a page. Three store round trips whatever the community's size,
    and small documents only: the skill keys in range, their heads, and the teachers with
    their search cards (domain/search_cards.py); a fourth where a card cannot answer
    (`_free_times`)."""
    prefix = normalise_skill(query)
    if not prefix:
        return [], None
    heads = repo().search_heads(prefix, limit=MAX_SKILLS)
    pairs = [(key, uid) for key, head in heads.items() for uid in head["teachers"]]
    pairs = pairs[:MAX_RESULTS]
    people = repo().search_cards_of(sorted({uid for _, uid in pairs}))
    answers = _free_times(heads, pairs, people, now())
    order = {key: n for n, key in enumerate(heads)}

    def rank(pair: Pair) -> tuple:
        free = answers[pair][0]
        return (
            order[pair[0]],
            not free,
            free[0][0].isoformat() if free else "",
            people[pair[1]][0].username,
        )

    shown = paged(sorted(answers, key=rank), PAGE_TEACHERS, "pages.home", q=query)
    zone = viewer_zone()
    profile_url = url_maker("profile.public", "username")
    book_urls = {key: url_maker("bookings.show", "username", skill=key) for key in heads}
    grouped: dict[str, list[dict]] = {}
    for key, uid in shown.items:
        user = people[uid][0]
        free, more, rating = answers[key, uid]
        grouped.setdefault(key, []).append(
            {
                "user": user,
                "rating": rating,
                "free": [when(start, end, zone) for start, end in free],
                "more": more,
                "profile_url": profile_url(user.username),
                "book_url": book_urls[key](user.username),
            }
        )
    results = [
        {"key": key, "label": heads[key]["label"] or key, "teachers": teachers}
        for key, teachers in grouped.items()
    ]
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

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
#: HEAD_TEACHERS by id, and the first skills' come first. The search cards of all of them are
#: read, so the ranking holds across pages, not within one; user records only for a page.
MAX_RESULTS = HEAD_TEACHERS
PAGE_TEACHERS = 12
# A skill and one of its teachers, as the page lists them.
Pair = tuple[str, str]


def _search(query: str) -> tuple[list[dict], Paged[Pair] | None]:
    """Teachers of skills whose normalised name starts with the query, with their next free
    times and rating: skill by skill, those with free time first, soonest first, PAGE_TEACHERS
    a page. Four store round trips whatever the community's size, and small documents only:
    the skill keys in range, their heads, the teachers' search cards
    (domain/search_cards.py), and the page's user records; where a card cannot answer, its
    teacher's schedule and user record are read instead of the card (`_free_times`)."""
    prefix = normalise_skill(query)
    if not prefix:
        return [], None
    heads = repo().search_heads(prefix, limit=MAX_SKILLS)
    pairs = [(key, uid) for key, head in heads.items() for uid in head["teachers"]]
    pairs = pairs[:MAX_RESULTS]
    answers, users = _free_times(heads, pairs, now())
    order = {key: n for n, key in enumerate(heads)}

    def rank(pair: Pair) -> tuple:
        free = answers[pair][0]
        return (order[pair[0]], not free, free[0][0].isoformat() if free else "", pair[1])

    shown = paged(sorted(answers, key=rank), PAGE_TEACHERS, "pages.home", q=query)
    if unread := sorted({uid for _, uid in shown.items} - users.keys()):
        users.update(repo().get_users(unread))
    zone = viewer_zone()
    profile_url = url_maker("profile.public", "username")
    book_urls = {key: url_maker("bookings.show", "username", skill=key) for key in heads}
    grouped: dict[str, list[dict]] = {}
    for key, uid in shown.items:
        if (user := users.get(uid)) is None:
            continue  # an account deleted since its card was read
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
    heads: dict[str, dict], pairs: list[Pair], moment: datetime
) -> tuple[dict[Pair, tuple[Times, bool, Rating]], dict[str, User]]:
    """Each teacher's first free times for the skill, whether more follow, and their rating,
    from their search card; and the user records read on the way. Those whose card cannot
    tell (none kept, its times passed, or times held for a waitlist, which the viewer may be
    the one they are held for) are answered from their schedules, read with their user
    records in one more round trip for all of them."""
    cards = repo().cards_of(sorted({uid for _, uid in pairs}))
    answers: dict[Pair, tuple[Times, bool, Rating]] = {}
    unanswered: list[Pair] = []
    for key, uid in pairs:
        card = cards.get(uid)
        tagged = uid in heads[key].get("tagged", ())
        times = card_times(card, key, tagged, moment, SEARCH_TIMES) if card else None
        if card and times is not None:
            answers[key, uid] = (*times, card_rating(card, moment))
        else:
            unanswered.append((key, uid))
    if not unanswered:
        return answers, {}
    people = repo().people(sorted({uid for _, uid in unanswered}))
    viewer = current_user.id if current_user.is_authenticated else None
    for key, uid in unanswered:
        if uid not in people:
            continue  # an account deleted since the index listed it
        user, schedule = people[uid]
        page = schedule.times_page(user.teach, key, moment, SEARCH_TIMES, viewer=viewer)
        free = [(slot.start, slot.end) for _, slot in page.times]
        answers[key, uid] = (free, bool(page.later), schedule.rating(moment))
    return answers, {uid: user for uid, (user, _) in people.items()}


@bp.get("/")
def home() -> str:
    query = request.args.get("q", "").strip()[:60]
    upcoming = None
    if current_user.is_authenticated and not query:
        # On a search the page is its results: your next session greets you on the plain
        # landing page, and a search reads no schedule of yours.
        upcoming = repo().schedule(current_user.id).next_session(now())
    results, shown = _search(query) if query else (None, None)
    return render_template(
        "pages/home.html", query=query, results=results, shown=shown, next_session=upcoming
    )

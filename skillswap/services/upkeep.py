"""Upkeep of the live documents: history that may leave moves to the archive, and a change
that would pass a document's growth budget first makes that room (domain/archive.py says what
moves and when; repo/archive.py where it goes).

Operations that write documents run inside `after(repo)`: documents they found due are
settled once the operation has succeeded, so the operation itself stays short.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator
from typing import TypeVar

from skillswap.domain import archive
from skillswap.domain.schedule import Schedule
from skillswap.repo import Repository, ScheduleTooBig
from skillswap.services import waitlist
from skillswap.store import StoreError, StoreLimitError
from skillswap.store.codec import encoded_size

log = logging.getLogger(__name__)
T = TypeVar("T")
# How deep this thread is in operations: only the outermost settles upkeep.
_operations = threading.local()


@contextlib.contextmanager
def after(repo: Repository) -> Iterator[None]:
    """Around an operation: documents it found due for upkeep are settled once it has
    succeeded (the outermost operation does it), so the operation itself stays short."""
    depth = getattr(_operations, "depth", 0)
    _operations.depth = depth + 1
    try:
        yield
    finally:
        _operations.depth = depth
    if depth == 0:
        for uid in sorted(repo.take_due()):
            try:
                maintain(repo, uid)
            except StoreError as exc:  # upkeep is retried whenever the document is used
                log.warning("upkeep of %s's schedule failed, will retry: %s", uid, exc)


def maintain(repo: Repository, uid: str, max_batches: int = 100) -> int:
    """Upkeep of one live document: slots that started are dropped and history that may
    leave moves to the archive, one batch at a time (domain/archive.py). Safe to run
    anywhere, concurrently and any number of times, and to resume after a crash at any
    point. Returns how many batches moved."""
    now = repo.clock()
    moved = 0
    waitlist.settle(repo, uid)
    for _ in range(max_batches):
        schedule = repo.schedule(uid)
        batch = schedule.archiving
        if not batch:
            plan = archive.plan(schedule, now, encoded_size, repo.archive_piece_bytes // 2)
            if plan is None:
                if schedule.maintenance_due(now):
                    # Nothing to archive yet: drop started slots, write down when next due.
                    repo.change_schedule(uid, lambda s: s.drop_past_slots(now))
                break
            batch = archive.batch_of(plan, repo.archive_piece(uid, plan))
            # At the value limit even these few bytes may not fit: go on unannounced (the
            # copy is idempotent, and finishing counts only what is still there).
            with contextlib.suppress(StoreLimitError):
                batch = repo.change_schedule(uid, lambda s, b=batch: archive.begin(s, b))
        batch = repo.copy_batch(uid, batch)
        finished = repo.change_schedule(uid, lambda s, b=batch: archive.finish(s, b, now))
        for offer in finished.offers:
            repo.index_offer(offer.skill_key, uid, offer.id, add=False)
        for request in finished.requests:
            repo.index_skill(request.skill_key, "learners", uid, request.id, False)
        moved += 1
    repo.due_owners().discard(uid)
    return moved


def grow(repo: Repository, uid: str, change: Callable[[Schedule], T]) -> T:
    """A change that adds to `uid`'s document: refused when it would pass the growth budget,
    unless archiving history the document holds makes the room, which is done first."""
    try:
        return repo.change_schedule(uid, change, grows=True)
    except ScheduleTooBig as full:
        if not full.due:
            raise
        maintain(repo, uid)
        return repo.change_schedule(uid, change, grows=True)


#: Search cards each background round brings up to date (refresh_search_cards): at one round
#: every SENDER_INTERVAL (30 s), 20,000 people every 100 minutes, while a card's times last
#: about a week of a teacher's sessions.
CARD_BATCH = 100


def refresh_search_cards(repo: Repository, batch: int = CARD_BATCH) -> int:
    """Bring the next `batch` search cards up to date (Schedules.refresh_cards_batch), where
    the store keeps them; how many changed. Run by the background sender and by `flask
    send-due-mail`."""
    return repo.refresh_cards_batch(batch) if repo.search_cards else 0

"""Publishing: offers and learning requests saved in their owner's document (every limit
checked there, atomically), with the skill and slot indexes brought in step; a profile's teach
tags kept in step with the same indexes."""

from __future__ import annotations

from skillswap.domain.records import LearnRequest, Offer, slot_ref
from skillswap.domain.schedule import Schedule
from skillswap.domain.skills import normalise_skill
from skillswap.domain.users import User
from skillswap.repo import Repository
from skillswap.services import upkeep


def save_offer(repo: Repository, offer: Offer, previous_skill_key: str | None = None) -> str:
    """Save the offer in the teacher's document (every limit checked there, atomically),
    then bring the skill and slot indexes in step. Returns the id of the offer that stands:
    a new offer identical to an open one in everything entered is that one sent again, and
    changes nothing in the document; its indexes are brought in step again, as a crash
    between the document and the indexes may have left them (a retry then heals it)."""

    def put(s: Schedule) -> tuple[Offer, Offer | None]:
        """The offer that stands (this one, or its twin), and the one it replaced."""
        now = repo.clock()
        twin = s.twin(offer, now)
        if twin is not None:
            return s.offers[twin], None
        previous = s.offers.get(offer.id)
        s.put_offer(offer, now)
        # New times are freed slots for the waitlist: held for the first in line at once
        # (domain/waitlist.py), and told once the operation is done (upkeep settles it).
        before = {slot.id for slot in previous.slots} if previous else set()
        s.grant_freed([slot_ref(offer.id, x.id) for x in offer.slots if x.id not in before], now)
        return offer, previous

    with upkeep.after(repo):
        standing, previous = upkeep.grow(repo, offer.owner, put)
        if previous_skill_key and previous_skill_key != standing.skill_key:
            repo.index_offer(previous_skill_key, standing.owner, standing.id, add=False)
        repo.index_offer(
            standing.skill_key, standing.owner, standing.id, add=True, label=standing.skill
        )
        changed = [standing, previous] if previous else [standing]
        skills = {standing.skill_key, previous_skill_key or "", *(o.skill_key for o in changed)}
        repo.refresh_slot_rows(standing.owner, skills, changed, with_tags=True)
    return standing.id


def delete_offer(repo: Repository, uid: str, offer_id: str) -> Offer:
    with upkeep.after(repo):
        offer = repo.change_schedule(uid, lambda s: s.remove_offer(offer_id, repo.clock()))
        repo.index_offer(offer.skill_key, uid, offer_id, add=False)
        repo.refresh_slot_rows(uid, {offer.skill_key}, [offer], with_tags=True)
    return offer


def save_request(repo: Repository, request: LearnRequest) -> str:
    """Save a new request; returns the id of the request that stands (an open one identical in
    everything entered, when this is the same form sent again: nothing changes in the
    document, and its index entry is made again, as save_offer does)."""

    def put(s: Schedule) -> str | None:
        now = repo.clock()
        twin = s.twin(request, now)
        if twin is None:
            s.put_request(request, now)
        return twin

    with upkeep.after(repo):
        standing = upkeep.grow(repo, request.owner, put) or request.id
        repo.index_skill(
            request.skill_key, "learners", request.owner, standing, True, request.skill
        )
    return standing


def delete_request(repo: Repository, uid: str, request_id: str) -> LearnRequest | None:
    removed = repo.change_schedule(uid, lambda s: s.requests.pop(request_id, None))
    if removed:
        repo.index_skill(removed.skill_key, "learners", uid, request_id, False)
    return removed


def save_profile(repo: Repository, user: User, old_teach: list[str]) -> None:
    """Save the editable profile fields, and index the teach tags that changed (a tag makes all
    of the person's published time teachable for it)."""
    repo.save_profile(user)
    repo.index_teach_tags(user.id, old_teach, user.teach)


def teach_offered_skill(repo: Repository, user: User, skill: str) -> None:
    """An offer's skill joins the teacher's teach tags, so profile and offers agree."""
    if normalise_skill(skill) not in {normalise_skill(t) for t in user.teach}:
        old = list(user.teach)
        user.teach = [*user.teach, skill]
        save_profile(repo, user, old)

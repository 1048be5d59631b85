"""The derived indexes, kept in step one change at a time and rebuilt by `flask reindex`:
who teaches and learns each skill (skill/<key>), and when (slots/<key>/<bucket>[/<piece>],
rows and pieces as domain/slot_index.py says).

skill/<key>: {"label": str, "teachers": {uid: [offer ids]}, "learners": {uid: [request ids]},
"taggers": {uid: tag as typed}}.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime

from skillswap.domain import limits, search_cards, skill_index, slot_index
from skillswap.domain.limits import SLOT_PIECE_ROWS
from skillswap.domain.records import Offer
from skillswap.domain.schedule import Schedule
from skillswap.domain.skill_index import SkillEntry
from skillswap.domain.skills import normalise_skill
from skillswap.domain.users import User
from skillswap.repo.base import REFRESH_TRIES, RepositoryBase
from skillswap.repo.keys import (
    card_key,
    schedule_key,
    skill_head_key,
    skill_key,
    skill_of,
    slots_key,
    user_key,
)
from skillswap.store import Store, StoreError

log = logging.getLogger(__name__)


def weekly_slot_buckets(store: Store) -> bool:
    """One slot-index bucket per skill and week, except where keys are scarce (Replit DB's
    5,000 would not hold a key per skill and week: one bucket per skill there)."""
    return store.budget is None


def slot_index_records(
    people: Iterable[tuple[User, Schedule]],
    now: datetime,
    weekly: bool,
    cap: int = limits.SLOT_PIECE_ROWS,
) -> dict[str, dict]:
    """Every slot-index document as the primary records say it should be."""
    built = slot_index.build_slot_index(people, now, weekly, cap)
    return {slots_key(skill, bucket, piece): doc for (skill, bucket, piece), doc in built.items()}


def everyone(store: Store, batch: int = 200) -> Iterator[tuple[User, Schedule]]:
    """Every person with their schedule, read `batch` people at a time."""
    uids = [key.removeprefix("user/") for key in store.keys("user/")]
    for start in range(0, len(uids), batch):
        chunk = uids[start : start + batch]
        docs = store.get_many([k for uid in chunk for k in (user_key(uid), schedule_key(uid))])
        for uid in chunk:
            if data := docs.get(user_key(uid)):
                yield User.from_dict(data), Schedule.from_doc(uid, docs.get(schedule_key(uid)))


def replace_derived(
    store: Store,
    prefixes: Iterable[str],
    wanted: dict[str, dict],
    write: dict[str, dict] | None = None,
) -> int:
    """Make the derived records under `prefixes` exactly `wanted`: write `write` (by default
    all of `wanted`; a caller that compared first passes only what differs) and remove every
    record under them that `wanted` lacks. Returns how many were removed."""
    stale = [key for prefix in prefixes for key in store.keys(prefix) if key not in wanted]
    write = wanted if write is None else write
    if write:
        store.put_many(write)
    for key in stale:
        store.delete(key)
    return len(stale)


def search_records(
    people: Iterable[tuple[User, Schedule]], entries: dict[str, dict], now: datetime
) -> dict[str, dict]:
    """Every search card and skill head (domain/search_cards.py) as the primary records say
    they should be at `now`; `entries`: the skill index they make (build_skill_index)."""
    records = {
        skill_head_key(skill): head
        for skill, doc in entries.items()
        if (head := search_cards.skill_head(doc))
    }
    for user, schedule in people:  # everyone has one (Schedules.refresh_card)
        records[card_key(user.id)] = search_cards.build_card(schedule, now)
    return records


def rebuild_search_records(store: Store, now: datetime, batch: int = 200) -> tuple[int, int]:
    """Write every search card from its schedule and every skill head from its skill entry
    as they stand in the store, where they differ; remove those with nothing to come from.
    After an import: an export can catch a card or head one change behind the record it
    comes from, which is written just before it. Returns (written, removed)."""
    keys = store.keys("skill/")
    entries: dict[str, dict] = {}
    for start in range(0, len(keys), batch):
        for key, doc in store.get_many(keys[start : start + batch]).items():
            entries[skill_of(key)] = doc
    wanted = search_records(everyone(store, batch), entries, now)
    changed: dict[str, dict] = {}
    names = list(wanted)
    for start in range(0, len(names), batch):
        chunk = names[start : start + batch]
        found = store.get_many(chunk)
        changed.update({key: wanted[key] for key in chunk if found.get(key) != wanted[key]})
    removed = replace_derived(store, ("card/", "skillhead/"), wanted, changed)
    return len(changed), removed


def search_layout_differs(store: Store) -> bool:
    """Does the store hold search cards and heads where it should not (keys are scarce), or
    skills without heads where it should have them (a dump from such a store)?"""
    if store.budget is not None:
        return bool(store.keys("skillhead/", limit=1) or store.keys("card/", limit=1))
    return bool(store.keys("skill/", limit=1)) and not store.keys("skillhead/", limit=1)


def rebuild_skill_index(store: Store) -> dict[str, dict]:
    """The skill index as the primary records say it should be."""
    return skill_index.build_skill_index(everyone(store))


def rebuild_slot_index(store: Store, now: datetime, cap: int = SLOT_PIECE_ROWS) -> dict[str, dict]:
    """The slot index documents as the primary records say they should be at `now`."""
    return slot_index_records(everyone(store), now, weekly_slot_buckets(store), cap)


def reindex(
    store: Store, now: datetime, skills: bool = True, cap: int = SLOT_PIECE_ROWS
) -> tuple[int, int]:
    """Rewrite every slot index document (and, `skills`, every skill index document, search
    card and skill head) from the primary records; returns (written, removed). Slot buckets
    of weeks gone by are removed, and buckets are laid out in pieces of at most `cap` rows
    afresh."""
    people = list(everyone(store))
    wanted = slot_index_records(people, now, weekly_slot_buckets(store), cap)
    prefixes = ["slots/"]
    if skills:
        entries = skill_index.build_skill_index(people)
        wanted.update({skill_key(skill): doc for skill, doc in entries.items()})
        if store.budget is None:  # RepositoryBase.search_cards
            wanted.update(search_records(people, entries, now))
        prefixes += ["skill/", "skillhead/", "card/"]
    return len(wanted), replace_derived(store, prefixes, wanted)


class Indexes(RepositoryBase):
    def index_skill(
        self, skill: str, role: str, uid: str, item: str, add: bool, label: str = ""
    ) -> None:
        if not skill:
            return

        def change(doc: dict | None) -> dict | None:
            doc = doc or {"label": label or skill, "teachers": {}, "learners": {}, "taggers": {}}
            entries = set(doc[role].get(uid, []))
            entries = entries | {item} if add else entries - {item}
            if entries:
                doc[role][uid] = sorted(entries)
            else:
                doc[role].pop(uid, None)
            return doc if any(doc[r] for r in ("teachers", "learners", "taggers")) else None

        self._change_entry(skill, change)

    def index_offer(self, skill: str, uid: str, offer_id: str, add: bool, label: str = "") -> None:
        self.index_skill(skill, "teachers", uid, offer_id, add, label)

    def index_teach_tags(self, uid: str, old: list[str], new: list[str]) -> None:
        """Keep `taggers` in step with a profile's teach tags (search lists tag-only teachers)."""
        old_keys = {normalise_skill(t): t for t in old}
        new_keys = {normalise_skill(t): t for t in new}
        for key in old_keys.keys() - new_keys.keys():
            self._set_tagger(key, uid, None)
        for key, label in new_keys.items():
            if key not in old_keys:
                self._set_tagger(key, uid, label)
        changed = old_keys.keys() ^ new_keys.keys()
        if changed:
            # A tag makes all of their published time teachable for it (teachable_slots).
            self.refresh_slot_rows(uid, changed)

    def _set_tagger(self, skill: str, uid: str, label: str | None) -> None:
        if not skill:
            return

        def change(doc: dict | None) -> dict | None:
            doc = doc or {"label": label or skill, "teachers": {}, "learners": {}, "taggers": {}}
            if label is None:
                doc["taggers"].pop(uid, None)
            else:
                doc["taggers"][uid] = label
            return doc if any(doc[r] for r in ("teachers", "learners", "taggers")) else None

        self._change_entry(skill, change)

    def _change_entry(self, skill: str, change: Callable[[dict | None], dict | None]) -> None:
        """Apply `change` to the skill's index entry atomically, then keep its head in step
        (where the store keeps heads): written only when the change moved it, which for a
        popular skill's thousands of teachers is when one of its first few came or went."""
        heads: list[tuple[dict | None, dict | None]] = []

        def apply(doc: dict | None) -> dict | None:
            before = search_cards.skill_head(doc)
            after = change(doc)
            heads[:] = [(before, search_cards.skill_head(after))]
            return after

        self.store.update(skill_key(skill), apply)
        if self.search_cards and heads and heads[0][0] != heads[0][1]:
            try:
                self._write_head(skill, heads[0][1])
            except StoreError as exc:  # the change stands; `flask reindex` mends the head
                log.warning("search head of %s not written: %s", skill, exc)

    def _write_head(self, skill: str, head: dict | None) -> None:
        """Two changes at once could write their heads in the wrong order: once written, the
        entry is read again and the head written again while it differs (as
        refresh_slot_rows does)."""
        for _ in range(REFRESH_TRIES):
            if head is None:
                self.store.delete(skill_head_key(skill))
            else:
                self.store.put(skill_head_key(skill), head)
            latest = search_cards.skill_head(self.store.get(skill_key(skill)))
            if latest == head:
                return
            head = latest
        log.warning("search head of %r still changing after %d refreshes", skill, REFRESH_TRIES)

    def refresh_slot_rows(
        self,
        uid: str,
        skills: Iterable[str],
        offers: Iterable[Offer] | None = None,
        with_tags: bool = False,
    ) -> None:
        """Rewrite this teacher's rows in the slot index of `skills` (plus, `with_tags`, of
        each of their teach tags), in every bucket where `offers` (default: all their offers
        now) had or have future slots, from their records as they are now. Idempotent.

        Two saves of the teacher's offers at once (two tabs) each refresh from the document as
        they read it, and a refresh that read it before the other save could write its rows
        after the other's, dropping the other offer's times from matching. So, once written,
        the records are read again: rows that no longer match them are written again, until
        they do. The refresh whose rows a newer save made stale is the one that sees it."""
        after = slot_index.epoch(self.clock())
        written: dict[tuple[str, str], list[str]] = {}
        touched: set[str] | None = None
        for attempt in range(REFRESH_TRIES):
            user, schedule = self.user_and_schedule(uid)
            teach = {key for tag in (user.teach if user else []) if (key := normalise_skill(tag))}
            if touched is None:
                changed = schedule.offers.values() if offers is None else offers
                touched = self._buckets_of(changed, after)
            wanted: dict[tuple[str, str], list[str]] = {}
            for skill in {*skills, *(teach if with_tags else ())} - {""}:
                rows = slot_index.teacher_rows(schedule, teach, skill, after)
                grouped = slot_index.group_by_bucket(rows, self.weekly_slots)
                for bucket in touched | grouped.keys():
                    wanted[skill, bucket] = grouped.get(bucket, [])
            for key in written.keys() - wanted.keys():
                wanted[key] = []  # a skill or bucket its rows have left since
            if attempt and all(wanted[key] == rows for key, rows in written.items()):
                return
            for (skill, bucket), rows in sorted(wanted.items()):
                if written.get((skill, bucket)) != rows:
                    self._replace_slot_rows(skill, bucket, uid, rows, after)
                    written[skill, bucket] = rows
            if not written:
                return  # no skill to index
        log.warning("slot rows of %s still changing after %d refreshes", uid, REFRESH_TRIES)

    def drop_slot_rows(self, uid: str, skills: Iterable[str], offers: Iterable[Offer]) -> None:
        """Take this teacher out of the slot index of `skills` wherever `offers` have future
        slots, whatever their records say: a deleted account's rows, dropped while its offers
        are still in its document, so a deletion resumed after a crash still finds them."""
        after = slot_index.epoch(self.clock())
        touched = self._buckets_of(offers, after)
        for skill in sorted(set(skills) - {""}):
            for bucket in sorted(touched):
                self._replace_slot_rows(skill, bucket, uid, [], after)

    def _buckets_of(self, offers: Iterable[Offer], after: int) -> set[str]:
        """The index buckets the future slots of `offers` fall in."""
        rows = (line for offer in offers for line in slot_index.offer_rows(offer, after))
        return set(slot_index.group_by_bucket(rows, self.weekly_slots))

    def _replace_slot_rows(
        self, skill: str, bucket: str, uid: str, rows: list[str], after: int
    ) -> None:
        """This teacher's rows in one bucket: in piece 0 when the bucket is one piece with
        room, otherwise placed among its pieces (`_replace_in_pieces`)."""
        cap = self.slot_piece_rows

        def in_head(doc: dict | None) -> dict | None:
            if slot_index.piece_count(doc) > 1:
                raise slot_index.PieceFull  # several pieces: the teacher may be in any
            return slot_index.replace_in_piece(doc, uid, rows, after, cap)

        try:
            self.store.update(slots_key(skill, bucket), in_head)
        except slot_index.PieceFull:
            self._replace_in_pieces(skill, bucket, uid, rows, after)

    def _replace_in_pieces(
        self, skill: str, bucket: str, uid: str, rows: list[str], after: int
    ) -> None:
        """Put the teacher's rows in the piece holding them if they fit, else in the first
        piece with room, else in a new piece (announced in piece 0 before it is written, so
        readers always find it); then remove them from every other piece. Each step is one
        atomic update, so a race can at worst leave a teacher's rows in two pieces for a
        moment: the index may over-report, never lose a row, and their next change tidies it."""
        cap = self.slot_piece_rows
        count = slot_index.piece_count(self.store.get(slots_key(skill, bucket)))
        keys = [slots_key(skill, bucket, n) for n in range(count)]
        docs = self.store.get_many(keys)
        holding = [n for n in range(count) if slot_index.holds_teacher(docs.get(keys[n]), uid)]
        target = None
        if rows:
            order = holding[:1] + [n for n in range(count) if n not in holding[:1]]
            for number in [*order, count]:
                fresh = number >= count
                if fresh:
                    self.store.update(
                        slots_key(skill, bucket),
                        lambda d, n=number: slot_index.with_piece_count(d, n + 1),
                    )
                try:
                    self.store.update(
                        slots_key(skill, bucket, number),
                        lambda d, f=fresh: slot_index.replace_in_piece(d, uid, rows, after, cap, f),
                    )
                except slot_index.PieceFull:
                    continue
                target = number
                break
        for number in holding:
            if number != target:
                self.store.update(
                    slots_key(skill, bucket, number),
                    lambda d: slot_index.replace_in_piece(d, uid, [], after, cap),
                )

    def slot_buckets(
        self,
        skill: str,
        reach: tuple[int, int] | None,
        known: dict[str, list[dict]] | None = None,
        overflow: bool = True,
    ) -> list[list[dict]]:
        """The slot-index buckets holding rows that start in `reach` (first and last start,
        Unix seconds), in time order, each as its pieces: one round trip, and a second only
        for buckets in several pieces (none when not `overflow`: then a bucket in pieces gives
        its piece 0 only).

        `known` carries buckets between calls of one page: those in it are not read again,
        and those read are added to it (an absent bucket as [])."""
        if not reach or not skill:
            return []
        known = {} if known is None else known
        buckets = slot_index.buckets_between(*reach, weekly=self.weekly_slots)
        wanted = [bucket for bucket in buckets if bucket not in known]
        found = {bucket: known[bucket] for bucket in buckets if bucket in known}
        if wanted:
            heads = self.store.get_many([slots_key(skill, bucket) for bucket in wanted])
            more = [
                slots_key(skill, bucket, n)
                for bucket in wanted
                for n in range(1, slot_index.piece_count(heads.get(slots_key(skill, bucket))))
            ]
            extra = self.store.get_many(more) if more and overflow else {}
            for bucket in wanted:
                head = heads.get(slots_key(skill, bucket))
                pieces = [head] if head is not None else []
                for n in range(1, slot_index.piece_count(head)):
                    if (piece := extra.get(slots_key(skill, bucket, n))) is not None:
                        pieces.append(piece)
                found[bucket] = pieces
                if overflow or slot_index.piece_count(head) == 1:
                    known[bucket] = pieces  # only whole buckets are kept for later calls
        return [found[bucket] for bucket in buckets if found[bucket]]

    def skill_index(self, skill: str) -> dict:
        return self.store.get(skill_key(skill)) or {"teachers": {}, "learners": {}, "taggers": {}}

    def skill_entries_for(self, skills: list[str]) -> dict[str, SkillEntry]:
        """These skills' index entries, in one round trip."""
        found = self.store.get_many([skill_key(s) for s in skills])
        return {e.key: e for k, doc in found.items() if (e := SkillEntry.of(skill_of(k), doc))}

    def skill_entries(self, prefix: str, limit: int = 20) -> dict[str, SkillEntry]:
        """Skills whose normalised name starts with `prefix` (landing search)."""
        keys = self.store.keys(skill_key(prefix), limit=limit)
        found = self.store.get_many(keys)
        return {e.key: e for k, doc in found.items() if (e := SkillEntry.of(skill_of(k), doc))}

    def search_heads(self, prefix: str, limit: int) -> dict[str, dict]:
        """Heads of the first `limit` skills whose normalised name starts with `prefix`
        (landing search), by skill: two round trips, read from the entries themselves where
        a head is missing (a store written before heads, or one where keys are scarce)."""
        skills = [skill_of(k) for k in self.store.keys(skill_key(prefix), limit=limit)]
        heads: dict[str, dict] = {}
        if self.search_cards and skills:
            found = self.store.get_many([skill_head_key(s) for s in skills])
            heads = {s: doc for s in skills if (doc := found.get(skill_head_key(s)))}
        missing = [s for s in skills if s not in heads]
        if missing:
            found = self.store.get_many([skill_key(s) for s in missing])
            for s in missing:
                if head := search_cards.skill_head(found.get(skill_key(s))):
                    heads[s] = head
        return {s: heads[s] for s in skills if s in heads}

    def all_skill_entries(self, batch: int = 100, limit: int = 5000) -> dict[str, SkillEntry]:
        """Every skill's index entry (at most `limit`, Replit DB's whole key budget), read
        `batch` at a time: one key listing, then one get_many per batch. No per-user reads."""
        keys = self.store.keys("skill/", limit=limit)
        found: dict[str, SkillEntry] = {}
        for start in range(0, len(keys), batch):
            for key, doc in self.store.get_many(keys[start : start + batch]).items():
                entry = SkillEntry.of(skill_of(key), doc)
                found[entry.key] = entry
        return found

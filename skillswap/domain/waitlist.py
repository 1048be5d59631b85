"""Waitlists and holds: who waits for a teacher's skill, and who a freed slot is held for.
Pure: no Flask, no I/O; `now` is always passed in.

A waitlist lives in the teacher's own schedule document (sections `waitlist` and `holds`), so
the step that frees a slot (a cancel, a move away from it, a new offer) takes the hold on it in
the same atomic `update`, and the claim that books a slot checks the hold there too: a racing
booker can never slip in between. The learner's document keeps a small mirror (`waiting`) for
"My waitlists" and the per-learner cap.

The rules:

- Order: first come, first served. A freed slot goes to the first person in line whose
  windows it overlaps, who holds nothing of this teacher already and has not let this slot
  go before; a hold lasts HOLD_FOR (never past the slot's start).
- A hold that ends unused passes to the next such person, then, when nobody is left, the slot
  is free to everyone (its record is dropped). Passing on happens in `settle_holds`, whenever
  the teacher's document is written, read by a page that books, or its expiry comes up in the
  due index (services/waitlist.py).
- "Counts as held": a slot is held for a learner while a hold names them and its time has not
  run out; a hold whose time ran out counts as held for whoever it passes to (`settle_holds`
  on a copy), so every page and the claim agree before anyone has written the pass-on.
- An entry ends with its window; booking the teacher for that skill ends the wait.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from copy import deepcopy
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from skillswap.domain import limits
from skillswap.domain.records import Booking, Offer, fields_of, from_fields, slot_ref, split_ref
from skillswap.domain.refusals import LimitReached, ScheduleRefusal
from skillswap.domain.skills import normalise_skill
from skillswap.domain.times import iso_utc, parse_iso_utc

HELD = (
    "That time is held for someone on this teacher's waitlist for now. If they do not book "
    "it, it passes to the next person in line, and then to everyone."
)
# Kinds of entry in the due index (repo/reminders.py) about holds: mail the new holder now,
# and pass the hold on when its time is up.
HOLD_MAIL, HOLD_END = "hold-mail", "hold-end"


class SlotHeld(ScheduleRefusal):
    """The slot is held for someone on the teacher's waitlist."""


@dataclass
class Waiting:
    """One person in a teacher's line for a skill (kept in the teacher's document)."""

    learner: str
    name: str  # the learner's username, for the teacher's count and notices
    skill: str  # as the learner's request named it
    skill_key: str
    windows: list[list[str]]  # [[start, end], ...] ISO UTC, at most MAX_WAITLIST_WINDOWS
    ends: str  # when the last window ends: the entry ends with it
    joined: str
    # The teacher lists the skill among what they teach: any of their offers' slots counts,
    # as on the booking page (Schedule.teachable_slots).
    any_offer: bool = False
    request_id: str = ""

    def wants(self, offer: Offer, start: datetime, end: datetime, now: datetime) -> bool:
        if self.ends <= iso_utc(now):
            return False
        if not self.any_offer and offer.skill_key != self.skill_key:
            return False
        return any(start < parse_iso_utc(b) and parse_iso_utc(a) < end for a, b in self.windows)


@dataclass
class Hold:
    """A freed slot held for one person in line until `until` (in the teacher's document)."""

    offer_id: str
    slot_id: str
    start: str
    end: str
    learner: str
    name: str
    skill: str
    skill_key: str
    until: str
    passed: list[str] = field(default_factory=list)  # who had it and let it go, in order
    # The holder was told (a notice in their document, mail queued through the due index).
    announced: bool = False
    mailed: bool = False  # claimed by the one sender that mails it (Notifier.mail_hold)

    @property
    def ref(self) -> str:
        return slot_ref(self.offer_id, self.slot_id)

    @property
    def id(self) -> str:
        """One per person and slot: a person is offered a slot once."""
        return f"{self.offer_id}.{self.slot_id}.{self.learner}"

    @property
    def until_at(self) -> datetime:
        return parse_iso_utc(self.until)

    @property
    def start_at(self) -> datetime:
        return parse_iso_utc(self.start)

    @property
    def end_at(self) -> datetime:
        return parse_iso_utc(self.end)


@dataclass
class MyWait:
    """A waitlist I am on (kept in the learner's document, for "My waitlists" and the cap)."""

    teacher: str
    teacher_name: str  # username, for links
    skill: str
    skill_key: str
    ends: str
    joined: str
    request_id: str = ""
    # While a slot is held for me: {"until", "start", "end", "slot": "offer:slot"}.
    held: dict[str, str] = field(default_factory=dict)


def read_list(cls: type, raw: list[dict]) -> list[Any]:
    return [from_fields(cls, item) for item in raw]


def write_list(items: list[Any]) -> list[dict]:
    return [fields_of(item) for item in items]


def bound_windows(windows: Iterable[list[str]], now: datetime) -> list[list[str]]:
    """A request's windows still ahead, merged where they touch, and at most
    MAX_WAITLIST_WINDOWS: beyond that the closest neighbours are joined (the entry may then
    accept a little more than was asked, never less)."""
    moment = iso_utc(now)
    spans = sorted([a, b] for a, b in windows if b > moment)
    merged: list[list[str]] = []
    for a, b in spans:
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    extra = len(merged) - limits.MAX_WAITLIST_WINDOWS
    if extra > 0:
        gaps = sorted(
            range(len(merged) - 1),
            key=lambda i: parse_iso_utc(merged[i + 1][0]) - parse_iso_utc(merged[i][1]),
        )[:extra]
        joined = set(gaps)
        out: list[list[str]] = []
        for i, span in enumerate(merged):
            if i - 1 in joined:
                out[-1][1] = span[1]
            else:
                out.append(list(span))
        merged = out
    return merged


class WaitlistRules:
    """Mixed into Schedule: the teacher's line and holds, and the learner's mirror."""

    owner: str
    offers: dict[str, Offer]
    bookings: dict[str, Booking]
    waitlist: list[Waiting]
    holds: list[Hold]
    waiting: list[MyWait]
    _raw: dict[str, Any]
    _parsed: dict[str, Any]
    booked_slot_ids: Callable[[str], set[str]]
    free_slots: Callable[..., list]

    # --- the teacher's side -----------------------------------------------------------------

    def line(self, skill_key: str, now: datetime) -> list[Waiting]:
        moment = iso_utc(now)
        return [w for w in self.waitlist if w.skill_key == skill_key and w.ends > moment]

    def waiting_counts(self, now: datetime) -> dict[str, tuple[str, int]]:
        """skill key -> (label, people waiting): what the teacher sees (a count only)."""
        counts: dict[str, tuple[str, int]] = {}
        moment = iso_utc(now)
        for w in self.waitlist:
            if w.ends > moment:
                label, n = counts.get(w.skill_key, (w.skill, 0))
                counts[w.skill_key] = (label, n + 1)
        return counts

    def join_waitlist(self, entry: Waiting, now: datetime) -> bool:
        """Add `entry` at the end of the line; False (nothing changed) when that person waits
        for this skill already. Refused at the line's and the document's limits."""
        moment = iso_utc(now)
        self.waitlist = [w for w in self.waitlist if w.ends > moment]
        if entry.learner == self.owner:
            raise ScheduleRefusal("You cannot wait for your own time.")
        if any(
            w.learner == entry.learner and w.skill_key == entry.skill_key for w in self.waitlist
        ):
            return False
        # Only a line with something to wait for: otherwise anyone could fill a teacher's
        # places with made-up skills or far-off windows, and real learners find it full.
        windows = [(parse_iso_utc(a), parse_iso_utc(b)) for a, b in entry.windows]
        tags = [entry.skill] if entry.any_offer else []
        if not offered_in_windows(tags, self.offers.values(), entry.skill_key, windows, now):
            raise ScheduleRefusal(
                f"This teacher has no times for {entry.skill} in your request's window, so "
                "there is no waitlist to join: their booking page shows what they offer."
            )
        limits.check_waitlist(len(self.line(entry.skill_key, now)), len(self.waitlist), entry.skill)
        self.waitlist = [*self.waitlist, entry]
        return True

    def leave_waitlist(self, learner: str, skill_key: str, now: datetime) -> bool:
        """Take `learner` out of the line; a slot they hold passes on at once."""
        before = len(self.waitlist)
        self.waitlist = [
            w for w in self.waitlist if not (w.learner == learner and w.skill_key == skill_key)
        ]
        self.settle_holds(now)
        return len(self.waitlist) != before

    def holds_due(self, now: datetime) -> bool:
        """Does a hold need passing on, or its holder telling? Reads nothing when there are
        no holds."""
        if "holds" not in self._parsed and not self._raw.get("holds"):
            return False
        moment = iso_utc(now)
        return any(h.until <= moment or not h.announced for h in self.holds)

    def unannounced(self) -> list[Hold]:
        return [h for h in self.holds if not h.announced]

    def _free_refs(self, now: datetime) -> set[str]:
        return {slot_ref(o.id, s.id) for o, s in self.free_slots(now, include_held=True)}

    def _next_in_line(self, offer: Offer, hold_like: Hold, now: datetime) -> Waiting | None:
        start, end = parse_iso_utc(hold_like.start), parse_iso_utc(hold_like.end)
        holding = {h.learner for h in self.holds if h.ref != hold_like.ref}
        for w in self.waitlist:
            if w.learner in hold_like.passed or w.learner in holding:
                continue
            if w.wants(offer, start, end, now):
                return w
        return None

    def _give(self, hold: Hold, entry: Waiting, now: datetime) -> None:
        hold.learner, hold.name = entry.learner, entry.name
        hold.skill, hold.skill_key = entry.skill, entry.skill_key
        hold.until = iso_utc(min(now + limits.WAITLIST_HOLD, parse_iso_utc(hold.start)))
        hold.announced = hold.mailed = False

    def settle_holds(self, now: datetime) -> list[Hold]:
        """Pass on every hold whose time is up (or whose holder left the line), drop those on
        slots no longer free, and end entries whose window is over. Returns the holds given
        to someone new (to be announced)."""
        moment = iso_utc(now)
        self.waitlist = [w for w in self.waitlist if w.ends > moment]
        if not self.holds:
            return []
        free = self._free_refs(now)
        waiting = {(w.learner, w.skill_key) for w in self.waitlist}
        pending = sorted(self.holds, key=lambda h: h.until)
        given: list[Hold] = []
        kept: list[Hold] = []
        for i, hold in enumerate(pending):
            offer = self.offers.get(hold.offer_id)
            if offer is None or hold.ref not in free:
                continue  # booked, started, withdrawn: nothing left to hold
            if hold.until > moment and (hold.learner, hold.skill_key) in waiting:
                kept.append(hold)
                continue
            hold.passed = [*hold.passed, hold.learner][-2 * limits.MAX_WAITING_PER_SKILL :]
            # Who holds something else right now: the holds settled and those still to come.
            self.holds = [*kept, *pending[i + 1 :]]
            entry = self._next_in_line(offer, hold, now)
            if entry is None:
                continue  # everyone in line had it: free to all
            self._give(hold, entry, now)
            kept.append(hold)
            given.append(hold)
        self.holds = sorted(kept, key=lambda h: (h.start, h.ref))
        return given

    def grant_freed(self, refs: Iterable[str], now: datetime) -> list[Hold]:
        """Slots just freed (a cancel, a move away, a new offer): each free one that someone
        in line wants is held for the first of them. Returns the new holds."""
        if not self.waitlist:
            return []
        self.settle_holds(now)
        free = self._free_refs(now)
        held = {h.ref for h in self.holds}
        given = []
        for ref in refs:
            if ref in held or ref not in free:
                continue
            offer_id, slot_id = split_ref(ref)
            offer = self.offers[offer_id]
            stored = offer.slot(slot_id)
            if stored is None:
                continue
            hold = Hold(offer_id, slot_id, stored.start, stored.end, "", "", "", "", "")
            entry = self._next_in_line(offer, hold, now)
            if entry is None:
                continue
            self._give(hold, entry, now)
            self.holds = [*self.holds, hold]
            held.add(ref)
            given.append(hold)
        return given

    def effective_holds(self, now: datetime) -> dict[str, Hold]:
        """ref -> live hold, as `settle_holds` would leave them at `now` ("counts as held"),
        without changing this document."""
        if "holds" not in self._parsed and not self._raw.get("holds"):
            return {}
        if not self.holds:
            return {}
        moment = iso_utc(now)
        if all(h.until > moment for h in self.holds):
            return {h.ref: h for h in self.holds}
        saved = self.holds, self.waitlist
        try:
            self.holds, self.waitlist = deepcopy(self.holds), list(self.waitlist)
            self.settle_holds(now)
            return {h.ref: h for h in self.holds}
        finally:
            self.holds, self.waitlist = saved

    def take_hold_for(
        self,
        learner: str,
        skill_key: str,
        offer_id: str,
        slot_id: str,
        now: datetime,
        ends_wait: bool = True,
    ) -> None:
        """In the claim (or a move) of `offer_id:slot_id` for `learner`: refused (SlotHeld)
        when the slot counts as held for someone else. Otherwise the slot's hold is done
        with, and (`ends_wait`: a booking, not a move of a session booked already) so is the
        learner's wait for this skill (a hold they had on another slot passes on)."""
        if not self.waitlist and not self.holds:
            return
        self.settle_holds(now)
        ref = slot_ref(offer_id, slot_id)
        hold = next((h for h in self.holds if h.ref == ref), None)
        if hold is not None and hold.learner != learner:
            raise SlotHeld(HELD)
        waited = any(w.learner == learner and w.skill_key == skill_key for w in self.waitlist)
        self.holds = [h for h in self.holds if h.ref != ref]
        if waited and ends_wait:
            self.waitlist = [
                w for w in self.waitlist if not (w.learner == learner and w.skill_key == skill_key)
            ]
            self.settle_holds(now)

    def mark_announced(self, hold_id: str, until: str) -> bool:
        for h in self.holds:
            if h.id == hold_id and h.until == until:
                h.announced = True
                return True
        return False

    def claim_hold_mail(self, hold_id: str, now: datetime) -> Hold | None:
        """Mark a live hold's mail as sent, once: of several senders, one mails it."""
        for h in self.holds:
            if h.id == hold_id and h.until > iso_utc(now) and not h.mailed:
                h.mailed = True
                return h
        return None

    # --- the learner's side -----------------------------------------------------------------

    def my_waitlists(self, now: datetime) -> list[MyWait]:
        moment = iso_utc(now)
        return [w for w in self.waiting if w.ends > moment]

    def add_waiting(self, item: MyWait, now: datetime) -> bool:
        """Note a waitlist I join; False when I am on it already. Refused at the cap."""
        mine = self.my_waitlists(now)
        if any(w.teacher == item.teacher and w.skill_key == item.skill_key for w in mine):
            return False
        if len(mine) >= limits.MAX_WAITLISTS_PER_LEARNER:
            raise LimitReached(limits.waitlists_full(len(mine)))
        self.waiting = [*mine, item]
        return True

    def drop_waiting(self, teacher: str, skill_key: str) -> bool:
        before = len(self.waiting)
        self.waiting = [
            w for w in self.waiting if not (w.teacher == teacher and w.skill_key == skill_key)
        ]
        return len(self.waiting) != before

    def note_hold(self, hold: Hold, teacher: str) -> None:
        for w in self.waiting:
            if w.teacher == teacher and w.skill_key == hold.skill_key:
                w.held = {
                    "until": hold.until,
                    "start": hold.start,
                    "end": hold.end,
                    "slot": hold.ref,
                }


def offered_in_windows(
    teach_tags: Iterable[str],
    offers: Iterable[Offer],
    skill_key: str,
    windows: list[tuple[datetime, datetime]],
    now: datetime,
) -> bool:
    """Does this teacher offer the skill at a future time overlapping the windows (free or
    not)? For a teacher matching found nothing free with: all taken, so a waitlist helps."""
    tagged = skill_key in {normalise_skill(t) for t in teach_tags}
    moment = iso_utc(now)
    for offer in offers:
        if not tagged and offer.skill_key != skill_key:
            continue
        for slot in offer.slots:
            if slot.start > moment:
                start, end = parse_iso_utc(slot.start), parse_iso_utc(slot.end)
                if any(start < b and a < end for a, b in windows):
                    return True
    return False


def counts_as_held(holds: dict[str, Hold], ref: str, viewer: str | None) -> bool:
    """Is this slot kept from `viewer` by a hold (for someone else)?"""
    hold = holds.get(ref)
    return hold is not None and hold.learner != viewer

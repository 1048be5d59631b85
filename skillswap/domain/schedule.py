"""One person's time: their offers, learning requests, bookings and the reviews on them.

A Schedule is stored as one document per person and changed only inside the store's atomic
`update`, so every rule here (is this slot free? does this booking overlap mine?) is checked and
applied in one indivisible step. Pure: no Flask, no I/O; `now` is always passed in.

This module holds the document (its sections, read lazily, and when its upkeep is due), free
time, and offers and requests with their limits; the booking steps are in domain/booking.py,
moves in domain/reschedule.py and the reviews and statistics in domain/reviews.py, all mixed
into Schedule. The person's booking rules as a teacher (domain/teacher_rules.py) decide which
of their free slots can be booked.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from skillswap.domain.attendance import AttendanceRules
from skillswap.domain.booking import BookingRules
from skillswap.domain.limits import MAX_NOTIFICATIONS
from skillswap.domain.offers import OfferRules
from skillswap.domain.records import (
    Booking,
    LearnRequest,
    Notification,
    Offer,
    StoredSlot,
    fields_of,
    from_fields,
    slot_ref,
)
from skillswap.domain.reschedule import MoveRules
from skillswap.domain.reviews import ReviewRules
from skillswap.domain.skills import normalise_skill
from skillswap.domain.teacher_rules import (
    SlotCheck,
    TeacherRules,
    count_late,
    late_in_window,
    uncount_late,
)
from skillswap.domain.times import LONGEST_SLOT, Slot, clash_test, iso_utc, parse_iso_utc
from skillswap.domain.upkeep import section_due
from skillswap.domain.waitlist import (
    Hold,
    MyWait,
    Waiting,
    WaitlistRules,
    counts_as_held,
    read_list,
    write_list,
)


class _Section:
    """One part of a stored schedule document, parsed the first time it is read.

    Most pages need one or two sections (the dashboard only bookings), and parsing every
    offer's slots and every notification was most of their cost. A section nobody read is
    written back exactly as it came."""

    def __init__(
        self,
        parse: Callable[[Any], Any],
        write: Callable[[Any], Any],
        empty: Callable[[], Any],
    ) -> None:
        self.parse, self.write, self.empty = parse, write, empty
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, schedule: Schedule | None, owner: type) -> Any:
        if schedule is None:
            return self
        parsed = schedule._parsed
        if self.name not in parsed:
            parsed[self.name] = self.parse(schedule._raw.get(self.name) or self.empty())
        return parsed[self.name]

    def __set__(self, schedule: Schedule, value: Any) -> None:
        schedule._parsed[self.name] = value


def _copy_dicts(raw: list[dict]) -> list[dict]:
    return [dict(item) for item in raw]


def in_time(
    pair: tuple[Offer, Slot] | tuple[Offer, StoredSlot],
) -> tuple[datetime | str, datetime | str, str]:
    """The order free times are listed in everywhere: by start, end, then offer id (stored
    slots' ISO strings sort as the instants they name)."""
    return pair[1].start, pair[1].end, pair[0].id


@dataclass(frozen=True)
class TimesPage:
    """One page of a teacher's free times for a skill, soonest first (the booking page)."""

    times: list[tuple[Offer, Slot]]
    later: str  # where the next page starts: after this ISO instant; "" when none
    earlier: bool  # whether free times come before this page


class Schedule(OfferRules, BookingRules, MoveRules, ReviewRules, AttendanceRules, WaitlistRules):
    """Offers, requests, bookings (with their reviews) and notifications of one person, plus
    what their archived history adds up to (`counters`, `highlights`; domain/archive.py)."""

    offers = _Section(
        lambda raw: {k: Offer.from_dict(v) for k, v in raw.items()},
        lambda offers: {k: v.to_dict() for k, v in offers.items()},
        dict,
    )
    requests = _Section(
        lambda raw: {k: LearnRequest.from_dict(v) for k, v in raw.items()},
        lambda requests: {k: v.to_dict() for k, v in requests.items()},
        dict,
    )
    bookings = _Section(
        lambda raw: {k: Booking.from_dict(v) for k, v in raw.items()},
        lambda bookings: {k: v.to_dict() for k, v in bookings.items()},
        dict,
    )
    notifications = _Section(
        lambda raw: [from_fields(Notification, n) for n in raw],
        lambda notifications: [fields_of(n) for n in notifications],
        list,
    )
    # Sessions taught and attended and ratings received in archived history.
    counters = _Section(dict, dict, dict)
    # Reviews received in archived sessions, newest first (at most MAX_HIGHLIGHTS).
    highlights = _Section(_copy_dicts, _copy_dicts, list)
    # A batch of records on its way to the archive (domain/archive.py), or {}.
    archiving = _Section(dict, dict, dict)
    # The person's booking rules as a teacher, as TeacherRules.stored() wrote them; {} for the
    # defaults (so documents written before rules existed need no conversion).
    booking_rules = _Section(dict, dict, dict)
    # Late cancels and moves this person made: {"cancel"|"move": {week: count}}, bounded
    # (domain/teacher_rules.py count_late).
    late = _Section(dict, dict, dict)
    # Per-week reliability counters {week: {"held", "no_shows", "invitations", "answered"}},
    # bounded (domain/attendance.py).
    reliability = _Section(dict, dict, dict)
    # As a teacher: who waits for which skill, and the freed slots held for them
    # (domain/waitlist.py). As a learner: the waitlists I am on.
    waitlist = _Section(lambda raw: read_list(Waiting, raw), write_list, list)
    holds = _Section(lambda raw: read_list(Hold, raw), write_list, list)
    waiting = _Section(lambda raw: read_list(MyWait, raw), write_list, list)

    SECTIONS = (
        "offers",
        "requests",
        "bookings",
        "notifications",
        "counters",
        "highlights",
        "archiving",
        "booking_rules",
        "late",
        "reliability",
        "waitlist",
        "holds",
        "waiting",
    )
    # Written even when empty, as every earlier version did.
    ALWAYS_WRITTEN = ("offers", "requests", "bookings", "notifications")

    def __init__(
        self,
        owner: str,
        offers: dict[str, Offer] | None = None,
        requests: dict[str, LearnRequest] | None = None,
        bookings: dict[str, Booking] | None = None,
        notifications: list[Notification] | None = None,
        counters: dict[str, int] | None = None,
        highlights: list[dict] | None = None,
    ) -> None:
        self.owner = owner
        self._raw: dict[str, Any] = {}
        self._parsed: dict[str, Any] = {
            "offers": offers or {},
            "requests": requests or {},
            "bookings": bookings or {},
            "notifications": notifications or [],
            "counters": counters or {},
            "highlights": highlights or [],
            "archiving": {},
            "booking_rules": {},
            "late": {},
            "reliability": {},
            "waitlist": [],
            "holds": [],
            "waiting": [],
        }
        self._due: dict[str, str] | None = {}

    @classmethod
    def from_doc(cls, owner: str, doc: dict[str, Any] | None) -> Schedule:
        """The schedule in a stored document, each section parsed when first used."""
        schedule = cls.__new__(cls)
        schedule.owner = owner
        schedule._raw = doc or {}
        schedule._parsed = {}
        # None: written before documents said when their maintenance is due (issue 15's
        # conversion): due at once if it holds anything.
        schedule._due = schedule._raw.get("due") if doc else {}
        return schedule

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Schedule):
            return NotImplemented
        return self.owner == other.owner and all(
            getattr(self, name) == getattr(other, name) for name in self.SECTIONS
        )

    def __repr__(self) -> str:
        return f"<Schedule of {self.owner}>"

    def _stored(self, name: str) -> Any | None:
        """A section as stored, if nothing has read it (so nothing can have changed it)."""
        if name in self._parsed:
            return None
        return self._raw.get(name) or Schedule.__dict__[name].empty()

    def section_doc(self, name: str) -> Any:
        stored = self._stored(name)
        return Schedule.__dict__[name].write(getattr(self, name)) if stored is None else stored

    def to_doc(self) -> dict[str, Any]:
        doc: dict[str, Any] = {}
        for name in self.SECTIONS:
            value = self.section_doc(name)
            if value or name in self.ALWAYS_WRITTEN:
                doc[name] = value
        doc["due"] = self.due_map()
        return doc

    @property
    def is_empty(self) -> bool:
        return not any(self.section_doc(name) for name in self.SECTIONS)

    def due_map(self) -> dict[str, str]:
        """Per section, the moment its oldest record can leave the live document (see
        domain/archive.py); recomputed only for sections read, since only those can change."""
        stored = self._due or {}
        due = {}
        for name in ("offers", "requests", "bookings"):
            if name in self._parsed or self._due is None:
                when = section_due(name, getattr(self, name))
            else:
                when = stored.get(name, "")
            if when:
                due[name] = when
        return due

    def maintenance_due(self, now: datetime) -> bool:
        """Is there something to archive or drop? Reads no section of an up-to-date document."""
        if self._due is None:
            return any(self._raw.get(name) for name in ("offers", "requests", "bookings"))
        moment = iso_utc(now)
        return any(when <= moment for when in self.due_map().values())

    def next_session(self, now: datetime) -> Booking | None:
        """The soonest confirmed session not over yet, teaching or attending. On a document
        as read, only that session is parsed (the home page needs nothing else of the
        bookings)."""
        if "bookings" in self._parsed:
            return min(
                (b for b in self.bookings.values() if b.status == "confirmed" and b.end_at > now),
                key=lambda b: b.start,
                default=None,
            )
        # Stored instants are whole seconds in one format, so they compare as text; `now` is
        # cut to its second (an end at 12:30:00 is over at 12:30:00.5).
        moment = iso_utc(now.replace(microsecond=0))
        soonest = min(
            (
                raw
                for raw in (self._raw.get("bookings") or {}).values()
                if raw.get("status") == "confirmed" and raw["end"] > moment
            ),
            key=lambda raw: raw["start"],
            default=None,
        )
        return None if soonest is None else Booking.from_dict(soonest)

    def offer_to_read(self, offer_id: str) -> Offer | None:
        """One offer, for reading only: parsed alone when nothing has parsed the offers yet
        (a booking needs the one it books, not a teacher's every published slot)."""
        if "offers" in self._parsed:
            return self.offers.get(offer_id)
        raw = (self._raw.get("offers") or {}).get(offer_id)
        return None if raw is None else Offer.from_dict(raw)

    def slots_to_read(
        self, skill: str, every: bool, low: str, high: str
    ) -> list[tuple[Offer, StoredSlot]]:
        """(offer, slot) for the slots of `skill`'s offers (of every offer when `every`) that
        start between `low` and `high` (ISO UTC), for reading only. When nothing has parsed the
        offers yet, only these slots are, and their offers come without the rest of their
        slots: a match confirms each teacher by the few slots near one request, and parsing
        all of them was a fifth of its cost. Never change what this returns."""
        if "offers" in self._parsed:
            return [
                (offer, slot)
                for offer in self.offers.values()
                if every or offer.skill_key == skill
                for slot in offer.slots
                if low <= slot.start <= high
            ]
        found = []
        for raw in (self._raw.get("offers") or {}).values():
            if every or normalise_skill(raw["skill"]) == skill:
                near = [s for s in raw.get("slots", ()) if low <= s["start"] <= high]
                if near:
                    offer = Offer.from_dict({**raw, "slots": []})
                    found.extend((offer, StoredSlot(**s)) for s in near)
        return found

    def notify(self, notification: Notification) -> None:
        """Keep the newest MAX_NOTIFICATIONS: a bounded document on every backend."""
        kept = [notification, *self.notifications]
        now = parse_iso_utc(notification.created)
        for dropped in kept[MAX_NOTIFICATIONS:]:
            self.forget_invitation(dropped, now)
        self.notifications = kept[:MAX_NOTIFICATIONS]

    def mark_all_read(self) -> int:
        unread = [n for n in self.notifications if not n.read]
        for n in unread:
            n.read = True
        return len(unread)

    @property
    def unread(self) -> int:
        return sum(1 for n in self.notifications if not n.read)

    # --- booking rules -------------------------------------------------------------------

    @property
    def teacher_rules(self) -> TeacherRules:
        return TeacherRules.from_stored(self.booking_rules)

    def set_rules(self, rules: TeacherRules) -> None:
        self.booking_rules = rules.stored()

    def slot_check(self, now: datetime, exclude: str | None = None) -> SlotCheck:
        """This person's booking rules as a teacher, at `now`; `exclude`: a session being
        moved, which does not stand in its own way."""

        def live() -> list[Booking]:
            return [b for b in self.bookings.values() if b.active and b.id != exclude]

        return SlotCheck(self.teacher_rules, now, live, self.owner)

    def count_late(self, kind: str, now: datetime) -> None:
        """One more late cancel or move ("cancel" | "move") made by this person."""
        self.late = {**self.late, kind: count_late(self.late.get(kind, {}), now)}

    def uncount_late(self, kind: str, at: datetime) -> None:
        """One fewer late cancel or move made at `at`: it is not this person's after all."""
        self.late = {**self.late, kind: uncount_late(self.late.get(kind, {}), at)}

    def late_counts(self, now: datetime) -> tuple[int, int]:
        """(late cancels, late moves) this person made in the last 90 days."""
        late = self.late
        return (
            late_in_window(late.get("cancel", {}), now),
            late_in_window(late.get("move", {}), now),
        )

    def busy(self, exclude: str | None = None) -> list[tuple[datetime, datetime]]:
        """Time this person has promised: every live booking, teaching or attending (and the
        new time of a move in flight)."""
        return [
            times
            for b in self.bookings.values()
            if b.active and b.id != exclude
            for times in b.held_times()
        ]

    def booked_slot_ids(self, offer_id: str) -> set[str]:
        return {
            b.slot_id
            for b in self.bookings.values()
            if b.active and b.teacher == self.owner and b.offer_id == offer_id
        }

    def free_slots(
        self,
        now: datetime,
        skill_key: str | None = None,
        exclude: str | None = None,
        *,
        viewer: str | None = None,
        include_held: bool = False,
    ) -> list[tuple[Offer, Slot]]:
        """Offered slots still bookable: in the future, not booked, not overlapping a booking
        (a teacher booked through one offer is not free in an overlapping one), allowed by
        the booking rules, and not held for someone on the waitlist other than `viewer`
        (`include_held`: held ones too). `exclude`: a session being moved, whose own time is
        free to it."""
        bookable = self._bookable(now, exclude, viewer, include_held)
        free = [
            (offer, slot)
            for offer in self.offers.values()
            if skill_key is None or offer.skill_key == skill_key
            for slot in map(StoredSlot.as_slot, offer.slots)
            if bookable(offer, slot)
        ]
        free.sort(key=in_time)
        return free

    def free_between(
        self, now: datetime, begin: datetime, end: datetime
    ) -> list[tuple[Offer, Slot]]:
        """The `free_slots` that overlap [begin, end), in the same order, for reading only:
        only slots starting from LONGEST_SLOT before `begin` up to `end` are parsed and checked
        (a calendar's week or month, not a teacher's every published time)."""
        low = iso_utc(max(now, begin - LONGEST_SLOT))
        candidates = self.slots_to_read("", True, low, iso_utc(end))
        bookable = self._bookable(now)
        found = []
        for offer, stored in candidates:
            slot = stored.as_slot()
            if slot.end > begin and slot.start < end and bookable(offer, slot):
                found.append((offer, slot))
        found.sort(key=in_time)
        return found

    def times_page(
        self,
        teach_tags: Iterable[str],
        skill_key: str | None,
        now: datetime,
        count: int,
        *,
        after: datetime | None = None,
        chosen: str = "",
        viewer: str | None = None,
        exclude: str | None = None,
        keep: Callable[[Offer, Slot], bool] | None = None,
    ) -> TimesPage:
        """`count` of `teachable_slots` (for `viewer`, the booking `exclude` not counting as
        busy, and only slots `keep` keeps; skill None: of `free_slots`, every skill), in the
        same order: from the first starting after `after`, else from the `chosen` one
        ("offer:slot") if it is free, else from the first; when nothing is left after `after`
        (a stale "later" link), from the first. For reading only (booking and reschedule
        pages, search results, profiles): slots are parsed and checked only until the page is
        full, and one more to know a next page exists, so a teacher with 2,000 published
        times costs what one with fifty does."""
        every = skill_key is None or skill_key in {normalise_skill(t) for t in teach_tags}
        candidates = self.slots_to_read(skill_key or "", every, iso_utc(now), "9999")
        candidates.sort(key=in_time)
        bookable = self._bookable(now, exclude=exclude, viewer=viewer)

        def free(begin: int, end: int) -> Iterator[tuple[Offer, Slot]]:
            for offer, stored in candidates[begin:end]:
                slot = stored.as_slot()
                if bookable(offer, slot) and (keep is None or keep(offer, slot)):
                    yield offer, slot

        begin = 0
        if after is not None:
            since = iso_utc(after)  # the stored starts' own format: strings compare as instants
            begin = next((i for i, (_, s) in enumerate(candidates) if s.start > since), 0)
        elif chosen:
            found = (i for i, (o, s) in enumerate(candidates) if slot_ref(o.id, s.id) == chosen)
            begin = next(found, 0)
            if begin and not any(free(begin, begin + 1)):
                begin = 0  # taken or no longer offered: the first times
        times: list[tuple[Offer, Slot]] = []
        later = ""
        for pair in free(begin, len(candidates)):
            if len(times) == count:
                later = iso_utc(times[-1][1].start)
                break
            times.append(pair)
        if not times and begin:
            return self.times_page(
                teach_tags, skill_key, now, count, viewer=viewer, exclude=exclude, keep=keep
            )
        return TimesPage(times, later, any(free(0, begin)))

    def _bookable(
        self,
        now: datetime,
        exclude: str | None = None,
        viewer: str | None = None,
        include_held: bool = False,
    ) -> Callable[[Offer, Slot], bool]:
        """The test `free_slots` applies to each slot: ahead of `now`, clear of every booking,
        allowed by the booking rules, and not held for anyone but `viewer`."""
        # Only booked time still ahead can overlap a slot that starts after now.
        clashes = clash_test((start, end) for start, end in self.busy(exclude) if end > now)
        rules = self.slot_check(now, exclude)
        held = {} if include_held else self.effective_holds(now)

        def bookable(offer: Offer, slot: Slot) -> bool:
            return (
                slot.start > now
                and not clashes(slot.start, slot.end)
                and rules.allows(slot.start, slot.end)
                and not (held and counts_as_held(held, slot_ref(offer.id, slot.id), viewer))
            )

        return bookable

    def offered_skills(self, ending_after: str = "") -> list[str]:
        """The skills of this person's offers, as named; with `ending_after` (ISO UTC), only
        of offers with time left after it."""
        if "offers" in self._parsed:
            return [o.skill for o in self.offers.values() if o.last_end > ending_after]
        # The skills alone: a booking page need not parse every slot to name them.
        return [
            raw["skill"]
            for raw in (self._raw.get("offers") or {}).values()
            if not ending_after or _raw_last_end(raw) > ending_after
        ]

    def taught_skills(self, teach_tags: Iterable[str]) -> dict[str, str]:
        """Skills this person teaches (their teach tags and the skills of their offers), as
        normalised key -> label, in label order."""
        skills = {normalise_skill(name): name for name in self.offered_skills()}
        skills.update({normalise_skill(t): t for t in teach_tags})
        return {k: v for k, v in sorted(skills.items(), key=lambda kv: kv[1].lower()) if k}

    def teachable_slots(
        self,
        teach_tags: Iterable[str],
        skill_key: str,
        now: datetime,
        exclude: str | None = None,
        viewer: str | None = None,
    ) -> list[tuple[Offer, Slot]]:
        """Free slots in which this person can teach `skill_key`: the slots of their offers of
        that skill, or all their published free time when the skill is among their teach tags
        (an offer publishes when they are free; the tags say what they teach)."""
        tagged = skill_key in {normalise_skill(t) for t in teach_tags}
        return [
            (offer, slot)
            for offer, slot in self.free_slots(now, exclude=exclude, viewer=viewer)
            if tagged or offer.skill_key == skill_key
        ]

    # --- booking -------------------------------------------------------------------------


def _raw_last_end(raw: dict[str, Any]) -> str:
    """Offer.last_end of a stored offer, without making its slots."""
    ends = [slot["end"] for slot in raw.get("slots") or []]
    return raw.get("ends") or max(ends, default=raw.get("timestamp", ""))


def sessions(schedule: Schedule, now: datetime) -> dict[str, tuple[list[Booking], list[Booking]]]:
    """A person's sessions by their role in them ("teacher", "learner"), each split into
    (upcoming soonest first, past newest first), in one pass over the bookings."""
    split: dict[str, tuple[list[Booking], list[Booking]]] = {
        "teacher": ([], []),
        "learner": ([], []),
    }
    owner = schedule.owner
    for b in schedule.bookings.values():
        if b.status != "pending":
            upcoming, past = split[b.role(owner)]
            (upcoming if b.end_at > now else past).append(b)
    for upcoming, past in split.values():
        upcoming.sort(key=lambda b: b.start)
        past.sort(key=lambda b: b.start, reverse=True)
    return split

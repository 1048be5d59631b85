"""One person's time: their offers, learning requests, bookings and the reviews on them.

A Schedule is stored as one document per person and changed only inside the store's atomic
`update`, so every rule here (is this slot free? does this booking overlap mine?) is checked and
applied in one indivisible step. Pure: no Flask, no I/O; `now` is always passed in.

Booking takes three steps over two documents (see DESIGN.md "Booking"):
  1. learner: `hold` a pending booking, refused if it overlaps the learner's booked time;
  2. teacher: `claim` the slot, refused if taken, past, unknown or overlapping their booked time;
  3. learner: `confirm` the hold, or `release` it when step 2 refused.
A crash leaves at most a pending hold, which `resolve_hold` settles against the teacher's copy.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from skillswap.domain import limits
from skillswap.domain.limits import MAX_NOTIFICATIONS, REVIEW_WINDOW
from skillswap.domain.matching import normalise_skill
from skillswap.domain.refusals import (
    CancelRefused,
    LimitReached,
    NotParticipant,
    OfferHasBookings,
    Overlap,
    OwnSlot,
    ReviewRefused,
    ScheduleRefusal,
    SlotInPast,
    SlotTaken,
    SlotUnknown,
)
from skillswap.domain.times import Slot, iso_utc, overlaps, parse_iso_utc
from skillswap.domain.upkeep import section_due

__all__ = [
    "MAX_FEEDBACK",
    "MAX_NOTIFICATIONS",
    "RATING_MAX",
    "RATING_MIN",
    "REVIEW_VISIBLE_AFTER",
    "Booking",
    "CancelRefused",
    "LearnRequest",
    "LimitReached",
    "NotParticipant",
    "Notification",
    "Offer",
    "OfferHasBookings",
    "Overlap",
    "OwnSlot",
    "Review",
    "ReviewRefused",
    "Schedule",
    "ScheduleRefusal",
    "SlotInPast",
    "SlotTaken",
    "SlotUnknown",
    "Stats",
    "StoredSlot",
    "next_session",
    "sessions",
]

# Hidden reviews show, and reviewing closes, at the same moment: 14 days after a session.
REVIEW_VISIBLE_AFTER = REVIEW_WINDOW
RATING_MIN, RATING_MAX = 1, 10
MAX_FEEDBACK = 1000


def _fields(record: Any) -> dict[str, Any]:
    """A record's fields as a new dict, for writing: `asdict` deep-copies every value, which
    was most of the cost of writing a schedule; written values are encoded at once, so the
    lists they share with the record are never changed through them."""
    return {name: getattr(record, name) for name in record.__dataclass_fields__}


def _from_dict(cls: type, data: dict[str, Any]) -> Any:
    fields = cls.__dataclass_fields__
    if data.keys() == fields.keys():
        # The usual case: the stored fields are exactly the record's, so the record is just
        # them. Skipping __init__ (it only assigns fields) halves the cost of reading a page's
        # bookings.
        record = cls.__new__(cls)
        record.__dict__.update(data)
        return record
    # Written by another version: drop fields this one does not know; a missing required
    # field is refused (TypeError) and a missing optional one takes its default.
    return cls(**{k: v for k, v in data.items() if k in fields})


@dataclass
class StoredSlot:
    id: str
    start: str  # ISO UTC
    end: str

    def as_slot(self) -> Slot:
        return Slot(parse_iso_utc(self.start), parse_iso_utc(self.end), self.id)

    @classmethod
    def of(cls, slot: Slot) -> StoredSlot:
        return cls(slot.id, iso_utc(slot.start), iso_utc(slot.end))


@dataclass
class Offer:
    """What a teacher published, as entered (in their zone) and as the slots it expands to."""

    id: str
    owner: str  # user id
    user: str  # username, as in the original brief's record format
    title: str
    skill: str  # as typed
    description: str
    mode: str  # "online" | "offline"
    timezone: str
    dates: list[str]  # every date, presets expanded ("YYYY-MM-DD")
    time_ranges: list[list[str]]  # [["10:00", "12:00"], ...]
    timestamp: str  # created, ISO UTC
    session_minutes: int | None = None
    preset: dict[str, str] = field(default_factory=dict)  # {"kind", "first", "last"} when used
    custom_dates: list[str] = field(default_factory=list)
    slots: list[StoredSlot] = field(default_factory=list)
    updated: str = ""
    # When its last session ends (ISO UTC): past slots are dropped from the live document,
    # so the slots alone cannot say when an offer is over.
    ends: str = ""

    @property
    def skill_key(self) -> str:
        return normalise_skill(self.skill)

    @property
    def last_end(self) -> str:
        if self.ends:
            return self.ends
        return max((s.end for s in self.slots), default=self.timestamp)

    def future_slot_count(self, now_iso: str) -> int:
        return sum(1 for s in self.slots if s.start > now_iso)

    def slot(self, slot_id: str) -> StoredSlot | None:
        return next((s for s in self.slots if s.id == slot_id), None)

    def to_dict(self) -> dict[str, Any]:
        data = _fields(self)
        data["slots"] = [_fields(s) for s in self.slots]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Offer:
        offer = _from_dict(cls, data)
        offer.slots = [StoredSlot(**s) for s in data.get("slots", [])]
        return offer


@dataclass
class LearnRequest:
    id: str
    owner: str
    user: str
    skill: str
    mode: str  # "online" | "offline" | "either"
    timezone: str
    dates: list[str]
    time_ranges: list[list[str]]
    timestamp: str
    preset: dict[str, str] = field(default_factory=dict)
    custom_dates: list[str] = field(default_factory=list)
    windows: list[list[str]] = field(default_factory=list)  # [[start, end], ...] ISO UTC

    @property
    def skill_key(self) -> str:
        return normalise_skill(self.skill)

    @property
    def last_end(self) -> str:
        return max((end for _, end in self.windows), default=self.timestamp)

    def window_instants(self) -> list[tuple[datetime, datetime]]:
        return [(parse_iso_utc(a), parse_iso_utc(b)) for a, b in self.windows]

    def to_dict(self) -> dict[str, Any]:
        return _fields(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LearnRequest:
        return _from_dict(cls, data)


@dataclass
class Review:
    rating: int
    feedback: str
    created: str
    # False on the rater's own copy until the other person's copy has it too (read repair
    # finishes an interrupted copy: Repository.resolve_pending).
    copied: bool = True


@dataclass
class Booking:
    """A session, copied into both people's schedules. Names are copied too, so a dashboard
    needs no extra reads to say who the other person is."""

    id: str
    teacher: str
    teacher_name: str
    learner: str
    learner_name: str
    offer_id: str
    slot_id: str
    title: str
    skill: str
    mode: str
    start: str
    end: str
    created: str
    status: str = "pending"  # pending -> confirmed -> cancelled
    cancelled_by: str = ""
    cancel_reason: str = ""
    cancelled_at: str = ""
    reviews: dict[str, Review] = field(default_factory=dict)  # by the rater's user id
    # False between the two writes of a cancel: this copy is cancelled, the other person's
    # may not be yet (read repair copies it).
    synced: bool = True

    @property
    def start_at(self) -> datetime:
        return parse_iso_utc(self.start)

    @property
    def end_at(self) -> datetime:
        return parse_iso_utc(self.end)

    @property
    def active(self) -> bool:
        return self.status != "cancelled"

    def other(self, uid: str) -> str:
        return self.learner if uid == self.teacher else self.teacher

    def other_name(self, uid: str) -> str:
        return self.learner_name if uid == self.teacher else self.teacher_name

    def role(self, uid: str) -> str:
        return "teacher" if uid == self.teacher else "learner"

    def review_visible(self, rater: str, now: datetime) -> bool:
        """Hidden from the person reviewed until they have reviewed too, or 14 days after the
        session, so nobody rates in retaliation. A hidden review counts nowhere."""
        if rater not in self.reviews:
            return False
        return self.other(rater) in self.reviews or now >= self.end_at + REVIEW_VISIBLE_AFTER

    def to_dict(self) -> dict[str, Any]:
        data = _fields(self)
        data["reviews"] = {rater: _fields(review) for rater, review in self.reviews.items()}
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Booking:
        booking = _from_dict(cls, data)
        booking.reviews = {k: Review(**v) for k, v in data.get("reviews", {}).items()}
        return booking


@dataclass
class Notification:
    """Something that happened to me: a new booking, a cancellation, an invitation, a review.

    Facts only (who, what, when as UTC); pages word them in the reader's zone."""

    id: str
    kind: str  # "booked" | "cancelled" | "invited" | "reviewed"
    actor: str  # the other person's username
    skill: str
    created: str
    booking_id: str = ""
    start: str = ""
    end: str = ""
    note: str = ""  # cancel reason, or the invitation's slot summary
    link: str = ""  # a path inside the app
    read: bool = False


@dataclass
class Stats:
    taught: int
    attended: int
    rating_count: int
    rating_average: float  # 0.0 when there are no ratings: show rating_count, not this


@dataclass(frozen=True)
class ShownReview:
    skill: str
    rating: int
    feedback: str
    created: str


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


class Schedule:
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
        lambda raw: [_from_dict(Notification, n) for n in raw],
        lambda notifications: [_fields(n) for n in notifications],
        list,
    )
    # Sessions taught and attended and ratings received in archived history.
    counters = _Section(dict, dict, dict)
    # Reviews received in archived sessions, newest first (at most MAX_HIGHLIGHTS).
    highlights = _Section(_copy_dicts, _copy_dicts, list)
    # A batch of records on its way to the archive (domain/archive.py), or {}.
    archiving = _Section(dict, dict, dict)

    SECTIONS = (
        "offers",
        "requests",
        "bookings",
        "notifications",
        "counters",
        "highlights",
        "archiving",
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
        }
        self._due: dict[str, str] | None = {}

    # --- serialisation -------------------------------------------------------------------

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

    # --- upkeep: when the document next has something to archive or drop -------------------

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

    # --- notifications -------------------------------------------------------------------

    def notify(self, notification: Notification) -> None:
        """Keep the newest MAX_NOTIFICATIONS: a bounded document on every backend."""
        self.notifications = [notification, *self.notifications][:MAX_NOTIFICATIONS]

    def mark_all_read(self) -> int:
        unread = [n for n in self.notifications if not n.read]
        for n in unread:
            n.read = True
        return len(unread)

    @property
    def unread(self) -> int:
        return sum(1 for n in self.notifications if not n.read)

    # --- queries -------------------------------------------------------------------------

    def busy(self, exclude: str | None = None) -> list[tuple[datetime, datetime]]:
        """Time this person has promised: every live booking, teaching or attending."""
        return [
            (b.start_at, b.end_at) for b in self.bookings.values() if b.active and b.id != exclude
        ]

    def booked_slot_ids(self, offer_id: str) -> set[str]:
        return {
            b.slot_id
            for b in self.bookings.values()
            if b.active and b.teacher == self.owner and b.offer_id == offer_id
        }

    def free_slots(self, now: datetime, skill_key: str | None = None) -> list[tuple[Offer, Slot]]:
        """Offered slots still bookable: in the future, not booked, not overlapping a booking
        (a teacher booked through one offer is not free in an overlapping one)."""
        # Only booked time still ahead can overlap a slot that starts after now.
        busy = [(start, end) for start, end in self.busy() if end > now]
        free: list[tuple[Offer, Slot]] = []
        for offer in self.offers.values():
            if skill_key is not None and offer.skill_key != skill_key:
                continue
            for stored in offer.slots:
                slot = stored.as_slot()
                if slot.start <= now:
                    continue
                if any(overlaps(slot.start, slot.end, a, b) for a, b in busy):
                    continue
                free.append((offer, slot))
        free.sort(key=lambda pair: (pair[1].start, pair[1].end, pair[0].id))
        return free

    def teachable_slots(
        self, teach_tags: Iterable[str], skill_key: str, now: datetime
    ) -> list[tuple[Offer, Slot]]:
        """Free slots in which this person can teach `skill_key`: the slots of their offers of
        that skill, or all their published free time when the skill is among their teach tags
        (an offer publishes when they are free; the tags say what they teach)."""
        tagged = skill_key in {normalise_skill(t) for t in teach_tags}
        return [
            (offer, slot)
            for offer, slot in self.free_slots(now)
            if tagged or offer.skill_key == skill_key
        ]

    def received_reviews(self, now: datetime) -> list[tuple[Booking, Review]]:
        """Reviews of this person that may be shown (fair reviews), newest first. Averages,
        profiles and dashboards all use this: a hidden review counts nowhere."""
        found = []
        for b in self.bookings.values():
            other = b.other(self.owner)
            if b.status == "confirmed" and b.review_visible(other, now):
                found.append((b, b.reviews[other]))
        found.sort(key=lambda pair: pair[1].created, reverse=True)
        return found

    def latest_reviews(
        self, received: list[tuple[Booking, Review]], limit: int
    ) -> list[ShownReview]:
        """The newest reviews of this person that may be shown: the live ones (`received`:
        received_reviews(now)), then those kept from archived sessions, at most `limit`."""
        shown = [ShownReview(b.skill, r.rating, r.feedback, r.created) for b, r in received[:limit]]
        shown += [
            ShownReview(h["skill"], h["rating"], h["feedback"], h["created"])
            for h in self.highlights[: limit - len(shown)]
        ]
        return shown

    def given_reviews(self) -> list[tuple[Booking, Review]]:
        found = [
            (b, b.reviews[self.owner]) for b in self.bookings.values() if self.owner in b.reviews
        ]
        found.sort(key=lambda pair: pair[1].created, reverse=True)
        return found

    def hidden_reviews(self, now: datetime) -> int:
        """Reviews of this person still waiting for their own rating (or 14 days)."""
        hidden = 0
        for b in self.bookings.values():
            other = b.other(self.owner)
            if other in b.reviews and not b.review_visible(other, now):
                hidden += 1
        return hidden

    def stats(self, now: datetime, received: list[tuple[Booking, Review]] | None = None) -> Stats:
        """Sessions taught and attended, and the average of the reviews that may be shown
        (`received`: received_reviews(now), when the caller has it already): the archived
        history's counters plus the live window, counted now."""
        counters = self.counters
        taught, attended = counters.get("taught", 0), counters.get("attended", 0)
        for b in self.bookings.values():
            if b.status != "confirmed" or b.end_at > now:
                continue
            if b.teacher == self.owner:
                taught += 1
            else:
                attended += 1
        # Reviews exist only after a confirmed session ended, so no further filter is needed.
        if received is None:
            received = self.received_reviews(now)
        count = counters.get("rating_count", 0) + len(received)
        total = counters.get("rating_sum", 0) + sum(review.rating for _, review in received)
        average = round(total / count, 1) if count else 0.0
        return Stats(taught, attended, count, average)

    def booked_future_slots(self, offer_id: str, now: datetime) -> set[str]:
        return {
            b.slot_id
            for b in self.bookings.values()
            if b.active and b.teacher == self.owner and b.offer_id == offer_id and b.end_at > now
        }

    # --- offers and requests -------------------------------------------------------------

    def put_offer(self, offer: Offer, now: datetime) -> None:
        """Add or replace an offer. A replacement may not drop a slot someone has booked, and
        nobody goes over the limits on offers and future sessions (domain/limits.py)."""
        kept = {s.id for s in offer.slots}
        lost = self.booked_future_slots(offer.id, now) - kept
        if lost:
            raise OfferHasBookings(
                f"{len(lost)} booked session{'s' if len(lost) > 1 else ''} would disappear "
                "with this change. Cancel them from your dashboard first, or keep those times."
            )
        moment = iso_utc(now)
        previous = self.offers.get(offer.id)
        old_count = previous.future_slot_count(moment) if previous else 0
        new_count = offer.future_slot_count(moment)
        limits.check_slots_per_offer(old_count, new_count)
        if previous is None and new_count:
            limits.check_open_offers(len(self.open_offers(now)))
        before = self.future_slot_count(now)
        limits.check_future_slots(before, before - old_count + new_count)
        self.drop_past_slots(now)
        # A copy: the caller's offer stays as it was given.
        self.offers[offer.id] = replace(
            offer,
            ends=offer.last_end,
            slots=[s for s in offer.slots if s.start > moment],
        )

    def open_offers(self, now: datetime) -> list[Offer]:
        """Offers with a session still ahead."""
        moment = iso_utc(now)
        return [o for o in self.offers.values() if o.last_end > moment]

    def future_slot_count(self, now: datetime) -> int:
        moment = iso_utc(now)
        return sum(o.future_slot_count(moment) for o in self.offers.values())

    def drop_past_slots(self, now: datetime) -> bool:
        """Slots that started are never bookable again, and every booking keeps its own
        times: past slots leave the live document. True when something was dropped."""
        moment = iso_utc(now)
        dropped = False
        for offer in self.offers.values():
            if offer.slots and offer.slots[0].start <= moment:
                offer.ends = offer.last_end
                offer.slots = [s for s in offer.slots if s.start > moment]
                dropped = True
        return dropped

    def put_request(self, request: LearnRequest, now: datetime) -> None:
        if request.id not in self.requests:
            moment = iso_utc(now)
            open_now = [r for r in self.requests.values() if r.last_end > moment]
            limits.check_open_requests(len(open_now))
        self.requests[request.id] = request

    def remove_offer(self, offer_id: str, now: datetime) -> Offer:
        offer = self.offers.get(offer_id)
        if offer is None:
            raise SlotUnknown("That offer does not exist any more.")
        booked = self.booked_future_slots(offer_id, now)
        if booked:
            raise OfferHasBookings(
                f"This offer has {len(booked)} upcoming booked session"
                f"{'s' if len(booked) > 1 else ''}. Cancel them from your dashboard first."
            )
        return self.offers.pop(offer_id)

    # --- booking -------------------------------------------------------------------------

    def hold(self, booking: Booking, now: datetime) -> None:
        """Step 1, on the learner's document."""
        if booking.teacher == self.owner:
            raise OwnSlot("That is your own slot: you cannot book yourself.")
        if booking.start_at <= now:
            raise SlotInPast("That slot has already started; pick one in the future.")
        self._refuse_overlap(booking, "you")
        moment = iso_utc(now)
        limits.check_upcoming_attending(
            sum(
                1
                for b in self.bookings.values()
                if b.active and b.learner == self.owner and b.end > moment
            )
        )
        booking.status = "pending"
        self.bookings[booking.id] = booking

    def claim(self, booking: Booking, now: datetime) -> None:
        """Step 2, on the teacher's document: the one place a slot becomes taken."""
        if booking.learner == self.owner:
            raise OwnSlot("That is your own slot: you cannot book yourself.")
        offer = self.offers.get(booking.offer_id)
        stored = offer.slot(booking.slot_id) if offer else None
        if offer is None or stored is None:
            raise SlotUnknown("That slot is no longer offered.")
        if (stored.start, stored.end) != (booking.start, booking.end):
            raise SlotUnknown("That slot has changed since you opened the page; pick again.")
        if booking.start_at <= now:
            raise SlotInPast("That slot has already started; pick one in the future.")
        if booking.slot_id in self.booked_slot_ids(offer.id):
            raise SlotTaken("That slot was just booked by someone else.")
        self._refuse_overlap(booking, "the teacher")
        booking.status = "confirmed"
        self.bookings[booking.id] = booking

    def confirm(self, booking_id: str) -> None:
        """Step 3, on the learner's document."""
        booking = self.bookings.get(booking_id)
        if booking is not None and booking.status == "pending":
            booking.status = "confirmed"

    def release(self, booking_id: str) -> None:
        booking = self.bookings.get(booking_id)
        if booking is not None and booking.status == "pending":
            del self.bookings[booking_id]

    def mark_synced(self, booking_id: str) -> None:
        booking = self.bookings.get(booking_id)
        if booking is not None:
            booking.synced = True

    def pending_holds(self) -> list[Booking]:
        return [b for b in self.bookings.values() if b.status == "pending"]

    def resolve_hold(self, booking_id: str, teacher_copy: Booking | None) -> None:
        """After a crash between steps: the teacher's document is the truth."""
        if teacher_copy is not None and teacher_copy.active:
            self.confirm(booking_id)
        else:
            self.release(booking_id)

    def _refuse_overlap(self, booking: Booking, who: str) -> None:
        for other in self.bookings.values():
            if (
                other.active
                and other.id != booking.id
                and overlaps(booking.start_at, booking.end_at, other.start_at, other.end_at)
            ):
                mine = "you are" if who == "you" else "the teacher is"
                raise Overlap(
                    f"At that time {mine} already in a session "
                    f"({other.skill} with {other.other_name(self.owner)})."
                )

    # --- cancelling and reviews ----------------------------------------------------------

    def cancel(self, booking_id: str, by: str, reason: str, now: datetime) -> Booking:
        booking = self.bookings.get(booking_id)
        if booking is None or by not in (booking.teacher, booking.learner):
            raise NotParticipant("Only the two people in a session can cancel it.")
        if not booking.active:
            return booking  # cancelling twice is harmless: both documents end up the same
        if booking.start_at <= now:
            raise CancelRefused("This session has started, so it can no longer be cancelled.")
        booking.status = "cancelled"
        booking.cancelled_by = by
        booking.cancel_reason = reason
        booking.cancelled_at = iso_utc(now)
        return booking

    def add_review(
        self, booking_id: str, rater: str, rating: int, feedback: str, now: datetime
    ) -> Booking:
        booking = self.bookings.get(booking_id)
        if booking is None or rater not in (booking.teacher, booking.learner):
            raise NotParticipant("Only the two people in a session can rate it.")
        if booking.status != "confirmed":
            raise ReviewRefused("A cancelled session cannot be rated.")
        if now < booking.end_at:
            raise ReviewRefused("You can rate this session once it has ended.")
        if now >= booking.end_at + REVIEW_WINDOW:
            raise ReviewRefused(
                "Reviews of this session closed 14 days after it ended, so it can no longer "
                "be rated."
            )
        if rater in booking.reviews:
            raise ReviewRefused("You have already rated this session.")
        if not RATING_MIN <= rating <= RATING_MAX:
            raise ReviewRefused(f"Choose a rating from {RATING_MIN} to {RATING_MAX}.")
        if len(feedback) > MAX_FEEDBACK:
            raise ReviewRefused(f"Keep feedback to {MAX_FEEDBACK} characters.")
        booking.reviews[rater] = Review(rating, feedback, iso_utc(now))
        return booking


def next_session(schedule: Schedule, now: datetime) -> Booking | None:
    """The soonest confirmed session not over yet, teaching or attending."""
    return min(
        (b for b in schedule.bookings.values() if b.status == "confirmed" and b.end_at > now),
        key=lambda b: b.start,
        default=None,
    )


def sessions(schedule: Schedule, role: str, now: datetime) -> tuple[list[Booking], list[Booking]]:
    """A person's sessions in one role, split into (upcoming soonest first, past newest first)."""
    mine: Iterable[Booking] = (
        b
        for b in schedule.bookings.values()
        if b.status != "pending" and b.role(schedule.owner) == role
    )
    upcoming, past = [], []
    for b in mine:
        (upcoming if b.end_at > now else past).append(b)
    upcoming.sort(key=lambda b: b.start)
    past.sort(key=lambda b: b.start, reverse=True)
    return upcoming, past

"""The records of SkillSwap's time: offers and their slots, learning requests, bookings with
their reviews, notifications. Plain dataclasses, stored as JSON (each `to_dict` / `from_dict`);
no rules beyond what a record says about itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from skillswap.domain.limits import REVIEW_WINDOW
from skillswap.domain.skills import normalise_skill
from skillswap.domain.times import Slot, iso_utc, parse_iso_utc


def slot_ref(offer_id: str, slot_id: str) -> str:
    """How pages, forms, holds and waitlists name one slot of one offer: "offer:slot"."""
    return f"{offer_id}:{slot_id}"


def split_ref(ref: str) -> tuple[str, str]:
    """(offer id, slot id) of a slot_ref; ("", "") parts for text that is not one."""
    offer_id, _, slot_id = ref.partition(":")
    return offer_id, slot_id


def fields_of(record: Any) -> dict[str, Any]:
    """A record's fields as a new dict, for writing: `asdict` deep-copies every value, which
    was most of the cost of writing a schedule; written values are encoded at once, so the
    lists they share with the record are never changed through them."""
    return {name: getattr(record, name) for name in record.__dataclass_fields__}


def from_fields(cls: type, data: dict[str, Any]) -> Any:
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

    def given_dates(self) -> set[date]:
        """Every date the teacher gave the offer: its dates, its own and its repeat's first."""
        given = {date.fromisoformat(day) for day in [*self.dates, *self.custom_dates]}
        if self.preset.get("first"):
            given.add(date.fromisoformat(self.preset["first"]))
        return given

    def given_ranges(self) -> set[tuple[time, time]]:
        return {(time.fromisoformat(a), time.fromisoformat(b)) for a, b in self.time_ranges}

    def to_dict(self) -> dict[str, Any]:
        data = fields_of(self)
        data["slots"] = [fields_of(s) for s in self.slots]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Offer:
        offer = from_fields(cls, data)
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
        return fields_of(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LearnRequest:
        return from_fields(cls, data)


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
    # Reminders mailed to this copy's owner ("<kind>@<moment>", domain/reminders.py): marked
    # here, in one atomic step on the owner's document, before the mail goes, so of several
    # senders exactly one sends each. Only the current session's marks are kept (bounded).
    reminded: list[str] = field(default_factory=list)
    # False between the two writes of a cancel: this copy is cancelled, the other person's
    # may not be yet (read repair copies it).
    synced: bool = True
    # Rises with every move to another time; calendars see it as the event's SEQUENCE.
    sequence: int = 0
    # The teacher's cancel deadline when the slot was claimed (domain/teacher_rules.py): a
    # cancel or move later than this many hours before the start is late. 0: never late.
    cancel_hours: int = 0
    cancelled_late: bool = False
    # The last move: {"by": user id, "at", "from": [start, end], "late": bool, "note"}.
    moved: dict[str, Any] = field(default_factory=dict)
    # On the learner's copy only, while a move is in flight (domain/reschedule.py): the new
    # time, held beside the old one until the teacher's copy has decided.
    moving: dict[str, Any] = field(default_factory=dict)
    # Did it happen (domain/attendance.py), by the marker's user id: {"mark", "at", "n" (rises
    # with each change, so a late copy of an older mark loses), "copied" (False on the
    # marker's own copy until the other person's has it; read repair finishes it)}.
    attendance: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def start_at(self) -> datetime:
        return parse_iso_utc(self.start)

    @property
    def end_at(self) -> datetime:
        return parse_iso_utc(self.end)

    @property
    def active(self) -> bool:
        return self.status != "cancelled"

    def held_times(self) -> list[tuple[datetime, datetime]]:
        """The time this session keeps its people from anything else: its own, and while a
        move is in flight, the new time as well."""
        if not self.moving:
            return [(self.start_at, self.end_at)]
        moving = self.moving
        new = (parse_iso_utc(moving["start"]), parse_iso_utc(moving["end"]))
        return [(self.start_at, self.end_at), new]

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
        return self.other(rater) in self.reviews or now >= self.end_at + REVIEW_WINDOW

    def to_dict(self) -> dict[str, Any]:
        data = fields_of(self)
        data["reviews"] = {rater: fields_of(review) for rater, review in self.reviews.items()}
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Booking:
        booking = from_fields(cls, data)
        booking.reviews = {k: Review(**v) for k, v in data.get("reviews", {}).items()}
        # Its own dicts: a copy never changes the record it came from.
        booking.attendance = {k: dict(v) for k, v in data.get("attendance", {}).items()}
        return booking


@dataclass
class Notification:
    """Something that happened to me: a new booking, a cancellation, an invitation, a review.

    Facts only (who, what, when as UTC); pages word them in the reader's zone."""

    id: str
    kind: str  # "booked" | "cancelled" | "moved" | "invited" | "reviewed" | "held" | "no_show"
    actor: str  # the other person's username
    skill: str
    created: str
    booking_id: str = ""
    start: str = ""
    end: str = ""
    note: str = ""  # cancel reason, the mover's message, or the invitation's slot summary
    link: str = ""  # a path inside the app (notices about a session link it by booking_id)
    read: bool = False
    # A move: the time it had before ("start"/"end" are the new one).
    was_start: str = ""
    was_end: str = ""
    late: bool = False  # a cancel or move after the session's cancel deadline
    title: str = ""  # the session's title, for notices about a session
    # An invitation's answer (domain/attendance.py): "booked" or "declined"; "" while open.
    answered: str = ""


@dataclass(frozen=True)
class Reliability:
    """A person's record over the last 90 days (domain/attendance.py): sessions held, late
    cancellations, no-shows against them that nobody contradicted, and invitations settled
    (answered, or open for more than 7 days) and answered within 7 days."""

    held: int = 0
    late_cancels: int = 0
    no_shows: int = 0
    invitations: int = 0
    answered: int = 0


@dataclass(frozen=True)
class Rating:
    """The average of the reviews that may be shown, and how many there are: what a page
    that shows only a person's rating needs of their Stats."""

    rating_count: int
    rating_average: float  # 0.0 when there are no ratings: show rating_count, not this

    @classmethod
    def of(cls, count: int, total: int) -> Rating:
        """`count` ratings adding up to `total`."""
        return cls(count, round(total / count, 1) if count else 0.0)


@dataclass
class Stats:
    taught: int
    attended: int
    rating_count: int
    rating_average: float  # 0.0 when there are no ratings: show rating_count, not this
    # For ranking (domain/matching.py); its invitation figures are left at 0 there.
    reliability: Reliability = field(default_factory=Reliability)


@dataclass(frozen=True)
class ShownReview:
    skill: str
    rating: int
    feedback: str
    created: str
    # For the profile's owner "teacher" or "learner" in that session; "" for reviews archived
    # before highlights kept it.
    role: str = ""

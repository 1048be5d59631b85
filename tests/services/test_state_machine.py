"""A Hypothesis state machine over the Repository (no Flask), on SQLite and the fake Replit DB.

People sign up, publish (overlapping) offers in four zones around the spring DST changes, ask
to learn, set their booking rules (notice, buffer, daily cap, cancel deadline), book (their own
slot, a past one, a taken one, an overlapping one, an unknown one, one the rules refuse),
reschedule (to a free time, an overlapping one, a taken one, with a stale form, as an outsider),
cancel (as a participant or an outsider, in time or late), join and leave waitlists, wait for
a booked session and see it cancelled (the freed slot held for the one waiting, then booked by
its holder or refused to anyone else), have expired holds passed on, let time pass, say
whether sessions happened (issue 21: happened, no-show by the other or by me, before the end,
too late, as an outsider, after rating), invite learners and decline invitations, and rate
each other. A
plain-Python model predicts every outcome; after every step the store must agree with the model
and with itself:

- no slot is booked twice, and nobody has two overlapping live sessions (teaching or attending);
- every booking is in both people's documents with the same status, times, slot, sequence
  (one more per move), lateness and reviews;
- no pending hold or move in flight outlives a completed call; a refusal leaves both
  documents byte-for-byte;
- no slot is held and booked at once; a held slot is refused to all but its holder (a booking
  of it is predicted from the hold); every hold's holder waits in that line and holds nothing
  else of that teacher; lines, the teacher's waitlist and each learner's waitlists stay
  within their (shrunk) limits, and both sides equal the model's lines;
- no free slot is one the teacher's rules refuse (checked against the model's own reading of
  the rules), and the counters of late cancels stay within their ceiling;
- `stats()` equals a recomputation from the model (visible reviews only; taught/attended count
  held sessions only: confirmed by one with no no-show reported, or unconfirmed for 7 days),
  and the archived history's counters equal a recomputation from the archive's records;
- both copies of a session hold the same did-it-happen marks, the model's; no rating sits
  beside its rater's no-show report; the 90-day reliability record (held, no-shows against,
  invitations settled and answered) equals a recomputation from the model's events, and the
  per-week counters in the live document equal what the archived sessions and the
  invitations sent and answered imply, week by week;
- every record is in exactly one place, the live document or the archive, and once a person's
  upkeep has run their live document holds nothing due to leave;
- the skill index equals `rebuild_skill_index(store)` (what `flask reindex` would write);
- so does the slot index (its future rows, in pieces of at most the cap, each teacher's rows of
  a bucket in one piece), and matching through it gives the same teachers, slots and order as
  the plain rule applied to everyone (`bench.naive.scan`), whole and paged.

The limits of domain/limits.py are shrunk for the run (LIMITS below) so that people reach them
within a few steps: every refusal at a limit is predicted by the model and leaves both
documents as they were.

Budget (measured on a loaded 2-core machine): see SETTINGS below.
"""

from __future__ import annotations

import itertools
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from bench.naive import scan, signature
from skillswap import services
from skillswap.domain import archive, attendance, limits
from skillswap.domain.availability import check_availability
from skillswap.domain.limits import REVIEW_WINDOW
from skillswap.domain.records import Booking, LearnRequest, Notification, Offer, StoredSlot
from skillswap.domain.refusals import ScheduleRefusal
from skillswap.domain.reviews import MAX_FEEDBACK, RATING_MAX, RATING_MIN
from skillswap.domain.skills import normalise_skill
from skillswap.domain.slot_index import bucket_rows, epoch, row_uid
from skillswap.domain.teacher_rules import TeacherRules, week_of
from skillswap.domain.times import expand_slots, expand_windows, iso_utc, overlaps, parse_iso_utc
from skillswap.repo import Repository
from skillswap.repo.indexes import (
    everyone,
    rebuild_skill_index,
    slot_index_records,
    weekly_slot_buckets,
)
from skillswap.repo.keys import new_id, schedule_key, user_key
from skillswap.store import Store

# Saturday before Berlin's spring-forward (28 Mar 2027) and Lord Howe's half-hour fall-back
# (4 Apr 2027): offers land on both, so DST gaps (refused) and folds (kept) both occur.
START = datetime(2027, 3, 27, 6, 0, tzinfo=UTC)
ZONES = ["America/New_York", "Europe/Berlin", "Asia/Kolkata", "Australia/Lord_Howe", "UTC"]
# Several spellings of few skills: the index must file them under one normalised key.
SKILLS = ["Python", "python ", "PYTHON!", "Welsh", "Machine-Learning", "machine learning", "C++"]
SESSION_CHOICES = [None, 30, 45, 60, 90]
OUTSIDER = "nobody-at-all"

# SQLite (in /dev/shm) costs ~0.1 s an example, the fake Replit DB (every read and write an
# HTTP round trip, the invariants included) ~1.5 s: each gets what fits ~30-50 s on 2 loaded
# cores. With the booking-rule and reschedule steps (issue 20), the Replit DB run needs 24
# examples of 28 steps to reach every outcome of MUST_HAPPEN. The did-it-happen and invitation
# steps (issue 21) take a share of the steps: SQLite runs 400 examples (45-75 s measured); the
# Replit DB run leaves them out (it missed "history archived" in some runs with them) and
# gets 48 examples for margin.
SQLITE_SETTINGS = settings(
    max_examples=400,
    stateful_step_count=30,
    deadline=None,
    # The same examples every run: CI must not pass or fail by luck, and the outcomes below
    # must be reached. Set derandomize=False locally to explore new examples.
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
# 56, not 48: once an offer sent again kept the open one, the first 48 examples no longer
# reached an own-slot booking or a reschedule on this backend.
REPLIT_SETTINGS = settings(SQLITE_SETTINGS, max_examples=56, stateful_step_count=28)
# The limits, shrunk so that a few steps reach them (restored after each run).
LIMITS = {
    "MAX_OPEN_OFFERS": 4,
    "MAX_FUTURE_SLOTS": 40,
    "MAX_SLOTS_PER_OFFER": 24,
    "MAX_OPEN_REQUESTS": 3,
    "MAX_UPCOMING_ATTENDING": 4,
    "MAX_WAITING_PER_SKILL": 2,
    "MAX_WAITLISTS_PER_LEARNER": 2,
    "MAX_WAITING_PER_TEACHER": 3,
}
# Slot-index pieces spill after 40 rows: as in production, one person's rows (at most
# MAX_FUTURE_SLOTS) always fit one piece.
PIECE_ROWS = 40
ARCHIVE_PIECE_BYTES = 6000  # archive pieces spill after a few records
# Outcomes a run must have reached, or it proved less than it claims (the rest are counted and
# printed with -s; the rarer ones need more examples than the budget allows to be certain).
# Record ids are random, so the trajectory differs from run to run: "book refused: buffer"
# was reached in most runs but not all (0 in one full-suite run), so it is counted, not
# required; tests/domain/test_teacher_rules.py and tests/web/test_booking_rules.py pin it. So
# are "book refused: day full" (pinned by the same two files) and "book refused: learner
# limit" (tests/domain/test_schedule.py) since the did-it-happen and invitation steps (issue
# 21) share the steps: each was 0 in some runs. With the waitlist steps too, "cancel: late"
# (tests/web/test_booking_rules.py), "book refused: learner overlap" (tests/domain/
# test_schedule.py), "rescheduled over its own time" (tests/web/test_reschedule.py) and "mark
# refused: cancelled" (tests/domain/test_attendance.py) were 0 to 2 in a full-suite run.
MUST_HAPPEN = {
    "booked",
    "offer published",
    "book refused: own slot",
    "offer refused: limit",
    "history archived",
    "rescheduled",
}
ISSUE21_KINDS = {
    "mark",
    "mark refused",
    "invitation declined",
    "decline refused",
    "waitlist joined",
    "hold given",
}
MUST_HAPPEN_ON_SQLITE = MUST_HAPPEN | {
    "book refused: too soon",
    "reschedule refused: changed",
    "reschedule refused: taken",
    "reschedule again: nothing moved",
    "reschedule refused: cancelled",
    "reschedule refused: outsider",
    "book refused: taken slot",
    "book refused: past slot",
    "book refused: unknown slot",
    "offer delete refused (booked)",
    "cancel refused: outsider",
    "review refused: window closed",
    "request refused: limit",
    # Did it happen and invitations (issue 21).
    "mark: they_missed",
    "mark: i_missed",
    "mark refused: not ended",
    "mark refused: outsider",
    "invitation declined",
    "decline refused: answered already",
    "decline refused: unknown",
    "waitlist joined",
    "hold given",
}


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Model:
    """What the store should hold, kept independently of the code under test."""

    users: list[str] = field(default_factory=list)  # ids, in signup order
    names: dict[str, str] = field(default_factory=dict)
    zones: dict[str, str] = field(default_factory=dict)
    teach: dict[str, list[str]] = field(default_factory=dict)
    offers: dict[str, Offer] = field(default_factory=dict)  # id -> offer
    requests: dict[str, LearnRequest] = field(default_factory=dict)
    bookings: dict[str, dict] = field(default_factory=dict)  # id -> facts
    rules: dict[str, TeacherRules] = field(default_factory=dict)  # the defaults when absent
    # Invitations sent (issue 21): id -> {"learner", "actor", "skill", "created", "answered",
    # "in_time"}.
    invitations: dict[str, dict] = field(default_factory=dict)
    # Waitlists (issue 21): (teacher, skill key) -> [(learner, when the entry ends)] in order.
    lines: dict[tuple[str, str], list[tuple[str, str]]] = field(default_factory=dict)

    def rules_of(self, uid: str) -> TeacherRules:
        return self.rules.get(uid) or TeacherRules()


def _entered_the_same(a: Offer | LearnRequest, b: Offer | LearnRequest) -> bool:
    """Alike in everything the offer or request form takes (the skill as matched)."""
    fields = ["skill_key", "mode", "timezone", "dates", "time_ranges"]
    if isinstance(a, Offer):
        fields += ["title", "description", "session_minutes"]
    return all(getattr(a, f) == getattr(b, f) for f in fields)


class RepoMachine(RuleBasedStateMachine):
    open_store: Callable[[], Store]  # set per backend
    dispose_store: Callable[[Store], None]
    totals: dict[str, int]  # outcome counts over every example of one run
    # The did-it-happen and invitation steps (issue 21) run on SQLite; the Replit DB run keeps
    # its few examples for the booking steps it must reach (their invariants run on both).
    issue21_steps: bool = True

    def __init__(self) -> None:
        super().__init__()
        self.store = type(self).open_store()
        self.clock = Clock(START)
        self.repo = Repository(
            self.store,
            self.clock,
            slot_piece_rows=PIECE_ROWS,
            archive_piece_bytes=ARCHIVE_PIECE_BYTES,
        )
        self.model = Model()
        self.counts: dict[str, int] = {}
        self.teacher_pieces: dict[tuple[str, str, str], set[str]] = {}
        self.cancelled_soon = False

    def teardown(self) -> None:
        type(self).dispose_store(self.store)
        for what, count in self.counts.items():
            type(self).totals[what] = type(self).totals.get(what, 0) + count

    # --- helpers -------------------------------------------------------------------------

    def tally(self, what: str) -> None:
        self.counts[what] = self.counts.get(what, 0) + 1

    def docs(self, *uids: str) -> dict[str, object]:
        keys = [k for uid in uids for k in (user_key(uid), schedule_key(uid))]
        found = self.store.get_many(keys)
        return {k: found.get(k) for k in keys}

    def pick_user(self, index: int) -> str:
        return self.model.users[index % len(self.model.users)]

    def active_of(self, uid: str) -> list[dict]:
        return [
            b
            for b in self.model.bookings.values()
            if b["status"] != "cancelled" and uid in (b["teacher"], b["learner"])
        ]

    def future_slots(self, uid: str, now: datetime) -> int:
        moment = iso_utc(now)
        return sum(
            1
            for o in self.model.offers.values()
            if o.owner == uid
            for slot in o.slots
            if slot.start > moment
        )

    def open_offers(self, uid: str, now: datetime) -> int:
        moment = iso_utc(now)
        return sum(
            1
            for o in self.model.offers.values()
            if o.owner == uid and max(slot.end for slot in o.slots) > moment
        )

    def live_offer_ids(self, uid: str) -> set[str]:
        return set(self.repo.schedule(uid).offers)

    def rule_refusal(
        self, teacher: str, start: datetime, end: datetime, now: datetime, exclude: str = ""
    ) -> str:
        """The model's own reading of the teacher's booking rules: "" or what refuses."""
        rules = self.model.rules_of(teacher)
        if start < now + timedelta(hours=rules.notice_hours):
            return "too soon"
        others = [b for bid, b in self.active_ids(teacher) if bid != exclude]
        pad = timedelta(minutes=rules.buffer_minutes)
        if pad and any(
            overlaps(start, end, parse_iso_utc(b["start"]) - pad, parse_iso_utc(b["end"]) + pad)
            for b in others
        ):
            return "buffer"
        if rules.daily_cap:
            zone = ZoneInfo(rules.zone)
            day = start.astimezone(zone).date()
            taught = sum(
                1
                for b in others
                if b["teacher"] == teacher
                and parse_iso_utc(b["start"]).astimezone(zone).date() == day
            )
            if taught >= rules.daily_cap:
                return "day full"
        return ""

    def active_ids(self, uid: str) -> list[tuple[str, dict]]:
        return [
            (bid, b)
            for bid, b in self.model.bookings.items()
            if b["status"] != "cancelled" and uid in (b["teacher"], b["learner"])
        ]

    def add_user(self, zone: str) -> None:
        n = len(self.model.users)
        user = self.repo.create_user(f"user{n}", f"user{n}@example.com", "hash", zone)
        self.model.users.append(user.id)
        self.model.names[user.id] = user.username
        self.model.zones[user.id] = zone
        self.model.teach[user.id] = []

    # --- rules ---------------------------------------------------------------------------

    @initialize(zones=st.lists(st.sampled_from(ZONES), min_size=3, max_size=3))
    def sign_up_three(self, zones: list[str]) -> None:
        for zone in zones:
            self.add_user(zone)

    @precondition(lambda self: len(self.model.users) < 5)
    @rule(zone=st.sampled_from(ZONES))
    def sign_up(self, zone: str) -> None:
        self.add_user(zone)

    @rule(
        who=st.integers(0, 4),
        zone=st.sampled_from(ZONES),
        skill=st.sampled_from(SKILLS),
        days=st.lists(st.integers(0, 9), min_size=1, max_size=3),
        start=st.tuples(st.integers(0, 22), st.sampled_from([0, 30])),
        length=st.sampled_from([30, 60, 90, 120, 180, 240]),
        minutes=st.sampled_from(SESSION_CHOICES),
        mode=st.sampled_from(["online", "offline"]),
    )
    def publish_offer(
        self,
        who: int,
        zone: str,
        skill: str,
        days: list[int],
        start: tuple[int, int],
        length: int,
        minutes: int | None,
        mode: str,
    ) -> None:
        uid = self.pick_user(who)
        tz = ZoneInfo(zone)
        today = self.clock.now.astimezone(tz).date()
        dates = sorted({today + timedelta(days=d) for d in days})
        begin = time(*start)
        end_minutes = min(start[0] * 60 + start[1] + length, 23 * 60 + 59)
        ranges = [(begin, time(end_minutes // 60, end_minutes % 60))]
        if check_availability(dates, ranges, tz, self.clock.now, session_minutes=minutes):
            self.tally("offer refused by the form rules (past, DST gap, too short)")
            return
        slots = expand_slots(dates, ranges, tz, minutes)
        offer = Offer(
            id=new_id(),
            owner=uid,
            user=self.model.names[uid],
            title=f"{skill} lessons",
            skill=skill,
            description="",
            mode=mode,
            timezone=zone,
            dates=[d.isoformat() for d in dates],
            time_ranges=[[f"{a:%H:%M}", f"{b:%H:%M}"] for a, b in ranges],
            timestamp=iso_utc(self.clock.now),
            session_minutes=minutes,
            slots=[StoredSlot.of(s) for s in slots],
        )
        self.save_new_offer(offer)

    def twin_of(self, record: Offer | LearnRequest) -> str | None:
        """The model's reading of a form sent again: an open offer (or request) of the same
        person identical in everything entered is kept instead of the new one."""
        moment = iso_utc(self.clock.now)
        kept: list[Offer] | list[LearnRequest]
        if isinstance(record, Offer):
            kept = [o for o in self.model.offers.values() if max(s.end for s in o.slots) > moment]
        else:
            kept = [
                r for r in self.model.requests.values() if max(e for _, e in r.windows) > moment
            ]
        return next(
            (x.id for x in kept if x.owner == record.owner and _entered_the_same(x, record)),
            None,
        )

    def save_new_offer(self, offer: Offer) -> None:
        """Publish, predicting a refusal at a limit (the rest always succeeds), and the same
        offer sent again keeping the open one."""
        now = self.clock.now
        uid = offer.owner
        twin = self.twin_of(offer)
        if twin is not None:
            before = self.docs(uid)
            assert services.offers.save_offer(self.repo, offer) == twin
            assert self.docs(uid) == before, "an offer sent again changed the store"
            self.tally("offer sent again: the open one kept")
            return
        moment = iso_utc(now)
        count = sum(1 for slot in offer.slots if slot.start > moment)
        at_limit = (
            count > limits.MAX_SLOTS_PER_OFFER
            or (count and self.open_offers(uid, now) >= limits.MAX_OPEN_OFFERS)
            or self.future_slots(uid, now) + count > limits.MAX_FUTURE_SLOTS
        )
        before = self.docs(uid)
        try:
            services.offers.save_offer(self.repo, offer)
        except limits.LimitReached:
            assert at_limit, "an offer within every limit was refused"
            assert self.docs(uid) == before, "a refused offer changed the store"
            self.tally("offer refused: limit")
            return
        assert not at_limit, "an offer over a limit was published"
        self.model.offers[offer.id] = offer
        self.tally("offer published")

    @precondition(lambda self: self.model.offers)
    @rule(who=st.integers(0, 4), offer_index=st.integers(0, 50), shift=st.sampled_from([0, 30]))
    def publish_alongside(self, who: int, offer_index: int, shift: int) -> None:
        """Someone publishes the same times as an existing offer (or 30 minutes later), so
        that one learner can try to be in two sessions at once."""
        source = list(self.model.offers.values())[offer_index % len(self.model.offers)]
        uid = self.pick_user(who)
        moved = timedelta(minutes=shift)
        offer = Offer(
            **{
                **source.to_dict(),
                "id": new_id(),
                "owner": uid,
                "user": self.model.names[uid],
                "slots": [],
            }
        )
        offer.slots = [
            StoredSlot(
                s.id,
                iso_utc(parse_iso_utc(s.start) + moved),
                iso_utc(parse_iso_utc(s.end) + moved),
            )
            for s in source.slots
        ]
        self.save_new_offer(offer)

    @precondition(lambda self: self.model.offers)
    @rule(offer_index=st.integers(0, 50))
    def delete_offer(self, offer_index: int) -> None:
        offer = list(self.model.offers.values())[offer_index % len(self.model.offers)]
        if offer.id not in self.live_offer_ids(offer.owner):
            return  # archived: history, no longer the owner's to delete
        booked = any(
            b["status"] != "cancelled"
            and b["offer"] == offer.id
            and parse_iso_utc(b["end"]) > self.clock.now
            for b in self.model.bookings.values()
        )
        before = self.docs(offer.owner)
        try:
            services.offers.delete_offer(self.repo, offer.owner, offer.id)
        except ScheduleRefusal:
            assert booked, "deleting an offer without upcoming bookings was refused"
            assert self.docs(offer.owner) == before
            self.tally("offer delete refused (booked)")
            return
        assert not booked, "an offer with an upcoming booked session was deleted"
        del self.model.offers[offer.id]
        self.tally("offer deleted")

    @rule(
        who=st.integers(0, 4),
        skill=st.sampled_from(SKILLS),
        days=st.lists(st.integers(0, 9), min_size=1, max_size=3),
        start=st.integers(0, 20),
        hours=st.integers(1, 3),
    )
    def save_request(self, who: int, skill: str, days: list[int], start: int, hours: int) -> None:
        uid = self.pick_user(who)
        tz = ZoneInfo(self.model.zones[uid])
        today = self.clock.now.astimezone(tz).date()
        dates = sorted({today + timedelta(days=d) for d in days})
        ranges = [(time(start), time(start + hours))]
        if check_availability(dates, ranges, tz, self.clock.now):
            return
        windows = expand_windows(dates, ranges, tz)
        request = LearnRequest(
            id=new_id(),
            owner=uid,
            user=self.model.names[uid],
            skill=skill,
            mode="either",
            timezone=tz.key,
            dates=[d.isoformat() for d in dates],
            time_ranges=[[f"{a:%H:%M}", f"{b:%H:%M}"] for a, b in ranges],
            timestamp=iso_utc(self.clock.now),
            windows=[[iso_utc(a), iso_utc(b)] for a, b in windows],
        )
        moment = iso_utc(self.clock.now)
        open_requests = sum(
            1
            for r in self.model.requests.values()
            if r.owner == uid and max(end for _, end in r.windows) > moment
        )
        before = self.docs(uid)
        twin = self.twin_of(request)
        if twin is not None:
            assert services.offers.save_request(self.repo, request) == twin
            assert self.docs(uid) == before, "a request sent again changed the store"
            self.tally("request sent again: the open one kept")
            return
        try:
            services.offers.save_request(self.repo, request)
        except limits.LimitReached:
            assert open_requests >= limits.MAX_OPEN_REQUESTS, "a request within limits refused"
            assert self.docs(uid) == before
            self.tally("request refused: limit")
            return
        assert open_requests < limits.MAX_OPEN_REQUESTS, "a request over the limit was saved"
        self.model.requests[request.id] = request
        # Whoever is found teaches that skill, has a free slot overlapping a window, and is
        # not me; slots wholly inside a window come first, the others carry the shared time.
        for match in services.matching.find_teachers(
            self.repo, request.skill_key, windows, "either", exclude=uid
        ):
            assert match.user.id != uid
            whole_so_far = True
            for offer, slot in match.slots:
                assert slot.start > self.clock.now
                assert any(overlaps(slot.start, slot.end, a, b) for a, b in windows)
                whole = any(a <= slot.start and slot.end <= b for a, b in windows)
                parts = match.overlap(offer, slot)
                assert whole == (not parts)
                assert not (whole and not whole_so_far), "a whole fit after an overlap"
                whole_so_far = whole
                for a, b in parts:
                    assert slot.start <= a < b <= slot.end
                    assert any(w_start <= a and b <= w_end for w_start, w_end in windows)
                assert not any(
                    overlaps(
                        slot.start, slot.end, parse_iso_utc(b["start"]), parse_iso_utc(b["end"])
                    )
                    for b in self.active_of(match.user.id)
                )
        self.tally("request saved")

    @rule(who=st.integers(0, 4), picks=st.lists(st.sampled_from(SKILLS), max_size=3))
    def set_teach_tags(self, who: int, picks: list[str]) -> None:
        uid = self.pick_user(who)
        user = self.repo.get_user(uid)
        assert user is not None
        old = user.teach
        seen: set[str] = set()
        user.teach = [t for t in picks if not (t.casefold() in seen or seen.add(t.casefold()))]
        self.repo.save_profile(user)
        self.repo.index_teach_tags(uid, old, user.teach)
        self.model.teach[uid] = user.teach

    @precondition(lambda self: self.model.offers)
    @rule(
        attempts=st.lists(
            st.tuples(
                st.integers(0, 4),  # learner
                st.integers(0, 50),  # offer
                st.integers(0, 500),  # slot
                st.sampled_from(["as offered"] * 8 + ["unknown slot", "changed times"]),
            ),
            min_size=1,
            max_size=4,
        )
    )
    def book(self, attempts: list[tuple[int, int, int, str]]) -> None:
        """A few bookings in a row, so that overlaps and taken slots come up often."""
        for attempt in attempts:
            self.book_one(*attempt)

    @precondition(lambda self: self.model.offers)
    @rule(
        learner_index=st.integers(0, 4),
        picks=st.lists(st.tuples(st.integers(0, 50), st.integers(0, 500)), min_size=3, max_size=7),
    )
    def book_many_as_one_learner(self, learner_index: int, picks: list[tuple[int, int]]) -> None:
        """One learner books several slots in a row: the limit on upcoming sessions."""
        for offer_index, slot_index in picks:
            self.book_one(learner_index, offer_index, slot_index, "as offered")

    @precondition(
        lambda self: any(
            b["status"] == "confirmed" and parse_iso_utc(b["end"]) <= self.clock.now
            for b in self.model.bookings.values()
        )
    )
    @rule(booking_index=st.integers(0, 50), teacher_rates=st.booleans())
    def rate_too_late(self, booking_index: int, teacher_rates: bool) -> None:
        """Reviews close 14 days after a session: time passes until they have (for one
        finished session), then someone tries to rate it."""
        ended = [
            bid
            for bid, b in self.model.bookings.items()
            if b["status"] == "confirmed" and parse_iso_utc(b["end"]) <= self.clock.now
        ]
        bid = ended[booking_index % len(ended)]
        facts = self.model.bookings[bid]
        self.clock.now = max(self.clock.now, parse_iso_utc(facts["end"]) + REVIEW_WINDOW)
        rater = facts["teacher"] if teacher_rates else facts["learner"]
        self.review(list(self.model.bookings).index(bid), self.model.users.index(rater), 7, False)

    @precondition(
        lambda self: any(b["status"] == "confirmed" for b in self.model.bookings.values())
    )
    @rule(
        booking_index=st.integers(0, 50), learner_index=st.integers(0, 4), pick=st.integers(0, 500)
    )
    def book_a_clash(self, booking_index: int, learner_index: int, pick: int) -> None:
        """Book a slot overlapping a live session: the learner's own, or the teacher's through
        another (overlapping) offer. Refused unless neither person is in that session."""
        live = [b for b in self.model.bookings.values() if b["status"] == "confirmed"]
        target = live[booking_index % len(live)]
        t_start, t_end = parse_iso_utc(target["start"]), parse_iso_utc(target["end"])
        candidates = [
            (offer_index, slot_index)
            for offer_index, offer in enumerate(self.model.offers.values())
            for slot_index, slot in enumerate(offer.slots)
            if overlaps(t_start, t_end, parse_iso_utc(slot.start), parse_iso_utc(slot.end))
            and (offer.id, slot.id) != (target["offer"], target["slot"])
        ]
        if not candidates:
            return
        offer_index, slot_index = candidates[pick % len(candidates)]
        # Half the time the learner is someone in the target session.
        people = [target["learner"], target["learner"], target["teacher"], *self.model.users]
        learner_index = self.model.users.index(people[learner_index % len(people)])
        self.book_one(learner_index, offer_index, slot_index, "as offered")

    @precondition(
        lambda self: any(
            b["status"] == "confirmed" and parse_iso_utc(b["end"]) <= self.clock.now
            for b in self.model.bookings.values()
        )
    )
    @rule(
        booking_index=st.integers(0, 50),
        teacher_rates=st.booleans(),
        rating=st.integers(RATING_MIN, RATING_MAX),
    )
    def rate_a_finished_session(self, booking_index: int, teacher_rates: bool, rating: int) -> None:
        done = [
            bid
            for bid, b in self.model.bookings.items()
            if b["status"] == "confirmed"
            and parse_iso_utc(b["end"]) <= self.clock.now < parse_iso_utc(b["end"]) + REVIEW_WINDOW
        ]
        if not done:
            return
        facts = self.model.bookings[done[booking_index % len(done)]]
        rater = facts["teacher"] if teacher_rates else facts["learner"]
        self.review(
            list(self.model.bookings).index(done[booking_index % len(done)]),
            self.model.users.index(rater),
            rating,
            long_feedback=False,
        )

    def book_one(self, learner_index: int, offer_index: int, slot_index: int, variant: str) -> None:
        learner = self.pick_user(learner_index)
        offers = list(self.model.offers.values())
        offer = offers[offer_index % len(offers)]
        teacher = offer.owner
        slot = offer.slots[slot_index % len(offer.slots)]
        slot_id, start, end = slot.id, slot.start, slot.end
        if variant == "unknown slot":
            slot_id = "1999-01-01T0000-0100"
        elif variant == "changed times":
            end = iso_utc(parse_iso_utc(end) + timedelta(minutes=15))
        booking = Booking(
            id=new_id(),
            teacher=teacher,
            teacher_name=self.model.names[teacher],
            learner=learner,
            learner_name=self.model.names[learner],
            offer_id=offer.id,
            slot_id=slot_id,
            title=offer.title,
            skill=offer.skill,
            mode=offer.mode,
            start=start,
            end=end,
            created=iso_utc(self.clock.now),
        )
        now = self.clock.now
        s_at, e_at = parse_iso_utc(start), parse_iso_utc(end)

        def clashes(uid: str) -> bool:
            return any(
                overlaps(s_at, e_at, parse_iso_utc(b["start"]), parse_iso_utc(b["end"]))
                for b in self.active_of(uid)
            )

        held = None  # a waitlist hold on the slot, read below when it matters
        if learner == teacher:
            expected = "own slot"
        elif variant != "as offered":
            expected = variant
        elif s_at <= now:
            expected = "past slot"
        elif any(
            b["status"] != "cancelled" and (b["offer"], b["slot"]) == (offer.id, slot_id)
            for b in self.model.bookings.values()
        ):
            expected = "taken slot"
        elif clashes(learner):
            expected = "learner overlap"
        elif (
            sum(
                1
                for b in self.active_of(learner)
                if b["learner"] == learner and parse_iso_utc(b["end"]) > now
            )
            >= limits.MAX_UPCOMING_ATTENDING
        ):
            expected = "learner limit"
        elif clashes(teacher):
            expected = "teacher overlap"
        else:
            # Whether a hold keeps it for someone else is read from the store (who holds it
            # depends on the pass-ons); the invariant checks every hold is a rightful one.
            held = self.repo.schedule(teacher).effective_holds(now).get(f"{offer.id}:{slot_id}")
            expected = self.rule_refusal(teacher, s_at, e_at, now) or (
                "held" if held is not None and held.learner != learner else "booked"
            )
        before = self.docs(learner, teacher)
        try:
            services.booking.book(self.repo, booking)
        except ScheduleRefusal:
            assert expected != "booked", "a free slot was refused"
            assert self.docs(learner, teacher) == before, f"refused ({expected}) but changed"
            self.tally(f"book refused: {expected}")
            return
        assert expected == "booked", f"booked although {expected}"
        self.model.bookings[booking.id] = {
            "teacher": teacher,
            "learner": learner,
            "offer": offer.id,
            "slot": slot_id,
            "start": start,
            "end": end,
            "status": "confirmed",
            "reviews": {},
            "skill": offer.skill,
            "sequence": 0,
            "cancel_hours": self.model.rules_of(teacher).cancel_hours,
            "cancelled_late": False,
            "moved_by": "",
            "marks": {},
            "marked_at": {},
        }
        if held is not None:
            self.tally("booked: by its holder")
        # Booking the teacher for a skill ends the learner's wait for it.
        self.drop_from_line(teacher, normalise_skill(offer.skill), learner)
        self.tally("booked")
        # Booking answers the learner's open invitations from this teacher for this skill.
        self.answer_invitations(learner, self.model.names[teacher], offer.skill, before)

    # Three times an example at most: rules change rarely, and the other steps need the time.
    @precondition(lambda self: len(self.model.rules) < 3)
    @rule(
        who=st.integers(0, 4),
        notice=st.sampled_from([0, 1, 2, 6, 24, 48]),
        buffer=st.sampled_from([0, 0, 15, 60]),
        cap=st.sampled_from([0, 1, 1, 2]),
        deadline=st.sampled_from([0, 24, 24, 72]),
    )
    def set_booking_rules(
        self, who: int, notice: int, buffer: int, cap: int, deadline: int
    ) -> None:
        # Someone whose sessions are booked, when there is one (three times in four): there
        # the rules have work to do.
        booked = sorted({self.model.bookings[bid]["teacher"] for bid in self.upcoming()})
        uid = booked[who % len(booked)] if booked and who % 4 else self.pick_user(who)
        rules = TeacherRules(notice, buffer, cap, deadline, zone=self.model.zones[uid])
        services.rules.save_rules(self.repo, uid, rules)
        self.model.rules[uid] = rules
        self.tally("rules set")

    @precondition(lambda self: self.model.bookings)
    @rule(
        moves=st.lists(
            st.tuples(
                st.integers(0, 50),  # session
                st.integers(0, 4),  # who moves it: teacher, learner, or an outsider
                st.integers(0, 500),  # to which slot
                st.sampled_from(
                    ["any time"] * 3 + ["a free time"] * 4 + ["stale", "overlapping", "booked"]
                ),
                st.sampled_from(["", "sorry <b>!</b>"]),
            ),
            min_size=1,
            max_size=3,
        )
    )
    def reschedule(self, moves: list[tuple[int, int, int, str, str]]) -> None:
        """A few moves in a row, so that a session moved once is soon moved again."""
        for move in moves:
            self.reschedule_one(*move)

    def upcoming(self) -> list[str]:
        now = self.clock.now
        return [
            bid
            for bid, b in self.model.bookings.items()
            if b["status"] == "confirmed" and parse_iso_utc(b["start"]) > now
        ]

    @precondition(lambda self: self.upcoming())
    @rule(
        booking_index=st.integers(0, 50),
        learner_index=st.integers(0, 4),
        pick=st.integers(0, 500),
        tighten=st.sampled_from([None, None, ("daily_cap", 1), ("buffer_minutes", 90)]),
    )
    def book_same_day(
        self,
        booking_index: int,
        learner_index: int,
        pick: int,
        tighten: tuple[str, int] | None,
    ) -> None:
        """Book another session of a booked teacher on the same day in their zone, half the
        time after the teacher sets a daily cap or a long buffer: what those refuse."""
        upcoming = self.upcoming()
        facts = self.model.bookings[upcoming[booking_index % len(upcoming)]]
        teacher = facts["teacher"]
        if tighten is not None:
            rules = replace(self.model.rules_of(teacher), zone=self.model.zones[teacher])
            rules = replace(rules, **{tighten[0]: tighten[1]})
            services.rules.save_rules(self.repo, teacher, rules)
            self.model.rules[teacher] = rules
        zone = ZoneInfo(self.model.zones[teacher])
        f_start, f_end = parse_iso_utc(facts["start"]), parse_iso_utc(facts["end"])
        near = timedelta(minutes=90)

        def wanted(slot: StoredSlot) -> bool:
            start, end = parse_iso_utc(slot.start), parse_iso_utc(slot.end)
            if tighten is not None and tighten[0] == "buffer_minutes":
                # Close to the session without overlapping it: what a buffer refuses.
                return not overlaps(start, end, f_start, f_end) and overlaps(
                    start, end, f_start - near, f_end + near
                )
            return start.astimezone(zone).date() == f_start.astimezone(zone).date()

        offers = list(self.model.offers.values())
        candidates = [
            (offer_index, slot_index)
            for offer_index, offer in enumerate(offers)
            if offer.owner == teacher
            for slot_index, slot in enumerate(offer.slots)
            if (offer.id, slot.id) != (facts["offer"], facts["slot"]) and wanted(slot)
        ]
        if candidates:
            self.book_one(learner_index, *candidates[pick % len(candidates)], "as offered")

    @precondition(lambda self: self.upcoming())
    @rule(
        booking_index=st.integers(0, 50),
        shift=st.sampled_from([15, 30, -30]),
        by_teacher=st.booleans(),
    )
    def move_over_its_own_time(self, booking_index: int, shift: int, by_teacher: bool) -> None:
        """The teacher publishes the session's time shifted by a quarter or half an hour, and
        the session moves there: its own time must not stand in its way."""
        upcoming = self.upcoming()
        bid = upcoming[booking_index % len(upcoming)]
        facts = self.model.bookings[bid]
        source = self.model.offers.get(facts["offer"])
        if source is None:
            return
        moved = timedelta(minutes=shift)
        start, end = parse_iso_utc(facts["start"]) + moved, parse_iso_utc(facts["end"]) + moved
        zone = ZoneInfo(source.timezone)
        local = start.astimezone(zone)
        offer = Offer(
            **{
                **source.to_dict(),
                "id": new_id(),
                "dates": [local.date().isoformat()],
                "slots": [],
            }
        )
        offer.slots = [StoredSlot(f"{local:%Y-%m-%dT%H%M}-shifted", iso_utc(start), iso_utc(end))]
        self.save_new_offer(offer)
        if offer.id not in self.model.offers:
            return
        actor = facts["teacher"] if by_teacher else facts["learner"]
        seen, was = facts["sequence"], (source, facts["slot"])
        self.attempt_move(bid, actor, offer, offer.slots[0], seen, "")
        if facts["sequence"] > seen:
            # The same form sent again moves nothing; an old form to another time is refused.
            self.attempt_move(bid, actor, offer, offer.slots[0], seen, "")
            old = next((s for s in was[0].slots if s.id == was[1]), None)
            if old is not None:
                self.attempt_move(bid, actor, was[0], old, seen, "")

    @precondition(lambda self: len(self.upcoming()) >= 2)
    @rule(first=st.integers(0, 50), second=st.integers(0, 50), by_teacher=st.booleans())
    def move_into_a_taken_time(self, first: int, second: int, by_teacher: bool) -> None:
        """Move a session into the time of another session of the same teacher."""
        upcoming = self.upcoming()
        bid = upcoming[first % len(upcoming)]
        facts = self.model.bookings[bid]
        others = [
            other
            for other in upcoming
            if self.model.bookings[other]["teacher"] == facts["teacher"]
            and self.model.bookings[other]["learner"] != facts["learner"]
        ]
        if not others:
            return
        taken = self.model.bookings[others[second % len(others)]]
        offer = self.model.offers.get(taken["offer"])
        slot = next((s for s in offer.slots if s.id == taken["slot"]), None) if offer else None
        if slot is not None:
            actor = facts["teacher"] if by_teacher else facts["learner"]
            self.attempt_move(bid, actor, offer, slot, facts["sequence"], "")

    def reschedule_one(
        self, booking_index: int, actor_index: int, pick: int, variant: str, note: str
    ) -> None:
        """Move a session (an upcoming one, two times in three) to one of its teacher's slots:
        any of them (so that taken, busy, refused and other-skill times come up), one the app
        lists as free for it, another session's, or one overlapping its own time."""
        now = self.clock.now
        upcoming = self.upcoming()
        ids = upcoming if upcoming and booking_index % 3 else list(self.model.bookings)
        bid = ids[booking_index % len(ids)]
        facts = self.model.bookings[bid]
        teacher, learner = facts["teacher"], facts["learner"]
        actor = [teacher, learner, teacher, learner, OUTSIDER][actor_index]
        f_start, f_end = parse_iso_utc(facts["start"]), parse_iso_utc(facts["end"])
        if variant == "a free time":
            # Chosen with the app's own list; what happens is still the model's to predict.
            listed = self.repo.schedule(teacher).teachable_slots(
                self.model.teach[teacher], normalise_skill(facts["skill"]), now, exclude=bid
            )
            candidates = [(self.model.offers[o.id], o.slot(s.id)) for o, s in listed]
        elif variant == "booked":
            # The time of another of the teacher's sessions.
            candidates = [
                (offer, slot)
                for other_id, b in self.active_ids(teacher)
                if other_id != bid and b["teacher"] == teacher
                for offer in [self.model.offers.get(b["offer"])]
                if offer is not None
                for slot in offer.slots
                if slot.id == b["slot"]
            ]
        else:
            candidates = [
                (offer, slot)
                for offer in self.model.offers.values()
                if offer.owner == teacher
                for slot in offer.slots
                if variant != "overlapping"
                or (
                    overlaps(f_start, f_end, parse_iso_utc(slot.start), parse_iso_utc(slot.end))
                    and (offer.id, slot.id) != (facts["offer"], facts["slot"])
                )
            ]
        if not candidates:
            return
        offer, slot = candidates[pick % len(candidates)]
        seen = facts["sequence"] + (3 if variant == "stale" else 0)
        if variant == "stale" and facts["sequence"]:
            seen = facts["sequence"] - 1
        self.attempt_move(bid, actor, offer, slot, seen, note)

    def attempt_move(
        self, bid: str, actor: str, offer: Offer, slot: StoredSlot, seen: int, note: str
    ) -> None:
        """`actor` moves session `bid`, seen at sequence `seen`, to `slot` of `offer`: the
        model predicts the outcome, the service must agree."""
        now = self.clock.now
        facts = self.model.bookings[bid]
        teacher, learner = facts["teacher"], facts["learner"]
        f_start, f_end = parse_iso_utc(facts["start"]), parse_iso_utc(facts["end"])
        start, end = parse_iso_utc(slot.start), parse_iso_utc(slot.end)
        target = (offer.id, slot.id)
        tagged = normalise_skill(facts["skill"]) in {
            normalise_skill(t) for t in self.model.teach[teacher]
        }

        def others(uid: str) -> list[dict]:
            return [b for other_id, b in self.active_ids(uid) if other_id != bid]

        def busy(uid: str) -> bool:
            return any(
                overlaps(start, end, parse_iso_utc(b["start"]), parse_iso_utc(b["end"]))
                for b in others(uid)
            )

        held = None
        if actor not in (teacher, learner):
            expected = "outsider"
        elif any(bid not in self.repo.schedule(uid).bookings for uid in (teacher, learner)):
            expected = "archived"
        elif (
            seen < facts["sequence"]
            and target == (facts["offer"], facts["slot"])
            and facts["moved_by"] == actor
            and facts["status"] == "confirmed"
        ):
            expected = "again"
        elif (live_offer := self.repo.schedule(teacher).offers.get(offer.id)) is None or (
            live_offer.slot(slot.id) is None  # archived, or a past slot dropped by upkeep
        ):
            expected = "unknown"
        elif facts["status"] == "cancelled":
            expected = "cancelled"
        elif f_start <= now:
            expected = "started"
        elif seen != facts["sequence"]:
            expected = "changed"
        elif not tagged and offer.skill_key != normalise_skill(facts["skill"]):
            expected = "other skill"
        elif target == (facts["offer"], facts["slot"]):
            expected = "same time"
        elif start <= now:
            expected = "past"
        elif busy(learner):
            expected = "learner busy"
        elif any((b["offer"], b["slot"]) == target for b in others(teacher)):
            expected = "taken"
        elif busy(teacher):
            expected = "teacher busy"
        else:
            held = self.repo.schedule(teacher).effective_holds(now).get(f"{offer.id}:{slot.id}")
            expected = self.rule_refusal(teacher, start, end, now, exclude=bid) or (
                "held" if held is not None and held.learner != learner else "moved"
            )
        before = self.docs(teacher, learner)
        try:
            moved, moved_now = services.reschedule.reschedule(
                self.repo, actor, bid, offer.id, slot.id, seen, note
            )
        except ScheduleRefusal:
            assert expected not in ("moved", "again"), f"a move was refused ({expected})"
            if expected != "archived":
                assert self.docs(teacher, learner) == before, f"refused ({expected}) but changed"
            self.tally(f"reschedule refused: {expected}")
            return
        assert expected in ("moved", "again"), f"moved although {expected}"
        assert moved.id == bid
        assert moved_now == (expected == "moved")
        if expected == "again":
            assert self.docs(teacher, learner) == before
            self.tally("reschedule again: nothing moved")
            return
        if overlaps(start, end, f_start, f_end):
            self.tally("rescheduled over its own time")
        facts.update(
            offer=offer.id,
            slot=slot.id,
            start=slot.start,
            end=slot.end,
            sequence=facts["sequence"] + 1,
            moved_by=actor,
        )
        self.tally("rescheduled")

    @precondition(lambda self: self.model.bookings)
    @rule(
        booking_index=st.integers(0, 50),
        actor_index=st.integers(0, 5),
        reason=st.sampled_from(["", "ill", "<b>sorry</b>"]),
    )
    def cancel(self, booking_index: int, actor_index: int, reason: str) -> None:
        booking_id = list(self.model.bookings)[booking_index % len(self.model.bookings)]
        facts = self.model.bookings[booking_id]
        # Index 5 (or one past the users) is someone outside the session.
        people = [*self.model.users, OUTSIDER]
        actor = people[actor_index % len(people)]
        # Upkeep due on either document first, as the page that shows the button does: a
        # cancel that changes nothing ("again") must leave both documents as they were, and
        # its own write would otherwise settle that upkeep (a flaw in this test that issue
        # 21's extra steps exposed: the booking archived within the "again" cancel).
        for uid in (facts["teacher"], facts["learner"]):
            if facts["status"] == "cancelled" and self.repo.schedule(uid).maintenance_due(
                self.clock.now
            ):
                services.upkeep.maintain(self.repo, uid)
        if actor not in (facts["teacher"], facts["learner"]):
            expected = "outsider"
        elif booking_id not in self.repo.schedule(actor).bookings:
            expected = "archived"  # history now: over for a month, nothing left to cancel
        elif facts["status"] == "cancelled":
            expected = "again"
        elif parse_iso_utc(facts["start"]) <= self.clock.now:
            expected = "started"
        else:
            expected = "cancelled"
        before = self.docs(facts["teacher"], facts["learner"])
        try:
            services.booking.cancel(self.repo, actor, booking_id, reason)
        except ScheduleRefusal:
            assert expected in ("outsider", "started", "archived"), f"refused although {expected}"
            assert self.docs(facts["teacher"], facts["learner"]) == before
            self.tally(f"cancel refused: {expected}")
            return
        assert expected in ("cancelled", "again"), f"cancelled although {expected}"
        if expected == "again":
            assert self.docs(facts["teacher"], facts["learner"]) == before
        else:
            hours = facts["cancel_hours"]
            deadline = parse_iso_utc(facts["start"]) - timedelta(hours=hours)
            facts["cancelled_late"] = bool(hours) and self.clock.now > deadline
            if facts["cancelled_late"]:
                expected = "late"
        facts["status"] = "cancelled"
        self.tally(f"cancel: {expected}")

    def starting_within(self, hours: int) -> list[str]:
        now = self.clock.now
        return [
            bid
            for bid, b in self.model.bookings.items()
            if b["status"] == "confirmed"
            and now < parse_iso_utc(b["start"]) <= now + timedelta(hours=hours)
        ]

    @precondition(lambda self: not self.cancelled_soon and self.starting_within(24))
    @rule(booking_index=st.integers(0, 50), by_teacher=st.booleans())
    def cancel_soon(self, booking_index: int, by_teacher: bool) -> None:
        """Cancel a session starting within a day, inside the default cancel deadline; then
        the other person, whose page still showed it, tries to move it. Once an example:
        sessions that stay booked are what reviews need."""
        self.cancelled_soon = True
        soon = self.starting_within(24)
        bid = soon[booking_index % len(soon)]
        facts = self.model.bookings[bid]
        actor, other = facts["teacher"], facts["learner"]
        if not by_teacher:
            actor, other = other, actor
        people = [*self.model.users, OUTSIDER]
        self.cancel(list(self.model.bookings).index(bid), people.index(actor), "late, sorry")
        offer = self.model.offers.get(facts["offer"])
        if offer is not None:
            slot = next((s for s in offer.slots if s.id != facts["slot"]), offer.slots[0])
            self.attempt_move(bid, other, offer, slot, facts["sequence"], "")

    @precondition(
        lambda self: any(
            self.clock.now < parse_iso_utc(s.start) <= self.clock.now + timedelta(hours=2)
            for o in self.model.offers.values()
            for s in o.slots
        )
    )
    @rule(learner_index=st.integers(0, 4), pick=st.integers(0, 500))
    def book_soon(self, learner_index: int, pick: int) -> None:
        """Book a slot starting within two hours: what the default notice refuses."""
        now = self.clock.now
        offers = list(self.model.offers.values())
        soon = [
            (offer_index, slot_index)
            for offer_index, offer in enumerate(offers)
            for slot_index, s in enumerate(offer.slots)
            if now < parse_iso_utc(s.start) <= now + timedelta(hours=2)
        ]
        self.book_one(learner_index, *soon[pick % len(soon)], "as offered")

    @rule(hours=st.sampled_from([1, 2, 6, 24, 72, 24 * 15, 24 * 40]))
    def advance_clock(self, hours: int) -> None:
        self.clock.now += timedelta(hours=hours)

    @rule(who=st.integers(0, 4))
    def upkeep(self, who: int) -> None:
        """Time has passed: this person's history that may leave the live document moves to
        the archive (what their own pages and `flask migrate` do)."""
        uid = self.pick_user(who)
        if services.upkeep.maintain(self.repo, uid):
            self.tally("upkeep archived")
        assert not self.repo.schedule(uid).maintenance_due(self.clock.now)
        assert not self.repo.schedule(uid).archiving

    @precondition(lambda self: self.model.bookings)
    @rule(
        booking_index=st.integers(0, 50),
        rater_index=st.integers(0, 5),
        rating=st.sampled_from([RATING_MIN - 1, 1, 5, 7, 10, RATING_MAX + 1]),
        long_feedback=st.booleans(),
    )
    def review(
        self, booking_index: int, rater_index: int, rating: int, long_feedback: bool
    ) -> None:
        booking_id = list(self.model.bookings)[booking_index % len(self.model.bookings)]
        facts = self.model.bookings[booking_id]
        people = [*self.model.users, OUTSIDER]
        rater = people[rater_index % len(people)]
        feedback = "x" * (MAX_FEEDBACK + 1) if long_feedback else "good <i>session</i>"
        if rater not in (facts["teacher"], facts["learner"]):
            expected = "outsider"
        elif facts["status"] != "confirmed":
            expected = "cancelled"
        elif self.clock.now < parse_iso_utc(facts["end"]):
            expected = "not ended"
        elif self.clock.now >= parse_iso_utc(facts["end"]) + REVIEW_WINDOW:
            expected = "window closed"
        elif rater in facts["reviews"]:
            expected = "twice"
        elif facts["marks"].get(rater, attendance.HAPPENED) != attendance.HAPPENED:
            expected = "reported no-show"
        elif not RATING_MIN <= rating <= RATING_MAX:
            expected = "rating out of range"
        elif long_feedback:
            expected = "feedback too long"
        else:
            expected = "saved"
        before = self.docs(facts["teacher"], facts["learner"])
        try:
            services.booking.review(self.repo, rater, booking_id, rating, feedback)
        except ScheduleRefusal:
            assert expected != "saved", "a valid review was refused"
            assert self.docs(facts["teacher"], facts["learner"]) == before
            self.tally(f"review refused: {expected}")
            return
        assert expected == "saved", f"review saved although {expected}"
        facts["reviews"][rater] = (rating, iso_utc(self.clock.now))
        self.tally("review saved")

    # --- did it happen, invitations (issue 21) -------------------------------------------

    # Someone says whether a session happened: one over by now, or one that just ended.
    @precondition(lambda self: self.issue21_steps and self.model.bookings)
    @rule(
        attempts=st.lists(
            st.tuples(
                st.integers(0, 50),
                st.sampled_from(["teacher", "learner", "teacher", "learner", "outsider"]),
                st.sampled_from(
                    [attendance.HAPPENED, attendance.THEY_MISSED, attendance.I_MISSED, "maybe"]
                ),
                # None: no time passes (advance_clock's 15 and 40 days reach past the 7
                # days and the 14); 0: just after the session's end.
                st.sampled_from([None, 0, 0]),
            ),
            min_size=1,
            max_size=4,
        )
    )
    def mark_sessions(self, attempts: list[tuple[int, str, str, int | None]]) -> None:
        for attempt in attempts:
            self.mark_attendance(*attempt)

    def mark_attendance(
        self, booking_index: int, who: str, mark: str, days_after: int | None
    ) -> None:
        """`days_after` None: a session over by now (else any: refused before its end),
        the clock left alone; a number: time passes until that many days after its end (and
        half an hour)."""
        ids = list(self.model.bookings)
        if days_after is None:
            # Sessions open for marks first, else any that ended, else any: a run of the whole
            # file reached no mark at all when the pick ignored whether marks were open.
            now = self.clock.now
            ended = [b for b in ids if parse_iso_utc(self.model.bookings[b]["end"]) <= now]
            open_ = [
                b
                for b in ended
                if self.model.bookings[b]["status"] == "confirmed"
                and now < parse_iso_utc(self.model.bookings[b]["end"]) + attendance.MARK_WINDOW
            ]
            ids = open_ or ended or ids
        else:
            # A confirmed session first, so that its end (where time moves to) opens marks:
            # picking among all, cancelled ones included, left whole runs without one mark
            # once the imports before this test moved the records' order (found in a run of
            # tests/domain with this file).
            ids = [b for b in ids if self.model.bookings[b]["status"] == "confirmed"] or ids
        booking_id = ids[booking_index % len(ids)]
        facts = self.model.bookings[booking_id]
        if days_after is not None:
            moment = parse_iso_utc(facts["end"]) + timedelta(days=days_after, minutes=30)
            self.clock.now = max(self.clock.now, moment)
        outsider = next(
            (u for u in self.model.users if u not in (facts["teacher"], facts["learner"])),
            OUTSIDER,
        )
        actor = facts[who] if who != "outsider" else outsider
        now, end = self.clock.now, parse_iso_utc(facts["end"])
        if actor not in (facts["teacher"], facts["learner"]):
            expected = "outsider"
        elif booking_id not in self.repo.schedule(actor).bookings:
            expected = "archived"
        elif mark not in attendance.MARKS:
            expected = "unknown mark"
        elif facts["status"] != "confirmed":
            expected = "cancelled"
        elif now < end:
            expected = "not ended"
        elif now >= end + attendance.MARK_WINDOW and not self.answering_report(facts, actor):
            expected = "window closed"
        elif mark != attendance.HAPPENED and actor in facts["reviews"]:
            expected = "rated already"
        elif facts["marks"].get(actor) == mark:
            expected = "same again"
        else:
            expected = "marked"
        before = self.docs(facts["teacher"], facts["learner"])
        try:
            services.attendance.mark(self.repo, actor, booking_id, mark)
        except ScheduleRefusal:
            assert expected not in ("marked", "same again"), f"refused although {expected}"
            assert self.docs(facts["teacher"], facts["learner"]) == before
            self.tally(f"mark refused: {expected}")
            return
        assert expected in ("marked", "same again"), f"marked although {expected}"
        if expected == "same again":
            assert self.docs(facts["teacher"], facts["learner"]) == before
        if expected == "marked":
            facts["marks"][actor] = mark
            facts["marked_at"][actor] = now
        self.tally(f"mark: {expected}" if expected != "marked" else f"mark: {mark}")

    def answering_report(self, facts: dict, actor: str) -> bool:
        """Is `actor` within a week of the other person's report that they did not come,
        made while marks were open?"""
        other = facts["learner"] if actor == facts["teacher"] else facts["teacher"]
        if facts["marks"].get(other) != attendance.THEY_MISSED:
            return False
        reported = facts["marked_at"][other]
        if reported >= parse_iso_utc(facts["end"]) + attendance.MARK_WINDOW:
            return False
        return self.clock.now < reported + attendance.REPLY_WINDOW

    # One rule for sending and declining invitations, so that they take few of the steps.
    @precondition(lambda self: self.issue21_steps)
    @rule(
        action=st.sampled_from(["invite", "decline", "decline", "decline as someone else"]),
        first=st.integers(0, 50),
        second=st.integers(0, 4),
        skill=st.sampled_from(SKILLS),
    )
    def invitations(self, action: str, first: int, second: int, skill: str) -> None:
        if action == "invite" and len(self.model.invitations) < 3:
            self.invite(first, second, skill)
        elif action != "invite" and self.model.invitations:
            self.decline(first, action == "decline as someone else")

    def invite(self, teacher_index: int, learner_index: int, skill: str) -> None:
        teacher, learner = self.pick_user(teacher_index), self.pick_user(learner_index)
        if teacher == learner:
            return
        invitation = Notification(
            id=new_id(),
            kind="invited",
            actor=self.model.names[teacher],
            skill=skill,
            created=iso_utc(self.clock.now),
            link=f"/book/{self.model.names[teacher]}?request={new_id()}",
        )
        assert self.repo.invite(learner, invitation)
        self.model.invitations[invitation.id] = {
            "learner": learner,
            "actor": invitation.actor,
            "skill": skill,
            "created": self.clock.now,
            "answered": "",
            "in_time": False,
        }
        self.tally("invited")

    def present(self, learner: str) -> set[str]:
        """Invitations still among the learner's notifications (the newest are kept)."""
        return {n.id for n in self.repo.schedule(learner).notifications}

    def answer_invitations(self, learner: str, actor: str, skill: str, _before: object) -> None:
        shown = self.present(learner)
        for inv_id, inv in self.model.invitations.items():
            if (
                inv["learner"] == learner
                and inv["actor"] == actor
                and not inv["answered"]
                and normalise_skill(inv["skill"]) == normalise_skill(skill)
                and inv_id in shown
            ):
                inv["answered"] = "booked"
                inv["in_time"] = self.clock.now - inv["created"] <= attendance.ANSWER_WITHIN
                self.tally("invitation answered by booking")

    def decline(self, pick: int, as_someone_else: bool) -> None:
        inv_id = list(self.model.invitations)[pick % len(self.model.invitations)]
        inv = self.model.invitations[inv_id]
        who = inv["learner"]
        if as_someone_else:
            who = next((u for u in self.model.users if u != inv["learner"]), OUTSIDER)
        if who != inv["learner"] or inv_id not in self.present(who):
            expected = "unknown"
        elif inv["answered"]:
            expected = "answered already"
        else:
            expected = "declined"
        before = self.docs(who)
        try:
            services.attendance.decline(self.repo, who, inv_id)
        except ScheduleRefusal:
            assert expected != "declined", "a decline was refused"
            assert self.docs(who) == before
            self.tally(f"decline refused: {expected}")
            return
        assert expected == "declined", f"declined although {expected}"
        inv["answered"] = "declined"
        inv["in_time"] = self.clock.now - inv["created"] <= attendance.ANSWER_WITHIN
        self.tally("invitation declined")

    # --- invariants ----------------------------------------------------------------------

    def archived_of(self, uid: str) -> dict[str, dict[str, dict]]:
        """This person's archived records by kind and id."""
        found: dict[str, dict[str, dict]] = {kind: {} for kind in archive.KINDS}
        for key, record in self.repo.archived_records(uid).items():
            _, kind, rid = key.split("/")
            found[kind][rid] = record
        return found

    @invariant()
    def store_agrees_with_model_and_itself(self) -> None:
        if not self.model.users:
            return
        now = self.clock.now
        found = self.docs(*self.model.users)
        schedules = {uid: self.repo.schedule(uid) for uid in self.model.users}
        assert all(found[user_key(uid)] for uid in self.model.users)

        # Every record in exactly one place: the live document or the archive.
        copies: dict[str, dict[str, Booking]] = {}
        for uid, schedule in schedules.items():
            stored = self.archived_of(uid)
            if any(stored.values()):
                self.tally("history archived")
            old = {bid: Booking.from_dict(b) for bid, b in stored["bookings"].items()}
            assert not set(old) & set(schedule.bookings), "a booking both live and archived"
            for b in old.values():
                assert b.end_at <= now - limits.LIVE_PAST, "archived before its time"
            copies[uid] = {**old, **schedule.bookings}
            for kind, live, model in (
                ("offers", schedule.offers, self.model.offers),
                ("requests", schedule.requests, self.model.requests),
            ):
                assert not set(live) & set(stored[kind]), f"{kind} both live and archived"
                assert set(live) | set(stored[kind]) == {
                    rid for rid, item in model.items() if item.owner == uid
                }
            # The archive's counters are what its records add up to.
            assert schedule.counters == archive.counters_of(uid, stored["bookings"].values())

        taken: dict[tuple[str, str, str], str] = {}
        for uid, schedule in schedules.items():
            # No pending hold or move in flight survives a completed call.
            assert not schedule.pending_holds(), f"pending hold left in {uid}'s schedule"
            assert not schedule.moves_in_flight(), f"move in flight left in {uid}'s schedule"
            for kind, weeks in schedule.late.items():
                assert len(weeks) <= limits.MAX_LATE_WEEKS, (uid, kind)
            # Exactly the model's bookings of this person, with the same facts.
            mine = {
                bid for bid, b in self.model.bookings.items() if uid in (b["teacher"], b["learner"])
            }
            every = copies[uid]
            assert set(every) == mine
            for bid, b in every.items():
                facts = self.model.bookings[bid]
                assert (b.status, b.start, b.end, b.offer_id, b.slot_id) == (
                    facts["status"],
                    facts["start"],
                    facts["end"],
                    facts["offer"],
                    facts["slot"],
                )
                assert {r: (v.rating, v.created) for r, v in b.reviews.items()} == facts["reviews"]
                # Did it happen: the model's marks, the same on the other copy (below); no
                # rating beside its rater's no-show report.
                assert {r: m["mark"] for r, m in b.attendance.items()} == facts["marks"]
                for rater in b.reviews:
                    assert not attendance.reported_no_show(b, rater), (bid, rater)
                assert (b.sequence, b.cancel_hours, b.cancelled_late) == (
                    facts["sequence"],
                    facts["cancel_hours"],
                    facts["cancelled_late"],
                )
                # The other person's copy (live or archived) says the same.
                other = copies[b.other(uid)][bid]
                assert (
                    other.status,
                    other.start,
                    other.end,
                    other.offer_id,
                    other.slot_id,
                    other.sequence,
                    other.cancelled_late,
                    other.reviews,
                    {r: (m["mark"], m["n"]) for r, m in other.attendance.items()},
                ) == (
                    b.status,
                    b.start,
                    b.end,
                    b.offer_id,
                    b.slot_id,
                    b.sequence,
                    b.cancelled_late,
                    b.reviews,
                    {r: (m["mark"], m["n"]) for r, m in b.attendance.items()},
                )
                if b.active and b.teacher == uid:
                    slot = (uid, b.offer_id, b.slot_id)
                    assert slot not in taken, f"slot {slot} booked by {taken[slot]} and {bid}"
                    taken[slot] = bid
            # Nobody is in two places at once.
            live = sorted((b.start_at, b.end_at, b.id) for b in every.values() if b.active)
            for (_, end_a, a), (start_b, _, b) in itertools.pairwise(live):
                assert end_a <= start_b, f"{uid} has overlapping sessions {a} and {b}"
            # Free slots never include a slot overlapping this person's live time, nor one
            # their booking rules refuse.
            for _offer, slot in schedule.free_slots(now):
                assert slot.start > now
                assert not any(overlaps(slot.start, slot.end, s, e) for s, e, _ in live)
                assert not self.rule_refusal(uid, slot.start, slot.end, now), slot

        # Stats: recomputed from the model, visible reviews only.
        for uid, schedule in schedules.items():
            taught = attended = 0
            ratings = []
            for b in self.model.bookings.values():
                if b["status"] != "confirmed" or parse_iso_utc(b["end"]) > now:
                    continue
                held = model_outcome(b, now) == "held"
                if uid == b["teacher"]:
                    taught += held
                    other = b["learner"]
                elif uid == b["learner"]:
                    attended += held
                    other = b["teacher"]
                else:
                    continue
                if other in b["reviews"] and (
                    uid in b["reviews"] or now >= parse_iso_utc(b["end"]) + REVIEW_WINDOW
                ):
                    ratings.append(b["reviews"][other][0])
            stats = schedule.stats(now)
            assert (stats.taught, stats.attended, stats.rating_count) == (
                taught,
                attended,
                len(ratings),
            )
            expected = round(sum(ratings) / len(ratings), 1) if ratings else 0.0
            assert stats.rating_average == pytest.approx(expected)
            # What a booking page shows of the teacher: the same rating, without the counting.
            rating = schedule.rating(now)
            assert (rating.rating_count, rating.rating_average) == (
                stats.rating_count,
                stats.rating_average,
            )
        total = [s.stats(now) for s in schedules.values()]
        assert sum(s.taught for s in total) == sum(s.attended for s in total)

        # The reliability record and its per-week counters, recomputed from the events.
        first, last = week_of(now - limits.LATE_WINDOW), week_of(now)

        def in_window(instant: datetime) -> bool:
            return first <= week_of(instant) <= last

        # An invitation pushed out of the kept notifications while still open stops counting
        # (domain/attendance.py: forget_invitation); the step that pushed it out ran now.
        for inv_id, i in self.model.invitations.items():
            shown = {n.id for n in schedules[i["learner"]].notifications}
            if not i["answered"] and "forgotten" not in i and inv_id not in shown:
                i["forgotten"] = now - i["created"] < attendance.ANSWER_WITHIN
        for uid, schedule in schedules.items():
            mine = [b for b in self.model.bookings.values() if uid in (b["teacher"], b["learner"])]
            held = sum(
                1
                for b in mine
                if in_window(parse_iso_utc(b["start"])) and model_outcome(b, now) == "held"
            )
            no_shows = sum(
                1
                for b in mine
                if in_window(parse_iso_utc(b["start"]))
                and model_outcome(b, now) == "missed"
                and model_absent(b) == uid
            )
            invitations = [
                i
                for i in self.model.invitations.values()
                if i["learner"] == uid and in_window(i["created"]) and not i.get("forgotten")
            ]
            answered = sum(1 for i in invitations if i["in_time"])
            record = schedule.reliability_record(now)
            assert (record.held, record.no_shows, record.answered) == (held, no_shows, answered)
            shown = {n.id for n in schedule.notifications}
            waiting = sum(
                1
                for inv_id, i in self.model.invitations.items()
                if i["learner"] == uid
                and not i["answered"]
                and now - i["created"] < attendance.ANSWER_WITHIN
                and inv_id in shown
            )
            assert record.invitations == len(invitations) - waiting, uid
            # The counters, week by week: archived sessions by their final outcome, and
            # the invitations sent and answered.
            counters = schedule.reliability
            assert len(counters) <= limits.MAX_LATE_WEEKS
            archived = [Booking.from_dict(r) for r in self.archived_of(uid)["bookings"].values()]
            expected: dict[str, dict[str, int]] = {}

            def add(week: str, name: str, into: dict[str, dict[str, int]] = expected) -> None:
                if first <= week <= last:
                    row = into.setdefault(week, {})
                    row[name] = row.get(name, 0) + 1

            for b in archived:
                facts = self.model.bookings[b.id]
                result = model_outcome(facts, now)
                if result == "held":
                    add(week_of(b.start_at), "held")
                elif result == "missed" and model_absent(facts) == uid:
                    add(week_of(b.start_at), "no_shows")
            for i in invitations:
                add(week_of(i["created"]), "invitations")
                if i["in_time"]:
                    add(week_of(i["created"]), "answered")
            assert {w: c for w, c in counters.items() if first <= w <= last} == expected, uid

    # --- waitlists (issue 21) ----------------------------------------------------------------

    def live_line(self, teacher: str, skill_key: str) -> list[str]:
        moment = iso_utc(self.clock.now)
        return [
            who for who, ends in self.model.lines.get((teacher, skill_key), []) if ends > moment
        ]

    def live_waits_of(self, learner: str) -> set[tuple[str, str]]:
        moment = iso_utc(self.clock.now)
        return {
            key
            for key, line in self.model.lines.items()
            for who, ends in line
            if who == learner and ends > moment
        }

    def drop_from_line(self, teacher: str, skill_key: str, learner: str) -> None:
        key = (teacher, skill_key)
        self.model.lines[key] = [e for e in self.model.lines.get(key, []) if e[0] != learner]

    def join_one(self, request: LearnRequest, teacher: str) -> str:
        """`request`'s owner joins `teacher`'s waitlist: the model predicts, the service
        must agree. Returns the outcome."""
        learner, key = request.owner, request.skill_key
        moment = iso_utc(self.clock.now)
        ends = max((b for _, b in request.windows if b > moment), default="")
        in_line = self.live_line(teacher, key)
        total = sum(len(self.live_line(t, k)) for t, k in self.model.lines if t == teacher)
        if teacher == learner:
            expected = "own"
        elif not ends:
            expected = "passed"
        elif learner in in_line:
            expected = "again"
        elif len(self.live_waits_of(learner)) >= limits.MAX_WAITLISTS_PER_LEARNER:
            expected = "learner cap"
        elif not self.offers_time_in(teacher, key, request.windows, moment):
            expected = "nothing to wait for"
        elif len(in_line) >= limits.MAX_WAITING_PER_SKILL:
            expected = "line full"
        elif total >= limits.MAX_WAITING_PER_TEACHER:
            expected = "teacher full"
        else:
            expected = "joined"
        learner_user, teacher_user = self.repo.get_user(learner), self.repo.get_user(teacher)
        assert learner_user is not None and teacher_user is not None
        before = self.docs(teacher)
        try:
            changed = services.waitlist.join(self.repo, learner_user, teacher_user, request)
        except ScheduleRefusal:
            assert expected not in ("joined", "again"), f"a join was refused ({expected})"
            assert self.docs(teacher) == before, f"refused ({expected}) but changed"
            self.tally(f"waitlist refused: {expected}")
            return expected
        assert expected in ("joined", "again"), f"joined although {expected}"
        assert changed == (expected == "joined")
        if expected == "joined":
            self.drop_from_line(teacher, key, learner)  # an ended entry of theirs, if any
            self.model.lines.setdefault((teacher, key), []).append((learner, ends))
        self.tally(f"waitlist {expected}")
        return expected

    def offers_time_in(self, teacher: str, key: str, windows: list[list[str]], moment: str) -> bool:
        """Does `teacher` offer `key` (any offer, when their tags list it) at a future time
        overlapping the windows, free or not: a line worth joining."""
        tagged = key in {normalise_skill(t) for t in self.model.teach[teacher]}
        return any(
            slot.start > moment and slot.start < b and a < slot.end
            for offer in self.model.offers.values()
            if offer.owner == teacher and (tagged or offer.skill_key == key)
            for slot in offer.slots
            for a, b in windows
        )

    # One rule for the four waitlist steps, so that they take one rule's share of the
    # steps, not four: the other outcomes of MUST_HAPPEN need theirs. Off on the fake
    # Replit DB, whose 24 examples have no share to spare (its invariants still run).
    @precondition(lambda self: self.issue21_steps)
    @rule(
        step=st.sampled_from(["join", "free", "free", "leave", "settle"]),
        index=st.integers(0, 50),
        who=st.integers(0, 4),
        flag=st.booleans(),
    )
    def waitlist_step(self, step: str, index: int, who: int, flag: bool) -> None:
        if step == "join" and self.model.requests:
            self.join_waitlist(index, who)
        elif step == "free" and self.upcoming():
            self.wait_then_free(index, who, flag)
        elif step == "leave" and any(self.model.lines.values()):
            self.leave_waitlist(index)
        elif step == "settle":
            self.settle_waitlist(who)

    def join_waitlist(self, request_index: int, teacher_index: int) -> None:
        requests = list(self.model.requests.values())
        request = requests[request_index % len(requests)]
        # Mostly a teacher with time in the window (the only lines open to join), sometimes
        # anyone (refused: nothing to wait for).
        moment = iso_utc(self.clock.now)
        teaching = [
            u
            for u in self.model.users
            if self.offers_time_in(u, request.skill_key, request.windows, moment)
        ]
        if teaching and teacher_index % 4:
            teacher = teaching[teacher_index % len(teaching)]
        else:
            teacher = self.pick_user(teacher_index)
        self.join_one(request, teacher)

    def leave_waitlist(self, pick: int) -> None:
        entries = [(t, k, who) for (t, k), line in self.model.lines.items() for who, _ in line]
        teacher, key, learner = entries[pick % len(entries)]
        assert services.waitlist.leave(self.repo, learner, teacher, key)
        self.drop_from_line(teacher, key, learner)
        assert (teacher, key) not in self.live_waits_of(learner)
        self.tally("waitlist left")

    def wait_then_free(self, booking_index: int, learner_index: int, by_teacher: bool) -> None:
        """Someone asks for a booked session's skill around its time, joins the teacher's
        waitlist, and the session is cancelled: if the freed slot is free and they are the
        only one who could want it, it is held for them, in the cancel's own step."""
        upcoming = self.upcoming()
        bid = upcoming[booking_index % len(upcoming)]
        facts = self.model.bookings[bid]
        teacher = facts["teacher"]
        # Someone other than the two (returning whenever the pick was one of them left a
        # random-seed run with no hold given at all).
        others = [u for u in self.model.users if u not in (teacher, facts["learner"])]
        if not others:
            return
        learner = others[learner_index % len(others)]
        start, end = parse_iso_utc(facts["start"]), parse_iso_utc(facts["end"])
        request = LearnRequest(
            id=new_id(),
            owner=learner,
            user=self.model.names[learner],
            skill=facts["skill"],
            mode="either",
            timezone="UTC",
            dates=[start.date().isoformat()],
            time_ranges=[[f"{start:%H:%M}", f"{end:%H:%M}"]],
            timestamp=iso_utc(self.clock.now),
            windows=[[facts["start"], facts["end"]]],
        )
        # Not saved: joining needs only what the request asks (the page passes the saved one),
        # and saving would mostly meet the shrunk limit on open requests.
        if self.join_one(request, teacher) not in ("joined", "again"):
            return
        people = [*self.model.users, OUTSIDER]
        actor = teacher if by_teacher else facts["learner"]
        self.cancel(list(self.model.bookings).index(bid), people.index(actor), "")
        ref = f"{facts['offer']}:{facts['slot']}"
        schedule = self.repo.schedule(teacher)
        now = self.clock.now
        free = {f"{o.id}:{s.id}" for o, s in schedule.free_slots(now, include_held=True)}
        held = schedule.effective_holds(now)
        holding = {h.learner for h in held.values() if h.ref != ref}
        if ref in free and learner not in holding:
            assert ref in held, "a freed slot someone waits for was not held"
            self.tally("hold given")
        if ref in held and facts["offer"] in self.model.offers:
            # Someone books it at once: its holder (the claim takes it), or anyone else (the
            # claim refuses it); book_one predicts which from the hold.
            offer = self.model.offers[facts["offer"]]
            slot_index = next(i for i, x in enumerate(offer.slots) if x.id == facts["slot"])
            holder = held[ref].learner
            others = [u for u in self.model.users if u not in (teacher, holder)]
            booker = holder if by_teacher or not others else others[learner_index % len(others)]
            self.book_one(
                self.model.users.index(booker) if booker in self.model.users else 0,
                list(self.model.offers).index(offer.id),
                slot_index,
                "as offered",
            )

    def settle_waitlist(self, who: int) -> None:
        """What a page reading the teacher, or the sender at a hold's end, does: expired holds
        pass on, and every hold is announced."""
        teacher = self.pick_user(who)
        schedule = services.waitlist.settle(self.repo, teacher)
        assert not schedule.holds_due(self.clock.now)
        if schedule.holds:
            self.tally("holds settled")

    @invariant()
    def waitlists_and_holds_are_rightful_and_bounded(self) -> None:
        now = self.clock.now
        moment = iso_utc(now)
        for uid in self.model.users:
            schedule = self.repo.schedule(uid)
            live = [w for w in schedule.waitlist if w.ends > moment]
            assert len(live) <= limits.MAX_WAITING_PER_TEACHER
            per_skill: dict[str, int] = {}
            for w in live:
                per_skill[w.skill_key] = per_skill.get(w.skill_key, 0) + 1
            assert all(n <= limits.MAX_WAITING_PER_SKILL for n in per_skill.values())
            assert len(schedule.my_waitlists(now)) <= limits.MAX_WAITLISTS_PER_LEARNER
            # Both sides agree with the model: the teacher's lines, the learner's mirror.
            assert {(w.learner, w.skill_key) for w in live} == {
                (who, k) for (t, k) in self.model.lines if t == uid for who in self.live_line(t, k)
            }
            assert {(w.teacher, w.skill_key) for w in schedule.my_waitlists(now)} == (
                self.live_waits_of(uid)
            )
            # No slot is held and booked at once; a hold is its holder's only one here, and
            # its holder is in the line.
            booked = {
                f"{b.offer_id}:{b.slot_id}"
                for b in schedule.bookings.values()
                if b.active and b.teacher == uid
            }
            assert not booked & {h.ref for h in schedule.holds}, "a slot held and booked"
            held = schedule.effective_holds(now)
            holders = [h.learner for h in held.values()]
            assert len(holders) == len(set(holders)), "two holds for one person"
            waiting = {(w.learner, w.skill_key) for w in live}
            for ref, hold in held.items():
                assert ref not in booked and hold.learner != uid and hold.until > moment
                assert (hold.learner, hold.skill_key) in waiting, "held for someone not waiting"

    @invariant()
    def skill_index_is_what_reindex_would_write(self) -> None:
        if not self.model.users:
            return
        stored = {
            key.removeprefix("skill/"): doc
            for key, doc in self.store.get_many(self.store.keys("skill/")).items()
        }
        rebuilt = rebuild_skill_index(self.store)
        assert set(stored) == set(rebuilt)
        for key, doc in stored.items():
            want = rebuilt[key]
            for role in ("teachers", "learners"):
                assert doc[role] == want[role], (key, role)
            assert set(doc["taggers"]) == set(want["taggers"]), key
            # Labels are "first spelling seen": any spelling of the same skill will do.
            assert normalise_skill(doc["label"]) == key
            for label in doc["taggers"].values():
                assert normalise_skill(label) == key
        # And from the model's side: every live offer and request is findable under its skill.
        live = {uid: self.repo.schedule(uid) for uid in self.model.users}
        for offer in self.model.offers.values():
            if offer.id in live[offer.owner].offers:
                assert offer.id in stored[offer.skill_key]["teachers"][offer.owner]
        for request in self.model.requests.values():
            if request.id in live[request.owner].requests:
                assert request.id in stored[request.skill_key]["learners"][request.owner]
        for uid, tags in self.model.teach.items():
            for tag in tags:
                assert uid in stored[normalise_skill(tag)]["taggers"]

    @invariant()
    def slot_index_is_what_reindex_would_write_and_matches_agree(self) -> None:
        if not self.model.users:
            return
        now = self.clock.now
        first_future = f"{epoch(now) + 1:010d}"  # buckets shed past rows only when written
        stored: dict[tuple[str, str], list[str]] = {}
        for key, doc in self.store.get_many(self.store.keys("slots/")).items():
            _, skill, bucket, *piece = key.split("/")
            rows = bucket_rows(doc)
            # No piece passes its cap, whoever wrote to it.
            assert len(rows) <= PIECE_ROWS, f"{key} holds {len(rows)} rows"
            future = [line for line in rows if line[:10] >= first_future]
            stored.setdefault((skill, bucket), []).extend(future)
            for teacher in {row_uid(line) for line in future}:
                where = self.teacher_pieces.setdefault((skill, bucket, teacher), set())
                where.add(piece[0] if piece else "0")
        # Each teacher's rows of a bucket in one piece.
        for place, pieces in self.teacher_pieces.items():
            assert len(pieces) == 1, f"{place} is in pieces {sorted(pieces)}"
        self.teacher_pieces.clear()
        people = list(everyone(self.store))  # read once: the Replit DB run pays per request
        weekly = weekly_slot_buckets(self.store)
        rebuilt: dict[tuple[str, str], list[str]] = {}
        for key, doc in slot_index_records(people, now, weekly, PIECE_ROWS).items():
            _, skill, bucket, *_ = key.split("/")
            rebuilt.setdefault((skill, bucket), []).extend(bucket_rows(doc))
        assert {k: sorted(v) for k, v in stored.items() if v} == {
            k: sorted(v) for k, v in rebuilt.items() if v
        }
        if self.store.name == "replit":
            return  # its one-bucket layout is matched in test_bench_index.py, far cheaper
        # One long window, and short ones that slots start before, run into and past.
        for windows in (
            [(now, now + timedelta(days=12))],
            [(now + timedelta(days=d, hours=9), now + timedelta(days=d, hours=11)) for d in (1, 4)],
        ):
            for skill in sorted({normalise_skill(s) for s in SKILLS}):
                scanned = scan(people, now, skill, windows, "either", "")
                for limit in (None, 1):
                    found = services.matching.find_teachers(
                        self.repo, skill, windows, "either", "", limit=limit
                    )
                    assert signature(found) == signature(scanned[:limit]), (skill, limit)
                # The match page's question: a page, and whether anyone follows it.
                for count in (1, 2):
                    page, more = services.matching.match_page(
                        self.repo, skill, windows, "either", "", count
                    )
                    assert signature(page) == signature(scanned[:count]), (skill, count)
                    assert more == (len(scanned) > count), (skill, count)


# --- running it on each backend ---------------------------------------------------------


def model_absent(facts: dict) -> str | None:
    """Who the model's no-show reports name, when they agree on one person."""
    absent = set()
    for marker, mark in facts["marks"].items():
        if mark == attendance.THEY_MISSED:
            absent.add(facts["learner"] if marker == facts["teacher"] else facts["teacher"])
        elif mark == attendance.I_MISSED:
            absent.add(marker)
    return next(iter(absent)) if len(absent) == 1 else None


def model_outcome(facts: dict, now: datetime) -> str:
    """Issue 21's rule, written again from its text for the model: held when someone
    confirmed and nobody reported a no-show, or nobody marked it for 7 days; disputed when
    they disagree; missed when the reports agree on who did not come."""
    end = parse_iso_utc(facts["end"])
    if facts["status"] != "confirmed" or now < end:
        return "open"
    marks = facts["marks"]
    if not marks:
        return "held" if now >= end + timedelta(days=7) else "unconfirmed"
    reports = [m for m in marks.values() if m != attendance.HAPPENED]
    if not reports:
        return "held"
    if attendance.HAPPENED in marks.values() or model_absent(facts) is None:
        return "disputed"
    return "missed"


def _machine_for(
    open_store: Callable[[], Store], dispose: Callable[[Store], None], issue21_steps: bool = True
) -> type:
    return type(
        "RepoMachineOnBackend",
        (RepoMachine,),
        {
            "open_store": staticmethod(open_store),
            "dispose_store": staticmethod(dispose),
            "totals": {},
            "issue21_steps": issue21_steps,
        },
    )


def _run(machine: type, config: settings, must: set[str]) -> None:
    with pytest.MonkeyPatch.context() as patch:
        for name, value in LIMITS.items():
            patch.setattr(limits, name, value)
        run_state_machine_as_test(machine, settings=config)
    print("outcomes:", dict(sorted(machine.totals.items())))  # shown with -s
    assert set(machine.totals) >= must, must - set(machine.totals)


def _scratch() -> Path:
    shm = Path("/dev/shm")
    return Path(tempfile.mkdtemp(prefix="skillswap-sm-", dir=shm if shm.is_dir() else None))


def _sqlite_stores() -> tuple[Path, Callable[[], Store], Callable[[Store], None]]:
    from skillswap.store.sqlite import SQLiteStore

    folder = _scratch()
    numbers = itertools.count()

    def open_store() -> Store:
        return SQLiteStore(str(folder / f"kv{next(numbers)}.db"))

    def dispose(store: Store) -> None:
        store.close()
        for suffix in ("", "-wal", "-shm"):
            Path(store.path + suffix).unlink(missing_ok=True)  # type: ignore[attr-defined]

    return folder, open_store, dispose


# The issue-21 steps get a machine of their own: sharing one budget with every other step,
# different outcomes went unreached from run to run (record ids are random).
# "mark: happened" is counted, not required: 0 in one run (tests/web/test_attendance.py, the
# marking race and the browser journey pin it).
ISSUE21_OUTCOMES = {o for o in MUST_HAPPEN_ON_SQLITE if o.split(":")[0] in ISSUE21_KINDS} - {
    "mark: happened"
}


@pytest.mark.timeout(240)
def test_repository_state_machine_on_sqlite() -> None:
    folder, open_store, dispose = _sqlite_stores()
    try:
        _run(
            _machine_for(open_store, dispose, issue21_steps=False),
            SQLITE_SETTINGS,
            MUST_HAPPEN_ON_SQLITE - ISSUE21_OUTCOMES,
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.timeout(240)
def test_issue21_state_machine_on_sqlite() -> None:
    """Waitlists, did-it-happen and invitations among bookings, cancels and time passing,
    every invariant checked after each step."""
    folder, open_store, dispose = _sqlite_stores()
    try:
        _run(_machine_for(open_store, dispose), SQLITE_SETTINGS, ISSUE21_OUTCOMES | {"booked"})
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.timeout(240)
def test_repository_state_machine_on_fake_replit_db(fake_replitdb, tmp_path: Path) -> None:
    from skillswap.store.replit import ReplitStore

    url_file = fake_replitdb.write_url_file(tmp_path / "replitdb")

    def open_store() -> Store:
        fake_replitdb.reset()  # empty for every example
        return ReplitStore(url_file=str(url_file), lock_path=str(tmp_path / "replit.lock"))

    def dispose(store: Store) -> None:
        store.close()

    _run(_machine_for(open_store, dispose, issue21_steps=False), REPLIT_SETTINGS, MUST_HAPPEN)


def test_the_model_dates_cover_the_dst_changes() -> None:
    """The offers' date range (START + 0..9 days) spans Berlin's gap and Lord Howe's fold."""
    last = START.date() + timedelta(days=9)
    assert START.date() <= date(2027, 3, 28) <= last
    assert START.date() <= date(2027, 4, 4) <= last

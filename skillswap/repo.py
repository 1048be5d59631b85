"""The repository: the only code that knows keys, record layout and indexes.

Key scheme (few fat keys, so a 1,000-person community fits Replit DB's 5,000 keys):

    user/<id>            profile and credentials (User)
    username/<name>      {"uid": id}   claimed with put_new, never reused
    email/<address>      {"uid": id}   claimed with put_new; freed when the account is deleted
    deleted-email/<hmac> {"uid", "deleted"}   a deleted account's email as a keyed hash
                         (HMAC-SHA256 with SECRET_KEY): which address had an account can be
                         checked by whoever has the address, yet the store keeps none
    schedule/<id>        everything time-bound for one person: offers, requests, bookings,
                         reviews. Changed only through atomic `update`, so checking a slot and
                         claiming it happen in one step.
    skill/<normalised>   index: who teaches / wants to learn a skill (derived; `flask reindex`)
    slots/<normalised>/<bucket>[/<piece>]
                         index: the skill's published future slots, sorted by start, one
                         bucket per week (`all` where keys are scarce), stored in pieces of at
                         most SLOT_PIECE_ROWS rows; derived, see skillswap/domain/indexes.py
    archive/<owner>/<quarter>/<piece>
                         history that left the live documents (domain/archive.py): one
                         series of pieces per person, or per quarter shared by everyone
                         (owner "all") where keys are scarce; pieces of at most
                         ARCHIVE_PIECE_BYTES
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import secrets
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from skillswap.domain import archive, indexes, limits, logins
from skillswap.domain.matching import (
    free_slots,
    mode_compatible,
    normalise_skill,
    slots_in_windows,
)
from skillswap.domain.schedule import (
    Booking,
    LearnRequest,
    Notification,
    Offer,
    Review,
    Schedule,
    ScheduleRefusal,
    Stats,
)
from skillswap.domain.times import Slot, iso_utc, merge_intervals, parse_iso_utc
from skillswap.domain.users import User
from skillswap.store import Store, StoreError, StoreLimitError
from skillswap.store.codec import encoded_size

Clock = Callable[[], datetime]
T = TypeVar("T")
ACCOUNT_DELETED = "account deleted"  # the reason the other person sees on cancelled sessions
# A hold younger than this may belong to a booking still in flight in another worker.
HOLD_GRACE = timedelta(seconds=60)
SHARED = "all"  # the owner of archive pieces shared by everyone, where keys are scarce
log = logging.getLogger(__name__)
# Teachers confirmed beyond a page in the first batch: a few may turn out booked.
CONFIRM_SLACK = 2


def _instant(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


@dataclass
class Match:
    """A teacher for a learning request: who, how they are rated, and which slots fit."""

    user: User
    stats: Stats
    slots: list[tuple[Offer, Slot]]


def match_person(
    user: User,
    schedule: Schedule,
    skill: str,
    windows: list[tuple[datetime, datetime]],
    wanted_mode: str,
    now: datetime,
) -> Match | None:
    """This person as a teacher for the request, or None when none of their free time fits.

    The same answer as filtering `schedule.teachable_slots` by mode and windows (the naive
    matcher in bench/naive.py does exactly that, and the tests compare the two), but only the
    slots near the windows are parsed and checked against their bookings."""
    merged = merge_intervals(windows)
    if not merged:
        return None
    # Stored times are ISO UTC text: a day's margin keeps this cheap text filter safely wide.
    low = iso_utc(max(now, merged[0][0]) - timedelta(days=1))
    high = iso_utc(merged[-1][1] + timedelta(days=1))
    tagged = skill in {normalise_skill(tag) for tag in user.teach}
    near = [
        (offer, stored.as_slot())
        for offer in schedule.offers.values()
        if (tagged or offer.skill_key == skill) and mode_compatible(offer.mode, wanted_mode)
        for stored in offer.slots
        if low <= stored.start <= high
    ]
    if not near:
        return None
    inside = slots_in_windows([slot for _, slot in near], merged)
    free = set(free_slots(inside, schedule.busy(), now))
    fitting = sorted(
        ((offer, slot) for offer, slot in near if slot in free),
        key=lambda pair: (pair[1].start, pair[1].end, pair[0].id),
    )
    return Match(user, schedule.stats(now), fitting) if fitting else None


def rank_matches(matches: Iterable[Match]) -> list[Match]:
    """Soonest fitting slot first, then the better rated, then by name."""
    return sorted(
        matches, key=lambda m: (m.slots[0][1].start, -m.stats.rating_average, m.user.username)
    )


class UsernameTaken(Exception):
    pass


class EmailTaken(Exception):
    pass


class _TooBig(limits.LimitReached):
    """A growing change would pass the growth budget (Repository.change_schedule)."""


def new_id() -> str:
    return secrets.token_hex(8)


def user_key(uid: str) -> str:
    return f"user/{uid}"


def username_key(username: str) -> str:
    return f"username/{username.lower()}"


def email_key(email: str) -> str:
    return f"email/{email.strip().lower()}"


def deleted_email_key(secret: str, email: str) -> str:
    address = email.strip().lower().encode()
    return f"deleted-email/{hmac.new(secret.encode(), address, hashlib.sha256).hexdigest()}"


def schedule_key(uid: str) -> str:
    return f"schedule/{uid}"


def skill_key(normalised: str) -> str:
    return f"skill/{normalised}"


def slots_key(normalised: str, bucket: str, piece: int = 0) -> str:
    """Piece 0 of a bucket is the bucket's own key; overflow pieces are numbered after it."""
    base = f"slots/{normalised}/{bucket}"
    return base if piece == 0 else f"{base}/{piece}"


def archive_key(owner: str, period: str, piece: int) -> str:
    return f"archive/{owner}/{period}/{piece:03d}"


def archive_prefix(owner: str, period: str = "") -> str:
    return f"archive/{owner}/{period}/" if period else f"archive/{owner}/"


def weekly_slot_buckets(store: Store) -> bool:
    """One slot-index bucket per skill and week, except where keys are scarce (Replit DB's
    5,000 would not hold a key per skill and week: one bucket per skill there)."""
    return store.budget is None


def shared_archives(store: Store) -> bool:
    """Archive pieces per person, or, where keys are scarce, per quarter for everyone."""
    return store.budget is not None


def slot_index_records(
    people: Iterable[tuple[User, Schedule]],
    now: datetime,
    weekly: bool,
    cap: int = limits.SLOT_PIECE_ROWS,
) -> dict[str, dict]:
    """Every slot-index document as the primary records say it should be."""
    built = indexes.build_slot_index(people, now, weekly, cap)
    return {slots_key(skill, bucket, piece): doc for (skill, bucket, piece), doc in built.items()}


class Repository:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        secret: str = "",
        *,
        slot_piece_rows: int = limits.SLOT_PIECE_ROWS,
        archive_piece_bytes: int = limits.ARCHIVE_PIECE_BYTES,
    ) -> None:
        self.store = store
        self.clock = clock
        self.secret = secret  # keys the hash of deleted accounts' emails (SECRET_KEY)
        self.weekly_slots = weekly_slot_buckets(store)
        self.shared_archives = shared_archives(store)
        # Pieces stay well inside the store's value limit, whatever it is set to (a row of
        # the slot index is about 65 bytes).
        self.slot_piece_rows = min(slot_piece_rows, store.max_value_bytes // 128)
        if self.shared_archives:
            archive_piece_bytes = min(archive_piece_bytes, limits.SHARED_ARCHIVE_PIECE_BYTES)
        self.archive_piece_bytes = min(archive_piece_bytes, store.max_value_bytes // 2)
        self.growth_budget = limits.growth_budget(store.max_value_bytes)
        # Owners whose live document turned out due for upkeep during this thread's current
        # operation; the operation settles them when it is done (see `_upkeep`).
        self._due = threading.local()

    # --- users -------------------------------------------------------------------------

    def create_user(self, username: str, email: str, password_hash: str, timezone: str) -> User:
        """Claim the username and email atomically, then write the profile.

        A crash between the claims and the profile leaves a claim pointing at no user; it
        blocks that name (names are never reused anyway) and `flask reindex` reports it.
        """
        uid = new_id()
        if not self.store.put_new(username_key(username), {"uid": uid}):
            raise UsernameTaken(username)
        if not self.store.put_new(email_key(email), {"uid": uid}) and not self._reclaim_email(
            email, uid
        ):
            # The username claim was never a real account, so it is safe to release.
            self.store.delete(username_key(username))
            raise EmailTaken(email)
        user = User(
            id=uid,
            username=username.lower(),
            email=email.strip().lower(),
            password_hash=password_hash,
            timezone=timezone,
            created=iso_utc(self.clock()),
        )
        self.store.put(user_key(uid), user.to_dict())
        return user

    def _reclaim_email(self, email: str, uid: str) -> bool:
        """Claim an email whose claim is a deleted account's tombstone, as written in clear
        before deletion freed the address; of racing sign-ups exactly one gets it."""
        claimed: list[bool] = []

        def take(current: dict | None) -> dict | None:
            claimed[:] = [current is None or "deleted" in current]
            return {"uid": uid} if claimed[0] else current

        self.store.update(email_key(email), take)
        return claimed[0]

    def capacity_problem(self, what: str) -> str | None:
        """Where the store has a hard ceiling (Replit DB: 5,000 keys, 50 MiB), growth stops at
        STORE_CEILING_SHARE of it, so the people already here can go on booking and reviewing.
        `what` is what is refused ("new members", "new offers")."""
        budget = self.store.budget
        if budget is None:
            return None
        used = self.store.usage()
        share = limits.STORE_CEILING_SHARE
        if used.keys < share * budget.max_keys and used.bytes < share * budget.max_bytes:
            return None
        log.error(
            "refusing %s: the store holds %d of %d keys and %d of %d bytes; move to "
            "PostgreSQL (README: Moving to PostgreSQL)",
            what,
            used.keys,
            budget.max_keys,
            used.bytes,
            budget.max_bytes,
        )
        return (
            f"This SkillSwap community has outgrown its Replit Database ({used.keys:,} of "
            f"{budget.max_keys:,} keys, {used.bytes / 2**20:.1f} of "
            f"{budget.max_bytes / 2**20:.0f} MiB), so it takes no {what} for now. Everything "
            "already here keeps working. Whoever runs this site can move it to PostgreSQL "
            "(see the README, “Moving to PostgreSQL”)."
        )

    def get_user(self, uid: str) -> User | None:
        data = self.store.get(user_key(uid))
        return User.from_dict(data) if data else None

    def get_users(self, uids: list[str]) -> dict[str, User]:
        found = self.store.get_many([user_key(u) for u in uids])
        return {data["id"]: User.from_dict(data) for data in found.values()}

    def find_user(self, username_or_email: str) -> User | None:
        text = username_or_email.strip()
        key = email_key(text) if "@" in text else username_key(text)
        claim = self.store.get(key)
        return self.get_user(claim["uid"]) if claim else None

    def find_person(self, username: str) -> tuple[User, Schedule] | None:
        """A person by username with their schedule: two round trips (claim, then both docs)."""
        if "@" in username:
            return None  # public pages are by username only; emails stay private
        claim = self.store.get(username_key(username))
        if not claim:
            return None
        user, schedule = self.user_and_schedule(claim["uid"])
        return (user, schedule) if user else None

    def save_user(self, user: User) -> None:
        self.store.put(user_key(user.id), user.to_dict())

    def save_profile(self, user: User) -> None:
        """Write the editable fields only, so a concurrent session-version bump survives."""
        editable = ("display_name", "bio", "teach", "learn", "links", "timezone")

        def merge(data: dict | None) -> dict | None:
            if data is None:
                return None
            return {**data, **{name: getattr(user, name) for name in editable}}

        self.store.update(user_key(user.id), merge)

    def bump_session_version(self, uid: str) -> None:
        """End every login of this person ("log out everywhere", account deletion)."""

        def bump(data: dict | None) -> dict | None:
            if data is None:
                return None
            version = int(data.get("session_version", 1)) + 1
            return {**data, "session_version": version, "logins": []}

        self.store.update(user_key(uid), bump)

    # --- active logins (skillswap/domain/logins.py) ---------------------------------------

    def _change_logins(self, uid: str, change: Callable[[list[dict]], list[dict]]) -> None:
        def apply(data: dict | None) -> dict | None:
            if data is None:
                return None
            return {**data, "logins": change(list(data.get("logins") or []))}

        self.store.update(user_key(uid), apply)

    def add_login(self, uid: str, device: str) -> str:
        """Record a new login; returns its id, for the session cookie."""
        login_id = secrets.token_hex(16)
        now = self.clock()
        self._change_logins(uid, lambda found: logins.add_login(found, login_id, device, now))
        return login_id

    def end_login(self, uid: str, login_id: str) -> None:
        self._change_logins(uid, lambda found: logins.without_login(found, login_id))

    def login_seen(self, uid: str, login_id: str) -> None:
        now = self.clock()
        self._change_logins(uid, lambda found: logins.mark_seen(found, login_id, now))

    # --- schedules (offers, requests, bookings, reviews) -----------------------------------

    def schedule(self, uid: str) -> Schedule:
        return Schedule.from_doc(uid, self.store.get(schedule_key(uid)))

    def user_and_schedule(self, uid: str) -> tuple[User | None, Schedule]:
        """Both documents of one person in one round trip."""
        found = self.store.get_many([user_key(uid), schedule_key(uid)])
        data = found.get(user_key(uid))
        return (
            User.from_dict(data) if data else None,
            Schedule.from_doc(uid, found.get(schedule_key(uid))),
        )

    def people(self, uids: list[str]) -> dict[str, tuple[User, Schedule]]:
        """Users and their schedules for many people, in one round trip."""
        keys = [k for uid in uids for k in (user_key(uid), schedule_key(uid))]
        found = self.store.get_many(keys)
        result: dict[str, tuple[User, Schedule]] = {}
        for uid in uids:
            data = found.get(user_key(uid))
            if data:
                result[uid] = (
                    User.from_dict(data),
                    Schedule.from_doc(uid, found.get(schedule_key(uid))),
                )
        return result

    def change_schedule(
        self, uid: str, change: Callable[[Schedule], T], *, grows: bool = False
    ) -> T:
        """Apply `change` to the schedule atomically; a ScheduleRefusal it raises writes nothing.

        `grows`: the change adds to the document (an offer, a request, a booking), so it is
        refused (LimitReached) when it would take the document past the growth budget; changes
        that complete something already begun (confirming, copying a cancel or a review) may
        use the headroom above it, so they always fit (domain/limits.py)."""
        result: list[T] = []
        due: list[bool] = [False]

        def apply(doc: dict | None) -> dict | None:
            schedule = Schedule.from_doc(uid, doc)
            result[:] = [change(schedule)]
            # An empty schedule is no document: a refused booking (hold, then release) leaves
            # the store exactly as it was, and people who never offer or book cost no key.
            if schedule.is_empty:
                return None
            due[0] = schedule.maintenance_due(self.clock()) or bool(schedule.archiving)
            new = schedule.to_doc()
            if grows:
                size = encoded_size(new)
                if size > self.growth_budget and size > (encoded_size(doc) if doc else 0):
                    raise _TooBig(limits.SCHEDULE_FULL)
            return new

        try:
            self.store.update(schedule_key(uid), apply)
        except _TooBig:
            if not due[0]:
                raise
            # History may leave the document first: make that room, then try once more.
            self.maintain(uid)
            self.store.update(schedule_key(uid), apply)
        if due[0]:
            self._pending_upkeep().add(uid)
        return result[0]

    def save_offer(self, offer: Offer, previous_skill_key: str | None = None) -> None:
        """Save the offer in the teacher's document (every limit checked there, atomically),
        then bring the skill and slot indexes in step."""

        def put(s: Schedule) -> Offer | None:
            previous = s.offers.get(offer.id)
            s.put_offer(offer, self.clock())
            return previous

        with self._upkeep():
            previous = self.change_schedule(offer.owner, put, grows=True)
            if previous_skill_key and previous_skill_key != offer.skill_key:
                self._index_offer(previous_skill_key, offer.owner, offer.id, add=False)
            self._index_offer(offer.skill_key, offer.owner, offer.id, add=True, label=offer.skill)
            changed = [offer, previous] if previous else [offer]
            skills = {offer.skill_key, previous_skill_key or "", *(o.skill_key for o in changed)}
            self.refresh_slot_rows(offer.owner, skills, changed, with_tags=True)

    def delete_offer(self, uid: str, offer_id: str) -> Offer:
        with self._upkeep():
            offer = self.change_schedule(uid, lambda s: s.remove_offer(offer_id, self.clock()))
            self._index_offer(offer.skill_key, uid, offer_id, add=False)
            self.refresh_slot_rows(uid, {offer.skill_key}, [offer], with_tags=True)
        return offer

    def save_request(self, request: LearnRequest) -> None:
        with self._upkeep():
            self.change_schedule(
                request.owner, lambda s: s.put_request(request, self.clock()), grows=True
            )
            self._index_skill(
                request.skill_key, "learners", request.owner, request.id, True, request.skill
            )

    def delete_request(self, uid: str, request_id: str) -> LearnRequest | None:
        removed = self.change_schedule(uid, lambda s: s.requests.pop(request_id, None))
        if removed:
            self._index_skill(removed.skill_key, "learners", uid, request_id, False)
        return removed

    # --- the skill index -----------------------------------------------------------------
    # skill/<key>: {"label": str, "teachers": {uid: [offer ids]}, "learners": {uid: [request
    # ids]}, "taggers": {uid: tag as typed}}. Derived data: `flask reindex` rebuilds it.

    def _index_skill(
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

        self.store.update(skill_key(skill), change)

    def _index_offer(self, skill: str, uid: str, offer_id: str, add: bool, label: str = "") -> None:
        self._index_skill(skill, "teachers", uid, offer_id, add, label)

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

        self.store.update(skill_key(skill), change)

    def refresh_slot_rows(
        self,
        uid: str,
        skills: Iterable[str],
        offers: Iterable[Offer] | None = None,
        with_tags: bool = False,
    ) -> None:
        """Rewrite this teacher's rows in the slot index of `skills` (plus, `with_tags`, of
        each of their teach tags), in every bucket where `offers` (default: all their offers
        now) had or have future slots, from their records as they are now. Idempotent:
        running it again, or after a concurrent change, converges on the records."""
        user, schedule = self.user_and_schedule(uid)
        teach = {key for tag in (user.teach if user else []) if (key := normalise_skill(tag))}
        after = indexes.epoch(self.clock())
        changed = schedule.offers.values() if offers is None else offers
        touched = indexes.group_by_bucket(
            (line for offer in changed for line in indexes.offer_rows(offer, after)),
            self.weekly_slots,
        ).keys()
        for skill in sorted({*skills, *(teach if with_tags else ())} - {""}):
            rows = indexes.teacher_rows(schedule, teach, skill, after)
            grouped = indexes.group_by_bucket(rows, self.weekly_slots)
            for bucket in sorted(touched | grouped.keys()):
                self._replace_slot_rows(skill, bucket, uid, grouped.get(bucket, []), after)

    def _replace_slot_rows(
        self, skill: str, bucket: str, uid: str, rows: list[str], after: int
    ) -> None:
        """This teacher's rows in one bucket: in piece 0 when the bucket is one piece with
        room, otherwise placed among its pieces (`_replace_in_pieces`)."""
        cap = self.slot_piece_rows

        def in_head(doc: dict | None) -> dict | None:
            if indexes.piece_count(doc) > 1:
                raise indexes.PieceFull  # several pieces: the teacher may be in any
            return indexes.replace_in_piece(doc, uid, rows, after, cap)

        try:
            self.store.update(slots_key(skill, bucket), in_head)
        except indexes.PieceFull:
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
        count = indexes.piece_count(self.store.get(slots_key(skill, bucket)))
        keys = [slots_key(skill, bucket, n) for n in range(count)]
        docs = self.store.get_many(keys)
        holding = [n for n in range(count) if indexes.holds_teacher(docs.get(keys[n]), uid)]
        target = None
        if rows:
            order = holding[:1] + [n for n in range(count) if n not in holding[:1]]
            for number in [*order, count]:
                fresh = number >= count
                if fresh:
                    self.store.update(
                        slots_key(skill, bucket),
                        lambda d, n=number: indexes.with_piece_count(d, n + 1),
                    )
                try:
                    self.store.update(
                        slots_key(skill, bucket, number),
                        lambda d, f=fresh: indexes.replace_in_piece(d, uid, rows, after, cap, f),
                    )
                except indexes.PieceFull:
                    continue
                target = number
                break
        for number in holding:
            if number != target:
                self.store.update(
                    slots_key(skill, bucket, number),
                    lambda d: indexes.replace_in_piece(d, uid, [], after, cap),
                )

    def slot_buckets(
        self, skill: str, windows: list[tuple[datetime, datetime]]
    ) -> list[list[dict]]:
        """The slot-index buckets the windows reach, in time order, each as its pieces: one
        round trip, and a second only for buckets in several pieces."""
        bounds = indexes.window_bounds(windows)
        if not bounds or not skill:
            return []
        buckets = indexes.buckets_between(*bounds, weekly=self.weekly_slots)
        heads = self.store.get_many([slots_key(skill, bucket) for bucket in buckets])
        more = [
            slots_key(skill, bucket, n)
            for bucket in buckets
            for n in range(1, indexes.piece_count(heads.get(slots_key(skill, bucket))))
        ]
        extra = self.store.get_many(more) if more else {}
        found = []
        for bucket in buckets:
            head = heads.get(slots_key(skill, bucket))
            if head is None:
                continue
            pieces = [head]
            for n in range(1, indexes.piece_count(head)):
                if (piece := extra.get(slots_key(skill, bucket, n))) is not None:
                    pieces.append(piece)
            found.append(pieces)
        return found

    def skill_index(self, skill: str) -> dict:
        return self.store.get(skill_key(skill)) or {"teachers": {}, "learners": {}, "taggers": {}}

    def skill_indexes_for(self, skills: list[str]) -> dict[str, dict]:
        """Index documents of these skills, in one round trip."""
        found = self.store.get_many([skill_key(s) for s in skills])
        return {k.removeprefix("skill/"): v for k, v in found.items()}

    def skill_indexes(self, prefix: str, limit: int = 20) -> dict[str, dict]:
        """Skills whose normalised name starts with `prefix` (landing search)."""
        keys = self.store.keys(skill_key(prefix), limit=limit)
        return {k.removeprefix("skill/"): v for k, v in self.store.get_many(keys).items()}

    # --- booking -------------------------------------------------------------------------

    def book(self, booking: Booking) -> Booking:
        """Hold on the learner's side, claim on the teacher's, then confirm (DESIGN.md).

        The teacher is told in the same atomic step that claims the slot."""
        now = self.clock()
        with self._upkeep():
            self.change_schedule(booking.learner, lambda s: s.hold(booking, now), grows=True)

            def claim_and_tell(s: Schedule) -> None:
                s.claim(booking, now)
                s.notify(self._notice("booked", booking, booking.learner_name, now))

            try:
                self.change_schedule(booking.teacher, claim_and_tell, grows=True)
            except ScheduleRefusal as refusal:
                self.change_schedule(booking.learner, lambda s: s.release(booking.id))
                if isinstance(refusal, limits.LimitReached):
                    raise limits.LimitReached(limits.TEACHER_FULL) from refusal
                raise
            # Any other failure (an outage, a lost answer) may have claimed the slot or not:
            # the hold stays, and resolve_pending settles it against the teacher's copy.
            self.change_schedule(booking.learner, lambda s: s.confirm(booking.id))
            self._count_unread(booking.teacher, +1)
        booking.status = "confirmed"
        return booking

    @staticmethod
    def _notice(
        kind: str, booking: Booking, actor: str, now: datetime, note: str = ""
    ) -> Notification:
        return Notification(
            id=new_id(),
            kind=kind,
            actor=actor,
            skill=booking.skill,
            created=iso_utc(now),
            booking_id=booking.id,
            start=booking.start,
            end=booking.end,
            note=note,
            link=f"/dashboard#booking-{booking.id}",
        )

    def _count_unread(self, uid: str, delta: int | None) -> None:
        """The unread count rides on the user record, which every page loads anyway: the nav
        badge costs no extra round trip. delta None resets it."""

        def change(data: dict | None) -> dict | None:
            if data is None:
                return None
            count = 0 if delta is None else max(0, int(data.get("unread", 0)) + delta)
            return {**data, "unread": count}

        self.store.update(user_key(uid), change)

    def notify(self, uid: str, notification: Notification) -> None:
        self.change_schedule(uid, lambda s: s.notify(notification))
        self._count_unread(uid, +1)

    def invite(self, uid: str, notification: Notification) -> bool:
        """Tell `uid` about an invitation unless the same one (same teacher, same request's
        link) is already among their notifications: decided in the atomic step that adds it,
        so of parallel tries exactly one sends it. False when it was sent already."""

        def add_once(s: Schedule) -> bool:
            if any(
                n.kind == notification.kind
                and n.actor == notification.actor
                and n.link == notification.link
                for n in s.notifications
            ):
                return False
            s.notify(notification)
            return True

        sent = self.change_schedule(uid, add_once)
        if sent:
            self._count_unread(uid, +1)
        return sent

    def mark_notifications_read(self, uid: str) -> None:
        self.change_schedule(uid, lambda s: s.mark_all_read())
        self._count_unread(uid, None)

    def resolve_pending(self, schedule: Schedule) -> Schedule:
        """Read repair and upkeep of a person's own document, before their pages show it.

        A hold older than HOLD_GRACE is confirmed or released against the teacher's copy; a
        cancel or a review not yet copied to the other person is copied now; history due to
        leave the live document is archived. Costs nothing when there is nothing to do, and a
        step that fails is logged and retried next time: the page still shows."""
        now = self.clock()
        holds = [
            h
            for h in schedule.pending_holds()
            if not h.created or parse_iso_utc(h.created) <= now - HOLD_GRACE
        ]
        unsynced = [b for b in schedule.bookings.values() if not b.active and not b.synced]
        uncopied = [
            b
            for b in schedule.bookings.values()
            if (mine := b.reviews.get(schedule.owner)) is not None and not mine.copied
        ]
        upkeep = schedule.maintenance_due(now) or bool(schedule.archiving)
        if not holds and not unsynced and not uncopied and not upkeep:
            return schedule
        try:
            if holds:
                teachers = self.store.get_many({schedule_key(b.teacher) for b in holds})
                for hold in holds:
                    teacher = Schedule.from_doc(
                        hold.teacher, teachers.get(schedule_key(hold.teacher))
                    )
                    copy = teacher.bookings.get(hold.id)
                    self.change_schedule(
                        schedule.owner, lambda s, h=hold, c=copy: s.resolve_hold(h.id, c)
                    )
            for booking in unsynced:
                self._copy_cancel(schedule.owner, booking)
            for booking in uncopied:
                self._copy_review(schedule.owner, booking)
        except StoreLimitError as exc:
            log.error("read repair of %s refused (%s): %s", schedule.owner, exc.key, exc)
        self.maintain(schedule.owner)
        return self.schedule(schedule.owner)

    def cancel(self, uid: str, booking_id: str, reason: str) -> Booking:
        """Cancel in the canceller's document (marked not yet copied), then in the other
        person's, who is told, then mark it copied. If the second write fails, the dashboard's
        read repair finishes it; nothing is ever cancelled for one person only for long.
        Before the first write, the other person's copy is checked to fit their document."""
        now = self.clock()

        def cancel_mine(s: Schedule) -> Booking:
            was_active = s.bookings.get(booking_id) is not None and s.bookings[booking_id].active
            booking = s.cancel(booking_id, uid, reason, now)
            if was_active:
                booking.synced = False
            return booking

        with self._upkeep():
            mine = self.schedule(uid).bookings.get(booking_id)
            if mine is not None and mine.active and uid in (mine.teacher, mine.learner):

                def cancel_theirs(s: Schedule) -> None:
                    s.cancel(booking_id, uid, reason, now)
                    s.notify(self._notice("cancelled", mine, mine.other_name(uid), now, reason))

                self._make_room(mine.other(uid), cancel_theirs)
            booking = self.change_schedule(uid, cancel_mine)
            if not booking.synced:
                self._copy_cancel(uid, booking)
        return booking

    def _make_room(self, uid: str, change: Callable[[Schedule], object]) -> None:
        """Check, before the first write of a change spanning two documents, that its step on
        `uid`'s document will fit the store; if not, archive what may leave that document and
        check again. Still too big: LimitReached, and nothing was written."""
        for attempt in (1, 2):
            doc = self.store.get(schedule_key(uid))
            if doc is None:
                return
            schedule = Schedule.from_doc(uid, doc)
            try:
                change(schedule)
            except ScheduleRefusal:
                return  # the real step refuses (or skips) it the same way
            if encoded_size(schedule.to_doc()) <= self.store.max_value_bytes:
                return
            if attempt == 1:
                self.maintain(uid)
        raise limits.LimitReached(limits.OTHER_FULL)

    def _copy_cancel(self, owner: str, booking: Booking) -> None:
        """Step two of a cancel: the other person's copy, with a notice, then mark it done."""
        other = booking.other(owner)
        now = self.clock()

        def cancel_and_tell(s: Schedule) -> bool:
            copy = s.bookings.get(booking.id)
            if copy is None or not copy.active:
                return False  # a hold the teacher never claimed, or already copied
            s.cancel(booking.id, booking.cancelled_by, booking.cancel_reason, now)
            actor = booking.other_name(other)
            s.notify(self._notice("cancelled", booking, actor, now, note=booking.cancel_reason))
            return True

        if self.change_schedule(other, cancel_and_tell):
            self._count_unread(other, +1)
        self.change_schedule(owner, lambda s: s.mark_synced(booking.id))

    def review(self, uid: str, booking_id: str, rating: int, feedback: str) -> Booking:
        """Claim the review on the rater's own copy, where every rule is checked in the same
        atomic step (of parallel tries exactly one is accepted), marked not yet copied; then
        copy that one review to the other person's copy (where the rating counts), telling
        them, and mark it copied. If the copy fails, read repair finishes it. Before the
        first write, the other person's copy is checked to fit their document."""
        now = self.clock()
        mine = self.schedule(uid).bookings.get(booking_id)
        if mine is not None and uid in (mine.teacher, mine.learner):

            def their_copy(s: Schedule) -> None:
                copy = s.bookings.get(booking_id)
                if copy is not None:
                    copy.reviews[uid] = Review(rating, feedback, iso_utc(now))
                    s.notify(self._notice("reviewed", mine, mine.other_name(copy.other(uid)), now))

            self._make_room(mine.other(uid), their_copy)

        def claim(s: Schedule) -> Booking:
            booking = s.add_review(booking_id, uid, rating, feedback, now)
            booking.reviews[uid].copied = False
            return booking

        with self._upkeep():
            booking = self.change_schedule(uid, claim)
            self._copy_review(uid, booking)
        return booking

    def _copy_review(self, uid: str, booking: Booking) -> None:
        """Step two of a review: the other person's copy, with a notice, then mark it done."""
        other = booking.other(uid)
        review = booking.reviews[uid]
        now = self.clock()

        def copy_and_tell(s: Schedule) -> bool:
            copy = s.bookings.get(booking.id)
            if copy is None or uid in copy.reviews:
                return False  # their account is deleted, or an earlier try copied it
            # Not add_review: its rules were checked on the rater's copy when it was claimed
            # (a repair may run after the review window has closed).
            copy.reviews[uid] = Review(review.rating, review.feedback, review.created)
            s.notify(self._notice("reviewed", booking, booking.other_name(other), now))
            return True

        if self.change_schedule(other, copy_and_tell):
            self._count_unread(other, +1)

        def mark_copied(s: Schedule) -> None:
            mine = s.bookings.get(booking.id)
            if mine is not None and uid in mine.reviews:
                mine.reviews[uid].copied = True

        self.change_schedule(uid, mark_copied)

    # --- history: upkeep of live documents and the archive ---------------------------------

    def _pending_upkeep(self) -> set[str]:
        owners = getattr(self._due, "owners", None)
        if owners is None:
            owners = self._due.owners = set()
        return owners

    @contextlib.contextmanager
    def _upkeep(self) -> Iterator[None]:
        """Around an operation: documents it found due for upkeep are settled once it has
        succeeded (the outermost operation does it), so the operation itself stays short."""
        depth = getattr(self._due, "depth", 0)
        self._due.depth = depth + 1
        try:
            yield
        finally:
            self._due.depth = depth
        if depth == 0:
            owners, self._due.owners = self._pending_upkeep(), set()
            for uid in sorted(owners):
                try:
                    self.maintain(uid)
                except StoreError as exc:  # upkeep is retried whenever the document is used
                    log.warning("upkeep of %s's schedule failed, will retry: %s", uid, exc)

    def maintain(self, uid: str, max_batches: int = 100) -> int:
        """Upkeep of one live document: slots that started are dropped and history that may
        leave moves to the archive, one batch at a time (domain/archive.py). Safe to run
        anywhere, concurrently and any number of times, and to resume after a crash at any
        point. Returns how many batches moved."""
        now = self.clock()
        moved = 0
        for _ in range(max_batches):
            schedule = self.schedule(uid)
            batch = schedule.archiving
            if not batch:
                plan = archive.plan(schedule, now, encoded_size, self.archive_piece_bytes // 2)
                if plan is None:
                    if schedule.maintenance_due(now):
                        # Nothing to archive yet: drop started slots, write down when next due.
                        self.change_schedule(uid, lambda s: s.drop_past_slots(now))
                    break
                batch = archive.batch_of(plan, self._archive_piece(uid, plan))
                # At the value limit even these few bytes may not fit: go on unannounced (the
                # copy is idempotent, and finishing counts only what is still there).
                with contextlib.suppress(StoreLimitError):
                    batch = self.change_schedule(uid, lambda s, b=batch: archive.begin(s, b))
            batch = self._copy_batch(uid, batch)
            finished = self.change_schedule(uid, lambda s, b=batch: archive.finish(s, b, now))
            for offer in finished.offers:
                self._index_offer(offer.skill_key, uid, offer.id, add=False)
            for request in finished.requests:
                self._index_skill(request.skill_key, "learners", uid, request.id, False)
            moved += 1
        self._pending_upkeep().discard(uid)
        return moved

    def _archive_owner(self, uid: str) -> str:
        return SHARED if self.shared_archives else uid

    def _archive_piece(self, uid: str, plan: archive.Plan) -> str:
        """The piece a new batch goes to: the period's last piece (if the batch does not fit
        there, the copy moves it on to the next one: `_copy_batch`)."""
        owner = self._archive_owner(uid)
        existing = self.store.keys(archive_prefix(owner, plan.period))
        number = int(existing[-1].rsplit("/", 1)[1]) if existing else 0
        return archive_key(owner, plan.period, number)

    def _copy_batch(self, uid: str, batch: dict) -> dict:
        """Step 2: copy the batch's records into its piece; if the piece filled up meanwhile,
        move the batch to the next piece (written down first) and copy there."""
        records = archive.batch_records(self.schedule(uid), batch, self.clock())
        while True:
            try:
                self.store.update(
                    batch["piece"],
                    lambda doc: archive.add_records(
                        doc, records, encoded_size, self.archive_piece_bytes
                    ),
                )
                return batch
            except limits.PieceFull:
                base, _, number = batch["piece"].rpartition("/")
                piece = f"{base}/{int(number) + 1:03d}"
                batch = {**batch, "piece": piece}
                with contextlib.suppress(StoreLimitError):  # unannounced at the limit, as above
                    batch = self.change_schedule(uid, lambda s, b=batch: archive.move_to(s, b))

    def archive_periods(self, uid: str) -> list[str]:
        """Quarters with archive pieces that may hold this person's history, newest first."""
        keys = self.store.keys(archive_prefix(self._archive_owner(uid)))
        return sorted({key.split("/")[2] for key in keys}, reverse=True)

    def archived(self, uid: str, period: str) -> dict[str, list]:
        """This person's archived bookings, offers and requests of one quarter: the only
        reader of the archive (the history page). Two round trips."""
        keys = self.store.keys(archive_prefix(self._archive_owner(uid), period))
        found: dict[str, list] = {"bookings": [], "offers": [], "requests": []}
        parse = {"bookings": Booking.from_dict, "offers": Offer.from_dict}
        mine = f"{uid}/"
        for doc in self.store.get_many(keys).values():
            for key, data in doc["records"].items():
                if key.startswith(mine):
                    kind = key.split("/")[1]
                    found[kind].append(parse.get(kind, LearnRequest.from_dict)(data))
        return found

    def archived_records(self, uid: str) -> dict[str, dict]:
        """Every archived record of this person by record key (tests, `flask migrate`)."""
        owner = self._archive_owner(uid)
        mine = f"{uid}/"
        records: dict[str, dict] = {}
        for doc in self.store.get_many(self.store.keys(archive_prefix(owner))).values():
            records.update({k: v for k, v in doc["records"].items() if k.startswith(mine)})
        return records

    def _delete_archive(self, uid: str) -> None:
        if not self.shared_archives:
            for key in self.store.keys(archive_prefix(uid)):
                self.store.delete(key)
            return
        mine = f"{uid}/"
        for key in self.store.keys(archive_prefix(SHARED)):

            def without(doc: dict | None) -> dict | None:
                if not doc:
                    return None
                kept = {k: v for k, v in doc["records"].items() if not k.startswith(mine)}
                return {"records": kept} if kept else None

            self.store.update(key, without)

    # --- matching ------------------------------------------------------------------------

    def find_teachers(
        self,
        skill: str,
        windows: list[tuple[datetime, datetime]],
        wanted_mode: str,
        exclude: str,
        limit: int | None = None,
    ) -> list[Match]:
        """The first `limit` (default: all) other people who teach `skill` with a free future
        slot inside the windows, ranked by `rank_matches`.

        Reads the slot index of the windows' weeks and walks it in start order, so candidates
        arrive soonest first; each is confirmed against their own records (a booking or a
        changed tag may have taken the time the index lists), in batches, until the next
        candidate could no longer rank among the first `limit`. A page therefore costs about
        `limit` people's documents whatever the community's size: never every teacher.
        """
        moment = self.clock()
        buckets = self.slot_buckets(skill, windows)
        candidates = indexes.teachers_in_order(buckets, windows, wanted_mode, exclude, moment)
        wanted = limit if limit is not None else sys.maxsize
        found: list[Match] = []
        upcoming = next(candidates, None)
        batch_size = wanted + CONFIRM_SLACK
        while upcoming is not None:
            # A batch ends with everyone tied with its last candidate: ties are ranked by
            # rating, which only their records tell.
            batch = [upcoming]
            while (upcoming := next(candidates, None)) is not None and (
                len(batch) < batch_size or upcoming[0] == batch[-1][0]
            ):
                batch.append(upcoming)
            people = self.people([uid for _, uid in batch])
            found.extend(
                match
                for _, uid in batch
                if uid in people
                and (match := match_person(*people[uid], skill, windows, wanted_mode, moment))
            )
            if upcoming is None:
                break
            # Everyone not yet confirmed starts at `bound` or later, so a match starting
            # strictly earlier keeps its rank.
            bound = _instant(upcoming[0])
            settled = sum(1 for m in found if m.slots[0][1].start < bound)
            if settled >= wanted:
                break
            batch_size = max(wanted - settled, CONFIRM_SLACK)
        if upcoming is not None:
            found = [m for m in found if m.slots[0][1].start < bound]
        return rank_matches(found)[:wanted]

    # --- calendar feeds ------------------------------------------------------------------
    # feedtoken/<sha256 of the secret>: {"uid": id}. The secret itself is never stored; the
    # user record keeps the same hash, and a claim it does not confirm opens nothing, so a
    # crash between the writes below leaves no working stale address.

    def set_feed_token(self, uid: str, token_hash: str, nonce: str) -> None:
        """Claim the new feed secret, point the user at it, then drop the old claim."""
        if not self.store.put_new(f"feedtoken/{token_hash}", {"uid": uid}):
            raise RuntimeError("feed token collision")  # a 2**-256 event, or a replayed nonce
        self._swap_feed_token(uid, token_hash, nonce)

    def revoke_feed_token(self, uid: str) -> None:
        self._swap_feed_token(uid, "", "")

    def _swap_feed_token(self, uid: str, token_hash: str, nonce: str) -> None:
        previous: list[str] = []

        def swap(data: dict | None) -> dict | None:
            if data is None:
                return None
            previous[:] = [data.get("feed_token_hash", "")]
            return {**data, "feed_token_hash": token_hash, "feed_nonce": nonce}

        self.store.update(user_key(uid), swap)
        if previous and previous[0] and previous[0] != token_hash:
            self.store.delete(f"feedtoken/{previous[0]}")

    def feed_person(self, token_hash: str) -> tuple[User, Schedule] | None:
        """Whose feed this secret opens, with their schedule; None unless the user record
        confirms the claim (compared in constant time)."""
        claim = self.store.get(f"feedtoken/{token_hash}")
        if not claim:
            return None
        user, schedule = self.user_and_schedule(claim["uid"])
        if user is None or not hmac.compare_digest(
            user.feed_token_hash.encode(), token_hash.encode()
        ):
            return None
        return user, schedule

    # --- the skills directory ------------------------------------------------------------

    def all_skill_indexes(self, batch: int = 100, limit: int = 5000) -> dict[str, dict]:
        """Every skill's index document (at most `limit`, Replit DB's whole key budget), read
        `batch` at a time: one key listing, then one get_many per batch. No per-user reads."""
        keys = self.store.keys("skill/", limit=limit)
        found: dict[str, dict] = {}
        for start in range(0, len(keys), batch):
            docs = self.store.get_many(keys[start : start + batch])
            found.update({k.removeprefix("skill/"): v for k, v in docs.items()})
        return found

    # --- account: password change and deletion ------------------------------------------

    def set_password(self, uid: str, password_hash: str) -> User | None:
        """Store a new password hash and end every login in one atomic step; returns the
        updated user."""
        updated: list[dict] = []

        def change(data: dict | None) -> dict | None:
            if data is None:
                return None
            version = int(data.get("session_version", 1)) + 1
            updated[:] = [
                {**data, "password_hash": password_hash, "session_version": version, "logins": []}
            ]
            return updated[0]

        self.store.update(user_key(uid), change)
        return User.from_dict(updated[0]) if updated else None

    def delete_account(self, uid: str) -> None:
        """Remove a person, telling the people they had sessions with.

        1. bump the session version: their other devices stop acting for them at once;
        2. in one atomic step on their schedule: drop offers and requests (no new booking can
           claim their time) and cancel upcoming sessions; then cancel each in the other
           person's document with a notice, reason "account deleted";
        3. take offers, requests and teach tags out of the skill and slot indexes;
        4. turn the username claim into a tombstone ({"uid", "deleted"}): usernames are never
           reused, and a tombstone finds no user, so nobody can log in with it; keep the
           email only as a keyed hash (deleted-email/) and free the address for a new account;
        5. delete schedule/<id>, then user/<id>.
        Past sessions stay in the other people's documents, with the names copied there.
        The user record goes last: after a crash the person can log in and delete again.
        """
        user = self.get_user(uid)
        if user is None:
            return
        self.bump_session_version(uid)
        now = self.clock()
        removed: list[Schedule] = []

        def empty(s: Schedule) -> list[Booking]:
            removed[:] = [Schedule(uid, offers=dict(s.offers), requests=dict(s.requests))]
            s.offers.clear()
            s.requests.clear()
            upcoming = [b for b in s.bookings.values() if b.active and b.start_at > now]
            for booking in upcoming:
                s.cancel(booking.id, uid, ACCOUNT_DELETED, now)
            return upcoming

        for booking in self.change_schedule(uid, empty):
            # Refused when the other account is gone too; a never-claimed hold is skipped.
            with contextlib.suppress(ScheduleRefusal):
                self._copy_cancel(uid, booking)
        for offer in removed[0].offers.values():
            self._index_offer(offer.skill_key, uid, offer.id, add=False)
        for request in removed[0].requests.values():
            self._index_skill(request.skill_key, "learners", uid, request.id, False)
        self.index_teach_tags(uid, user.teach, [])
        gone = removed[0].offers.values()
        self.refresh_slot_rows(uid, {o.skill_key for o in gone}, gone, with_tags=True)
        tombstone = {"uid": uid, "deleted": iso_utc(now)}
        self.store.put(username_key(user.username), tombstone)
        self.store.put(deleted_email_key(self.secret, user.email), tombstone)
        self.store.delete(email_key(user.email))
        feed_token_hash = getattr(user, "feed_token_hash", "")
        if feed_token_hash:
            self.store.delete(f"feedtoken/{feed_token_hash}")
        self._delete_archive(uid)
        self.store.delete(schedule_key(uid))
        self.store.delete(user_key(uid))

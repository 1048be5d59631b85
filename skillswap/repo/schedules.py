"""Schedules: each person's one document of offers, requests, bookings and notifications,
changed only inside the store's atomic update (schedule/ keys), and the unread count that
rides on the user record."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from skillswap.domain import limits, search_cards
from skillswap.domain.records import Notification
from skillswap.domain.refusals import AccountClosed
from skillswap.domain.schedule import Schedule
from skillswap.domain.times import iso_utc
from skillswap.domain.users import User
from skillswap.repo.base import REFRESH_TRIES, RepositoryBase
from skillswap.repo.keys import card_key, card_sweep_key, schedule_key, user_key
from skillswap.store import StoreError
from skillswap.store.codec import encoded_size

log = logging.getLogger(__name__)
# What a search card is made of (domain/search_cards.py): a change to none of these leaves it.
CARD_SECTIONS = ("offers", "bookings", "counters", "booking_rules", "holds")

T = TypeVar("T")


class ScheduleTooBig(limits.LimitReached):
    """A change that adds to a document would take it past the growth budget. `due`: the
    document has history that may leave it first (services/upkeep.py then retries)."""

    def __init__(self, message: str, due: bool) -> None:
        super().__init__(message)
        self.due = due


# A deleted account's document keeps this mark (when its deletion began) for good: nothing can
# add to it again. A booking, offer or waitlist entry racing the deletion is refused, where it
# would have written a document back for someone who no longer exists, with a session the other
# person would wait for in vain. What completes an exchange already begun (a cancel copied, a
# notice) still applies, and a document that ends empty is the mark alone.
CLOSED = "closed"


class Schedules(RepositoryBase):
    def close_schedule(self, uid: str, now: datetime) -> None:
        """The first step of deleting an account: its document takes nothing new from now."""
        closed = iso_utc(now)
        self.store.update(schedule_key(uid), lambda doc: {CLOSED: closed, **(doc or {})})

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
        refused (ScheduleTooBig) when it would take the document past the growth budget;
        changes that complete something already begun (confirming, copying a cancel or a
        review) may use the headroom above it, so they always fit (domain/limits.py). A
        document found due for upkeep is noted (`take_due`) for the operation to settle."""
        result: list[T] = []
        due: list[bool] = [False]
        card: list[tuple[dict | None, dict | None]] = []  # (document read, document written)

        def apply(doc: dict | None) -> dict | None:
            closed = doc.get(CLOSED) if doc else None
            if closed and grows:
                raise AccountClosed()
            schedule = Schedule.from_doc(uid, doc)
            result[:] = [change(schedule)]
            if closed:
                kept = {} if schedule.is_empty else schedule.to_doc()
                new: dict | None = {**kept, CLOSED: closed}
            elif schedule.is_empty:
                # An empty schedule is no document: a refused booking (hold, then release)
                # leaves the store exactly as it was, and people who never offer or book cost
                # no key.
                new = None
            else:
                now = self.clock()
                # Holds to pass on or announce (domain/waitlist.py) are settled as upkeep is.
                due[0] = (
                    schedule.maintenance_due(now)
                    or bool(schedule.archiving)
                    or schedule.holds_due(now)
                )
                new = schedule.to_doc()
                if grows:
                    size = encoded_size(new)
                    if size > self.growth_budget and size > (encoded_size(doc) if doc else 0):
                        raise ScheduleTooBig(limits.SCHEDULE_FULL, due[0])
            card[:] = [(doc, new)]
            return new

        self.store.update(schedule_key(uid), apply)
        if self.search_cards and card and self._card_changed(uid, *card[0]):
            try:
                self.refresh_card(uid, card[0][1])
            except StoreError as exc:  # the change stands: the background round mends the card
                log.warning("search card of %s not written: %s", uid, exc)
        if due[0]:
            self.due_owners().add(uid)
        return result[0]

    def _card_changed(self, uid: str, old: dict | None, new: dict | None) -> bool:
        """Does the search card change from `old` to `new`? Sections nobody parsed are written
        back as the same objects, so most changes compare a few references. For someone who
        offers nothing, before or after (a learner booking), only the rating can change, which
        is cheap to work out here rather than write and read back."""
        old, new = old or {}, new or {}
        if bool(old.get(CLOSED)) != bool(new.get(CLOSED)):
            return True
        changed = False
        for name in CARD_SECTIONS:
            before, after = old.get(name) or None, new.get(name) or None
            if before is not after and before != after:
                changed = True
                break
        if not changed or old.get("offers") or new.get("offers"):
            return changed
        now = self.clock()
        before_card = search_cards.build_card(Schedule.from_doc(uid, old), now)
        return before_card != search_cards.build_card(Schedule.from_doc(uid, new), now)

    def refresh_card(self, uid: str, doc: dict | None) -> None:
        """Write the search card of the person whose schedule `doc` was just written: everyone
        has one from sign-up (People.create_user) until their account is deleted, so search
        reads no schedule for a teacher who only has the skill as a tag.

        Two changes at once each write the card of the document as they wrote it, and the
        earlier one's could land last. So, once written, the schedule is read again and the
        card written again from it while it differs: the refresh whose card a newer change
        made stale is the one that sees it (as refresh_slot_rows does)."""
        for _ in range(REFRESH_TRIES):
            if doc and doc.get(CLOSED):
                self.store.delete(card_key(uid))
            else:
                built = search_cards.build_card(Schedule.from_doc(uid, doc), self.clock())
                self.store.put(card_key(uid), built)
            latest = self.store.get(schedule_key(uid))
            if latest == doc:
                return
            doc = latest
        log.warning("search card of %s still changing after %d refreshes", uid, REFRESH_TRIES)

    def refresh_cards_batch(self, batch: int) -> int:
        """Rebuild the search cards of the next `batch` people, in key order from where the
        last call stopped, round and round; returns how many changed. Time passing empties a
        card's lists from the front, so a teacher who changes nothing for weeks would leave
        search reading their schedule: a background round brings their card up to date.

        A change made meanwhile may have written its card before this one landed, so the
        schedules of the cards written are read again, and where one moved its card is
        refreshed as that change's own refresh would (`refresh_card`)."""
        after = (self.store.get(card_sweep_key()) or {}).get("after", "")
        keys = self.store.keys("card/", start=after or None, limit=batch + 1)
        keys = [k for k in keys if k != after][:batch]
        # Every worker's mail sender runs rounds: the batch is taken by moving the cursor past
        # it only if nobody has moved it since it was read, so two never do the same batch.
        taken: list[bool] = []

        def take(doc: dict | None) -> dict | None:
            taken[:] = [(doc or {}).get("after", "") == after]
            return {"after": keys[-1] if len(keys) == batch else ""} if taken[0] else doc

        self.store.update(card_sweep_key(), take)
        if not taken[0]:
            return 0
        uids = [key.removeprefix("card/") for key in keys]
        found = self.store.get_many([*keys, *map(schedule_key, uids)])
        now = self.clock()
        read: dict[str, dict | None] = {}
        written: dict[str, dict] = {}
        for uid in uids:
            doc = found.get(schedule_key(uid))
            if doc and doc.get(CLOSED):
                continue  # an account being deleted: its deletion removes the card
            card = search_cards.build_card(Schedule.from_doc(uid, doc), now)
            if card != found.get(card_key(uid)):
                read[uid], written[card_key(uid)] = doc, card
        if written:
            self.store.put_many(written)
            again = self.store.get_many([schedule_key(uid) for uid in read])
            for uid, doc in read.items():
                if again.get(schedule_key(uid)) != doc:
                    self.refresh_card(uid, again.get(schedule_key(uid)))
        return len(written)

    def cards_of(self, uids: list[str]) -> dict[str, dict]:
        """The search cards of these people that exist, in one round trip; none, and no
        round trip, where the store keeps no cards (`search_cards`)."""
        if not self.search_cards or not uids:
            return {}
        found = self.store.get_many([card_key(uid) for uid in uids])
        return {uid: card for uid in uids if (card := found.get(card_key(uid)))}

    def count_unread(self, uid: str, delta: int | None) -> None:
        """The unread count rides on the user record, which every page loads anyway: the nav
        badge costs no extra round trip. delta None resets it. Never more than the notices a
        document keeps (MAX_NOTIFICATIONS): older ones are dropped, unread or not."""

        def change(data: dict | None) -> dict | None:
            if data is None:
                return None
            count = 0 if delta is None else int(data.get("unread", 0)) + delta
            return {**data, "unread": min(max(0, count), limits.MAX_NOTIFICATIONS)}

        self.store.update(user_key(uid), change)

    def notify(self, uid: str, notification: Notification) -> None:
        self.change_schedule(uid, lambda s: s.notify(notification))
        self.count_unread(uid, +1)

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
            # Told and counted in one step (domain/attendance.py: the share answered).
            s.receive_invitation(notification, self.clock())
            return True

        sent = self.change_schedule(uid, add_once)
        if sent:
            self.count_unread(uid, +1)
        return sent

    def mark_notifications_read(self, uid: str) -> None:
        self.change_schedule(uid, lambda s: s.mark_all_read())
        self.count_unread(uid, None)

    def due_owners(self) -> set[str]:
        """Owners whose document this thread found due for upkeep (services/upkeep.py)."""
        owners = getattr(self._due, "owners", None)
        if owners is None:
            owners = self._due.owners = set()
        return owners

    def take_due(self) -> set[str]:
        owners = self.due_owners()
        self._due.owners = set()
        return owners

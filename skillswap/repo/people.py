"""People: accounts and their unique names, profiles, logins, sessions and calendar-feed
secrets (user/, username/, deleted-email/, feedtoken/ keys; email/ is repo/emails.py's)."""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Callable
from datetime import datetime

from skillswap.domain import limits, logins, search_cards
from skillswap.domain.schedule import Schedule
from skillswap.domain.times import iso_utc
from skillswap.domain.users import (
    User,
    email_identity,
    mail_off_after,
    reset_fingerprint,
    session_version,
)
from skillswap.repo.base import RepositoryBase
from skillswap.repo.keys import (
    card_key,
    deleted_email_key,
    email_key,
    feedtoken_key,
    new_id,
    schedule_key,
    user_key,
    username_key,
)
from skillswap.repo.schedules import CLOSED

log = logging.getLogger(__name__)


class UsernameTaken(Exception):
    pass


class EmailTaken(Exception):
    pass


class People(RepositoryBase):
    def create_user(
        self,
        username: str,
        email: str,
        password_hash: str,
        timezone: str,
        *,
        verified: bool = False,
    ) -> User:
        """Claim the username and email atomically, then write the profile. A new account's
        address is unconfirmed (`verified=False`, stored as such) until its link is used.

        A crash between the claims and the profile leaves a username claim pointing at no
        user; it blocks that name (names are never reused anyway) and `flask reindex` reports
        it. The email claim it leaves lapses (domain/users.py: email_claim_holds).
        """
        uid = new_id()
        if not self.store.put_new(username_key(username), {"uid": uid}):
            raise UsernameTaken(username)
        if not self.claim_email(email, uid):
            # The username claim was never a real account, so it is safe to release.
            self.store.delete(username_key(username))
            raise EmailTaken(email)
        user = User(
            id=uid,
            username=username.lower(),
            email=email_identity(email),
            password_hash=password_hash,
            timezone=timezone,
            created=iso_utc(self.clock()),
            email_verified=verified,
        )
        if self.search_cards:  # everyone has one (Schedules.refresh_card): a first, empty one
            self.store.put(card_key(uid), search_cards.build_card(Schedule(uid), self.clock()))
        self.store.put(user_key(uid), user.to_dict())
        return user

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
        by_email = "@" in text
        claim = self.store.get(email_key(text) if by_email else username_key(text))
        user = self.get_user(claim["uid"]) if claim else None
        if user is not None and by_email and user.email != email_identity(text):
            return None  # a claim left behind by a change of address that did not finish
        return user

    def find_person(self, username: str) -> tuple[User, Schedule] | None:
        """A person by username with their schedule: two round trips (claim, then both docs)."""
        if "@" in username:
            return None  # public pages are by username only; emails stay private
        claim = self.store.get(username_key(username))
        if not claim:
            return None
        user, schedule = self.user_and_schedule(claim["uid"])
        return (user, schedule) if user else None

    def username_retired(self, username: str) -> bool:
        """Was this the username of an account since deleted (its claim a tombstone)?"""
        claim = self.store.get(username_key(username)) if "@" not in username else None
        return bool(claim and "deleted" in claim)

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

    def set_mail_choice(self, uid: str, choice: str, on: bool) -> User | None:
        """Turn one kind of optional mail on or off (domain/users.py: MAIL_CHOICES), in one
        atomic step on the record; the record as written, None when there is no such person."""
        return self.change_user(
            uid,
            lambda data: {
                **data,
                "mail_off": mail_off_after(list(data.get("mail_off") or []), choice, on),
            },
        )

    def bump_session_version(self, uid: str) -> None:
        """End every login of this person ("log out everywhere", account deletion)."""

        def bump(data: dict | None) -> dict | None:
            if data is None:
                return None
            version = session_version(data) + 1
            return {**data, "session_version": version, "logins": []}

        self.store.update(user_key(uid), bump)

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

    def set_password(
        self,
        uid: str,
        password_hash: str,
        *,
        if_fingerprint: str | None = None,
        if_version: int | None = None,
    ) -> User | None:
        """Store a new password hash and end every login in one atomic step; returns the
        updated user. A change of address waiting for confirmation is dropped too: whoever
        asked for it may be the reason the password changes.

        With `if_fingerprint` (a reset link's), only while the record still has that
        fingerprint (domain/users.py: reset_fingerprint), so of two uses of one link exactly
        one sets a password (None for the other); and the address the link was mailed to
        counts as confirmed, since whoever used it reads that mail. With `if_version` (the
        session version the request was logged in with), only while every login it began
        with stands: of two changes sent together, the second is refused (None), not told
        that a password no longer in force was set."""
        updated: list[dict] = []

        def change(data: dict | None) -> dict | None:
            if data is None:
                return None
            reset = if_fingerprint is not None
            if reset and reset_fingerprint(User.from_dict(data)) != if_fingerprint:
                return data
            if if_version is not None and session_version(data) != if_version:
                return data
            version = session_version(data) + 1
            changed = {
                **data,
                "password_hash": password_hash,
                "session_version": version,
                "logins": [],
                "pending_email": "",
                "pending_since": "",
            }
            if reset:
                changed["email_verified"] = True
            updated[:] = [changed]
            return changed

        self.store.update(user_key(uid), change)
        return User.from_dict(updated[0]) if updated else None

    def set_feed_token(self, uid: str, token_hash: str, nonce: str) -> None:
        """Claim the new feed secret, point the user at it, then drop the old claim."""
        if not self.store.put_new(feedtoken_key(token_hash), {"uid": uid}):
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
            self.store.delete(feedtoken_key(previous[0]))

    def feed_person(self, token_hash: str) -> tuple[User, Schedule] | None:
        """Whose feed this secret opens, with their schedule; None unless the user record
        confirms the claim (compared in constant time)."""
        claim = self.store.get(feedtoken_key(token_hash))
        if not claim:
            return None
        user, schedule = self.user_and_schedule(claim["uid"])
        if user is None or not hmac.compare_digest(
            user.feed_token_hash.encode(), token_hash.encode()
        ):
            return None
        return user, schedule

    def retire_names(self, user: User, now: datetime) -> None:
        """A deleted account's names: the username claim becomes a tombstone (usernames are
        never reused, and a tombstone finds no user); the email is kept only as a keyed hash
        and freed for a new account; the calendar feed's claim goes."""
        tombstone = {"uid": user.id, "deleted": iso_utc(now)}
        self.store.put(username_key(user.username), tombstone)
        self.store.put(deleted_email_key(self.secret, user.email), tombstone)
        self.release_email(user.email, user.id)
        if user.feed_token_hash:
            self.store.delete(feedtoken_key(user.feed_token_hash))

    def delete_person(self, uid: str, now: datetime) -> None:
        """The schedule (left as its closed mark alone: repo/schedules.py CLOSED), then the
        user record: after a crash the person can log in and delete again."""
        self.store.put(schedule_key(uid), {CLOSED: iso_utc(now)})
        self.store.delete(card_key(uid))
        self.store.delete(user_key(uid))

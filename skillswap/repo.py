"""The repository: the only code that knows keys, record layout and indexes.

Key scheme (few fat keys, so a 1,000-person community fits Replit DB's 5,000 keys):

    user/<id>            profile and credentials (User)
    username/<name>      {"uid": id}   claimed with put_new, never reused
    email/<address>      {"uid": id}   claimed with put_new
    schedule/<id>        everything time-bound for one person: offers, requests, bookings,
                         reviews. Changed only through atomic `update`, so checking a slot and
                         claiming it happen in one step.
    skill/<normalised>   index: who teaches / wants to learn a skill (derived; `flask reindex`)
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime

from skillswap.domain.times import iso_utc
from skillswap.domain.users import User
from skillswap.store import Store

Clock = Callable[[], datetime]


class UsernameTaken(Exception):
    pass


class EmailTaken(Exception):
    pass


def new_id() -> str:
    return secrets.token_hex(8)


def user_key(uid: str) -> str:
    return f"user/{uid}"


def username_key(username: str) -> str:
    return f"username/{username.lower()}"


def email_key(email: str) -> str:
    return f"email/{email.strip().lower()}"


def schedule_key(uid: str) -> str:
    return f"schedule/{uid}"


def skill_key(normalised: str) -> str:
    return f"skill/{normalised}"


class Repository:
    def __init__(self, store: Store, clock: Clock) -> None:
        self.store = store
        self.clock = clock

    # --- users -------------------------------------------------------------------------

    def create_user(self, username: str, email: str, password_hash: str, timezone: str) -> User:
        """Claim the username and email atomically, then write the profile.

        A crash between the claims and the profile leaves a claim pointing at no user; it
        blocks that name (names are never reused anyway) and `flask reindex` reports it.
        """
        uid = new_id()
        if not self.store.put_new(username_key(username), {"uid": uid}):
            raise UsernameTaken(username)
        if not self.store.put_new(email_key(email), {"uid": uid}):
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

    def save_user(self, user: User) -> None:
        self.store.put(user_key(user.id), user.to_dict())

    def bump_session_version(self, uid: str) -> None:
        def bump(data: dict | None) -> dict | None:
            if data is None:
                return None
            return {**data, "session_version": int(data.get("session_version", 1)) + 1}

        self.store.update(user_key(uid), bump)

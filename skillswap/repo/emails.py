"""Addresses: the email index (email/<address> -> {"uid", "claimed"}) and confirming that an
address is its account's: a new account's own, or the one asked for on /account.

An address is claimed in the index when an account is made with it and when a new address is
confirmed, never while it only waits for confirmation: asking for an address keeps it from
nobody. An unconfirmed claim, and one a crash left behind, lapses (domain/users.py:
email_claim_holds), so nobody can keep another person's address from them for long.
"""

from __future__ import annotations

import logging

from skillswap.domain.times import iso_utc
from skillswap.domain.users import (
    User,
    address_to_verify,
    email_claim_holds,
    email_identity,
    session_version,
)
from skillswap.repo.base import RepositoryBase
from skillswap.repo.keys import email_key, legacy_email_key

log = logging.getLogger(__name__)


class Emails(RepositoryBase):
    def claim_email(self, email: str, uid: str) -> bool:
        """Point email/<address> at `uid`: True when it is (or already was) theirs, False when
        a claim that still holds names another account (domain/users.py: email_claim_holds).
        Of racing claimants exactly one wins: a lapsed claim is replaced only if it is still
        the one that was judged lapsed."""
        key = email_key(email)
        mine = {"uid": uid, "claimed": iso_utc(self.clock())}
        if self.store.put_new(key, mine):
            return True
        seen = self.store.get(key)
        if seen is None:
            return self.store.put_new(key, mine)
        if seen.get("uid") == uid and "deleted" not in seen:
            return True
        owner = self.get_user(str(seen.get("uid", "")))
        if email_claim_holds(seen, owner, email_identity(email), self.clock()):
            return False
        won: list[bool] = []

        def take(current: dict | None) -> dict | None:
            won[:] = [current is None or current == seen]
            return mine if won[0] else current

        self.store.update(key, take)
        if won[0]:
            log.info("email claim of account %s lapsed; now account %s's", seen.get("uid"), uid)
        return won[0]

    def email_available(self, email: str, uid: str) -> bool:
        """Whether `uid` could claim this address now (for a form's answer; the claim itself
        happens when the address is confirmed)."""
        seen = self.store.get(email_key(email))
        if seen is None or (seen.get("uid") == uid and "deleted" not in seen):
            return True
        owner = self.get_user(str(seen.get("uid", "")))
        return not email_claim_holds(seen, owner, email_identity(email), self.clock())

    def owns_email_claim(self, email: str, uid: str) -> bool:
        seen = self.store.get(email_key(email))
        return bool(seen) and seen.get("uid") == uid and "deleted" not in seen

    def release_email(self, email: str, uid: str) -> None:
        """Drop email/<address> if it is `uid`'s: a claim another account has taken since (a
        lapsed one) is left alone."""
        self._drop_claim(email_key(email), uid)

    def _drop_claim(self, key: str, uid: str) -> None:
        def drop(current: dict | None) -> dict | None:
            return None if current and current.get("uid") == uid else current

        self.store.update(key, drop)

    def adopt_email_identity(self, uid: str) -> bool | None:
        """Bring an address an earlier version stored in another form ("zoë" decomposed, a
        domain in IDNA) to the one form of email_identity: claim that form, store it, then
        drop the old claim. None when there is nothing to change; False when another account
        holds the address in the one form: then both stay as they are, for a person to sort
        out (one inbox, two accounts), and its owner still logs in by username."""
        user = self.get_user(uid)
        if user is None:
            return None
        stored, address = user.email, email_identity(user.email)
        pending = email_identity(user.pending_email) if user.pending_email else ""
        if address == stored and pending == user.pending_email:
            return None
        if not self.claim_email(address, uid):
            return False

        def adopt(data: dict) -> dict:
            if data.get("email") != stored:
                return data  # changed meanwhile: that change stored the one form
            return {**data, "email": address, "pending_email": pending}

        self.change_user(uid, adopt)
        if address != stored:
            self._drop_claim(legacy_email_key(stored), uid)
        return True

    def ask_email_change(
        self, uid: str, email: str, *, if_version: int | None = None
    ) -> User | None:
        """Remember `email` as the address waiting to replace this person's (it claims
        nothing until confirmed, so asking for an address keeps it from nobody). With
        `if_version` (the session version the request was logged in with), None when it is
        no longer that: a password change or "log out everywhere" drops a waiting address,
        and one landing while this request is under way must stop this one too."""
        asked: list[bool] = []

        def ask(data: dict) -> dict:
            if if_version is not None and session_version(data) != if_version:
                return data
            asked.append(True)
            return {
                **data,
                "pending_email": email_identity(email),
                "pending_since": iso_utc(self.clock()),
            }

        updated = self.change_user(uid, ask)
        return updated if asked else None

    def drop_email_change(self, uid: str) -> User | None:
        return self.change_user(
            uid, lambda data: {**data, "pending_email": "", "pending_since": ""}
        )

    def confirm_email(self, uid: str, email: str) -> tuple[str, str]:
        """Use a verification link for `email`: claim it, then make it the person's confirmed
        address (replacing the old one, whose claim is dropped), in that order, so the index
        never names an address nobody holds for longer than a crash (which lapses).

        Returns (outcome, previous address): "confirmed"; "taken" (another account holds it
        now); or "stale" (it is no longer the address waiting for confirmation: used already,
        or replaced)."""
        address = email_identity(email)
        if not self.claim_email(address, uid):
            return "taken", ""
        previous: list[str] = []

        def confirm(data: dict) -> dict:
            if address_to_verify(User.from_dict(data)) != address:
                return data
            previous[:] = [data["email"]]
            return {
                **data,
                "email": address,
                "email_verified": True,
                "pending_email": "",
                "pending_since": "",
            }

        user = self.change_user(uid, confirm)
        if not previous:
            if user is None or address not in (user.email, user.pending_email):
                self.release_email(address, uid)  # claimed for nothing
            return "stale", ""
        if previous[0] != address:
            self.release_email(previous[0], uid)
        return "confirmed", previous[0]

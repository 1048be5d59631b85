"""Every key SkillSwap stores, in one place (few fat keys, so a 1,000-person community fits
Replit DB's 5,000):

    user/<id>            profile and credentials (User)
    username/<name>      {"uid": id}   claimed with put_new, never reused
    email/<address>      {"uid", "claimed"}   claimed with put_new when an account is made or
                         an address confirmed; freed when the account is deleted or moves to
                         another address; an unconfirmed claim lapses (domain/users.py)
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
                         most SLOT_PIECE_ROWS rows; derived, see skillswap/domain/slot_index.py
    skillhead/<normalised>
                         index: the skill's label and first teachers by id, what search
                         picks from (derived; not where keys are scarce; domain/search_cards.py)
    card/<id>            index: what search shows of a teacher: their next free times per
                         skill and their rating (derived, written after each change to their
                         schedule; not where keys are scarce; domain/search_cards.py)
    sweep/cards          {"after": card key}   where the background refresh of search cards
                         got to
    archive/<owner>/<quarter>/<piece>
                         history that left the live documents (domain/archive.py): one
                         series of pieces per person, or per quarter shared by everyone
                         (owner "all") where keys are scarce
    feedtoken/<sha256>   {"uid": id}   whose calendar feed a secret address opens
    due/<bucket>[/<piece>]
                         index: reminders to send, one bucket per UTC hour ("2026-12-01T09";
                         one per day, "2026-12-01", where keys are scarce), each entry
                         {"<booking id> <kind>": [moment, teacher, learner]}, in pieces of at
                         most DUE_PIECE_ENTRIES; emptied and removed as the hours pass.
                         Derived: `flask reindex` rebuilds it (domain/reminders.py)
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from skillswap.domain.users import email_identity

SHARED = "all"  # the owner of archive pieces shared by everyone, where keys are scarce


def new_id() -> str:
    return secrets.token_hex(8)


def user_key(uid: str) -> str:
    return f"user/{uid}"


def username_key(username: str) -> str:
    return f"username/{username.lower()}"


def email_key(email: str) -> str:
    return legacy_email_key(email_identity(email))


def legacy_email_key(address: str) -> str:
    """The claim of an address exactly as stored: versions before email_identity stored
    "zoë" decomposed as typed, lower-cased (`flask migrate` brings those to the one form)."""
    return f"email/{address}"


def deleted_email_key(secret: str, email: str) -> str:
    address = email_identity(email).encode()
    return f"deleted-email/{hmac.new(secret.encode(), address, hashlib.sha256).hexdigest()}"


def schedule_key(uid: str) -> str:
    return f"schedule/{uid}"


def skill_key(normalised: str) -> str:
    return f"skill/{normalised}"


def skill_of(key: str) -> str:
    """The normalised skill a `skill/<normalised>` key is for."""
    return key.removeprefix("skill/")


def skill_head_key(normalised: str) -> str:
    return f"skillhead/{normalised}"


def card_key(uid: str) -> str:
    return f"card/{uid}"


def card_sweep_key() -> str:
    """Where the background refresh of search cards got to (Schedules.refresh_cards_batch)."""
    return "sweep/cards"


def slots_key(normalised: str, bucket: str, piece: int = 0) -> str:
    """Piece 0 of a bucket is the bucket's own key; overflow pieces are numbered after it."""
    base = f"slots/{normalised}/{bucket}"
    return base if piece == 0 else f"{base}/{piece}"


def archive_key(owner: str, period: str, piece: int) -> str:
    return f"archive/{owner}/{period}/{piece:03d}"


def archive_prefix(owner: str, period: str = "") -> str:
    return f"archive/{owner}/{period}/" if period else f"archive/{owner}/"


def feedtoken_key(token_hash: str) -> str:
    return f"feedtoken/{token_hash}"


DUE_PREFIX = "due/"


def due_key(bucket: str, piece: int = 0) -> str:
    """Piece 0 of a bucket is the bucket's own key; overflow pieces are numbered after it."""
    base = f"{DUE_PREFIX}{bucket}"
    return base if piece == 0 else f"{base}/{piece}"


def due_bucket_of(key: str) -> str:
    """The bucket a `due/` key (any piece) belongs to."""
    return key.removeprefix(DUE_PREFIX).split("/", 1)[0]

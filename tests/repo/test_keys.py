"""The key scheme (repo/keys.py): every key the repository writes fits every backend's
1,000-byte limit whatever a person types, and the layouts that group keys read back."""

from __future__ import annotations

from skillswap.domain.limits import MAX_SKILL_KEY_BYTES, skill_key_problem
from skillswap.domain.skills import normalise_skill
from skillswap.repo.keys import (
    SHARED,
    archive_key,
    archive_prefix,
    deleted_email_key,
    email_key,
    skill_key,
    skill_of,
    slots_key,
    username_key,
)
from skillswap.store import MAX_KEY_BYTES


def test_the_longest_skill_the_rules_allow_makes_keys_that_fit() -> None:
    # Four-byte letters up to the byte limit: the largest key a skill name can make.
    skill = "𝒜" * (MAX_SKILL_KEY_BYTES // 4)
    assert skill_key_problem(skill) is None
    for key in (skill_key(skill), slots_key(skill, "2026-11-30", 999), slots_key(skill, "all")):
        assert len(key.encode()) <= MAX_KEY_BYTES
    assert skill_of(skill_key(skill)) == skill


def test_a_skill_that_normalises_past_the_limit_is_refused_before_any_key_is_made() -> None:
    typed = "\ufdfa" * 40  # 40 characters typed, 720 once normalised
    assert len(normalise_skill(typed).encode()) > MAX_SKILL_KEY_BYTES
    assert skill_key_problem(normalise_skill(typed))


def test_slot_pieces_and_archive_pieces_sort_after_their_first() -> None:
    assert slots_key("python", "2026-11-30") == "slots/python/2026-11-30"
    assert slots_key("python", "2026-11-30", 1) == "slots/python/2026-11-30/1"
    pieces = [archive_key("u1", "2026Q4", n) for n in (10, 2, 0)]
    assert sorted(pieces) == [archive_key("u1", "2026Q4", n) for n in (0, 2, 10)]
    assert all(p.startswith(archive_prefix("u1", "2026Q4")) for p in pieces)
    assert archive_prefix(SHARED) == "archive/all/"


def test_names_are_claimed_case_insensitively_and_deleted_emails_kept_only_as_a_hash() -> None:
    assert username_key("Ada") == username_key("ada")
    assert email_key(" Ada@Example.com ") == email_key("ada@example.com")
    hashed = deleted_email_key("secret", "ada@example.com")
    assert "ada" not in hashed and "example" not in hashed
    assert hashed == deleted_email_key("secret", "ADA@example.com ")
    assert hashed != deleted_email_key("another secret", "ada@example.com")

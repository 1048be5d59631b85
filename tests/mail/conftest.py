"""Shared values of the mail tests."""

from __future__ import annotations

from datetime import UTC, datetime
from email.headerregistry import Address

SENDER = Address("SkillSwap", "no-reply", "skillswap.test")
# Across Europe/Berlin's change to summer time (2026-03-29, 02:00 -> 03:00).
START = datetime(2026, 3, 27, 12, 0, tzinfo=UTC)

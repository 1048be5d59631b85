"""Workflows that span documents: one function per use case (booking, cancelling, reviewing,
publishing, matching, account deletion, upkeep, backups, mail), each taking the Repository first.
The rules they apply live in domain/, the keys and documents in repo/; views call these and
render: `services.booking.book(repo, booking)`."""

from skillswap.services import upkeep  # noqa: I001 (the others build on upkeep)
from skillswap.services import accounts, attendance, backup, booking, mail, matching, offers
from skillswap.services import reschedule, rules, waitlist

__all__ = [
    "accounts",
    "attendance",
    "backup",
    "booking",
    "mail",
    "matching",
    "offers",
    "reschedule",
    "rules",
    "upkeep",
    "waitlist",
]

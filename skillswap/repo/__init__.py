"""The repository: the only code that knows keys (repo/keys.py), how records are laid out in
documents, and the derived indexes. No rules (domain/) and no workflows spanning documents
(services/): each method reads or changes documents of one kind, atomically where it writes.
"""

from __future__ import annotations

from skillswap.repo.archive import Archive
from skillswap.repo.emails import Emails
from skillswap.repo.indexes import Indexes
from skillswap.repo.people import EmailTaken, People, UsernameTaken
from skillswap.repo.reminders import DueIndex
from skillswap.repo.schedules import Schedules, ScheduleTooBig

__all__ = ["EmailTaken", "Repository", "ScheduleTooBig", "UsernameTaken"]


class Repository(People, Emails, Schedules, Indexes, Archive, DueIndex):
    """Accounts and logins, addresses, schedules, the skill and slot indexes, the archive,
    and the due index of reminders."""

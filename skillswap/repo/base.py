"""What every part of the repository shares: the store, the clock, and the sizes it lays
documents out by. The parts (people, schedules, indexes, archive) are mixed into one
Repository (repo/__init__.py), each in its own module, one kind of key each."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime

from skillswap.domain import limits
from skillswap.domain.users import User
from skillswap.repo.keys import user_key
from skillswap.store import Store

Clock = Callable[[], datetime]
# Passes of a derived document's refresh (slot rows, search cards and heads) before it leaves
# one that a write at the same moment keeps changing (then that write's own refresh, or
# `flask reindex`, writes it).
REFRESH_TRIES = 5


class RepositoryBase:
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
        # Where keys are scarce (Replit DB) documents are shared: one slot-index bucket per
        # skill rather than per week, archive pieces per quarter for everyone.
        scarce = store.budget is not None
        self.weekly_slots = not scarce
        self.shared_archives = scarce
        # Search's own small documents (domain/search_cards.py): a key per teacher and per
        # skill, which only stores without a key budget can spare.
        self.search_cards = not scarce
        # Pieces stay well inside the store's value limit, whatever it is set to (a row of
        # the slot index is about 65 bytes).
        self.slot_piece_rows = min(slot_piece_rows, store.max_value_bytes // 128)
        if scarce:
            archive_piece_bytes = min(archive_piece_bytes, limits.SHARED_ARCHIVE_PIECE_BYTES)
        self.archive_piece_bytes = min(archive_piece_bytes, store.max_value_bytes // 2)
        self.growth_budget = limits.growth_budget(store.max_value_bytes)
        # Owners whose live document turned out due for upkeep during this thread's current
        # operation: the operation settles them when it is done (services/upkeep.py).
        self._due = threading.local()

    def change_user(self, uid: str, change: Callable[[dict], dict]) -> User | None:
        """Apply `change` to the stored user record atomically; the record as written (None
        when there is no such person)."""
        written: list[dict] = []

        def apply(data: dict | None) -> dict | None:
            if data is None:
                return None
            written[:] = [change(data)]
            return written[0]

        self.store.update(user_key(uid), apply)
        return User.from_dict(written[0]) if written else None

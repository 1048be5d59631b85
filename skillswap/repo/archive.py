"""The archive: pieces of history that left the live documents (archive/<owner>/<quarter>/
<piece>; domain/archive.py says what moves and when). Per person, or on Replit DB, where keys
are scarce, shared by everyone per quarter. Only the history page reads it."""

from __future__ import annotations

import contextlib
import logging

from skillswap.domain import archive, limits
from skillswap.domain.records import Booking, LearnRequest, Offer
from skillswap.repo.base import RepositoryBase
from skillswap.repo.keys import (
    SHARED,
    archive_key,
    archive_prefix,
)
from skillswap.store import Store, StoreLimitError
from skillswap.store.codec import encoded_size

log = logging.getLogger(__name__)


def shared_archives(store: Store) -> bool:
    """Archive pieces per person, or, where keys are scarce, per quarter for everyone."""
    return store.budget is not None


def relayout_archives(store: Store, bound: int) -> int:
    """Archive pieces laid out for this store: per person, or shared per quarter where keys are
    scarce. An export from the other kind of store is regrouped (records keep their keys, so
    nothing is counted twice). Returns how many pieces were written."""
    shared = shared_archives(store)
    keys = store.keys("archive/")
    foreign = [k for k in keys if (k.split("/")[1] == SHARED) != shared]
    if not foreign:
        return 0
    grouped: dict[tuple[str, str], dict[str, dict]] = {}
    for key, doc in store.get_many(foreign).items():
        period = key.split("/")[2]
        for record_key, record in doc["records"].items():
            owner = SHARED if shared else record_key.split("/")[0]
            grouped.setdefault((owner, period), {})[record_key] = record
    written = 0
    for (owner, period), records in sorted(grouped.items()):
        number = len(store.keys(f"archive/{owner}/{period}/"))
        piece: dict[str, dict] = {}
        for record_key, record in sorted(records.items()):
            if piece and encoded_size({"records": {**piece, record_key: record}}) > bound:
                store.put(archive_key(owner, period, number), {"records": piece})
                number, piece, written = number + 1, {}, written + 1
            piece[record_key] = record
        if piece:
            store.put(archive_key(owner, period, number), {"records": piece})
            written += 1
    for key in foreign:
        store.delete(key)
    return written


class Archive(RepositoryBase):
    def archive_owner(self, uid: str) -> str:
        return SHARED if self.shared_archives else uid

    def archive_piece(self, uid: str, plan: archive.Plan) -> str:
        """The piece a new batch goes to: the period's last piece (if the batch does not fit
        there, the copy moves it on to the next one: `copy_batch`)."""
        owner = self.archive_owner(uid)
        existing = self.store.keys(archive_prefix(owner, plan.period))
        number = int(existing[-1].rsplit("/", 1)[1]) if existing else 0
        return archive_key(owner, plan.period, number)

    def copy_batch(self, uid: str, batch: dict) -> dict:
        """Step 2: copy the batch's records into its piece; if the piece filled up meanwhile,
        move the batch to the next piece (written down first) and copy there."""
        records = archive.batch_records(self.schedule(uid), batch, self.clock())
        while True:
            try:
                self.store.update(
                    batch["piece"],
                    lambda doc: archive.add_records(
                        doc, records, encoded_size, self.archive_piece_bytes
                    ),
                )
                return batch
            except limits.PieceFull:
                base, _, number = batch["piece"].rpartition("/")
                piece = f"{base}/{int(number) + 1:03d}"
                batch = {**batch, "piece": piece}
                with contextlib.suppress(StoreLimitError):  # unannounced at the limit, as above
                    batch = self.change_schedule(uid, lambda s, b=batch: archive.move_to(s, b))

    def archive_periods(self, uid: str) -> list[str]:
        """Quarters with archive pieces that may hold this person's history, newest first."""
        keys = self.store.keys(archive_prefix(self.archive_owner(uid)))
        return sorted({key.split("/")[2] for key in keys}, reverse=True)

    def archived(self, uid: str, period: str) -> dict[str, list]:
        """This person's archived bookings, offers and requests of one quarter: the only
        reader of the archive (the history page). Two round trips."""
        keys = self.store.keys(archive_prefix(self.archive_owner(uid), period))
        found: dict[str, list] = {"bookings": [], "offers": [], "requests": []}
        parse = {"bookings": Booking.from_dict, "offers": Offer.from_dict}
        mine = f"{uid}/"
        for doc in self.store.get_many(keys).values():
            for key, data in doc["records"].items():
                if key.startswith(mine):
                    kind = key.split("/")[1]
                    found[kind].append(parse.get(kind, LearnRequest.from_dict)(data))
        return found

    def archived_records(self, uid: str) -> dict[str, dict]:
        """Every archived record of this person by record key (tests, `flask migrate`)."""
        owner = self.archive_owner(uid)
        mine = f"{uid}/"
        records: dict[str, dict] = {}
        for doc in self.store.get_many(self.store.keys(archive_prefix(owner))).values():
            records.update({k: v for k, v in doc["records"].items() if k.startswith(mine)})
        return records

    def delete_archive(self, uid: str) -> None:
        if not self.shared_archives:
            for key in self.store.keys(archive_prefix(uid)):
                self.store.delete(key)
            return
        mine = f"{uid}/"
        for key in self.store.keys(archive_prefix(SHARED)):

            def without(doc: dict | None) -> dict | None:
                if not doc:
                    return None
                kept = {k: v for k, v in doc["records"].items() if not k.startswith(mine)}
                return {"records": kept} if kept else None

            self.store.update(key, without)

"""`flask` commands for operators: rebuild indexes, keep history in shape, show store usage,
export and import data, send due mail."""

from __future__ import annotations

import sys

import click
from flask import Flask, current_app

from skillswap import services
from skillswap.domain.limits import STORE_CEILING_SHARE
from skillswap.domain.slot_index import ALL_WEEKS
from skillswap.repo import Repository
from skillswap.repo.archive import relayout_archives
from skillswap.repo.indexes import (
    rebuild_search_records,
    reindex,
    search_layout_differs,
    weekly_slot_buckets,
)
from skillswap.repo.reminders import due_layout_differs, reindex_due
from skillswap.services.backup import export_records, import_records, read_export
from skillswap.services.mail import send_due_mail
from skillswap.services.upkeep import refresh_search_cards
from skillswap.store import REPLIT_BUDGET, Store
from skillswap.web.common import now


def _store() -> Store:
    return current_app.extensions["skillswap.store"]


def _repo() -> Repository:
    return current_app.extensions["skillswap.repo"]


def register(app: Flask) -> None:
    @app.cli.command("reindex")
    def reindex_command() -> None:
        """Rebuild the skill and slot indexes (with search cards and heads) from users,
        offers and requests."""
        written, removed = reindex(_store(), now(), cap=_repo().slot_piece_rows)
        click.echo(f"indexes rebuilt: {written} documents written, {removed} stale removed")
        written, removed = reindex_due(_store(), current_app.config["REMINDER_OFFSETS"], now())
        click.echo(f"due index rebuilt: {written} pieces written, {removed} stale removed")

    @app.cli.command("migrate")
    def migrate_command() -> None:
        """Bring every schedule to the current layout: archive the history that may leave
        the live documents, and store every address in its one form (idempotent; run it
        again after an interruption)."""
        repo = _repo()
        uids = [key.removeprefix("user/") for key in _store().keys("user/")]
        batches = addresses = 0
        for number, uid in enumerate(uids, 1):
            batches += services.upkeep.maintain(repo, uid)
            adopted = repo.adopt_email_identity(uid)
            addresses += bool(adopted)
            if adopted is False:
                click.echo(f"account {uid}: another account has its address in another form")
            if number % 100 == 0:
                click.echo(f"{number} of {len(uids)} people…", err=True)
        click.echo(f"migrated {len(uids)} people: {batches} batches moved to the archive")
        plural = "address" if addresses == 1 else "addresses"
        click.echo(f"{addresses} {plural} brought to one form (email_identity)")

    @app.cli.command("send-due-mail")
    def send_due_mail_command() -> None:
        """Send the mail that is due: reminders, and retries of mail the server did not take;
        then bring a batch of search cards up to date. For cron or Replit Scheduled
        Deployments, every minute or so, where MAIL_SENDER_THREAD=false."""
        extensions = current_app.extensions
        mailer = extensions["skillswap.mailer"]
        done = send_due_mail(_repo(), mailer, now(), extensions["skillswap.notifier"])
        reminders, sent = done.reminders, done.delivery
        click.echo(
            f"reminders: {reminders.sent} mailed, {reminders.late} too late to send (dropped)"
        )
        click.echo(
            f"mail: {sent.sent} sent, {sent.retrying} to retry later, {sent.dropped} dropped; "
            f"{len(mailer.queue)} waiting in the queue"
        )
        click.echo(f"search cards: {refresh_search_cards(_repo())} brought up to date")

    @app.cli.command("store-stats")
    def store_stats_command() -> None:
        """Keys and bytes used, and what uses them, against the store's ceilings."""
        store = _store()
        stats = store.stats()
        keys = store.keys("")
        overflow = [k for k in keys if k.startswith("slots/") and k.count("/") == 3]
        click.echo(f"store: {store.name}")
        click.echo(f"users: {sum(1 for k in keys if k.startswith('user/'))}")
        click.echo(f"slot-index pieces: {sum(1 for k in keys if k.startswith('slots/'))} ")
        click.echo(f"  of which overflow pieces: {len(overflow)}")
        click.echo(f"archive pieces: {sum(1 for k in keys if k.startswith('archive/'))}")
        click.echo(f"due-index pieces (reminders): {sum(1 for k in keys if k.startswith('due/'))}")
        budget = store.budget or REPLIT_BUDGET
        label = "this store's" if store.budget else "Replit's"
        stop = int(STORE_CEILING_SHARE * 100)
        click.echo(
            f"keys: {stats.keys} of {label} {budget.max_keys} "
            f"({100 * stats.keys / budget.max_keys:.1f} %; new members and offers stop at {stop} %)"
        )
        click.echo(
            f"bytes: {stats.bytes} of {label} {budget.max_bytes} "
            f"({100 * stats.bytes / budget.max_bytes:.1f} %)"
        )

    @app.cli.command("export")
    @click.argument("path", default="-")
    def export_command(path: str) -> None:
        """Write every record as JSON lines to PATH (default: standard output)."""
        if path == "-":
            count, torn = export_records(_store(), sys.stdout, now())
        else:
            with open(path, "w", encoding="utf-8") as out:
                count, torn = export_records(_store(), out, now())
        click.echo(f"exported {count} records", err=True)
        if torn:
            click.echo(
                f"{len(torn)} session{'s' if len(torn) != 1 else ''} in this copy "
                f"{'are' if len(torn) != 1 else 'is'} in one person's schedule only, or "
                "differently in the other's (changed while the store was read: Replit DB has "
                "no read transaction). `flask import` mends them from the newer copy; or "
                "export again.",
                err=True,
            )

    @app.cli.command("import")
    @click.argument("path", default="-")
    @click.option("--overwrite", is_flag=True, help="Replace records that differ.")
    @click.option(
        "--no-end-check",
        is_flag=True,
        help="Take an export made before exports ended with a line counting their records.",
    )
    def import_command(path: str, overwrite: bool, no_end_check: bool) -> None:
        """Load records exported with `flask export` into this app's store."""
        if path == "-":
            records = read_export(sys.stdin, check_end=not no_end_check)
        else:
            # utf-8-sig: a file an editor saved with a byte-order mark reads the same.
            with open(path, encoding="utf-8-sig") as lines:
                records = read_export(lines, check_end=not no_end_check)
        written, same, mended, merged = import_records(_store(), records, overwrite, now())
        click.echo(f"imported {written} records ({same} already identical)", err=True)
        if mended:
            click.echo(
                f"mended {mended} session{'s' if mended != 1 else ''} the export had caught "
                "in one person's schedule only",
                err=True,
            )
        store = _store()
        if merged:
            # The store had records of its own: its indexes and the file's each list only
            # their own, so both are rebuilt from all the records.
            rebuilt, removed = reindex(store, now(), cap=_repo().slot_piece_rows)
            click.echo(f"indexes rebuilt from both: {rebuilt} written, {removed} removed", err=True)
            reindex_due(store, current_app.config["REMINDER_OFFSETS"], now())
        else:
            # Replit DB keeps a skill's slots in one document, other stores one a week: a dump
            # from the other kind of store gets its slot index laid out afresh for this one.
            weekly = weekly_slot_buckets(store)
            if any((key.split("/")[2] == ALL_WEEKS) == weekly for key in store.keys("slots/")):
                rebuilt, _ = reindex(store, now(), skills=False, cap=_repo().slot_piece_rows)
                click.echo(f"slot index laid out for {store.name}: {rebuilt} written", err=True)
            if search_layout_differs(store):
                rebuilt, _ = reindex(store, now(), cap=_repo().slot_piece_rows)
                click.echo(f"search cards laid out for {store.name}: {rebuilt} written", err=True)
            elif _repo().search_cards:
                # A card or head is written just after the record it comes from, so an export
                # can hold one a change behind it.
                rebuilt, _ = rebuild_search_records(store, now())
                click.echo(f"search cards brought up to date: {rebuilt} written", err=True)
            if due_layout_differs(store):
                rebuilt, _ = reindex_due(store, current_app.config["REMINDER_OFFSETS"], now())
                click.echo(f"due index laid out for {store.name}: {rebuilt} written", err=True)
        if moved := relayout_archives(store, _repo().archive_piece_bytes):
            click.echo(f"archive laid out for {store.name}: {moved} pieces written", err=True)

"""The loader: moves acknowledged requests from the inbox into the events table, oldest first,
thousands of messages per transaction, one loader at a time per database.

Crash-safe and idempotent: an entry is marked loaded in the transaction that stores its events
(PostgreSQL deletes the row, SQLite moves a watermark), and the events table's unique
(source, message id) absorbs anything loaded again. A background thread runs it continuously
in the worker, and in web processes too unless `TEND_INGEST_LOADER=worker`; `drain_inbox` runs it
until the inbox is empty.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import msgspec
from django.db import InterfaceError, OperationalError, connection, transaction

from tend.config.settings import get_settings
from tend.usage.group_commit import inbox_writer
from tend.usage.inbox import InboxDepth, InboxEntry, InboxStore, inbox_store
from tend.usage.ingest import decode_entry, store_entries
from tend.usage.models import RejectedMessage
from tend.usage.segment_spec import Message, payload_text

logger = logging.getLogger(__name__)

MAX_MESSAGES_PER_ROUND = 5_000
MAX_ROWS_PER_ROUND = 500
IDLE_WAIT_SECONDS = 0.25
BUSY_WAIT_SECONDS = 1.0
"""How often a loader that is not this database's loader checks whether it should take over."""
FAILURE_WAIT_SECONDS = 1.0


@dataclass(slots=True)
class LoadReport:
    """What one or more loader rounds did."""

    rows: int = 0
    events: int = 0
    duplicates: int = 0
    rejected: int = 0
    quarantined: int = 0
    seconds: float = 0.0
    busy: bool = False

    def add(self, other: LoadReport) -> None:
        self.rows += other.rows
        self.events += other.events
        self.duplicates += other.duplicates
        self.rejected += other.rejected
        self.quarantined += other.quarantined
        self.seconds += other.seconds


def load_round(
    store: InboxStore | None = None, wait: bool = False, max_rows: int = MAX_ROWS_PER_ROUND
) -> LoadReport:
    """Load the oldest pending entries (up to MAX_MESSAGES_PER_ROUND messages) in one
    transaction. Without `wait`, gives up at once when another loader has the turn."""
    store = store or inbox_store()
    if not store.has_pending():
        return LoadReport()
    if not store.take_loader_turn(wait):
        return LoadReport(busy=True)
    started = time.perf_counter()
    try:
        _sync_fully()
        with transaction.atomic():
            entries = store.pending(MAX_MESSAGES_PER_ROUND, max_rows)
            report = _load(store, entries) if entries else LoadReport()
        store.after_commit()
    finally:
        store.end_loader_turn()
    report.seconds = time.perf_counter() - started
    return report


def _load(store: InboxStore, entries: list[InboxEntry]) -> LoadReport:
    try:
        with transaction.atomic():
            stored = store_entries([decode_entry(entry) for entry in entries])
    except (OperationalError, InterfaceError):
        raise
    except Exception as error:
        if len(entries) > 1:
            raise _PoisonSuspected from error
        logger.exception("Inbox entry %s cannot be loaded; keeping it as rejected", entries[0].id)
        report = LoadReport(rows=1, quarantined=_quarantine(entries[0], error))
        store.mark_loaded(entries)
        return report
    store.mark_loaded(entries)
    return LoadReport(
        rows=len(entries),
        events=stored.events,
        duplicates=stored.duplicates,
        rejected=stored.rejected,
    )


class _PoisonSuspected(Exception):
    """A multi-entry round failed for a reason other than the database: load one by one."""


def _quarantine(entry: InboxEntry, error: Exception) -> int:
    """Keep an entry that cannot be stored as rejected messages, so it never blocks the inbox."""
    payload = entry.decode()
    reason = f"Could not be stored: {error}"[:1000]
    rows = [
        RejectedMessage(
            source_id=entry.source_id,
            endpoint=entry.endpoint[:40],
            message_id=message_id,
            code="load_failed",
            reason=reason,
            payload=payload_text(text),
            received_at=entry.received_at,
        )
        for message_id, text in map(_as_text, payload.messages)
    ]
    RejectedMessage.objects.bulk_create(rows)
    return len(rows)


def _as_text(message: Message | msgspec.Raw) -> tuple[str, Any]:
    """A stored message's id (when known) and content, to keep for inspection."""
    if isinstance(message, Message):
        return message.message_id, msgspec.structs.asdict(message)
    return "", bytes(message).decode(errors="replace")


def _sync_fully() -> None:
    """SQLite: commit the loader's transactions with a full sync, because the inbox rows they
    cover are deleted right after; an unsynced commit could be lost with them on power loss."""
    if connection.vendor == "sqlite" and not connection.in_atomic_block:
        connection.ensure_connection()
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA synchronous = FULL")


def drain_inbox(max_seconds: float | None = None) -> LoadReport:
    """Load until the inbox is empty (or `max_seconds` have passed), waiting for the turn."""
    total = LoadReport()
    deadline = None if max_seconds is None else time.monotonic() + max_seconds
    max_rows = MAX_ROWS_PER_ROUND
    while deadline is None or time.monotonic() < deadline:
        try:
            report = load_round(wait=True, max_rows=max_rows)
        except _PoisonSuspected:
            max_rows = 1
            continue
        total.add(report)
        if report.rows == 0:
            break
    return total


def inbox_depth() -> InboxDepth:
    """Acknowledged but not yet loaded: rows, messages and the oldest one's receipt time."""
    return inbox_store().depth()


@dataclass
class BackgroundLoader:
    """The loader as a daemon thread, woken by this process's inbox commits."""

    stop: threading.Event = field(default_factory=threading.Event)
    wake: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None
    loaded: LoadReport = field(default_factory=LoadReport)

    def start(self) -> None:
        inbox_writer().on_commit.append(self.wake.set)
        self.thread = threading.Thread(target=self._run, name="tend-inbox-loader", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        max_rows = MAX_ROWS_PER_ROUND
        while not self.stop.is_set():
            pause = 0.0
            try:
                connection.close_if_unusable_or_obsolete()
                report = load_round(max_rows=max_rows)
                self.loaded.add(report)
                max_rows = MAX_ROWS_PER_ROUND if report.rows else max_rows
                if report.busy:
                    pause = BUSY_WAIT_SECONDS
                elif not report.rows:
                    pause = IDLE_WAIT_SECONDS
            except _PoisonSuspected:
                max_rows = 1
            except Exception as error:
                logger.warning("Inbox loader: %s; retrying in %.0f s", error, FAILURE_WAIT_SECONDS)
                _forget_connections()
                pause = FAILURE_WAIT_SECONDS
            if pause:
                self.wake.wait(pause)
                self.wake.clear()


def _forget_connections() -> None:
    try:
        connection.close()
        inbox_store().reset()
    except Exception as error:
        logger.debug("Inbox loader: closing connections failed: %s", error)


_background: BackgroundLoader | None = None
_background_lock = threading.Lock()


def start_background_loader(in_worker: bool = False) -> BackgroundLoader | None:
    """Start this process's loader thread (once); it loads whenever it holds the turn. A web
    process (`in_worker` False) starts none when `TEND_INGEST_LOADER=worker`: it only
    acknowledges, and the worker's loader runs on another core without sharing its GIL."""
    global _background
    if not in_worker and get_settings().ingest_loader == "worker":
        return _background
    with _background_lock:
        if _background is None:
            _background = BackgroundLoader()
            _background.start()
        return _background

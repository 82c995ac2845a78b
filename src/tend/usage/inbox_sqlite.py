"""The SQLite inbox: its own WAL file beside the database, committed with a full sync.

The events table lives in another file, so the loader cannot delete inbox rows in the
transaction that stores their events. Instead that transaction moves a watermark (the last
inbox id loaded, in `usage_watermark`), and rows at or below it are deleted afterwards; rows
are never loaded twice, and a crash between the two steps only leaves rows to delete.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path

from django.db import connection

from tend.usage.inbox import InboxDepth, InboxEntry
from tend.usage.models import Watermark

LOCK_WAIT_SECONDS = 3.0
"""How long an append waits for a locked inbox before the client is told to retry (503)."""
SCHEMA = """
CREATE TABLE IF NOT EXISTS inbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    source_id INTEGER NOT NULL,
    source_slug TEXT NOT NULL,
    key_id INTEGER NOT NULL,
    endpoint TEXT NOT NULL,
    received_at TEXT NOT NULL,
    message_count INTEGER NOT NULL,
    payload BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS inbox_identity (name TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
COLUMNS = "source_id, source_slug, key_id, endpoint, received_at, message_count, payload"


class SqliteInbox:
    """The inbox in `path`; one connection per thread (sqlite3 connections are not shared)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock_path = path.with_name(path.name + ".loader-lock")
        self._local = threading.local()
        self._generation: str | None = None

    def _db(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, timeout=LOCK_WAIT_SECONDS, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            db.executescript(SCHEMA)
            db.execute(
                "INSERT OR IGNORE INTO inbox_identity (name, value) VALUES ('generation', ?)",
                (uuid.uuid4().hex,),
            )
            self._local.db = db
        return db

    def reset(self) -> None:
        """Drop this thread's connection (after an error, or to let a test remove the file)."""
        db = getattr(self._local, "db", None)
        self._local.db = None
        if db is not None:
            db.close()

    def append(self, entries: list[InboxEntry]) -> None:
        """Commit `entries` in one transaction: one fsync for the whole group."""
        db = self._db()
        rows = [
            (
                entry.source_id,
                entry.source_slug,
                entry.key_id,
                entry.endpoint,
                entry.received_at.astimezone(UTC).isoformat(),
                entry.message_count,
                entry.payload,
            )
            for entry in entries
        ]
        db.execute("BEGIN IMMEDIATE")
        try:
            db.executemany(f"INSERT INTO inbox ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise

    def depth(self) -> InboxDepth:
        rows, messages, oldest = (
            self._db()
            .execute("SELECT count(*), total(message_count), min(received_at) FROM inbox")
            .fetchone()
        )
        return InboxDepth(
            rows=int(rows),
            messages=int(messages),
            oldest=datetime.fromisoformat(oldest) if oldest else None,
        )

    def has_pending(self) -> bool:
        return self._db().execute("SELECT EXISTS (SELECT 1 FROM inbox)").fetchone()[0] == 1

    def _watermark_name(self) -> str:
        """Named after this inbox file's identity, so a new inbox file starts from zero."""
        if self._generation is None:
            row = (
                self._db()
                .execute("SELECT value FROM inbox_identity WHERE name = 'generation'")
                .fetchone()
            )
            self._generation = str(row[0])
        return f"inbox:{self._generation}"

    def _loaded_through(self) -> int:
        row = Watermark.objects.filter(name=self._watermark_name()).values_list("position").first()
        return int(row[0]) if row else 0

    def pending(self, max_messages: int, max_rows: int) -> list[InboxEntry]:
        """Rows after the watermark, oldest first (SQLite assigns ids in commit order)."""
        cursor = self._db().execute(
            f"SELECT id, {COLUMNS} FROM inbox WHERE id > ? ORDER BY id LIMIT ?",
            (self._loaded_through(), max_rows),
        )
        entries: list[InboxEntry] = []
        messages = 0
        for row in cursor:
            entries.append(
                InboxEntry(
                    id=row[0],
                    source_id=row[1],
                    source_slug=row[2],
                    key_id=row[3],
                    endpoint=row[4],
                    received_at=datetime.fromisoformat(row[5]),
                    message_count=row[6],
                    payload=row[7],
                )
            )
            messages += row[6]
            if messages >= max_messages:
                break
        cursor.close()
        return entries

    def mark_loaded(self, entries: list[InboxEntry]) -> None:
        Watermark.objects.update_or_create(
            name=self._watermark_name(), defaults={"position": entries[-1].id}
        )

    def after_commit(self) -> None:
        """Delete the rows the committed watermark covers. Inside an enclosing transaction (a
        test's), nothing is committed yet, so nothing is deleted."""
        if connection.in_atomic_block:
            return
        db = self._db()
        db.execute("DELETE FROM inbox WHERE id <= ?", (self._loaded_through(),))

    def take_loader_turn(self, wait: bool) -> bool:
        """One loader at a time per inbox file, across processes (an exclusive flock)."""
        descriptor = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(descriptor)
            return False
        self._local.lock = descriptor
        return True

    def end_loader_turn(self) -> None:
        descriptor = getattr(self._local, "lock", None)
        self._local.lock = None
        if descriptor is not None:
            os.close(descriptor)

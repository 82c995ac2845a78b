"""The PostgreSQL inbox: the `usage_inboxbatch` table in the main database.

The loader deletes the rows it loads in the same transaction that stores their events, so a
row is loaded exactly once whatever order concurrent writers commit in.
"""

from __future__ import annotations

from django.db import DatabaseError, connection, transaction

from tend.usage.inbox import InboxDepth, InboxEntry
from tend.usage.models import InboxBatch

LOCK_WAIT_MILLISECONDS = 3000
"""How long an append waits for a locked inbox before the client is told to retry (503)."""
LOADER_LOCK_KEY = 0x7465_6E64_6962
"""The session advisory lock that makes one loader at a time per database."""
COLUMNS = "source_id, source_slug, key_id, endpoint, received_at, message_count, payload"


class PostgresInbox:
    """The inbox table, reached through the calling thread's Django connection."""

    def reset(self) -> None:
        connection.close()

    def append(self, entries: list[InboxEntry]) -> None:
        """Insert `entries` in one transaction (inside a caller's transaction: a savepoint)."""
        table = connection.ops.quote_name(InboxBatch._meta.db_table)
        rows = [
            (
                entry.source_id,
                entry.source_slug,
                entry.key_id,
                entry.endpoint,
                entry.received_at,
                entry.message_count,
                entry.payload,
            )
            for entry in entries
        ]
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL lock_timeout = {LOCK_WAIT_MILLISECONDS}")
            cursor.executemany(
                f"INSERT INTO {table} ({COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s)", rows
            )

    def depth(self) -> InboxDepth:
        table = connection.ops.quote_name(InboxBatch._meta.db_table)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL lock_timeout = {LOCK_WAIT_MILLISECONDS}")
            cursor.execute(
                f"SELECT count(*), coalesce(sum(message_count), 0), min(received_at) FROM {table}"
            )
            rows, messages, oldest = cursor.fetchone()
        return InboxDepth(rows=int(rows), messages=int(messages), oldest=oldest)

    def has_pending(self) -> bool:
        return InboxBatch.objects.exists()

    def pending(self, max_messages: int, max_rows: int) -> list[InboxEntry]:
        table = connection.ops.quote_name(InboxBatch._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT id, {COLUMNS} FROM {table} ORDER BY id LIMIT %s FOR UPDATE", [max_rows]
            )
            entries: list[InboxEntry] = []
            messages = 0
            for row in cursor.fetchall():
                entries.append(
                    InboxEntry(
                        id=row[0],
                        source_id=row[1],
                        source_slug=row[2],
                        key_id=row[3],
                        endpoint=row[4],
                        received_at=row[5],
                        message_count=row[6],
                        payload=bytes(row[7]),
                    )
                )
                messages += row[6]
                if messages >= max_messages:
                    break
        return entries

    def mark_loaded(self, entries: list[InboxEntry]) -> None:
        table = connection.ops.quote_name(InboxBatch._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                f"DELETE FROM {table} WHERE id = ANY(%s)", [[entry.id for entry in entries]]
            )

    def after_commit(self) -> None:
        pass

    def take_loader_turn(self, wait: bool) -> bool:
        with connection.cursor() as cursor:
            if wait:
                cursor.execute("SELECT pg_advisory_lock(%s)", [LOADER_LOCK_KEY])
                return True
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [LOADER_LOCK_KEY])
            return bool(cursor.fetchone()[0])

    def end_loader_turn(self) -> None:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [LOADER_LOCK_KEY])
        except DatabaseError:
            connection.close()  # a broken session has released its locks already

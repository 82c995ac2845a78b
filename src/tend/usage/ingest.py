"""The ingestion write: one transaction per request stores the batch's new events, applies
identity, keeps the rejected messages; the caller acknowledges only after it returns."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import orjson
from django.db import OperationalError, connection, transaction

from tend.customers.identity import resolve_messages
from tend.usage.actions import EVENT_COLUMNS, db_time_formatter
from tend.usage.keys import AuthenticatedKey
from tend.usage.models import Event, RejectedMessage, WriteKey
from tend.usage.segment_spec import Message, Rejection

LOCK_WAIT_MILLISECONDS = 3000
"""How long a batch waits for a locked database before the client is told to retry (503)."""
KEY_USE_GRANULARITY = timedelta(minutes=1)
_SQLITE_WRITER = threading.Lock()
"""SQLite has one writer at a time; queueing this process's writers here avoids SQLite's
sleeping busy handler, which adds up to 100 ms of latency per collision."""


@dataclass(slots=True)
class IngestResult:
    """What happened to a request's messages."""

    accepted: int = 0
    duplicates: int = 0
    rejected: list[Rejection] = field(default_factory=list)


def ingest(
    key: AuthenticatedKey,
    endpoint: str,
    messages: list[Message],
    rejections: list[Rejection],
    received_at: datetime,
) -> IngestResult:
    """Store a validated batch durably, in one transaction; duplicates of stored messages are
    skipped (and their identity effects not applied twice)."""
    result = IngestResult(rejected=rejections)
    if not messages and not rejections:
        return result
    _limit_lock_wait()
    with _one_writer(), transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(f"SET LOCAL lock_timeout = {LOCK_WAIT_MILLISECONDS}")
        new_messages = _without_stored(key.source_slug, messages)
        result.duplicates = len(messages) - len(new_messages)
        if new_messages:
            resolve_messages(new_messages)
            result.accepted = _insert_events(key.source_slug, new_messages, received_at)
        if rejections:
            _store_rejections(key.source_id, endpoint, rejections, received_at)
        if key.last_used_at is None or received_at - key.last_used_at >= KEY_USE_GRANULARITY:
            WriteKey.objects.filter(pk=key.key_id).update(last_used_at=received_at)
    return result


@contextmanager
def _one_writer() -> Iterator[None]:
    """On SQLite, take this process's writer turn, or fail like a locked database (503)."""
    if connection.vendor != "sqlite" or connection.in_atomic_block:
        yield
        return
    if not _SQLITE_WRITER.acquire(timeout=LOCK_WAIT_MILLISECONDS / 1000):
        raise OperationalError("database is locked (waited for this process's writers)")
    try:
        yield
    finally:
        _SQLITE_WRITER.release()


def _limit_lock_wait() -> None:
    """On SQLite, wait at most LOCK_WAIT_MILLISECONDS for the write lock and commit with a full
    sync, so an acknowledged batch survives a power loss, not only a crash."""
    if connection.vendor != "sqlite" or connection.in_atomic_block:
        return
    connection.ensure_connection()
    with connection.cursor() as cursor:
        cursor.execute(f"PRAGMA busy_timeout = {LOCK_WAIT_MILLISECONDS}")
        cursor.execute("PRAGMA synchronous = FULL")


def _without_stored(source: str, messages: list[Message]) -> list[Message]:
    if not messages:
        return messages
    table = connection.ops.quote_name(Event._meta.db_table)
    placeholders = ", ".join(["%s"] * len(messages))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT message_id FROM {table} WHERE source = %s AND message_id IN ({placeholders})",
            [source, *(message.message_id for message in messages)],
        )
        stored = {row[0] for row in cursor.fetchall()}
    if not stored:
        return messages
    return [message for message in messages if message.message_id not in stored]


def _insert_events(source: str, messages: list[Message], received_at: datetime) -> int:
    table = connection.ops.quote_name(Event._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(column) for column in EVENT_COLUMNS)
    placeholders = ", ".join(["%s"] * len(EVENT_COLUMNS))
    db_time = db_time_formatter()
    received = db_time(received_at)
    dumps = orjson.dumps
    rows = [
        (
            source,
            message.message_id,
            message.type,
            message.name,
            message.user_id,
            message.anonymous_id,
            message.account_id,
            db_time(message.timestamp),
            received,
            dumps(message.properties).decode(),
            dumps(message.context).decode(),
        )
        for message in messages
    ]
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {table} ({columns}) VALUES ({placeholders}) "
            "ON CONFLICT (source, message_id) DO NOTHING",
            rows,
        )
        return max(cursor.rowcount, 0)


def _store_rejections(
    source_id: int, endpoint: str, rejections: list[Rejection], received_at: datetime
) -> None:
    RejectedMessage.objects.bulk_create(
        RejectedMessage(
            source_id=source_id,
            endpoint=endpoint[:40],
            message_id=rejection.message_id,
            code=rejection.code,
            reason=rejection.reason,
            payload=rejection.payload,
            received_at=received_at,
        )
        for rejection in rejections
    )

"""Storing loaded inbox entries: inside the loader's transaction, the entries' new events are
inserted with identity applied, their rejected messages kept and their keys' last use noted.

Events already stored (a client's retry, or an entry loaded again after a crash) are skipped
before identity runs, so neither the event nor its identity effects are applied twice.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import orjson
from django.db import connection

from tend.customers.identity import resolve_messages
from tend.usage.actions import EVENT_COLUMNS, db_time_formatter
from tend.usage.inbox import CheckedPayload, InboxEntry
from tend.usage.models import Event, RejectedMessage, WriteKey
from tend.usage.segment_spec import InvalidMessage, Message, Rejection, check_messages, parse_time

KEY_USE_GRANULARITY = timedelta(minutes=1)
STORED_LOOKUP_CHUNK = 500


@dataclass(slots=True)
class LoadedEntry:
    """An inbox entry decoded: its messages (as checked on acknowledgement) and rejections."""

    entry: InboxEntry
    messages: list[Message]
    rejections: list[Rejection]


@dataclass(slots=True)
class StoreReport:
    """What storing some entries did."""

    events: int = 0
    duplicates: int = 0
    rejected: int = 0
    sources: set[str] = field(default_factory=set)


def decode_entry(entry: InboxEntry) -> LoadedEntry:
    """The entry's messages as checked when it was acknowledged. Entries stored before the
    inbox kept checked messages are validated again, with the rules that accepted them (no
    size limit: the request enforced the limit in force when it was acknowledged)."""
    payload = entry.decode()
    rejections = [Rejection(*fields) for fields in payload.rejections]
    if isinstance(payload, CheckedPayload):
        return LoadedEntry(entry=entry, messages=payload.messages, rejections=rejections)
    try:
        sent_at = parse_time(payload.sent_at, "sentAt")
    except InvalidMessage:
        sent_at = None
    checked = check_messages(
        list(payload.messages),
        entry.received_at,
        sent_at,
        sys.maxsize,
        forced_type=payload.forced_type,
        batch_context=payload.batch_context,
    )
    return LoadedEntry(
        entry=entry, messages=checked.messages, rejections=rejections + checked.rejections
    )


def store_entries(loaded: list[LoadedEntry]) -> StoreReport:
    """Store the entries' events, identity and rejections; call inside a transaction."""
    report = StoreReport()
    candidates: list[tuple[Message, InboxEntry]] = []
    seen: set[tuple[str, str]] = set()
    for item in loaded:
        source = item.entry.source_slug
        for message in item.messages:
            if (source, message.message_id) in seen:
                report.duplicates += 1
                continue
            seen.add((source, message.message_id))
            candidates.append((message, item.entry))
    stored = _stored_keys(seen)
    new = [pair for pair in candidates if (pair[1].source_slug, pair[0].message_id) not in stored]
    report.duplicates += len(candidates) - len(new)
    if new:
        resolve_messages([message for message, _ in new])
        report.events = _insert_events(new)
    report.rejected = _store_rejections(loaded)
    _note_key_use(loaded)
    report.sources = {item.entry.source_slug for item in loaded}
    return report


def _stored_keys(keys: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """Which (source, message id) pairs the events table already holds."""
    by_source: dict[str, list[str]] = {}
    for source, message_id in keys:
        by_source.setdefault(source, []).append(message_id)
    table = connection.ops.quote_name(Event._meta.db_table)
    stored: set[tuple[str, str]] = set()
    with connection.cursor() as cursor:
        for source, ids in by_source.items():
            if connection.vendor == "postgresql":
                cursor.execute(  # the ids as one JSON text: no per-item parameter adaptation
                    f"SELECT message_id FROM {table} WHERE source = %s AND message_id = "
                    "ANY(ARRAY(SELECT jsonb_array_elements_text(%s::jsonb)))",
                    [source, orjson.dumps(ids).decode()],
                )
                stored.update((source, row[0]) for row in cursor.fetchall())
                continue
            for start in range(0, len(ids), STORED_LOOKUP_CHUNK):
                chunk = ids[start : start + STORED_LOOKUP_CHUNK]
                placeholders = ", ".join(["%s"] * len(chunk))
                cursor.execute(
                    f"SELECT message_id FROM {table} "
                    f"WHERE source = %s AND message_id IN ({placeholders})",
                    [source, *chunk],
                )
                stored.update((source, row[0]) for row in cursor.fetchall())
    return stored


def _insert_events(new: list[tuple[Message, InboxEntry]]) -> int:
    table = connection.ops.quote_name(Event._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(column) for column in EVENT_COLUMNS)
    placeholders = ", ".join(["%s"] * len(EVENT_COLUMNS))
    db_time = db_time_formatter()
    received_times: dict[datetime, Any] = {}
    dumps = orjson.dumps
    rows = []
    for message, entry in new:
        received = received_times.get(entry.received_at)
        if received is None:
            received = received_times[entry.received_at] = db_time(entry.received_at)
        rows.append(
            (
                entry.source_slug,
                message.message_id,
                message.type,
                message.name,
                message.user_id,
                message.anonymous_id,
                message.account_id,
                db_time(message.timestamp),
                received,
                message.properties_json or dumps(message.properties).decode(),
                message.context_json or dumps(message.context).decode(),
            )
        )
    conflict = "ON CONFLICT (source, message_id) DO NOTHING"
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":  # executemany stays in C: SQLite's fastest insert
            cursor.executemany(
                f"INSERT INTO {table} ({columns}) VALUES ({placeholders}) {conflict}", rows
            )
            return max(cursor.rowcount, 0)
        return _copy_events(cursor, table, columns, rows, conflict)


LOAD_TABLE = "tend_event_load"
"""PostgreSQL: the session's temporary table that COPY fills before the conflict-safe insert."""


def _copy_events(cursor: Any, table: str, columns: str, rows: list[Any], conflict: str) -> int:
    """PostgreSQL: COPY the rows into a temporary table (no per-row statements, no query text
    to parse), then move them into the events table in one statement that skips duplicates a
    concurrent writer (an import) may have stored meanwhile."""
    cursor.execute(
        f"CREATE TEMPORARY TABLE IF NOT EXISTS {LOAD_TABLE} ON COMMIT DELETE ROWS "
        f"AS SELECT {columns} FROM {table} WITH NO DATA"
    )
    cursor.execute(f"TRUNCATE {LOAD_TABLE}")
    with cursor.copy(f"COPY {LOAD_TABLE} ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
    cursor.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {LOAD_TABLE} {conflict}")
    return max(cursor.rowcount, 0)


def _store_rejections(loaded: list[LoadedEntry]) -> int:
    rows = [
        RejectedMessage(
            source_id=item.entry.source_id,
            endpoint=item.entry.endpoint[:40],
            message_id=rejection.message_id,
            code=rejection.code,
            reason=rejection.reason,
            payload=rejection.payload,
            received_at=item.entry.received_at,
        )
        for item in loaded
        for rejection in item.rejections
    ]
    if rows:
        RejectedMessage.objects.bulk_create(rows, batch_size=500)
    return len(rows)


def _note_key_use(loaded: list[LoadedEntry]) -> None:
    """Each key's last use, to the minute (one update per key and load, not per request)."""
    latest: dict[int, datetime] = {}
    for item in loaded:
        key_id, at = item.entry.key_id, item.entry.received_at
        if key_id not in latest or at > latest[key_id]:
            latest[key_id] = at
    for key_id, at in latest.items():
        WriteKey.objects.filter(pk=key_id, last_used_at__lt=at - KEY_USE_GRANULARITY).update(
            last_used_at=at
        )
        WriteKey.objects.filter(pk=key_id, last_used_at__isnull=True).update(last_used_at=at)

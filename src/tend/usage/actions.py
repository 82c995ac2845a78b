"""Writes of product-usage events. Inserts skip (source, message id) pairs already stored, so
clients and importers may retry freely."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from django.db import connection, transaction

from tend.usage.models import Event

EVENT_COLUMNS = (
    "source",
    "message_id",
    "type",
    "name",
    "user_id",
    "anonymous_id",
    "account_id",
    "timestamp",
    "received_at",
    "properties",
    "context",
)


def db_time_formatter() -> Callable[[datetime], Any]:
    """`format_db_time` for the current database, resolved once for a whole batch of rows."""
    if connection.vendor == "sqlite":
        return lambda moment: str(moment.astimezone(UTC).replace(tzinfo=None))
    adapt = connection.ops.adapt_datetimefield_value
    return lambda moment: adapt(moment.astimezone(UTC))


def format_db_time(moment: datetime) -> Any:
    """A time as the ORM itself would send it to the current database (so raw inserts and ORM
    lookups compare alike: on SQLite, UTC text without a zone and without zero microseconds)."""
    utc = moment.astimezone(UTC)
    if connection.vendor == "sqlite":
        return str(utc.replace(tzinfo=None))  # exactly what Django's SQLite backend stores
    return connection.ops.adapt_datetimefield_value(utc)


def insert_event_rows(rows: Iterable[Sequence[Any]], batch_size: int = 20_000) -> int:
    """Insert raw event rows (values in EVENT_COLUMNS order, properties and context as JSON
    text, times from `format_db_time`) in one transaction; duplicates are ignored.

    This is the bulk path for importers and the demo; it returns the number of rows inserted
    (duplicates already stored are not counted).
    """
    table = connection.ops.quote_name(Event._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(c) for c in EVENT_COLUMNS)
    placeholders = ", ".join(["%s"] * len(EVENT_COLUMNS))
    sql = (
        f"INSERT INTO {table} ({columns}) VALUES ({placeholders}) "
        "ON CONFLICT (source, message_id) DO NOTHING"
    )
    inserted = 0
    with transaction.atomic(), connection.cursor() as cursor:
        batch: list[Sequence[Any]] = []
        for row in rows:
            batch.append(row)
            if len(batch) >= batch_size:
                cursor.executemany(sql, batch)
                inserted += max(cursor.rowcount, 0)
                batch = []
        if batch:
            cursor.executemany(sql, batch)
            inserted += max(cursor.rowcount, 0)
    return inserted

"""Writes of product-usage events. Inserts skip (source, message id) pairs already stored, so
clients and importers may retry freely."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
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


def insert_event_rows(rows: Iterable[Sequence[Any]], batch_size: int = 20_000) -> int:
    """Insert raw event rows (values in EVENT_COLUMNS order, properties and context as JSON text, times as
    UTC 'YYYY-MM-DD HH:MM:SS.ffffff') in one transaction; duplicates are ignored.

    This is the bulk path for importers and the demo; it returns the number of rows offered.
    """
    table = connection.ops.quote_name(Event._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(c) for c in EVENT_COLUMNS)
    placeholders = ", ".join(["%s"] * len(EVENT_COLUMNS))
    sql = (
        f"INSERT INTO {table} ({columns}) VALUES ({placeholders}) "
        "ON CONFLICT (source, message_id) DO NOTHING"
    )
    offered = 0
    with transaction.atomic(), connection.cursor() as cursor:
        batch: list[Sequence[Any]] = []
        for row in rows:
            batch.append(row)
            if len(batch) >= batch_size:
                cursor.executemany(sql, batch)
                offered += len(batch)
                batch = []
        if batch:
            cursor.executemany(sql, batch)
            offered += len(batch)
    return offered

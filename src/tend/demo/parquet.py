"""Writes a generated demo company as Parquet files: one per table, events streamed in row groups
so that ~100 M events never sit in memory at once.

`events.parquet` is laid out for the metrics engine's single-pass reader
(tend.metrics.parquet_sorted_events): each account's events are contiguous and ordered by user,
time and event name (EVENT_ORDER), and a row group never splits an account.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from tend.demo import catalog
from tend.demo.records import ENTITY_TABLES, DemoCompany
from tend.demo.usage_events import (
    PAGE_NAMES,
    PAGE_PATHS,
    TRACK_NAMES,
    AccountEvents,
    account_events,
)

MONEY = pa.decimal128(18, 4)
ROW_GROUP_ROWS = 2_000_000
"""Accounts are gathered until a row group holds at least this many events."""
EVENT_ORDER = [
    ("user_id", "ascending", "at_end"),
    ("timestamp", "ascending", "at_end"),
    ("name", "ascending", "at_end"),
]
"""The order of one account's events in the file (anonymous events, if any, last)."""
EVENT_SCHEMA = pa.schema(
    [
        ("message_id", pa.string()),
        ("type", pa.string()),
        ("name", pa.string()),
        ("user_id", pa.string()),
        ("account_id", pa.string()),
        ("timestamp", pa.timestamp("ms", tz="UTC")),
        ("received_at", pa.timestamp("ms", tz="UTC")),
        ("path", pa.string()),
        ("load_time_ms", pa.float32()),
        ("error_code", pa.string()),
    ]
)


def write_parquet(
    company: DemoCompany, directory: Path, advance: Callable[[int], None] | None = None
) -> int:
    """Write every table to `directory`; returns the number of events written."""
    directory.mkdir(parents=True, exist_ok=True)
    for table in ENTITY_TABLES:
        pq.write_table(_entity_table(getattr(company, table)), directory / f"{table}.parquet")
    end_ms = int(company.end.timestamp() * 1000)
    written = 0
    pending: list[pa.RecordBatch] = []
    pending_rows = 0
    with pq.ParquetWriter(directory / "events.parquet", EVENT_SCHEMA, compression="zstd") as out:
        for plan in company.usage_plans:
            batch = _event_batch(account_events(plan, company.seed, end_ms, company.intensity))
            pending.append(batch)
            pending_rows += batch.num_rows
            if pending_rows >= ROW_GROUP_ROWS:
                _write_row_group(out, pending, pending_rows)
                written += pending_rows
                pending, pending_rows = [], 0
            if advance is not None:
                advance(1)
        if pending:
            _write_row_group(out, pending, pending_rows)
            written += pending_rows
    return written


def _write_row_group(out: pq.ParquetWriter, batches: list[pa.RecordBatch], rows: int) -> None:
    """Whole accounts in one row group (the writer would otherwise cut at its default size)."""
    out.write_table(pa.Table.from_batches(batches, EVENT_SCHEMA), row_group_size=max(rows, 1))


def _entity_table(rows: list[dict[str, object]]) -> pa.Table:
    if not rows:
        return pa.table({})
    columns: dict[str, pa.Array] = {}
    for name in rows[0]:
        values = [row.get(name) for row in rows]
        if any(isinstance(v, Decimal) for v in values):
            columns[name] = pa.array(values, type=MONEY)
        elif any(isinstance(v, dict) for v in values):
            columns[name] = pa.array([_json(v) for v in values], type=pa.string())
        else:
            columns[name] = pa.array(values)
    return pa.table(columns)


def _json(value: object) -> str | None:
    return None if value is None else json.dumps(value, default=str)


def _event_batch(events: AccountEvents) -> pa.RecordBatch:
    count = len(events)
    is_page = events.type_code == 1
    codes = events.name_code.astype(np.int64)
    track_names = pa.array(TRACK_NAMES)
    page_paths = pa.array(PAGE_PATHS)
    page_codes = np.minimum(codes, len(PAGE_PATHS) - 1)
    page_names = pa.array(PAGE_NAMES)
    names = pc.if_else(
        pa.array(is_page), page_names.take(pa.array(page_codes)), track_names.take(pa.array(codes))
    )
    errors = pa.array(catalog.ERROR_CODES).take(pa.array(np.maximum(events.error_code, 0)))
    sequence = pc.cast(pa.array(np.arange(count)), pa.string())
    batch = pa.RecordBatch.from_arrays(
        [
            pc.binary_join_element_wise(pa.scalar(events.account), sequence, "-"),
            pc.if_else(pa.array(is_page), "page", "track"),
            names,
            pa.array(events.user_id, type=pa.string()),
            pa.array(np.full(count, events.account, dtype=object), type=pa.string()),
            pa.array(events.timestamp_ms.astype("datetime64[ms]")).cast(
                pa.timestamp("ms", tz="UTC")
            ),
            pa.array(events.received_ms.astype("datetime64[ms]")).cast(
                pa.timestamp("ms", tz="UTC")
            ),
            pc.if_else(
                pa.array(is_page),
                page_paths.take(pa.array(page_codes)),
                pa.scalar(None, pa.string()),
            ),
            pa.array(events.load_time_ms, from_pandas=True),
            pc.if_else(pa.array(events.error_code >= 0), errors, pa.scalar(None, pa.string())),
        ],
        schema=EVENT_SCHEMA,
    )
    return batch.take(pc.sort_indices(batch, sort_keys=EVENT_ORDER))

"""Writes of the metrics domain: KPI snapshots replaced period by period, runs recorded."""

from __future__ import annotations

import math
from datetime import date
from decimal import Decimal

import pyarrow as pa
from django.db import connection, transaction
from django.utils import timezone

from tend.metrics.models import KpiSnapshot, MetricsRun, ReportSnapshot
from tend.metrics.registry import DEFINITIONS_VERSION

INSERT_CHUNK = 20_000
COLUMNS = (
    "kpi",
    "grain",
    "period_start",
    "period_end",
    "scope_type",
    "scope_key",
    "dimension",
    "value",
    "base",
)


@transaction.atomic
def store_snapshots(results: pa.Table, first: date, last: date, engine: str, full: bool) -> int:
    """Replace every snapshot of a period overlapping first..last with `results` (RESULT_SCHEMA
    rows), and record the run; readers see the old or the new values, never a mix."""
    started = timezone.now()
    stale = KpiSnapshot.objects.filter(period_end__gt=first, period_start__lte=last)
    if full:
        stale = KpiSnapshot.objects.all()
    stale.delete()
    computed_at = timezone.now()
    table = connection.ops.quote_name(KpiSnapshot._meta.db_table)
    names = ", ".join(connection.ops.quote_name(c) for c in (*COLUMNS, "version", "computed_at"))
    placeholders = ", ".join(["%s"] * (len(COLUMNS) + 2))
    sql = f"INSERT INTO {table} ({names}) VALUES ({placeholders})"
    written = 0
    with connection.cursor() as cursor:
        for batch in results.select(list(COLUMNS)).to_batches(INSERT_CHUNK):
            columns = [batch.column(i).to_pylist() for i in range(len(COLUMNS))]
            values = columns[COLUMNS.index("value")]
            columns[COLUMNS.index("value")] = [
                None if v is None or not math.isfinite(v) else v for v in values
            ]
            rows = [(*row, DEFINITIONS_VERSION, computed_at) for row in zip(*columns, strict=True)]
            cursor.executemany(sql, rows)
            written += len(rows)
    MetricsRun.objects.create(
        started_at=started,
        finished_at=timezone.now(),
        first_day=first,
        last_day=last,
        full=full,
        engine=engine,
        version=DEFINITIONS_VERSION,
        rows=written,
    )
    return written


@transaction.atomic
def store_reports(reports: dict[str, pa.Table], grouping: str) -> None:
    """Replace the stored report tables (cohort triangles, fits, curves) of `grouping`."""
    computed_at = timezone.now()
    for name, table in reports.items():
        rows = [{k: _json_value(v) for k, v in row.items()} for row in table.to_pylist()]
        ReportSnapshot.objects.update_or_create(
            name=name,
            grouping=grouping,
            defaults={"rows": rows, "version": DEFINITIONS_VERSION, "computed_at": computed_at},
        )


def _json_value(value: object) -> object:
    """Dates as ISO text, decimals as floats, NaN and infinities as null, for JSON columns."""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        value = float(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value

"""KPI snapshots and cohort tables for page tests, stored through the metrics actions exactly as
a metrics run stores them."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

import pyarrow as pa

from tend.metrics.actions import store_reports, store_snapshots
from tend.metrics.grid import RESULT_SCHEMA, next_period_start

MONTHS = [date(2026, m, 1) for m in range(1, 7)]
"""Six months, January to June 2026; the metrics run that stores them ends on 30 June."""
LAST_DAY = date(2026, 6, 30)


def row(
    kpi: str,
    start: date,
    value: float | None,
    *,
    grain: str = "month",
    scope: tuple[str, str] = ("portfolio", "all"),
    dimension: str = "",
    base: int = 10,
) -> dict[str, Any]:
    """One snapshot row of RESULT_SCHEMA."""
    return {
        "kpi": kpi,
        "grain": grain,
        "period_start": start,
        "period_end": next_period_start(grain, start),
        "scope_type": scope[0],
        "scope_key": scope[1],
        "dimension": dimension,
        "value": value,
        "base": base,
    }


def series(
    kpi: str, values: Iterable[float | None], months: list[date] = MONTHS, **options: Any
) -> list[dict[str, Any]]:
    """Rows of one KPI over consecutive months."""
    return [row(kpi, start, value, **options) for start, value in zip(months, values, strict=True)]


def store(rows: list[dict[str, Any]], first: date = MONTHS[0], last: date = LAST_DAY) -> int:
    """Store rows as one metrics run over first..last (the run's last day anchors the reports)."""
    table = pa.Table.from_pylist(rows, schema=RESULT_SCHEMA)
    return store_snapshots(table, first, last, engine="duckdb", full=False)


def store_cohorts(tables: dict[str, list[dict[str, Any]]], grouping: str = "segment") -> None:
    """Store cohort tables (logo_retention, survival_curves, …) as a metrics run does."""
    store_reports({name: pa.Table.from_pylist(rows) for name, rows in tables.items()}, grouping)


def revenue_rows(
    scope: tuple[str, str] = ("portfolio", "all"), scale: float = 1.0
) -> list[dict[str, Any]]:
    """A small company growing from 10,000 to 12,000 MRR over six months; June's movements:
    new 1,500, reactivation 0, expansion 700, contraction 200, churn 500 (net 1,500)."""
    mrr = [10_000, 10_400, 10_500, 10_700, 10_500, 12_000]
    rows = series("mrr", [m * scale for m in mrr], scope=scope, base=40)
    rows += series("arr", [m * 12 * scale for m in mrr], scope=scope)
    rows += series("paying_accounts", [40, 41, 41, 42, 41, 44], scope=scope)
    rows += series("nrr", [1.01, 1.02, 0.99, 1.00, 0.98, 1.04], scope=scope)
    rows += series("grr", [0.97, 0.98, 0.96, 0.97, 0.95, 0.93], scope=scope)
    rows += series("nrr_12m", [None, None, None, None, 1.1, 1.12], scope=scope)
    rows += series("logo_churn_rate", [0.02, 0.01, 0.03, 0.0, 0.025, 0.05], scope=scope)
    rows += series("arpa", [250, 253.7, 256.1, 254.8, 256.1, 272.7], scope=scope)
    june = MONTHS[-1]
    for kpi, amount in [
        ("mrr_new", 1500),
        ("mrr_reactivation", 0),
        ("mrr_expansion", 700),
        ("mrr_contraction", 200),
        ("mrr_churn", 500),
    ]:
        rows.append(row(kpi, june, amount * scale, scope=scope))
    rows.append(row("mrr_new", MONTHS[-2], 100 * scale, scope=scope))
    rows.append(row("mrr_churn", MONTHS[-2], 300 * scale, scope=scope))
    return rows

"""Compute KPIs over a grid, and the `tend metrics` recompute that stores them as snapshots."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pyarrow as pa

from tend.metrics.cohort_kpis import cohort_report
from tend.metrics.engine import Engine, connect
from tend.metrics.grid import GRAINS, RESULT_SCHEMA, Grid, make_grid
from tend.metrics.inputs import Inputs, inputs_on
from tend.metrics.registry import pipelines_for

AGGREGATE_SCOPES = ("portfolio", "segment", "csm")
ACCOUNT_GRAINS = ("month",)
"""Per-account snapshots are kept monthly; wider scopes at every grain."""
COHORT_GROUPINGS = ("segment",)
"""Cohort tables are kept for the portfolio and per these account fields."""
HISTORY_DAYS = 400
"""Usage read before an incremental run's first day, for trailing windows (12-month KPIs)."""

Progress = Callable[[str], None]


def compute_kpis(
    inputs: Inputs, grid: Grid, names: set[str] | None = None, progress: Progress | None = None
) -> pa.Table:
    """Every KPI (or those named) over the grid, as one Arrow table of RESULT_SCHEMA."""
    parts = []
    for pipeline in pipelines_for(names):
        if progress is not None:
            progress(pipeline.name)
        result = inputs.con.to_pyarrow(pipeline.compute(inputs, grid))
        result = result.select(RESULT_SCHEMA.names).cast(RESULT_SCHEMA)
        if names is not None:
            result = result.filter(pa.compute.is_in(result["kpi"], pa.array(sorted(names))))
        parts.append(result)
    if not parts:
        return RESULT_SCHEMA.empty_table()
    return pa.concat_tables(parts)


@dataclass
class MetricsReport:
    """What one recompute did."""

    first_day: date
    last_day: date
    rows: int = 0
    load_seconds: float = 0.0
    compute_seconds: float = 0.0
    store_seconds: float = 0.0


def snapshot_results(
    inputs: Inputs,
    first: date,
    last: date,
    reporting_currency: str,
    as_of: datetime | None = None,
    progress: Progress | None = None,
) -> pa.Table:
    """The results a recompute stores: every grain for portfolio, segment and CSM scopes, and
    monthly values per account."""
    wide = make_grid(
        inputs.con,
        inputs.accounts,
        first,
        last,
        GRAINS,
        AGGREGATE_SCOPES,
        as_of,
        reporting_currency,
    )
    results = [compute_kpis(inputs, wide, progress=progress)]
    per_account = make_grid(
        inputs.con,
        inputs.accounts,
        first,
        last,
        ACCOUNT_GRAINS,
        ("account",),
        as_of,
        reporting_currency,
    )
    results.append(compute_kpis(inputs, per_account, progress=progress))
    return pa.concat_tables(results)


def recompute(
    engine: Engine,
    first: date,
    last: date,
    reporting_currency: str,
    full: bool,
    progress: Progress | None = None,
) -> MetricsReport:
    """Read the app DB, compute every KPI for the periods overlapping first..last on `engine`,
    and replace their snapshots in one transaction."""
    from tend.metrics import actions
    from tend.metrics.load import read_app_tables

    report = MetricsReport(first, last)
    started = time.perf_counter()
    usage_since = None if full else first - timedelta(days=HISTORY_DAYS)
    inputs = inputs_on(connect(engine), read_app_tables(usage_since))
    report.load_seconds = time.perf_counter() - started
    as_of = datetime.now(UTC)
    results = snapshot_results(inputs, first, last, reporting_currency, as_of, progress)
    report.compute_seconds = time.perf_counter() - started - report.load_seconds
    report.rows = actions.store_snapshots(results, first, last, engine=engine, full=full)
    for grouping in COHORT_GROUPINGS:
        if progress is not None:
            progress(f"cohorts by {grouping}")
        actions.store_reports(cohort_report(inputs, last, by=grouping, as_of=as_of), grouping)
    report.store_seconds = (
        time.perf_counter() - started - report.load_seconds - report.compute_seconds
    )
    return report

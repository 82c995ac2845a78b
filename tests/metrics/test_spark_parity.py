"""Parity: every registered KPI pipeline gives the same rows on PySpark (local mode) as on DuckDB.

A small demo company is written to the app database and rolled up; its input tables are read
once and put, as the same Arrow tables, on DuckDB and on one Spark session shared by the module.
Each pipeline of `registry.PIPELINES` then runs on both over the same grid (every grain, every
scope type) and the row sets must match: the same keys (kpi, grain, period, scope, dimension),
no key twice, the same `base`, and values equal to 1e-9 relative (1e-9 absolute near zero, where
summing in another order leaves a different last bit). Medians and percentiles get no extra
tolerance: Ibis compiles them to exact, interpolated percentiles on both engines
(DuckDB `quantile_cont`, Spark `percentile`); an approximate one would fail here, on purpose.

The demo spans 13 months (not 8) so that the trailing-12-month KPIs have rows to compare.
The module is skipped when Java or PySpark is missing.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import pyarrow as pa
import pytest

from tend.metrics.engine import connect, spark_available, stop_spark
from tend.metrics.grid import GRAINS, SCOPE_TYPES, Grid, make_grid
from tend.metrics.inputs import Inputs, inputs_on
from tend.metrics.kpi import KpiPipeline
from tend.metrics.registry import PIPELINES
from tend.metrics.run import compute_kpis

SKIP_REASON = spark_available()
if SKIP_REASON is not None:
    pytest.skip(SKIP_REASON, allow_module_level=True)

pytestmark = [pytest.mark.django_db]

END = datetime(2026, 3, 31, tzinfo=UTC)
MONTHS = 13
RELATIVE = 1e-9
ABSOLUTE = 1e-9
KEY = ("kpi", "grain", "period_start", "period_end", "scope_type", "scope_key", "dimension")
EXAMPLES = 5
ENGINE_NAMES = ("duckdb", "pyspark")

Key = tuple[Any, ...]


@dataclass
class Engine:
    """The demo's inputs and the grid (every grain and scope type) on one engine."""

    inputs: Inputs
    grid: Grid


@dataclass
class Engines:
    duckdb: Engine
    pyspark: Engine
    seconds: dict[tuple[str, str], float]
    rows: dict[str, int]


def _on(con: Any, tables: dict[str, pa.Table], first: date, last: date) -> Engine:
    inputs = inputs_on(con, tables)
    return Engine(inputs, make_grid(con, inputs.accounts, first, last, GRAINS, SCOPE_TYPES))


@pytest.fixture(scope="module")
def engines(django_db_setup: None, django_db_blocker: Any) -> Iterator[Engines]:
    """One demo company (written, read, rolled back) on DuckDB and on one Spark session, which
    starts while the company is generated."""
    from django.db import transaction

    from tend.demo.database import write_company
    from tend.demo.generate import DemoConfig, generate_company
    from tend.metrics.load import read_app_tables
    from tend.usage.rollups import run_rollup

    with ThreadPoolExecutor(1) as pool:
        starting = pool.submit(connect, "pyspark")
        try:
            company = generate_company(DemoConfig(accounts=40, months=MONTHS, seed=3, end=END))
            with django_db_blocker.unblock(), transaction.atomic():
                write_company(company)
                run_rollup()
                tables = read_app_tables()
                transaction.set_rollback(True)
            spark = starting.result()
        except BaseException:
            stop_spark()
            raise
    first, last = company.start.date(), END.date()
    seconds: dict[tuple[str, str], float] = {}
    rows: dict[str, int] = {}
    try:
        yield Engines(
            _on(connect("duckdb"), tables, first, last),
            _on(spark, tables, first, last),
            seconds,
            rows,
        )
    finally:
        spark.disconnect()
        stop_spark()
        totals = {e: sum(v for (n, _), v in seconds.items() if n == e) for e in ENGINE_NAMES}
        compared = f"{sum(rows.values()):,} rows compared in {len(rows)} of {len(PIPELINES)}"
        print(f"\nparity: {compared} pipelines; seconds per engine {totals}")


def _rows(table: pa.Table, engine: str) -> dict[Key, tuple[float | None, int | None]]:
    rows: dict[Key, tuple[float | None, int | None]] = {}
    for row in table.to_pylist():
        key = tuple(row[column] for column in KEY)
        assert key not in rows, f"{engine} gives the key {key} twice"
        rows[key] = (row["value"], row["base"])
    return rows


def _same(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return math.isclose(a, b, rel_tol=RELATIVE, abs_tol=ABSOLUTE)


def differences(duckdb: pa.Table, pyspark: pa.Table) -> list[str]:
    """What differs between the two engines' results, one line per kind, with examples."""
    left, right = _rows(duckdb, "duckdb"), _rows(pyspark, "pyspark")
    problems = []
    for label, keys in (
        ("only on DuckDB", sorted(set(left) - set(right), key=str)),
        ("only on PySpark", sorted(set(right) - set(left), key=str)),
    ):
        if keys:
            problems.append(f"{len(keys)} rows {label}, e.g. {keys[:EXAMPLES]}")
    unequal = [
        (key, left[key], right[key])
        for key in sorted(set(left) & set(right), key=str)
        if not _same(left[key][0], right[key][0]) or left[key][1] != right[key][1]
    ]
    if unequal:
        kpis = sorted({key[0] for key, _, _ in unequal})
        shown = "; ".join(f"{k}: duckdb {a} != pyspark {b}" for k, a, b in unequal[:EXAMPLES])
        problems.append(f"{len(unequal)} rows differ (KPIs {', '.join(kpis)}), e.g. {shown}")
    return problems


@pytest.mark.parametrize("pipeline", PIPELINES, ids=[p.name for p in PIPELINES])
def test_pipeline_gives_the_same_rows_on_pyspark_as_on_duckdb(
    engines: Engines, pipeline: KpiPipeline
) -> None:
    kpis = {kpi.name for kpi in pipeline.kpis}
    results = {}
    for name in ENGINE_NAMES:
        engine: Engine = getattr(engines, name)
        started = time.perf_counter()
        results[name] = compute_kpis(engine.inputs, engine.grid, kpis)
        engines.seconds[(name, pipeline.name)] = time.perf_counter() - started
    # Equal empty results would prove nothing: the demo company gives every pipeline rows.
    assert results["duckdb"].num_rows, f"pipeline {pipeline.name!r} has no rows to compare"
    engines.rows[pipeline.name] = results["duckdb"].num_rows
    problems = differences(results["duckdb"], results["pyspark"])
    assert not problems, f"pipeline {pipeline.name!r} differs on PySpark:\n" + "\n".join(problems)


def test_differences_are_reported() -> None:
    """The comparison itself: a missing key, an extra key and a changed value are all caught."""
    schema = pa.schema(
        [(c, pa.date32() if c.startswith("period") else pa.string()) for c in KEY]
        + [("value", pa.float64()), ("base", pa.int64())]
    )

    def table(*rows: tuple[str, float | None, int]) -> pa.Table:
        day, end = date(2026, 1, 1), date(2026, 2, 1)
        return pa.Table.from_pylist(
            [
                dict(zip(KEY, (kpi, "month", day, end, "portfolio", "all", ""), strict=True))
                | {"value": value, "base": base}
                for kpi, value, base in rows
            ],
            schema=schema,
        )

    same = table(("a", 1.0, 1), ("b", None, 0), ("c", 0.0, 2))
    assert differences(same, table(("a", 1.0 + 1e-12, 1), ("b", None, 0), ("c", 1e-12, 2))) == []
    found = differences(same, table(("a", 1.0001, 1), ("b", None, 0), ("d", 0.0, 2)))
    assert len(found) == 3 and "only on DuckDB" in found[0] and "only on PySpark" in found[1]
    assert "KPIs a" in found[2]

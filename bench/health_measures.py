"""Benchmark of the health measures catalog: every catalog measure (default windows) for all
accounts over 1 day and over 365 days, as a health-score backfill computes them.

    # an app database with the demo company (500 accounts, ~2 M events):
    TEND_DATA_DIR=/tmp/tend-demo .venv/bin/tend demo --no-serve --accounts 500
    TEND_DATA_DIR=/tmp/tend-demo .venv/bin/python bench/health_measures.py

    # a Parquet demo company (needs tend.metrics.parquet_inputs); --database keeps the
    # aggregated inputs in a DuckDB file so that the next run skips reading the events:
    .venv/bin/tend demo generate --parquet /tmp/demo-10k --accounts 10000 --intensity 1.5
    .venv/bin/python bench/health_measures.py --parquet /tmp/demo-10k \
        --database /tmp/demo-10k.duckdb --materialise

Prints, per run, the wall time, the process's peak RSS so far (resource.getrusage) and the rows
returned; `--materialise` also times the same rows stored as a backend table (what a backfill
that stays in DuckDB pays, without the Arrow fetch), `--no-fetch` skips measure_values, and
`--per-measure` times each measure alone over the longest run.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from dataclasses import fields
from datetime import date, timedelta
from pathlib import Path

import ibis

from tend.health.measures import default_measure_names, measure_table, measure_values
from tend.metrics.inputs import SCHEMAS, Inputs, duckdb_inputs


def app_inputs() -> Inputs:
    """The engine's inputs read from the app database of TEND_DATA_DIR."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tend.config.django_settings")
    import django

    django.setup()
    from tend.metrics.load import read_app_tables

    return duckdb_inputs(read_app_tables())


def parquet_inputs(directory: Path, database: Path | None) -> Inputs:
    """The engine's inputs read from a Parquet demo company, in memory or kept in (and, once
    there, reused from) the DuckDB file `database`."""
    con = ibis.duckdb.connect(str(database) if database else ":memory:")
    names = [field.name for field in fields(Inputs) if field.name in SCHEMAS]
    if database is not None and set(names) <= set(con.list_tables()):
        return Inputs(con, **{name: con.table(name) for name in names})
    try:
        from tend.metrics.parquet_inputs import read_parquet_inputs
    except ImportError:
        sys.exit("tend.metrics.parquet_inputs is not available in this checkout")
    inputs: Inputs = read_parquet_inputs(directory, con)
    return inputs


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def last_usage_day(inputs: Inputs) -> date:
    """The last day with usage (the demo's last day of history), or today."""
    last = inputs.usage_daily.day.max().to_pyarrow().as_py()
    return last if isinstance(last, date) else date.today()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--parquet", type=Path, help="A Parquet demo company directory.")
    parser.add_argument(
        "--database",
        type=Path,
        help="Keep the inputs read from --parquet in this DuckDB file and reuse them next time.",
    )
    parser.add_argument("--end", type=date.fromisoformat, help="Last day (default: last usage).")
    parser.add_argument("--days", type=int, nargs="+", default=[1, 365], help="Run lengths.")
    parser.add_argument("--per-measure", action="store_true", help="Time each measure alone.")
    parser.add_argument(
        "--materialise",
        action="store_true",
        help="Also time measure_table stored as a backend table (no fetch into Arrow).",
    )
    parser.add_argument(
        "--no-fetch", action="store_true", help="Skip measure_values (the Arrow fetch)."
    )
    args = parser.parse_args()

    started = time.perf_counter()
    inputs = parquet_inputs(args.parquet, args.database) if args.parquet else app_inputs()
    accounts = inputs.accounts.count().to_pyarrow().as_py()
    usage_rows = inputs.usage_daily.count().to_pyarrow().as_py()
    print(
        f"inputs: {accounts:,} accounts, {usage_rows:,} usage_daily rows, loaded in "
        f"{time.perf_counter() - started:.1f} s, peak RSS {peak_rss_mb():.0f} MB"
    )
    end = args.end or last_usage_day(inputs)
    names = default_measure_names()
    print(f"{len(names)} measures: {', '.join(names)}")

    for length in args.days:
        days = [end - timedelta(days=offset) for offset in range(length)]
        if args.materialise:
            started = time.perf_counter()
            stored = inputs.con.create_table(
                "health_measure_bench", measure_table(inputs, days, names), overwrite=True
            )
            elapsed = time.perf_counter() - started
            rows = stored.count().to_pyarrow().as_py()
            print(
                f"{length:>4} day(s) to {end}, stored in the backend: {elapsed:7.1f} s, "
                f"{rows:>12,} rows, peak RSS {peak_rss_mb():,.0f} MB"
            )
            inputs.con.drop_table("health_measure_bench")
        if args.no_fetch:
            continue
        started = time.perf_counter()
        table = measure_values(inputs, days, names)
        elapsed = time.perf_counter() - started
        print(
            f"{length:>4} day(s) to {end}, measure_values: {elapsed:7.1f} s, "
            f"{table.num_rows:>12,} rows, {table.nbytes / 2**20:,.0f} MB of Arrow, "
            f"peak RSS {peak_rss_mb():,.0f} MB"
        )
        del table

    if args.per_measure:
        days = [end - timedelta(days=offset) for offset in range(max(args.days))]
        for name in names:
            started = time.perf_counter()
            rows = measure_table(inputs, days, [name]).count().to_pyarrow().as_py()
            elapsed = time.perf_counter() - started
            print(f"  {name:<30} {elapsed:6.1f} s  {rows:,} rows")


if __name__ == "__main__":
    main()

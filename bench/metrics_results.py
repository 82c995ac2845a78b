"""Every result of a full KPI recompute on a demo Parquet directory, saved to a Parquet file or
compared with one saved before, to check that a change to the engine keeps the results:

    .venv/bin/python bench/metrics_results.py /tmp/tend-500 --save /tmp/before.parquet
    (change the engine)
    .venv/bin/python bench/metrics_results.py /tmp/tend-500 --compare /tmp/before.parquet

The results are those `tend metrics --full` stores (tend.metrics.run.snapshot_results: every
grain at the portfolio, segment and CSM scopes, monthly per account), on DuckDB, with the history
from the first sign-up to the last day of usage. Values agree when they differ by at most
--tolerance (1e-9) relative to max(1, |value|); bases must be equal; a row present on one side
only is a difference. Prints the number of results, of differences per KPI, and a few of them.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import ibis
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

KEYS = ["kpi", "grain", "period_start", "period_end", "scope_type", "scope_key", "dimension"]


def full_results(directory: Path) -> pa.Table:
    """What a full recompute stores for the demo in `directory`."""
    from tend.metrics.parquet_inputs import read_parquet_inputs
    from tend.metrics.run import snapshot_results

    con = ibis.duckdb.connect(temp_directory=tempfile.mkdtemp(prefix="tend-bench-duckdb-"))
    inputs = read_parquet_inputs(directory, con)
    accounts = con.to_pyarrow(inputs.accounts.select("signed_up_at"))
    first = min(d for d in accounts["signed_up_at"].to_pylist() if d is not None).date()
    last = con.to_pyarrow(inputs.performance_daily.day.max()).as_py()
    return snapshot_results(inputs, first, last, "USD")


def differences(before: pa.Table, after: pa.Table, tolerance: float) -> pa.Table:
    """Rows whose value or base differ, or that exist on one side only."""
    con = ibis.duckdb.connect()
    b, a = con.create_table("before", before), con.create_table("after", after)
    joined = b.outer_join(a, KEYS, lname="{name}_before", rname="{name}_after")
    scale = ibis.greatest(joined.value_before.abs().coalesce(0.0), 1.0)
    value_differs = ((joined.value_before - joined.value_after).abs() > scale * tolerance).coalesce(
        joined.value_before.isnull() != joined.value_after.isnull()
    )
    base_differs = (joined.base_before != joined.base_after).coalesce(
        joined.base_before.isnull() != joined.base_after.isnull()
    )
    missing = joined.kpi_before.isnull() | joined.kpi_after.isnull()
    return con.to_pyarrow(joined.filter(value_differs | base_differs | missing))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("directory", type=Path, help="A demo Parquet directory.")
    parser.add_argument("--save", type=Path, help="Write the results to this Parquet file.")
    parser.add_argument("--compare", type=Path, help="Compare with results saved before.")
    parser.add_argument("--tolerance", type=float, default=1e-9)
    args = parser.parse_args()

    results = full_results(args.directory)
    print(f"{results.num_rows:,} results")
    if args.save:
        pq.write_table(results, args.save)
    if args.compare:
        before = pq.read_table(args.compare)
        diff = differences(before, results, args.tolerance)
        print(f"{diff.num_rows:,} differences against {before.num_rows:,} results saved before")
        if diff.num_rows:
            kpis = pc.coalesce(diff["kpi_before"], diff["kpi_after"])
            for row in pc.value_counts(kpis).to_pylist():
                print(f"  {row['values']}: {row['counts']:,}")
            print(diff.slice(0, 10).to_pandas().to_string())
            sys.exit(1)


if __name__ == "__main__":
    main()

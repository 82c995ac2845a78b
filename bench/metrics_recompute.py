"""Benchmark of a full KPI recompute, and of an incremental one, on a demo Parquet directory
(`tend demo generate --parquet DIR`), on DuckDB (default) or PySpark:

    .venv/bin/python bench/metrics_recompute.py /tmp/tend-10k
    .venv/bin/python bench/metrics_recompute.py /tmp/tend-2k --engine pyspark

Full: every pipeline of the registry for every day, week, month and quarter of the history at the
portfolio, segment and CSM scopes, and monthly per account (what `tend metrics --full` stores).
Incremental: the day, week, month and quarter that hold the data's last day (what a run after
one new day recomputes), on inputs already read. Prints wall and CPU time per step and
pipeline, totals, peak RSS and result rows.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from datetime import date
from pathlib import Path

import ibis
import pyarrow.parquet as pq


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Clock:
    """Wall and CPU time since the last reading, printed under a label."""

    def __init__(self) -> None:
        self.wall, self.cpu = time.perf_counter(), cpu_seconds()

    def step(self, label: str) -> float:
        wall, cpu = time.perf_counter(), cpu_seconds()
        took = wall - self.wall
        print(f"  {label:<28} {took:7.1f} s wall {cpu - self.cpu:7.1f} s CPU", flush=True)
        self.wall, self.cpu = wall, cpu
        return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("directory", type=Path, help="A demo Parquet directory.")
    parser.add_argument("--engine", choices=["duckdb", "pyspark"], default="duckdb")
    args = parser.parse_args()

    from tend.metrics.engine import connect
    from tend.metrics.grid import GRAINS, make_grid
    from tend.metrics.parquet_inputs import read_parquet_inputs
    from tend.metrics.registry import PIPELINES
    from tend.metrics.run import ACCOUNT_GRAINS, AGGREGATE_SCOPES

    events = pq.read_metadata(args.directory / "events.parquet").num_rows
    print(f"{args.directory}: {events:,} events, engine {args.engine}")
    if args.engine == "duckdb":
        temp = tempfile.mkdtemp(prefix="tend-bench-duckdb-")
        con: ibis.BaseBackend = ibis.duckdb.connect(temp_directory=temp)
    else:
        con = connect("pyspark")
    total = time.perf_counter()
    clock = Clock()
    inputs = read_parquet_inputs(args.directory, con)
    load_seconds = clock.step("read inputs")
    accounts = con.to_pyarrow(inputs.accounts.select("signed_up_at"))
    first = min(d for d in accounts["signed_up_at"].to_pylist() if d is not None).date()
    last = con.to_pyarrow(inputs.usage_daily.day.max()).as_py()
    print(f"  history {first} to {last}")

    def run(label: str, start: date) -> int:
        rows = 0
        grids = [
            make_grid(con, inputs.accounts, start, last, GRAINS, AGGREGATE_SCOPES),
            make_grid(con, inputs.accounts, start, last, ACCOUNT_GRAINS, ("account",)),
        ]
        for pipeline in PIPELINES:
            for grid in grids:
                rows += con.to_pyarrow(pipeline.compute(inputs, grid)).num_rows
            clock.step(f"{label}: {pipeline.name}")
        return rows

    started = time.perf_counter()
    full_rows = run("full", first)
    full_seconds = time.perf_counter() - started
    started = time.perf_counter()
    incremental_rows = run("incremental", last)
    incremental_seconds = time.perf_counter() - started
    print(
        f"full recompute: {full_seconds + load_seconds:.1f} s (inputs {load_seconds:.1f} s, "
        f"KPIs {full_seconds:.1f} s), {full_rows:,} result rows\n"
        f"incremental recompute of the periods holding {last} (inputs already read): "
        f"{incremental_seconds:.1f} s, {incremental_rows:,} rows\n"
        f"total {time.perf_counter() - total:.1f} s, peak RSS {peak_rss_mb():,.0f} MB"
    )


if __name__ == "__main__":
    main()

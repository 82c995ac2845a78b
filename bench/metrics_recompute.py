"""Benchmark of a full KPI recompute, and of an incremental one, on a demo Parquet directory
(`tend demo generate --parquet DIR`), on DuckDB (default) or PySpark:

    .venv/bin/python bench/metrics_recompute.py /tmp/tend-10k
    .venv/bin/python bench/metrics_recompute.py /tmp/tend-2k --engine pyspark

Full: reading the inputs (events aggregated in one pass), the usage rollups every usage KPI
reads (tend.metrics.usage_rollups, built once per inputs), then every pipeline of the registry
for every day, week, month and quarter of the history at the portfolio, segment and CSM scopes
("wide"), then monthly per account ("account"): what `tend metrics --full` stores. Incremental:
the day, week, month and quarter that hold the data's last day (what a run after one new day
recomputes), on inputs and rollups already built. Prints wall and CPU time per step (each usage
rollup apart) and pipeline, totals, peak RSS, result rows and the load average at the end.
DuckDB runs with --threads (2) and --memory-limit (8GB).
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
    parser.add_argument("--threads", type=int, default=2, help="DuckDB threads.")
    parser.add_argument("--memory-limit", default="8GB", help="DuckDB memory limit.")
    args = parser.parse_args()

    from tend.metrics.engine import connect
    from tend.metrics.grid import GRAINS, make_grid
    from tend.metrics.parquet_inputs import read_parquet_inputs
    from tend.metrics.registry import PIPELINES
    from tend.metrics.run import ACCOUNT_GRAINS, AGGREGATE_SCOPES
    from tend.metrics.usage_rollups import ROLLUPS, usage_rollups

    events = pq.read_metadata(args.directory / "events.parquet").num_rows
    print(f"{args.directory}: {events:,} events, engine {args.engine}")
    started_cpu = cpu_seconds()
    if args.engine == "duckdb":
        temp = tempfile.mkdtemp(prefix="tend-bench-duckdb-")
        con: ibis.BaseBackend = ibis.duckdb.connect(
            temp_directory=temp, threads=args.threads, memory_limit=args.memory_limit
        )
    else:
        con = connect("pyspark")
    total = time.perf_counter()
    clock = Clock()
    inputs = read_parquet_inputs(args.directory, con)
    load_seconds = clock.step("read inputs")
    rollups = usage_rollups(inputs)
    for name in ROLLUPS:
        getattr(rollups, name)
        load_seconds += clock.step(f"usage rollup {name}")
    accounts = con.to_pyarrow(inputs.accounts.select("signed_up_at"))
    first = min(d for d in accounts["signed_up_at"].to_pylist() if d is not None).date()
    last = con.to_pyarrow(inputs.performance_daily.day.max()).as_py()
    print(f"  history {first} to {last}")

    def run(label: str, start: date) -> int:
        """Every pipeline on the wide grid, then on the per-account one (as tend.metrics.run
        does). A grid is made right before it is used: make_grid stores its periods and scopes
        under fixed table names, so making the second grid first would redirect the first."""
        rows = 0
        for kind, grains, scopes in (
            ("wide", GRAINS, AGGREGATE_SCOPES),
            ("account", ACCOUNT_GRAINS, ("account",)),
        ):
            grid = make_grid(con, inputs.accounts, start, last, grains, scopes)
            for pipeline in PIPELINES:
                rows += con.to_pyarrow(pipeline.compute(inputs, grid)).num_rows
                clock.step(f"{label} {kind}: {pipeline.name}")
        return rows

    started, started_full_cpu = time.perf_counter(), cpu_seconds()
    full_rows = run("full", first)
    full_seconds = time.perf_counter() - started
    full_cpu = cpu_seconds() - started_cpu
    started, started_incremental_cpu = time.perf_counter(), cpu_seconds()
    incremental_rows = run("incremental", last)
    incremental_seconds = time.perf_counter() - started
    incremental_cpu = cpu_seconds() - started_incremental_cpu
    print(
        f"full recompute: {full_seconds + load_seconds:.1f} s, {full_cpu:.1f} s CPU (inputs and "
        f"rollups {load_seconds:.1f} s, KPIs {full_seconds:.1f} s and "
        f"{cpu_seconds() - started_full_cpu - incremental_cpu:.1f} s CPU), "
        f"{full_rows:,} result rows\n"
        f"incremental recompute of the periods holding {last} (inputs already read): "
        f"{incremental_seconds:.1f} s, {incremental_cpu:.1f} s CPU, {incremental_rows:,} rows\n"
        f"total {time.perf_counter() - total:.1f} s ({cpu_seconds() - started_cpu:.1f} s CPU), "
        f"peak RSS {peak_rss_mb():,.0f} MB, load average {Path('/proc/loadavg').read_text()[:14]}"
    )


if __name__ == "__main__":
    main()

"""Benchmark of the metrics engine's Parquet loader (tend.metrics.parquet_inputs) on a directory
written by `tend demo generate --parquet DIR`, e.g.

    .venv/bin/tend demo generate --accounts 10000 --intensity 1.5 --parquet /tmp/tend-10k
    .venv/bin/python bench/metrics_inputs.py /tmp/tend-10k
    .venv/bin/python bench/metrics_inputs.py /tmp/tend-2k --kpis 3   # and the usage KPIs

Prints each step's wall and CPU time, the total, the process's peak RSS and the row counts of
every input table; with --kpis N, the usage pipelines' times over the last N months (by month,
portfolio and segment scopes).
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import ibis
import pyarrow.parquet as pq


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("directory", type=Path, help="A demo Parquet directory.")
    parser.add_argument("--threads", type=int, help="DuckDB threads (default: all cores).")
    parser.add_argument("--kpis", type=int, default=0, help="Also time the usage KPIs (months).")
    args = parser.parse_args()

    from tend.metrics.inputs import SCHEMAS
    from tend.metrics.parquet_inputs import read_parquet_inputs

    events = pq.read_metadata(args.directory / "events.parquet").num_rows
    print(f"{args.directory}: {events:,} events")
    config: dict[str, object] = {"temp_directory": tempfile.mkdtemp(prefix="tend-bench-duckdb-")}
    if args.threads:
        config["threads"] = args.threads
    con = ibis.duckdb.connect(**config)  # spills, if any, go to /tmp, not the working directory
    started, started_cpu = time.perf_counter(), cpu_seconds()
    last = [started, started_cpu]

    def step(name: str) -> None:
        now, cpu = time.perf_counter(), cpu_seconds()
        print(f"  {name:<24} {now - last[0]:7.1f} s wall {cpu - last[1]:7.1f} s CPU", flush=True)
        last[:] = [now, cpu]

    inputs = read_parquet_inputs(args.directory, con, step)
    wall, cpu = time.perf_counter() - started, cpu_seconds() - started_cpu
    print(
        f"read_parquet_inputs: {wall:.1f} s wall, {cpu:.1f} s CPU, peak RSS {peak_rss_mb():,.0f} MB"
    )
    for name in SCHEMAS:
        print(f"  {name:<20} {inputs.con.execute(getattr(inputs, name).count()):>13,} rows")
    if args.kpis:
        time_usage_kpis(inputs, args.kpis)


def time_usage_kpis(inputs: object, months: int) -> None:
    """Run every usage pipeline by month over the last `months` months of events."""
    from tend.metrics.grid import make_grid
    from tend.metrics.inputs import Inputs
    from tend.metrics.usage import PIPELINES

    assert isinstance(inputs, Inputs)
    last_day: date = inputs.usage_daily.day.max().to_pyarrow().as_py()
    first = (last_day.replace(day=1) - timedelta(days=31 * (months - 1))).replace(day=1)
    grid = make_grid(
        inputs.con, inputs.accounts, first, last_day, ["month"], ["portfolio", "segment"]
    )
    for pipeline in PIPELINES:
        started = time.perf_counter()
        rows = inputs.con.to_pyarrow(pipeline.compute(inputs, grid)).num_rows
        print(f"  {pipeline.name:<20} {time.perf_counter() - started:7.1f} s  {rows:,} rows")
    print(f"peak RSS {peak_rss_mb():,.0f} MB")


if __name__ == "__main__":
    main()

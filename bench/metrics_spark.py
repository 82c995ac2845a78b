"""Benchmark: the full KPI recompute on PySpark in local mode (and, to compare, on DuckDB).

The same work as `tend metrics --full` minus the snapshot writes: every registered pipeline over
every grain for the portfolio, segment and CSM scopes, and monthly per account
(tend.metrics.run.snapshot_results). Inputs come from a Parquet demo directory
(`tend demo generate --parquet DIR`) or from the app database of a data directory.

    .venv/bin/python bench/metrics_spark.py --parquet /tmp/tend-demo-parquet
    .venv/bin/python bench/metrics_spark.py --data-dir ~/.local/share/tend --engines pyspark,duckdb
    TEND_SPARK_DRIVER_MEMORY=6g TEND_SPARK_FULL_JIT=1 .venv/bin/python bench/metrics_spark.py ...

Prints the wall time of loading the inputs, of each pipeline (both grids together) and in total,
the rows produced, and the peak memory of this process and of Spark's JVM.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from collections import defaultdict
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--parquet", type=Path, help="A demo Parquet directory.")
    source.add_argument("--data-dir", type=Path, help="A TEND_DATA_DIR whose app DB to read.")
    parser.add_argument("--engines", default="pyspark", help="Comma-separated: pyspark, duckdb.")
    parser.add_argument("--first", type=date.fromisoformat, help="First day (default: data's).")
    parser.add_argument("--last", type=date.fromisoformat, help="Last day (default: data's).")
    args = parser.parse_args()
    engines = [name.strip() for name in args.engines.split(",") if name.strip()]
    if args.data_dir is not None:
        os.environ["TEND_DATA_DIR"] = str(args.data_dir)
        os.environ["DJANGO_SETTINGS_MODULE"] = "tend.config.django_settings"
        import django

        django.setup()
    for engine in engines:
        bench(engine, args.parquet, args.first, args.last)


def bench(engine: str, parquet: Path | None, first: date | None, last: date | None) -> None:
    from tend.metrics import run
    from tend.metrics.engine import connect, stop_spark
    from tend.metrics.inputs import Inputs, inputs_on

    print(f"== {engine}")
    started = time.perf_counter()
    con = connect(engine)  # type: ignore[arg-type]
    print(f"{'session':<24}{time.perf_counter() - started:8.1f} s")
    started = time.perf_counter()
    inputs: Inputs
    if parquet is not None:
        from tend.metrics.parquet_inputs import read_parquet_inputs

        inputs = read_parquet_inputs(parquet, con)
    else:
        from tend.metrics.load import read_app_tables

        inputs = inputs_on(con, read_app_tables())
    first, last = span(inputs, first, last)
    print(f"{'load inputs':<24}{time.perf_counter() - started:8.1f} s   ({first} .. {last})")

    seconds: dict[str, float] = defaultdict(float)
    rows = 0

    def progress(name: str) -> None:
        """Called as each pipeline starts: charge the time since the last call to the last."""
        now = time.perf_counter()
        if marks:
            seconds[marks[-1][0]] += now - marks[-1][1]
        marks.append((name, now))

    marks: list[tuple[str, float]] = []
    started = time.perf_counter()
    as_of = datetime.combine(last, datetime.min.time(), UTC)
    results = run.snapshot_results(inputs, first, last, "USD", as_of, progress)
    finished = time.perf_counter()
    if marks:
        seconds[marks[-1][0]] += finished - marks[-1][1]
    rows = results.num_rows
    for name, spent in seconds.items():
        print(f"{name:<24}{spent:8.1f} s")
    print(f"{'total recompute':<24}{finished - started:8.1f} s   ({rows:,} rows)")
    print(f"{'peak RSS, python':<24}{peak_rss_mb():8.0f} MB")
    if engine == "pyspark":
        jvm = jvm_peak_mb(con)
        if jvm is not None:
            print(f"{'peak RSS, spark jvm':<24}{jvm:8.0f} MB")
        con.disconnect()
        stop_spark()


def span(inputs: Any, first: date | None, last: date | None) -> tuple[date, date]:
    """first..last, defaulting to the first sign-up's month and the last day with usage (or
    with an invoice, or today)."""
    con = inputs.con
    if first is None:
        signed_up = con.to_pyarrow(inputs.accounts.signed_up_at.min()).as_py()
        first = signed_up.date().replace(day=1) if signed_up else date.today().replace(day=1)
    if last is None:
        candidates = [
            con.to_pyarrow(inputs.usage_daily.day.max()).as_py(),
            _day(con.to_pyarrow(inputs.invoices.issued_at.max()).as_py()),
        ]
        last = max([day for day in candidates if day is not None], default=date.today())
    return first, last


def _day(value: datetime | None) -> date | None:
    return None if value is None else value.date()


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def jvm_peak_mb(con: Any) -> float | None:
    """The Spark driver JVM's peak resident memory (Linux), from /proc."""
    try:
        pid = con._session.sparkContext._jvm.ProcessHandle.current().pid()
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except Exception:
        return None
    return None


if __name__ == "__main__":
    main()

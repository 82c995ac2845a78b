"""Benchmark of the usage rollups on the demo company: a full run from the first event, then an
incremental run after one more day of events arrives; on SQLite or PostgreSQL.

    .venv/bin/python bench/rollups.py                          # 500 accounts, ~2 M events
    .venv/bin/python bench/rollups.py --data-dir /tmp/tend-bench  # reuse (or keep) a data dir
    .venv/bin/python bench/rollups.py --database-url postgres://postgres@127.0.0.1:5432/bench

With PostgreSQL the database is reused as it is when it already holds a company (drop it to
start again). Rollup throughput and lag under ingest load: `bench/ingest.py --rollup`.

Prints events/s and peak traced Python memory for each run, and the process's peak RSS.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=500)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument(
        "--intensity", type=float, default=0.5, help="Events per session scale (demo option)."
    )
    parser.add_argument("--batch-size", type=int, default=50_000)
    parser.add_argument("--database-url", help="PostgreSQL URL (default: SQLite in the data dir).")
    parser.add_argument("--data-dir", type=Path, help="Use (and keep) this data directory.")
    args = parser.parse_args()

    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="tend-bench-rollups-"))
    os.environ["TEND_DATA_DIR"] = str(data_dir)
    os.environ.pop("DATABASE_URL", None)
    os.environ.pop("TEND_TEST_DB", None)
    if args.database_url:
        os.environ["DATABASE_URL"] = args.database_url
    os.environ["DJANGO_SETTINGS_MODULE"] = "tend.config.django_settings"
    import django

    django.setup()
    from django.core.management import call_command

    from tend.demo.database import demo_exists, write_company
    from tend.demo.generate import DemoConfig, generate_company
    from tend.usage.models import Event
    from tend.usage.rollups import reset_rollups, run_rollup

    call_command("migrate", interactive=False, verbosity=0)
    if not demo_exists():
        started = time.perf_counter()
        company = generate_company(
            DemoConfig(accounts=args.accounts, months=args.months, intensity=args.intensity)
        )
        events = write_company(company)
        print(f"generated {events:,} events in {time.perf_counter() - started:.0f} s")
    reset_rollups()

    full = measure(lambda: run_rollup(batch_size=args.batch_size))
    print(line("full", full, Event.objects.count()))

    added = insert_next_day()
    incremental = measure(lambda: run_rollup(batch_size=args.batch_size))
    print(line("incremental (+1 day)", incremental, added))
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of the whole process (generation included): {peak_rss:.0f} MB")
    if args.data_dir is None:
        shutil.rmtree(data_dir)


def measure(run: Callable[[], Any]) -> tuple[Any, int]:
    """The run's report and the peak Python memory it traced."""
    tracemalloc.start()
    try:
        report = run()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return report, peak


def line(label: str, measured: tuple[Any, int], total: int) -> str:
    report, peak = measured
    return (
        f"BENCH rollup {label}: {report.events_read:,} events ({total:,} in scope) in "
        f"{report.seconds:.2f} s = {report.events_per_second:,.0f} events/s, "
        f"{report.rows_written:,} rows written, {report.batches} batches, "
        f"peak traced memory {peak / 1e6:.1f} MB"
    )


def insert_next_day() -> int:
    """Copy the last day's events one day later, as new arrivals (late ones included)."""
    from django.db.models import Max

    from tend.usage.actions import format_db_time, insert_event_rows
    from tend.usage.models import Event

    newest: datetime = Event.objects.aggregate(newest=Max("timestamp"))["newest"]
    since = newest - timedelta(days=1)
    stamp = int(time.time())

    def rows() -> Iterator[tuple[Any, ...]]:
        fields = ("message_id", "type", "name", "user_id", "account_id", "timestamp")
        for message, kind, name, user, account, moment in (
            Event.objects.filter(timestamp__gt=since).values_list(*fields).iterator(10_000)
        ):
            later = format_db_time(moment + timedelta(days=1))
            yield (
                "bench", f"{stamp}-{message}", kind, name, user, "", account, later, later,
                "{}", "{}",
            )  # fmt: skip

    return insert_event_rows(rows())


if __name__ == "__main__":
    main()

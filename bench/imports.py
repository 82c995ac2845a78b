"""Benchmark of `tend import`: rows/s and peak memory for an events CSV and an accounts CSV.

    .venv/bin/python bench/imports.py --events 1000000 --accounts 100000

Writes the CSV files to a scratch folder, then runs `tend import` for each in a child process
against a fresh SQLite data directory (or `--database-url`), and prints one BENCH line per file.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

TEND = Path(sys.executable).with_name("tend")
FEATURES = ["Dashboard Viewed", "Report Created", "Query Run", "Export Downloaded", "Logged In"]


def write_accounts(path: Path, count: int) -> None:
    rng = random.Random(1)
    with path.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(
            [
                "external_id",
                "name",
                "domain",
                "industry",
                "country",
                "seats",
                "employee_count",
                "signed_up_at",
                "traits.plan",
            ]
        )
        for i in range(count):
            out.writerow(
                [
                    f"acc_{i:06d}",
                    f"Company {i}",
                    f"company{i}.example.com",
                    "Software",
                    rng.choice(["US", "DE", "GB"]),
                    rng.randint(3, 200),
                    rng.randint(5, 5000),
                    "2025-03-01T00:00:00Z",
                    rng.choice(["starter", "growth", "business"]),
                ]
            )


def write_events(path: Path, count: int, accounts: int) -> None:
    rng = random.Random(2)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with path.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(
            [
                "message_id",
                "user_id",
                "account",
                "name",
                "timestamp",
                "properties.path",
                "properties.load_time_ms",
            ]
        )
        for i in range(count):
            account = rng.randrange(accounts)
            moment = start + timedelta(seconds=rng.randrange(86400 * 90))
            out.writerow(
                [
                    f"m{i:09d}",
                    f"u{account:06d}_{rng.randrange(20)}",
                    f"acc_{account:06d}",
                    rng.choice(FEATURES),
                    moment.isoformat(),
                    "/reports",
                    rng.randint(100, 3000),
                ]
            )


def run(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    started = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)
    peak = max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    return time.perf_counter() - started, peak / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--database-url", help="PostgreSQL URL (default: SQLite in a temp dir).")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="tend-bench-import-"))
    env = {**os.environ, "TEND_DATA_DIR": str(work / "data")}
    env.pop("DATABASE_URL", None)
    if args.database_url:
        env["DATABASE_URL"] = args.database_url
    try:
        accounts_csv, events_csv = work / "accounts.csv", work / "events.csv"
        write_accounts(accounts_csv, args.accounts)
        write_events(events_csv, args.events, args.accounts)
        subprocess.run([str(TEND), "migrate"], env=env, check=True, stdout=subprocess.DEVNULL)
        for entity, path, rows in (
            ("accounts", accounts_csv, args.accounts),
            ("events", events_csv, args.events),
        ):
            seconds, peak = run([str(TEND), "import", entity, str(path)], env)
            size = path.stat().st_size / 1e6
            print(
                f"BENCH import {entity}: {rows:,} rows ({size:.0f} MB CSV) in {seconds:.1f} s "
                f"= {rows / seconds:,.0f} rows/s, peak RSS {peak:.0f} MB "
                f"({'PostgreSQL' if args.database_url else 'SQLite'})"
            )
    finally:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()

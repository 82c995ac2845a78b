"""Server time of the scorecard editor's live preview on a demo company: the first preview of a
process (nothing read yet), previews after a weight change (what a manager editing sees),
and previews that bring a measure no snapshot stores (computed from the app data).

    .venv/bin/python bench/scorecard_preview.py                  # builds /tmp/tend-bench-preview
    .venv/bin/python bench/scorecard_preview.py --data-dir DIR --accounts 400 --requests 10
    .venv/bin/python bench/scorecard_preview.py --data-dir DIR --store-backtest-days

The demo stores 35 days of snapshots, none on the backtest's days (90 days and more back), so
there the backtest's raw values are computed from the app data. A saved version is backfilled
over two years (`jobs.backfill_scorecard_version`); `--store-backtest-days` stores the default
version's snapshots of the days the backtest samples (what such a backfill leaves there, at a
fraction of its cost) before timing, to time the preview as it runs on a scored history.
Each request goes through Django's test Client, signed in as a manager; the figures are the
server's wall time, its CPU time (all threads of the process) and the queries of a request.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path
from typing import Any

from bench_env import ensure_demo, setup_django_in


def timed(client: Any, path: str, data: dict[str, Any]) -> tuple[float, float, int, str]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    wall, cpu = time.perf_counter(), time.process_time()
    with CaptureQueriesContext(connection) as queries:
        response = client.post(path, data)
    assert response.status_code == 200, (path, response.status_code)
    text = response.content.decode()
    assert "No preview yet" not in text, text[:2000]
    return (
        (time.perf_counter() - wall) * 1000,
        (time.process_time() - cpu) * 1000,
        len(queries),
        text,
    )


def report(name: str, samples: list[tuple[float, float, int, str]]) -> None:
    walls = sorted(s[0] for s in samples)
    p95 = walls[min(len(walls) - 1, round(0.95 * (len(walls) - 1)))]
    cpu = statistics.median(s[1] for s in samples)
    print(
        f"{name:<44} n {len(samples):3}  p50 {statistics.median(walls):8.1f} ms  "
        f"p95 {p95:8.1f} ms  cpu p50 {cpu:8.1f} ms  queries {samples[-1][2]}",
        flush=True,
    )


def store_backtest_days() -> None:
    """Score and store the default version on the days the preview's backtest samples."""
    from tend.health.actions import ensure_default_scorecard
    from tend.health.engine import backfill_version
    from tend.health.labels import DEFAULT_HORIZON_DAYS
    from tend.health.preview_state import backtest_days, recorded_end

    version = ensure_default_scorecard()
    _, days = backtest_days(recorded_end(), DEFAULT_HORIZON_DAYS)
    started = time.perf_counter()
    scored = backfill_version(version, days)
    print(f"stored {scored.rows:,} snapshots of {len(days)} backtest days in "
          f"{time.perf_counter() - started:.1f} s")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/tend-bench-preview"))
    parser.add_argument("--accounts", type=int, default=400)
    parser.add_argument("--requests", type=int, default=10)
    parser.add_argument("--store-backtest-days", action="store_true")
    args = parser.parse_args()
    args.data_dir.mkdir(parents=True, exist_ok=True)
    ensure_demo(args.data_dir, args.accounts)
    setup_django_in(args.data_dir)

    from django.test import Client
    from django.urls import reverse

    from tend.core.models import Role, User
    from tend.customers.models import Account
    from tend.health import preview, queries
    from tend.health.actions import ensure_default_scorecard
    from tend.health.models import HealthSnapshot
    from tend.web.scorecard_forms import draft_from_config, form_fields

    if args.store_backtest_days:
        store_backtest_days()
    version = ensure_default_scorecard()
    manager = User.objects.filter(role__in=[Role.MANAGER, Role.ADMIN], is_active=True).first()
    if manager is None:
        manager = User.objects.create(username="bench-manager", role=Role.MANAGER)
    client = Client()
    client.force_login(manager)
    fields = form_fields(draft_from_config(queries.version_config(version)))
    url = reverse("web:scorecard-preview", args=[version.scorecard.slug])
    days = HealthSnapshot.objects.values("day").distinct().count()
    print(f"{Account.objects.count()} accounts, snapshots on {days} days, in {args.data_dir}")
    print(f"load average before: {Path('/proc/loadavg').read_text().strip()}")

    preview.clear_cache()
    first = timed(client, url, fields)
    report("first preview (nothing read yet)", [first])
    weights = [
        timed(client, url, fields | {"group-0-weight": str(31 + n)}) for n in range(args.requests)
    ]
    report("a weight changed", weights)
    bands = [
        timed(client, url, fields | {"band-0-below": str(30 + n)}) for n in range(args.requests)
    ]
    report("a band threshold changed", bands)
    report("a new voice measure (csat_180d)", [
        timed(client, url, fields | {"group-3-measure-1-metric": "csat_180d"})
    ])  # fmt: skip
    report("a longer usage trend (8 weeks)", [
        timed(client, url, fields | {"group-0-measure-3-weeks": "8"})
    ])  # fmt: skip
    text = weights[-1][3]
    start = text.find("Backtest on")
    print("page says:", " ".join(text[start : text.find("</p>", start)].split()) or "(nothing)")
    print(f"load average after: {Path('/proc/loadavg').read_text().strip()}")


if __name__ == "__main__":
    main()

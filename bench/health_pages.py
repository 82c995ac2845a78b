"""Server time of the scorecard editor's preview, the health lists and the journey map on a demo
company: the first preview (which loads the app data onto DuckDB and computes the measures),
then previews after a weight change (the data reused), and each page warm.

    .venv/bin/python bench/health_pages.py                    # builds /tmp/tend-bench-health once
    .venv/bin/python bench/health_pages.py --data-dir DIR --accounts 300 --requests 10
    .venv/bin/python bench/health_pages.py --data-dir /tmp/tend-bench-pages --database-pages-only

The demo company is generated (with `tend demo --no-serve`) when the data directory has none.
Each page is requested through Django's test Client, signed in as a manager; the figures are
the server's wall time (p50, p95), its CPU time (p50) and the queries of one request.
`--database-pages-only` times only the pages that read the database alone (journey map and
scorecard pages), e.g. on bench/pages.py's 10,000 accounts.

    .venv/bin/python bench/health_pages.py --data-dir /tmp/tend-bench-lists-500 --lists-only
    .venv/bin/python bench/health_pages.py --data-dir /tmp/tend-bench-lists-10k --lists-only \
        --build-10k

`--lists-only` times `refresh_lists()` once (wall, CPU, the process's peak resident memory
before and after), then each stored list page (first page, one CSM's accounts, page 2), the
lists API (50 rows) and `tend lists at_risk` reading the stored list. `--build-10k` fills an
empty data directory with bench/pages.py's 10,000 accounts (a year of snapshots, no events)
instead of a demo company.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench_env import ensure_demo, setup_django_in


def timed(
    client: Any, method: str, path: str, data: dict[str, Any] | None = None
) -> tuple[float, float, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    wall, cpu = time.perf_counter(), time.process_time()
    with CaptureQueriesContext(connection) as queries:
        response = client.post(path, data) if method == "POST" else client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return (time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000, len(queries)


def report(name: str, samples: list[tuple[float, float, int]]) -> None:
    walls = sorted(s[0] for s in samples)
    p95 = walls[min(len(walls) - 1, round(0.95 * (len(walls) - 1)))]
    cpu = statistics.median(s[1] for s in samples)
    print(
        f"{name:<34} p50 {statistics.median(walls):8.1f} ms  p95 {p95:8.1f} ms  "
        f"cpu p50 {cpu:8.1f} ms  queries {samples[-1][2]}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/tend-bench-health"))
    parser.add_argument("--accounts", type=int, default=300)
    parser.add_argument("--requests", type=int, default=10)
    parser.add_argument("--database-pages-only", action="store_true")
    parser.add_argument("--lists-only", action="store_true")
    parser.add_argument("--build-10k", action="store_true")
    args = parser.parse_args()
    args.data_dir.mkdir(parents=True, exist_ok=True)
    if args.build_10k:
        build_10k(args.data_dir)
    else:
        ensure_demo(args.data_dir, args.accounts)
    setup_django_in(args.data_dir)
    if args.lists_only:
        time_lists(args.requests)
        return

    from django.test import Client
    from django.urls import reverse

    from tend.core.models import Role, User
    from tend.customers.models import Account
    from tend.health import queries
    from tend.health.actions import ensure_default_scorecard
    from tend.web.scorecard_forms import draft_from_config, form_fields

    version = ensure_default_scorecard()
    slug = version.scorecard.slug
    manager = User.objects.filter(role__in=[Role.MANAGER, Role.ADMIN], is_active=True).first()
    if manager is None:
        manager = User.objects.create(username="bench-manager", role=Role.MANAGER)
    client = Client()
    client.force_login(manager)
    fields = form_fields(draft_from_config(queries.version_config(version)))
    preview_url = reverse("web:scorecard-preview", args=[slug])
    print(f"{Account.objects.count()} accounts in {args.data_dir}")

    if not args.database_pages_only:
        time_preview(client, preview_url, fields, args.requests)
    pages = [
        ("journey map", reverse("web:report-journey")),
        ("scorecards", reverse("web:scorecards")),
        ("scorecard editor", reverse("web:scorecard-edit", args=[slug])),
        ("version diff", reverse("web:scorecard-diff", args=[slug])),
    ]
    if not args.database_pages_only:
        pages += [
            (f"list {name}", reverse(f"web:list-{name}"))
            for name in ("at-risk", "renewals", "collections", "advocates", "upsell", "patterns")
        ]
    for name, path in pages:
        for _ in range(2):
            timed(client, "GET", path)
        report(name, [timed(client, "GET", path) for _ in range(args.requests)])


def time_preview(client: Any, preview_url: str, fields: dict[str, Any], requests: int) -> None:
    from tend.health import preview

    preview.clear_cache()
    report("preview, first (loads the data)", [timed(client, "POST", preview_url, fields)])
    samples = []
    for n in range(requests):
        changed = fields | {"group-0-weight": str(30 + n + 1)}
        samples.append(timed(client, "POST", preview_url, changed))
    report("preview, a weight changed", samples)


def build_10k(data_dir: Path) -> None:
    """bench/pages.py's 10,000 accounts in `data_dir` (built once, migrated; a child process)."""
    script = Path(__file__).with_name("pages.py")
    subprocess.run(
        [sys.executable, str(script), "--data-dir", str(data_dir), "--only", "(build only)"],
        check=True,
    )


def peak_rss_mb() -> float:
    """The process's peak resident memory so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def time_lists(requests: int) -> None:
    """Refresh the stored lists once, then time the pages, the API and the CLI reading them."""
    from django.db import connection
    from django.test import Client
    from django.urls import reverse
    from typer.testing import CliRunner

    from tend.cli import app
    from tend.core.models import Role, User
    from tend.customers.models import Account
    from tend.health.list_actions import refresh_lists
    from tend.web.list_views import HEALTH_LISTS

    print(f"{Account.objects.count():,} accounts, {connection.vendor}; load {load_average()}")
    before = peak_rss_mb()
    wall, cpu = time.perf_counter(), time.process_time()
    refresh = refresh_lists()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(
        f"refresh_lists: wall {wall:.1f} s, cpu {cpu:.1f} s (load {refresh.load_seconds:.1f} s); "
        f"peak RSS {before:.0f} MB before, {peak_rss_mb():.0f} MB after"
    )
    for run in refresh.runs:
        print(f"  {run.name:<12} {run.row_count:6,} rows  {run.seconds:6.2f} s")
    user = User.objects.filter(role__in=[Role.MANAGER, Role.ADMIN], is_active=True).first()
    user = user or User.objects.create(username="bench-manager", role=Role.MANAGER)
    owner = Account.objects.exclude(owner=None).values_list("owner_id", flat=True).first()
    client = Client()
    client.force_login(user)
    for item in HEALTH_LISTS:
        path = reverse(item.url_name)
        variants = [("", path), ("page 2", f"{path}?page=2")]
        if item.per_account and owner is not None:
            variants.insert(1, ("one CSM", f"{path}?owner={owner}"))
        for label, url in variants:
            for _ in range(2):
                timed(client, "GET", url)
            report(
                f"list {item.slug} {label}".strip(),
                [timed(client, "GET", url) for _ in range(requests)],
            )
    api = "/api/health/lists/at_risk?limit=50"
    report("api lists/at_risk (50 rows)", [timed(client, "GET", api) for _ in range(requests)])
    started = time.perf_counter()
    result = CliRunner().invoke(app, ["lists", "at_risk", "--format", "json"])
    assert result.exit_code == 0, result.output
    print(
        f"tend lists at_risk (stored, in process): {(time.perf_counter() - started) * 1000:.0f} ms"
    )


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


if __name__ == "__main__":
    main()

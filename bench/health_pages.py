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
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any


def setup_django(data_dir: Path) -> None:
    os.environ["TEND_DATA_DIR"] = str(data_dir)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tend.config.django_settings")
    import django

    django.setup()
    from django.test.utils import setup_test_environment

    setup_test_environment()


def ensure_demo(data_dir: Path, accounts: int) -> None:
    if (data_dir / "tend.sqlite3").exists():
        return
    tend = Path(sys.executable).with_name("tend")
    env = os.environ | {"TEND_DATA_DIR": str(data_dir)}
    subprocess.run(
        [str(tend), "demo", "--no-serve", "--accounts", str(accounts), "--months", "24"],
        check=True,
        env=env,
    )


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
    args = parser.parse_args()
    args.data_dir.mkdir(parents=True, exist_ok=True)
    ensure_demo(args.data_dir, args.accounts)
    setup_django(args.data_dir)

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


if __name__ == "__main__":
    main()

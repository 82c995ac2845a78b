"""Server time of the pages people live in, with 10,000 accounts: home, the accounts table (first
page, a filtered and sorted page, a deep page), the account page and every report page.

    .venv/bin/python bench/pages.py                       # builds /tmp/tend-bench-pages once
    .venv/bin/python bench/pages.py --data-dir DIR        # reuse (or build) another one
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/benchpages .venv/bin/python bench/pages.py

The database is built once with bulk inserts (a few minutes) and reused when it already holds
the accounts: 10,000 accounts over 12 CSMs and 3 segments, subscriptions and invoices, contacts,
tickets, touchpoints, NPS answers, notes, a year of daily health snapshots per account (the
last 31 days with full per-measure explanations, older days with scores only), 90 days of usage
rollups for the accounts whose page is opened, and 24 months of KPI snapshots per portfolio,
segment, CSM and account. Each page is requested through Django's test Client, signed in as a
CSM, 3 times to warm up and then `--requests` times; the figures are the server's wall time
(p50, p95), its CPU time (p50; the client runs in the same process, SQLite too) and the queries
of one request. The bar is p95 < 100 ms.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

ACCOUNTS = 10_000
CSMS = 12
SEGMENTS = ("smb", "mid_market", "enterprise")
HISTORY_DAYS = 365
FULL_DAYS = 31
USAGE_ACCOUNTS = 60
USAGE_DAYS = 90
BAR_MS = 100.0


def setup_django(data_dir: Path) -> None:
    os.environ["TEND_DATA_DIR"] = str(data_dir)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tend.config.django_settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    # The test Client's host; no setup_test_environment, whose template instrumentation
    # would be timed too.
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]


def chunks(rows: list[Any], size: int = 5_000) -> Any:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def build(seed: int, today: date) -> None:
    """The company, in bulk (test data: straight into the tables, no actions or jobs)."""
    from django.db import connection, transaction

    from tend.billing.models import Invoice, Plan, Subscription, SubscriptionItem
    from tend.core.models import Note, Role, User
    from tend.customers.models import Account, Contact, LifecycleStage, StageChange
    from tend.support.models import Ticket, Touchpoint
    from tend.surveys.models import Survey, SurveyResponse

    rng = random.Random(seed)
    now = datetime.combine(today, datetime.min.time(), tzinfo=UTC) + timedelta(hours=12)
    started = time.perf_counter()
    with transaction.atomic():
        users = [
            User(username=f"csm{i}", first_name=f"Casey{i}", last_name="Csm", role=Role.CSM)
            for i in range(CSMS)
        ]
        users.append(User(username="manager", first_name="Morgan", role=Role.MANAGER))
        for user in users:
            user.set_unusable_password()
        User.objects.bulk_create(users)
        csms = list(User.objects.filter(role=Role.CSM))
        stages = [s.value for s in LifecycleStage]
        accounts = [
            Account(
                external_id=f"acct-{i:05d}",
                name=f"Company {i:05d}",
                domain=f"company{i}.example.com",
                owner=csms[i % CSMS] if i % 20 else None,
                lifecycle_stage=stages[rng.randrange(len(stages))],
                traits={"segment": SEGMENTS[i % 3]},
                seats=rng.randint(5, 200),
                signed_up_at=now - timedelta(days=rng.randint(30, 900)),
            )
            for i in range(ACCOUNTS)
        ]
        for batch in chunks(accounts):
            Account.objects.bulk_create(batch)
        accounts = list(Account.objects.order_by("pk"))
        plans = [
            Plan(external_id=f"plan-{n}", name=f"Plan {n}", unit_amount=Decimal(20 * (n + 1)))
            for n in range(3)
        ]
        Plan.objects.bulk_create(plans)
        subs, items, invoices = [], [], []
        for i, account in enumerate(accounts):
            if i % 5 == 4:
                continue
            started_at = now - timedelta(days=rng.randint(40, 700))
            subs.append(
                Subscription(
                    external_id=f"sub-{i}",
                    account=account,
                    status="active",
                    started_at=started_at,
                    current_period_end=now + timedelta(days=rng.randint(1, 365)),
                )
            )
        for batch in chunks(subs):
            Subscription.objects.bulk_create(batch)
        for sub in Subscription.objects.all():
            plan = plans[sub.pk % 3]
            items.append(
                SubscriptionItem(
                    external_id=f"si-{sub.pk}",
                    subscription=sub,
                    plan=plan,
                    unit_amount=plan.unit_amount,
                    quantity=rng.randint(1, 40),
                    interval="month",
                    started_at=sub.started_at,
                )
            )
            for month in range(6):
                issued = now - timedelta(days=30 * month + 5)
                invoices.append(
                    Invoice(
                        external_id=f"in-{sub.pk}-{month}",
                        number=f"INV-{sub.pk}-{month}",
                        account_id=sub.account_id,
                        subscription=sub,
                        status="paid",
                        amount_due=Decimal(300),
                        amount_paid=Decimal(300),
                        issued_at=issued,
                        due_at=issued + timedelta(days=14),
                        paid_at=issued + timedelta(days=3),
                    )
                )
        for batch in chunks(items):
            SubscriptionItem.objects.bulk_create(batch)
        for batch in chunks(invoices):
            Invoice.objects.bulk_create(batch)
        survey = Survey.objects.create(
            external_id="nps",
            name="NPS",
            kind="nps",
            question="Recommend?",
            scale_min=0,
            scale_max=10,
        )
        contacts = [
            Contact(
                external_id=f"c-{a.pk}-{n}", email=f"p{n}@{a.domain}", name=f"Person {n}", account=a
            )
            for a in accounts
            for n in range(2)
        ]
        for batch in chunks(contacts):
            Contact.objects.bulk_create(batch)
        people = list(Contact.objects.order_by("pk").values_list("pk", "account_id"))
        responses, touches, tickets, notes, changes = [], [], [], [], []
        for n, (contact_id, account_id) in enumerate(people):
            responses.append(
                SurveyResponse(
                    external_id=f"r-{n}",
                    survey=survey,
                    contact_id=contact_id,
                    account_id=account_id,
                    score=rng.randint(0, 10),
                    answered_at=now - timedelta(days=rng.randint(0, 300)),
                )
            )
        for account in accounts:
            for n in range(4):
                touches.append(
                    Touchpoint(
                        external_id=f"tp-{account.pk}-{n}",
                        account=account,
                        kind="call",
                        direction="outbound",
                        occurred_at=now - timedelta(days=rng.randint(0, 200)),
                        subject="Check-in",
                    )
                )
                tickets.append(
                    Ticket(
                        external_id=f"tk-{account.pk}-{n}",
                        account=account,
                        subject="Something broke",
                        status="solved",
                        opened_at=now - timedelta(days=rng.randint(0, 300)),
                    )
                )
            notes.append(Note(account=account, body="Met the team."))
            changes.append(
                StageChange(
                    account=account,
                    to_stage=account.lifecycle_stage,
                    changed_at=now - timedelta(days=rng.randint(0, 300)),
                )
            )
        for model, rows in [
            (SurveyResponse, responses),
            (Touchpoint, touches),
            (Ticket, tickets),
            (Note, notes),
            (StageChange, changes),
        ]:
            for batch in chunks(rows):
                model.objects.bulk_create(batch)
    print(f"  entities: {time.perf_counter() - started:.0f} s", flush=True)
    build_usage(accounts[:USAGE_ACCOUNTS], today, rng)
    build_health(accounts, today, rng)
    build_kpis(today, [u.username for u in csms], [a.external_id for a in accounts])
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    else:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    print(f"  built in {time.perf_counter() - started:.0f} s", flush=True)


def build_usage(accounts: list[Any], today: date, rng: random.Random) -> None:
    from tend.usage.models import UsageRollup

    moment = datetime.combine(today, datetime.min.time(), tzinfo=UTC)
    rows = [
        UsageRollup(
            account=account,
            user_id=f"u{user}",
            day=today - timedelta(days=day),
            event_name=f"feature_{feature}",
            events=rng.randint(1, 20),
            sessions=rng.randint(0, 3),
            first_at=moment,
            last_at=moment,
        )
        for account in accounts
        for day in range(USAGE_DAYS)
        for user in range(4)
        for feature in range(3)
    ]
    for batch in chunks(rows, 20_000):
        UsageRollup.objects.bulk_create(batch)


def build_health(accounts: list[Any], today: date, rng: random.Random) -> None:
    """The shipped scorecard (saved straight into the tables: no backfill job) and a year of
    snapshots per account, written with the engine's own bulk insert."""
    from importlib.resources import files

    import numpy as np
    import pyarrow as pa
    from django.db import transaction

    from tend.health.models import Scorecard, ScorecardVersion
    from tend.health.scorecard_yaml import load_scorecard
    from tend.health.snapshot_store import insert_snapshots

    started = time.perf_counter()
    text = files("tend.health").joinpath("default_scorecard.yaml").read_text(encoding="utf-8")
    config = load_scorecard(text)
    scorecard = Scorecard.objects.create(name=config.name, slug="default-health", is_default=True)
    version = ScorecardVersion.objects.create(
        scorecard=scorecard, number=1, config=config.model_dump(mode="json")
    )
    measures = [m.name for g in config.groups for m in g.measures]
    weight = round(1 / len(measures), 4)
    ids = np.asarray([a.pk for a in accounts], dtype=np.int64)
    base = np.asarray([rng.uniform(20, 90) for _ in accounts])
    for offset in range(HISTORY_DAYS - 1, -1, -1):
        day = today - timedelta(days=offset)
        scores = np.clip(base + 10 * np.sin((offset + ids) / 20), 0, 100).round(2)
        bands = np.where(scores < 40, "unhealthy", np.where(scores < 70, "at risk", "healthy"))
        if offset < FULL_DAYS:
            explained = [
                "{"
                + ", ".join(
                    f'"{name}": [{s:.2f}, {s:.2f}, {weight}, {s * weight:.3f}, 0]'
                    for name in measures
                )
                + "}"
                for s in scores
            ]
        else:
            explained = ["{}"] * len(ids)
        change = np.round(
            10 * np.sin((offset + ids) / 20) - 10 * np.sin((offset + 7 + ids) / 20), 2
        )
        rows = pa.table(
            {
                "account": pa.array([""] * len(ids)),
                "day": pa.array([day] * len(ids), pa.date32()),
                "score": scores,
                "computed_score": scores,
                "band": bands,
                "computed_band": bands,
                "coverage": np.ones(len(ids)),
                "groups": pa.array(["{}"] * len(ids)),
                "measures": pa.array(explained),
                "change_7d": change,
                "change_30d": change,
                "top_movers": pa.array(["[]"] * len(ids)),
                "overridden": np.zeros(len(ids), dtype=bool),
            }
        )
        with transaction.atomic():
            insert_snapshots(version.pk, ids, rows)
    print(f"  health snapshots: {time.perf_counter() - started:.0f} s", flush=True)


def build_kpis(today: date, csms: list[str], accounts: list[str]) -> None:
    """24 months (and 8 quarters) of every KPI the pages read, per portfolio, segment and CSM;
    a few per account, so the snapshot table has the size a real run gives it."""
    import pyarrow as pa

    from tend.metrics.actions import store_reports, store_snapshots
    from tend.metrics.grid import RESULT_SCHEMA, next_period_start
    from tend.web.report_views import REVENUE_KPIS, SUPPORT_KPIS, USAGE_KPIS, VOICE_KPIS

    started = time.perf_counter()
    months = []
    start = date(today.year - 2, today.month, 1)
    while start <= today:
        months.append(start)
        start = next_period_start("month", start)
    quarters = sorted({date(m.year, 3 * ((m.month - 1) // 3) + 1, 1) for m in months})
    kpis = [*REVENUE_KPIS, *VOICE_KPIS, *SUPPORT_KPIS, *USAGE_KPIS, "days_since_last_touchpoint"]
    kpis += ["mrr_new", "mrr_expansion", "mrr_contraction", "mrr_churn", "mrr_reactivation"]
    scopes = [
        ("portfolio", "all"),
        *[("segment", s) for s in SEGMENTS],
        *[("csm", c) for c in csms],
    ]
    rows: list[dict[str, Any]] = []

    def add(
        kpi: str, grain: str, period: date, scope: tuple[str, str], dimension: str = ""
    ) -> None:
        rows.append(
            {
                "kpi": kpi,
                "grain": grain,
                "period_start": period,
                "period_end": next_period_start(grain, period),
                "scope_type": scope[0],
                "scope_key": scope[1],
                "dimension": dimension,
                "value": float(hash((kpi, period, scope)) % 1000) / 10,
                "base": 100,
            }
        )

    for scope in scopes:
        for kpi in dict.fromkeys(kpis):
            for month in months:
                add(kpi, "month", month, scope)
            for quarter in quarters:
                add(kpi, "quarter", quarter, scope)
        for month in months:
            for topic in ("bug", "billing", "how_to"):
                add("tickets_opened", "month", month, scope, f"topic:{topic}")
            for feature in ("reports", "export", "alerts"):
                add("feature_adoption", "month", month, scope, feature)
    for account in accounts:
        for month in months[-12:]:
            for kpi in ("mrr", "dau", "nps"):
                add(kpi, "month", month, ("account", account))
    table = pa.Table.from_pylist(rows, schema=RESULT_SCHEMA)
    store_snapshots(table, months[0], today, engine="duckdb", full=True)
    store_reports({"logo_retention": pa.table({"cohort": pa.array([], pa.string())})}, "segment")
    print(
        f"  KPI snapshots ({len(rows):,} rows): {time.perf_counter() - started:.0f} s", flush=True
    )


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def measure(client: Any, label: str, urls: list[str], requests: int) -> dict[str, Any]:
    from django.db import connection

    for url in urls[:3]:
        client.get(url)
    captured: list[str] = []

    def count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        captured.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        first = client.get(urls[0])
    if first.status_code != 200:
        sys.exit(f"{label}: {urls[0]} answered {first.status_code}")
    walls, cpus = [], []
    for n in range(requests):
        url = urls[n % len(urls)]
        wall, cpu = time.perf_counter(), time.process_time()
        response = client.get(url)
        if hasattr(response, "streaming_content"):
            b"".join(response.streaming_content)
        walls.append((time.perf_counter() - wall) * 1000)
        cpus.append((time.process_time() - cpu) * 1000)
    return {
        "page": label,
        "p50": statistics.median(walls),
        "p95": percentile(walls, 0.95),
        "cpu": statistics.median(cpus),
        "queries": len(captured),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/tend-bench-pages"))
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--only", help="Measure only pages whose label contains this text.")
    args = parser.parse_args()
    args.data_dir.mkdir(parents=True, exist_ok=True)
    setup_django(args.data_dir)

    from django.db import connection
    from django.test import Client
    from django.urls import NoReverseMatch, reverse

    from tend.core.models import User
    from tend.customers.models import Account
    from tend.health.models import HealthSnapshot

    today = datetime.now(UTC).date()
    if Account.objects.count() < ACCOUNTS:
        if Account.objects.exists():
            sys.exit(f"{args.data_dir} holds another company; give an empty --data-dir")
        print(f"Building {ACCOUNTS:,} accounts into {connection.vendor} ({args.data_dir}) …")
        build(args.seed, today)
    snapshots = HealthSnapshot.objects.count()
    print(
        f"{Account.objects.count():,} accounts, {snapshots:,} health snapshots, {connection.vendor}"
    )

    client = Client()
    client.force_login(User.objects.get(username="csm1"))
    opened = list(
        Account.objects.order_by("pk").values_list("external_id", flat=True)[:USAGE_ACCOUNTS]
    )
    pages: list[tuple[str, list[str]]] = [
        ("home", ["/"]),
        ("accounts: first page", ["/accounts/"]),
        ("accounts: filtered + sorted", ["/accounts/?segment=smb&band=at+risk&sort=-mrr"]),
        ("accounts: sorted by health, page 40", ["/accounts/?sort=-health&page=40"]),
        ("accounts: search", ["/accounts/?q=Company+01"]),
        ("account 360", [f"/accounts/{external_id}/" for external_id in opened]),
    ]
    for name in ("reports", "report-revenue", "report-voice", "report-support", "report-usage",
                 "team", "report-journey", "lists"):  # fmt: skip
        with contextlib.suppress(NoReverseMatch):
            pages.append((name.replace("report-", "report: "), [reverse(f"web:{name}")]))
    results = []
    for label, urls in pages:
        if args.only and args.only not in label:
            continue
        result = measure(client, label, urls, args.requests)
        results.append(result)
        print(
            f"{label:<38} p50 {result['p50']:7.1f} ms  p95 {result['p95']:7.1f} ms  "
            f"cpu p50 {result['cpu']:7.1f} ms  {result['queries']:3d} queries"
            + ("" if result["p95"] < BAR_MS else "  (over the bar)"),
            flush=True,
        )
    over = [r["page"] for r in results if r["p95"] >= BAR_MS]
    print(f"bar p95 < {BAR_MS:.0f} ms: " + ("all pages under" if not over else f"over: {over}"))


if __name__ == "__main__":
    main()

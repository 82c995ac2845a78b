"""`tend kpi` (computed now) and `tend metrics` (stored snapshots), with the API reading them."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest
from django.test import Client
from typer.testing import CliRunner

from tend.cli import app
from tend.metrics.models import KpiSnapshot, MetricsRun
from tests.factories import AccountFactory, SubscriptionFactory, SubscriptionItemFactory

pytestmark = pytest.mark.django_db


def _acme() -> None:
    """10 seats x 30 from 15 Jan 2026, 14 seats from 10 Feb: MRR 300 at the end of January
    (all new), 420 at the end of February (expansion 120), 420 in March."""
    account = AccountFactory(external_id="acme", traits={"segment": "smb"})
    subscription = SubscriptionFactory(
        account=account, started_at=datetime(2026, 1, 15, tzinfo=UTC)
    )
    SubscriptionItemFactory(
        subscription=subscription, quantity=10, ended_at=datetime(2026, 2, 10, tzinfo=UTC)
    )
    SubscriptionItemFactory(
        subscription=subscription, quantity=14, started_at=datetime(2026, 2, 10, tzinfo=UTC)
    )


def test_kpis_by_month_for_the_portfolio_and_one_account() -> None:
    _acme()
    runner = CliRunner()
    arguments = ["kpi", "mrr", "arr", "mrr_new", "mrr_expansion", "--from", "2026-01"]
    result = runner.invoke(app, [*arguments, "--to", "2026-03", "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [(r["period"], r["mrr"], r["arr"], r["mrr_new"], r["mrr_expansion"]) for r in rows] == [
        ("2026-01-01", 300.0, 3600.0, 300.0, 0.0),
        ("2026-02-01", 420.0, 5040.0, 0.0, 120.0),
        ("2026-03-01", 420.0, 5040.0, 0.0, 0.0),
    ]
    one = runner.invoke(
        app,
        [
            "kpi",
            "revenue",
            "--account",
            "acme",
            "--from",
            "2026-02",
            "--to",
            "2026-02",
            "--format",
            "csv",
        ],
    )
    assert one.exit_code == 0, one.output
    header, february = one.output.strip().splitlines()
    values = dict(zip(header.split(","), february.split(","), strict=True))
    assert (values["mrr_expansion"], values["nrr"], values["grr"]) == ("120.0", "1.4", "1.0")
    table = runner.invoke(app, ["kpi", "nrr", "--segment", "smb", "--by", "quarter"])
    assert table.exit_code == 0, table.output


def test_unknown_kpi_scope_and_grain_are_clear_errors() -> None:
    runner = CliRunner()
    unknown = runner.invoke(app, ["kpi", "happiness"])
    assert unknown.exit_code == 2 and "happiness" in unknown.output and "mrr" in unknown.output
    missing = runner.invoke(app, ["kpi", "mrr", "--account", "ghost"])
    assert missing.exit_code == 2 and "ghost" in missing.output
    grain = runner.invoke(app, ["kpi", "mrr", "--by", "fortnight"])
    assert grain.exit_code == 2 and "quarter" in grain.output


def test_metrics_stores_snapshots_that_the_api_serves(client: Client, admin_user) -> None:  # type: ignore[no-untyped-def]
    """A full run stores monthly portfolio MRR (and per account); a second run is incremental
    and replaces only the periods it recomputes."""
    _acme()
    runner = CliRunner()
    first = runner.invoke(app, ["metrics", "--full"])
    assert first.exit_code == 0, first.output
    stored = KpiSnapshot.objects.get(
        kpi="mrr",
        grain="month",
        period_start=date(2026, 2, 1),
        scope_type="portfolio",
        dimension="",
    )
    assert (stored.value, stored.base) == (420.0, 1)
    assert KpiSnapshot.objects.filter(kpi="mrr", scope_type="account", scope_key="acme").exists()
    assert KpiSnapshot.objects.filter(kpi="mrr", scope_type="segment", scope_key="smb").exists()
    second = runner.invoke(app, ["metrics"])
    assert second.exit_code == 0 and "Incremental" in second.output, second.output
    assert MetricsRun.objects.count() == 2
    # February's MRR: the total and the USD row, for the portfolio, segment smb and acme.
    assert KpiSnapshot.objects.filter(kpi="mrr", period_start=date(2026, 2, 1)).count() == 6

    client.force_login(admin_user)
    response = client.get(
        "/api/metrics/kpis/mrr", {"grain": "month", "from": "2026-01-01", "to": "2026-03-31"}
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["kpi"]["unit"] == "money"
    assert [(v["period_start"], v["value"]) for v in body["values"]] == [
        ("2026-01-01", 300.0),
        ("2026-02-01", 420.0),
        ("2026-03-01", 420.0),
    ]
    assert client.get("/api/metrics/kpis/happiness").status_code == 404
    assert any(k["name"] == "nrr" for k in client.get("/api/metrics/kpis").json())
    assert client.get("/api/metrics/runs/latest").json()["full"] is False

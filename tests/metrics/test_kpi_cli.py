"""`tend kpi`: revenue KPIs by month from the app database."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from typer.testing import CliRunner

from tend.cli import app
from tests.factories import AccountFactory, SubscriptionFactory, SubscriptionItemFactory

pytestmark = pytest.mark.django_db


def test_mrr_by_month_and_one_accounts_movements() -> None:
    """10 seats x 30 from 15 Jan, 14 seats from 10 Feb: MRR 300 at the end of January, 420 at
    the end of February (expansion 120), 420 in March; ARR is 12 x MRR."""
    account = AccountFactory(external_id="acme")
    subscription = SubscriptionFactory(
        account=account, started_at=datetime(2026, 1, 15, tzinfo=UTC)
    )
    SubscriptionItemFactory(
        subscription=subscription, quantity=10, ended_at=datetime(2026, 2, 10, tzinfo=UTC)
    )
    SubscriptionItemFactory(
        subscription=subscription, quantity=14, started_at=datetime(2026, 2, 10, tzinfo=UTC)
    )
    runner = CliRunner()
    result = runner.invoke(
        app, ["kpi", "mrr", "--from", "2026-01", "--to", "2026-03", "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [(row["month"], row["mrr"], row["arr"]) for row in rows] == [
        ("2026-01-01", "300.00", "3600.00"),
        ("2026-02-01", "420.00", "5040.00"),
        ("2026-03-01", "420.00", "5040.00"),
    ]
    movements = runner.invoke(
        app,
        [
            "kpi",
            "movements",
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
    assert movements.exit_code == 0, movements.output
    header, february = movements.output.strip().splitlines()
    values = dict(zip(header.split(","), february.split(","), strict=True))
    assert (values["expansion"], values["new"], values["churn"]) == ("120.00", "0.00", "0.00")


def test_unknown_kpi_and_account_are_clear_errors() -> None:
    runner = CliRunner()
    unknown = runner.invoke(app, ["kpi", "happiness"])
    assert unknown.exit_code == 2 and "movements, retention" in unknown.output
    missing = runner.invoke(app, ["kpi", "mrr", "--account", "ghost"])
    assert missing.exit_code == 2 and "ghost" in missing.output

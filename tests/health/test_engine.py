"""Scoring runs on a demo company: snapshots that explain themselves, fresh re-scoring after a
change, and the CLI."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from tend.cli import app
from tend.customers.models import Account
from tend.demo.database import write_company
from tend.demo.generate import DemoConfig, generate_company
from tend.health.engine import score_days, today
from tend.health.freshness import Rescorer
from tend.health.models import HealthSnapshot
from tend.health.queries import explain
from tend.usage.rollups import run_rollup
from tests.factories import TicketFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_company() -> None:
    """30 accounts over 6 months ending today, usage rolled up."""
    write_company(generate_company(DemoConfig(accounts=30, months=6, seed=5, intensity=0.2)))
    run_rollup()


def test_scores_explain_themselves_and_backfill_as_of_each_day(demo_company: None) -> None:
    """Every alive account gets a snapshot per day; the contributions add up to the computed
    score; a 7-day backfill stores 7 days and the last day's 7-day change is filled."""
    last = today()
    days = [last - timedelta(days=n) for n in range(7, -1, -1)]
    report = score_days(days)
    assert report.rows > 0 and report.days == 8
    stored = HealthSnapshot.objects.filter(day=last)
    assert stored.count() == report.rows // 8 or stored.count() > 0
    for snapshot in stored:
        detail = explain(snapshot)
        contributions = sum(m["contribution"] or 0 for g in detail["groups"] for m in g["measures"])
        assert contributions == pytest.approx(snapshot.computed_score, abs=0.05)
        assert 0 <= snapshot.coverage <= 1
    assert stored.exclude(change_7d=None).exists()


def test_a_new_urgent_ticket_rescores_the_account(demo_company: None) -> None:
    """The loop re-scores when anything changed and not otherwise; an urgent open ticket
    lowers the account's support group (tickets_high_open)."""
    rescorer = Rescorer()
    assert rescorer.run_once().rescored
    assert not rescorer.run_once().rescored
    account = Account.objects.filter(health_snapshots__day=today()).first()
    assert account is not None
    before = HealthSnapshot.objects.get(account=account, day=today())
    TicketFactory(
        account=account,
        priority="urgent",
        status="open",
        resolved_at=None,
        opened_at=datetime.now(UTC) - timedelta(hours=1),
    )
    outcome = rescorer.run_once()
    assert outcome.rescored
    after = HealthSnapshot.objects.get(account=account, day=today())
    assert after.groups["support"] < before.groups["support"]


def test_score_cli_explains_an_account(demo_company: None) -> None:
    account = Account.objects.order_by("external_id").first()
    assert account is not None
    result = CliRunner().invoke(app, ["score", "--account", account.external_id])
    assert result.exit_code == 0, result.output
    assert "coverage" in result.output and "contribution" in result.output
    missing = CliRunner().invoke(app, ["score", "--account", "ghost"])
    assert missing.exit_code == 2 and "ghost" in missing.output
    exported = CliRunner().invoke(app, ["scorecard", "export", "default-health"])
    assert exported.exit_code == 0 and "groups" in exported.output

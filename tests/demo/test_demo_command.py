"""`tend demo --no-serve`: generates the company, rolls up its usage and computes its KPIs."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from tend.cli import app
from tend.customers.models import Account
from tend.health.models import HealthSnapshot
from tend.metrics.models import KpiSnapshot, ReportSnapshot
from tend.playbooks.models import Task
from tend.usage.models import UsageRollup


@pytest.mark.django_db(transaction=True)
def test_demo_sets_up_data_rollups_and_kpis_then_reuses_them() -> None:
    runner = CliRunner()
    args = ["demo", "--no-serve", "--accounts", "8", "--months", "4"]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert Account.objects.count() == 8
    assert UsageRollup.objects.exists()
    assert KpiSnapshot.objects.filter(kpi="mrr", scope_type="portfolio").exists()
    assert ReportSnapshot.objects.filter(name="logo_retention").exists()
    assert HealthSnapshot.objects.exists()
    tasks = re.search(r"Created ([\d,]+) CSM tasks", first.output)
    assert tasks is not None and int(tasks[1].replace(",", "")) == Task.objects.count()
    again = runner.invoke(app, args)
    assert again.exit_code == 0 and "existing data" in again.output

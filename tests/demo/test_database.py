"""The demo company in the app database and as Parquet, through the `tend` command too."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from tend.billing.models import Invoice, Subscription
from tend.billing.queries import mrr_by_account
from tend.cli import app
from tend.customers.models import Account, Contact
from tend.demo.database import write_company
from tend.demo.generate import DemoConfig, generate_company
from tend.demo.parquet import write_parquet
from tend.demo.usage_events import account_events
from tend.usage.actions import insert_event_rows
from tend.usage.models import Event

END = datetime(2026, 3, 31, tzinfo=UTC)
SMALL = DemoConfig(accounts=30, months=18, seed=5, end=END, intensity=0.3)


@pytest.mark.django_db
def test_written_company_matches_what_was_generated() -> None:
    company = generate_company(SMALL)
    events = write_company(company)

    assert Account.objects.count() == len(company.accounts)
    assert Contact.objects.count() == len(company.contacts)
    assert Invoice.objects.count() == len(company.invoices)
    assert Event.objects.count() == events > 1_000
    user_ids = set(Event.objects.values_list("user_id", flat=True).distinct())
    assert user_ids <= set(Contact.objects.values_list("external_id", flat=True))
    assert not Event.objects.filter(account__isnull=True).exists()


@pytest.mark.django_db
def test_churned_accounts_have_no_mrr_and_paying_ones_do() -> None:
    company = generate_company(SMALL)
    write_company(company)
    churned = list(Account.objects.filter(lifecycle_stage="churned").values_list("pk", flat=True))
    active = list(Subscription.objects.filter(status="active").values_list("account_id", flat=True))
    assert churned and active
    mrr = mrr_by_account(churned + active, at=END)
    assert all(mrr.get(pk, 0) == 0 for pk in churned)
    assert all(mrr[pk] > 0 for pk in active)


@pytest.mark.django_db
def test_events_offered_twice_are_stored_once() -> None:
    company = generate_company(DemoConfig(accounts=8, months=6, seed=3, end=END))
    write_company(company)
    stored = Event.objects.count()
    first = Event.objects.order_by("pk").first()
    assert first is not None
    again = (
        first.source,
        first.message_id,
        "track",
        "Retried",
        first.user_id,
        "",
        first.account_id,
        "2026-01-01 00:00:00",
        "2026-01-01 00:00:01",
        "{}",
        "{}",
    )
    assert insert_event_rows([again]) == 0
    assert Event.objects.count() == stored
    assert Event.objects.get(pk=first.pk).name == first.name


def test_parquet_output_holds_every_table_and_event(tmp_path: Path) -> None:
    company = generate_company(DemoConfig(accounts=25, months=12, seed=9, end=END))
    written = write_parquet(company, tmp_path)
    end_ms = int(END.timestamp() * 1000)
    expected = sum(
        len(account_events(plan, company.seed, end_ms, company.intensity))
        for plan in company.usage_plans
    )
    assert written == expected == pq.read_metadata(tmp_path / "events.parquet").num_rows
    assert pq.read_table(tmp_path / "accounts.parquet").num_rows == 25
    invoices = pq.read_table(tmp_path / "invoices.parquet")
    assert str(invoices.schema.field("amount_due").type) == "decimal128(18, 4)"
    events = pq.read_table(tmp_path / "events.parquet", columns=["message_id", "user_id"])
    assert len(set(events.column("message_id").to_pylist())) == written
    contacts = set(pq.read_table(tmp_path / "contacts.parquet").column("external_id").to_pylist())
    assert set(events.column("user_id").to_pylist()) <= contacts


def test_cli_generates_parquet(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "demo",
            "generate",
            "--accounts",
            "12",
            "--months",
            "6",
            "--end",
            "2026-03-31",
            "--parquet",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "events" in result.output
    assert (tmp_path / "events.parquet").exists()


@pytest.mark.django_db(transaction=True)
def test_cli_fills_an_empty_database_and_refuses_a_full_one() -> None:
    runner = CliRunner()
    args = ["demo", "generate", "--accounts", "10", "--months", "6", "--end", "2026-03-31"]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert Account.objects.count() == 10
    second = runner.invoke(app, args)
    assert second.exit_code == 2
    assert "already holds accounts" in second.output
    assert Account.objects.count() == 10

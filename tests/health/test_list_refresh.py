"""Stored lists: `refresh_lists` stores what the lists compute, whole, in place of the previous
run; the CLI reads and refreshes them. A few hand-made accounts whose rows are worked out in
the comments."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from typer.testing import CliRunner

from tend.cli import app
from tend.customers.models import Account
from tend.health.actions import save_scorecard_version
from tend.health.jobs import refresh_health_lists
from tend.health.list_actions import KEEP_RUNS, refresh_lists, store_list
from tend.health.list_compute import (
    LIST_NAMES,
    ComputedList,
    decode_rows,
    encode_rows,
    list_table,
    load_list_inputs,
)
from tend.health.list_queries import latest_run, stored_rows
from tend.health.models import HealthListRow, HealthListRun, HealthSnapshot, ScorecardVersion
from tend.health.prediction import health_list
from tests.factories import (
    AccountFactory,
    ContactFactory,
    InvoiceFactory,
    SubscriptionFactory,
    SubscriptionItemFactory,
    SurveyResponseFactory,
    TicketFactory,
    UserFactory,
)
from tests.health.factories import simple_config

pytestmark = pytest.mark.django_db


def snapshot(account: Account, version: ScorecardVersion, score: float, band: str) -> None:
    HealthSnapshot.objects.create(
        account=account,
        version=version,
        day=timezone.now().date(),
        score=score,
        computed_score=score,
        band=band,
        computed_band=band,
        coverage=1.0,
    )


def paying(account: Account) -> None:
    """Ten seats at 30.00 a month since 400 days ago: paying, 13 months of tenure."""
    subscription = SubscriptionFactory(
        account=account, started_at=timezone.now() - timedelta(days=400)
    )
    SubscriptionItemFactory(subscription=subscription, quantity=10)


@pytest.fixture
def book() -> datetime:
    """Sinking (red, 2 billing tickets 3 days ago, a detractor's "Too slow" 5 days ago), Fine
    (healthy, a promoter's 10 ten days ago: an advocate) and Late (300.00 due 20 days ago,
    unpaid). Returns the moment to compute as of."""
    version = save_scorecard_version(None, simple_config("Events"), None)
    now = timezone.now()
    sinking = AccountFactory(name="Sinking Ltd", external_id="sinking")
    fine = AccountFactory(name="Fine Inc", external_id="fine")
    late = AccountFactory(name="Late Payer", external_id="late")
    for account in (sinking, fine):
        paying(account)
    snapshot(sinking, version, 22.0, "unhealthy")
    snapshot(fine, version, 90.0, "healthy")
    for _ in range(2):
        TicketFactory(account=sinking, topic="billing", opened_at=now - timedelta(days=3))
    SurveyResponseFactory(
        contact=ContactFactory(account=sinking),
        score=2,
        comment="Too slow",
        answered_at=now - timedelta(days=5),
    )
    SurveyResponseFactory(
        contact=ContactFactory(account=fine), score=10, answered_at=now - timedelta(days=10)
    )
    InvoiceFactory(
        account=late,
        status="open",
        issued_at=now - timedelta(days=34),
        paid_at=None,
        amount_paid=Decimal(0),
    )
    return now


def stored(name: str) -> list[dict[str, object]]:
    run = latest_run(name)
    assert run is not None, name
    return stored_rows(run, 0, 10_000).rows


def test_refresh_stores_what_the_lists_compute(book: datetime) -> None:
    refresh = refresh_lists(as_of=book)
    assert [run.name for run in refresh.runs] == list(LIST_NAMES)
    data = load_list_inputs(book)
    for name in LIST_NAMES:
        assert stored(name) == list_table(name, data).to_pylist(), name
        run = latest_run(name)
        assert run is not None and run.as_of == book
        assert run.row_count == HealthListRow.objects.filter(run=run).count()
    # The same rows as the lists computed on request, which read the default band names.
    for name in ("advocates", "upsell", "at_risk", "collections", "renewals"):
        assert stored(name) == health_list(name, book), name

    [risk] = stored("at_risk")
    assert risk["account"] == "sinking" and risk["band"] == "unhealthy"
    assert risk["ticket_topics"] == [{"topic": "billing", "tickets": 2}]
    [said] = risk["detractor_comments"]  # type: ignore[misc]
    assert said["comment"] == "Too slow" and said["score"] == 2
    assert isinstance(said["answered_at"], datetime)
    [advocate] = stored("advocates")
    assert advocate["account"] == "fine" and advocate["nps_score"] == 10
    assert advocate["tenure_months"] == 13
    [overdue] = stored("collections")
    assert overdue["account"] == "late" and overdue["overdue_amount"] == 300.0
    assert overdue["days_overdue_max"] == 20 and overdue["overdue_invoices"] == 1
    linked = HealthListRow.objects.get(run=latest_run("collections"))
    assert linked.account == Account.objects.get(external_id="late")


def test_a_refresh_replaces_the_list_and_keeps_only_the_runs_a_reader_may_hold(
    book: datetime,
) -> None:
    first = refresh_lists(as_of=book, names=["collections"]).runs[0]
    Account.objects.filter(external_id="late").update(name="Late Payer GmbH")
    later = [refresh_lists(as_of=book, names=["collections"]).runs[0] for _ in range(KEEP_RUNS)]
    assert latest_run("collections") == later[-1]
    assert stored("collections")[0]["name"] == "Late Payer GmbH"
    kept = HealthListRun.objects.filter(name="collections")
    assert set(kept) == set(later[-KEEP_RUNS:])
    assert not HealthListRow.objects.filter(run_id=first.pk).exists()
    assert latest_run("advocates") is None  # other lists untouched


def test_a_failed_store_leaves_the_previous_list_whole(book: datetime) -> None:
    """The last of 2,001 rows cannot be stored (not JSON): the first batch of 2,000 was already
    written when it fails, and none of it stays."""
    previous = refresh_lists(as_of=book, names=["collections"]).runs[0]
    rows = [{"account": "late", "currency": "usd"}] * 2_000 + [{"account": object()}]
    with pytest.raises(TypeError):
        store_list(ComputedList("collections", rows, 0.1), book, [], {}, {})
    assert latest_run("collections") == previous
    assert HealthListRun.objects.filter(name="collections").count() == 1
    assert HealthListRow.objects.count() == previous.row_count == 1


def test_rows_round_trip_through_json() -> None:
    answered = timezone.now().replace(microsecond=0)
    rows = [
        {
            "account": "a",
            "score": float("nan"),
            "detractor_comments": [{"answered_at": answered, "score": 1, "comment": "x"}],
        }
    ]
    encoded = encode_rows(rows)
    assert json.loads(json.dumps(encoded)) == encoded
    [decoded] = decode_rows("at_risk", encoded)
    assert decoded["score"] is None
    assert decoded["detractor_comments"] == [{"answered_at": answered, "score": 1, "comment": "x"}]
    assert decoded["ticket_topics"] is None  # columns of the schema missing from a row


def test_the_worker_job_refreshes_every_list(book: datetime) -> None:
    refresh_health_lists()
    assert sorted(HealthListRun.objects.values_list("name", flat=True)) == sorted(LIST_NAMES)


def test_the_cli_reads_the_stored_list_and_refreshes_them(book: datetime) -> None:
    runner = CliRunner()
    missing = runner.invoke(app, ["lists", "collections", "--format", "json"])
    assert missing.exit_code == 1 and "tend lists refresh" in missing.output

    fresh = runner.invoke(app, ["lists", "collections", "--format", "json", "--fresh"])
    assert fresh.exit_code == 0, fresh.output
    assert HealthListRun.objects.count() == 0  # computed, not stored

    refreshed = runner.invoke(app, ["lists", "refresh"])
    assert refreshed.exit_code == 0, refreshed.output
    assert "Stored 6 lists" in refreshed.output
    Account.objects.filter(external_id="late").update(name="Renamed since")
    listed = runner.invoke(app, ["lists", "collections", "--format", "json"])
    assert listed.exit_code == 0, listed.output
    assert '"name": "Late Payer"' in listed.output  # the stored row, not recomputed
    assert "collections as of" in listed.output


def test_owner_filter_and_pages_read_the_stored_rows(book: datetime) -> None:
    """150 stored rows, every third of an account Ann owns."""
    ann = UserFactory(username="ann")
    accounts = [AccountFactory(owner=ann if n % 3 == 0 else None) for n in range(150)]
    rows = [{"account": a.external_id, "name": a.name} for a in accounts]
    ids = {a.external_id: a.pk for a in accounts}
    run = store_list(ComputedList("collections", rows, 0.1), book, [], {}, ids)
    page = stored_rows(run, 100, 100)
    assert page.total == 150 and [r["name"] for r in page.rows] == [a.name for a in accounts[100:]]
    owned = stored_rows(run, 10, 5, owner=str(ann.pk))
    assert owned.total == 50
    assert [r["account"] for r in owned.rows] == [a.external_id for a in accounts[30:45:3]]
    unowned = stored_rows(run, 0, 1_000, owner="none")
    assert unowned.total == 100

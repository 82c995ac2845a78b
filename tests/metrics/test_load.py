"""Reading the app DB into the engine's inputs: exact money, UTC instants, external-id keys."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from tend.customers.models import Contact
from tend.metrics.inputs import SCHEMAS, duckdb_inputs
from tend.metrics.load import read_app_tables
from tend.usage.rollups import run_rollup
from tests.factories import (
    ContactFactory,
    EventFactory,
    InvoiceFactory,
    SurveyResponseFactory,
    TicketFactory,
    TouchpointFactory,
    UserFactory,
)
from tests.metrics.support import new_account, subscribe

pytestmark = pytest.mark.django_db

BERLIN_SUMMER = timezone(timedelta(hours=2))


def test_every_input_table_has_its_schema_and_external_id_keys() -> None:
    """One row of each kind comes back keyed by the account's external id, with UTC instants,
    exact decimals and the segment trait."""
    owner = UserFactory(username="casey")
    account = new_account(
        external_id="acme",
        traits={"segment": "smb"},
        owner=owner,
        seats=12,
        acquisition_source="referral",
    )
    sub, item = subscribe(account, "19.99", datetime(2026, 6, 1, 9, 30, tzinfo=BERLIN_SUMMER))
    item.discount_percent = Decimal("12.5")
    item.save()
    contact: Contact = ContactFactory(
        account=account, traits={"previous_account_external_id": "globex"}
    )
    InvoiceFactory(account=account, amount_due=Decimal("59.97"))
    TicketFactory(account=account, topic="billing")
    TouchpointFactory(account=account, csm=owner, satisfaction=4)
    SurveyResponseFactory(contact=contact, score=9)

    tables = read_app_tables()

    for name, table in tables.items():
        assert table.schema == SCHEMAS[name], name
    (account_row,) = tables["accounts"].to_pylist()
    assert account_row["account"] == "acme"
    assert (account_row["segment"], account_row["csm"], account_row["seats"]) == (
        "smb",
        "casey",
        12,
    )
    assert account_row["referred"] is True
    (sub_row,) = tables["subscriptions"].to_pylist()
    assert (sub_row["account"], sub_row["subscription"]) == ("acme", sub.external_id)
    assert sub_row["started_at"] == datetime(2026, 6, 1, 7, 30, tzinfo=UTC)
    (item_row,) = tables["subscription_items"].to_pylist()
    assert item_row["unit_amount"] == Decimal("19.99")
    assert item_row["discount_percent"] == Decimal("12.5")
    assert tables["invoices"].to_pylist()[0]["amount_due"] == Decimal("59.97")
    assert tables["tickets"].to_pylist()[0]["topic"] == "billing"
    assert tables["touchpoints"].to_pylist()[0]["csm"] == "casey"
    (answer,) = tables["survey_responses"].to_pylist()
    assert (answer["kind"], answer["scale_max"], answer["score"]) == ("nps", 10, 9)
    assert tables["contacts"].to_pylist()[0]["previous_account"] == "globex"


def test_usage_comes_from_rollups_and_performance_from_raw_events() -> None:
    """Three events on 2026-03-02: two page loads (100 ms and 300 ms) and one error.
    p95 of [100, 300] by linear interpolation = 100 + 0.95 x 200 = 290."""
    account = new_account(external_id="acme")
    moment = datetime(2026, 3, 2, 10, tzinfo=UTC)
    for load_ms in (100, 300):
        EventFactory(
            account=account,
            user_id="u1",
            type="page",
            name="Home",
            timestamp=moment,
            properties={"load_time_ms": load_ms},
        )
    EventFactory(account=account, user_id="u1", timestamp=moment, properties={"error_code": "E1"})
    run_rollup()

    tables = read_app_tables()

    usage = tables["usage_daily"].to_pylist()
    assert {row["event_name"] for row in usage} == {"Home", "report_viewed"}
    assert sum(row["events"] for row in usage) == 3
    assert all(row["day"] == date(2026, 3, 2) for row in usage)
    (performance,) = tables["performance_daily"].to_pylist()
    assert (performance["events"], performance["errors"], performance["page_loads"]) == (3, 1, 2)
    assert performance["load_time_p95_ms"] == pytest.approx(290.0)
    assert read_app_tables(usage_since=date(2026, 3, 3))["usage_daily"].num_rows == 0


def test_loaded_tables_are_queryable_on_duckdb() -> None:
    """One subscription, one item: both visible through Ibis on the in-memory backend."""
    subscribe(new_account(), "30.00", datetime(2026, 1, 15, tzinfo=UTC), quantity=10)
    inputs = duckdb_inputs(read_app_tables())
    assert inputs.con.to_pyarrow(inputs.subscription_items.count()).as_py() == 1
    assert inputs.con.to_pyarrow(inputs.accounts.count()).as_py() == 1


def test_reading_only_some_accounts() -> None:
    """Two accounts with a subscription, a ticket and an event each: asking for one reads only
    its rows, in every table."""
    moment = datetime(2026, 3, 2, 10, tzinfo=UTC)
    for name in ("acme", "globex"):
        account = new_account(external_id=name)
        subscribe(account, "10.00", moment)
        TicketFactory(account=account)
        EventFactory(account=account, user_id=f"{name}-u", timestamp=moment)
    run_rollup()

    tables = read_app_tables(accounts=["acme"])

    for name in ("accounts", "subscriptions", "tickets", "usage_daily", "performance_daily"):
        assert set(tables[name]["account"].to_pylist()) == {"acme"}, name
    assert tables["subscription_items"].num_rows == 1
    assert read_app_tables(accounts=[])["accounts"].num_rows == 0

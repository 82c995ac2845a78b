"""Reading the app DB into Arrow: exact money, UTC instants and the segment trait."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pyarrow as pa
import pytest

from tend.metrics.tables import (
    MONEY,
    load_revenue_tables,
    read_accounts,
    read_subscription_items,
    read_subscriptions,
)
from tests.metrics.support import new_account, subscribe

pytestmark = pytest.mark.django_db

BERLIN_SUMMER = timezone(timedelta(hours=2))


def test_rows_come_back_with_exact_cents_and_utc_instants() -> None:
    """19.99 x 3 with 12.5 % off, started 09:30 at +02:00 = 07:30 UTC, segment "smb"."""
    account = new_account(traits={"segment": "smb", "plan": "x"})
    sub, item = subscribe(account, "19.99", datetime(2026, 6, 1, 9, 30, tzinfo=BERLIN_SUMMER))
    item.discount_percent = Decimal("12.5")
    item.save()

    (account_row,) = read_accounts().to_pylist()
    assert (account_row["account_id"], account_row["segment"]) == (account.pk, "smb")
    (sub_row,) = read_subscriptions().to_pylist()
    assert sub_row["started_at"] == datetime(2026, 6, 1, 7, 30, tzinfo=UTC)
    assert sub_row["trial_ends_at"] is None and sub_row["currency"] == "USD"
    items = read_subscription_items()
    assert items.schema.field("unit_amount").type == MONEY == pa.decimal128(18, 4)
    (item_row,) = items.to_pylist()
    assert item_row["unit_amount"] == Decimal("19.99")
    assert item_row["discount_percent"] == Decimal("12.5")
    assert (item_row["subscription_id"], item_row["ended_at"]) == (sub.pk, None)


def test_loaded_tables_are_queryable_on_duckdb() -> None:
    """One subscription, one item: both visible through Ibis on the in-memory backend."""
    subscribe(new_account(), "30.00", datetime(2026, 1, 15, tzinfo=UTC), quantity=10)
    tables = load_revenue_tables()
    assert tables.con.to_pyarrow(tables.items.count()).as_py() == 1
    assert tables.con.to_pyarrow(tables.subscriptions.count()).as_py() == 1

"""Helpers for the metrics tests: subscriptions in one line and report rows as plain dicts."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, cast

import pyarrow as pa

from tend.billing.models import BillingInterval, Subscription, SubscriptionItem
from tend.customers.models import Account
from tests.factories import (
    AccountFactory,
    PlanFactory,
    SubscriptionFactory,
    SubscriptionItemFactory,
)

MOVEMENTS = ("new", "reactivation", "expansion", "contraction", "churn")


def at(year: int, month: int, day: int = 1, hour: int = 0) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


def new_account(**fields: Any) -> Account:
    """An account from the factory, typed as the model it builds."""
    return cast(Account, AccountFactory(**fields))


def subscribe(
    account: Account,
    amount: str,
    start: datetime,
    *,
    quantity: int = 1,
    interval: str = BillingInterval.MONTH,
    currency: str = "USD",
    **subscription: Any,
) -> tuple[Subscription, SubscriptionItem]:
    """A subscription with one item of `quantity` x `amount` per `interval`, from `start`."""
    plan = PlanFactory(external_id=f"plan_{interval}", interval=interval, currency=currency)
    sub = SubscriptionFactory(account=account, started_at=start, currency=currency, **subscription)
    item = SubscriptionItemFactory(
        subscription=sub, plan=plan, unit_amount=Decimal(amount), quantity=quantity
    )
    return cast(Subscription, sub), cast(SubscriptionItem, item)


def rows(table: pa.Table, **match: Any) -> list[dict[str, Any]]:
    """The rows of a report table whose columns equal `match`."""
    return [r for r in table.to_pylist() if all(r[k] == v for k, v in match.items())]


def movement(report: dict[str, pa.Table], account: Account, month: date) -> dict[str, Any]:
    """One account's movement row for a month, amounts as Decimal."""
    (row,) = rows(report["movements"], account=account.external_id, month=month)
    return row


def only(row: dict[str, Any], **expected: str) -> None:
    """Assert the row's movement columns are `expected` and every other movement is zero."""
    for name in MOVEMENTS:
        assert row[name] == Decimal(expected.get(name, "0")), (name, row)

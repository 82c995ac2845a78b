"""MRR from subscription items, hand-computed (kpis.md "Normalised monthly amount")."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from tend.billing import queries as billing
from tend.billing.models import BillingInterval, SubscriptionStatus
from tend.customers.models import Account
from tests.factories import (
    BASE_TIME,
    AccountFactory,
    PlanFactory,
    SubscriptionFactory,
    SubscriptionItemFactory,
)

AT = BASE_TIME + timedelta(days=30)


@pytest.fixture
def paying_account(db: None) -> Account:
    """300 (10 x 30 monthly) + 100 (1200 yearly) + 80 (2 x 50 monthly, 20% off) = 480."""
    account = AccountFactory()
    subscription = SubscriptionFactory(account=account)
    SubscriptionItemFactory(subscription=subscription, quantity=10)
    yearly = PlanFactory(
        external_id="growth_yearly", interval=BillingInterval.YEAR, unit_amount=Decimal(1200)
    )
    SubscriptionItemFactory(subscription=subscription, plan=yearly, quantity=1)
    SubscriptionItemFactory(
        subscription=subscription,
        unit_amount=Decimal(50),
        quantity=2,
        discount_percent=Decimal(20),
    )
    # Replaced by the items above: ended before AT, so it no longer counts.
    SubscriptionItemFactory(subscription=subscription, quantity=99, ended_at=AT - timedelta(days=1))
    # Starts after AT.
    SubscriptionItemFactory(
        subscription=subscription, quantity=7, started_at=AT + timedelta(days=1)
    )
    trial = SubscriptionFactory(account=account, status=SubscriptionStatus.TRIALING)
    SubscriptionItemFactory(subscription=trial, quantity=50)
    return account


def test_normalised_monthly_amount_per_interval(db: None) -> None:
    cases = [
        (BillingInterval.MONTH, Decimal(30), 10, Decimal("300.00")),
        (BillingInterval.YEAR, Decimal(1200), 1, Decimal("100.00")),
        (BillingInterval.QUARTER, Decimal(300), 1, Decimal("100.00")),
        (BillingInterval.HALF_YEAR, Decimal(600), 1, Decimal("100.00")),
        (BillingInterval.WEEK, Decimal(12), 1, Decimal("52.00")),
        (BillingInterval.DAY, Decimal(1), 12, Decimal("365.00")),
        (BillingInterval.YEAR, Decimal(1000), 1, Decimal("83.33")),
        (BillingInterval.MONTH, Decimal("9.99"), 3, Decimal("29.97")),
        (BillingInterval.DAY, Decimal(1), 1, Decimal("30.42")),
    ]
    for n, (interval, price, quantity, expected) in enumerate(cases):
        plan = PlanFactory(external_id=f"plan_{n}", interval=interval, unit_amount=price)
        item = SubscriptionItemFactory(plan=plan, quantity=quantity)
        assert billing.normalised_monthly_amount(item) == expected
        account_id = item.subscription.account_id
        assert billing.mrr_by_account([account_id], at=AT) == {account_id: expected}


def test_mrr_counts_live_paid_items_only(paying_account: Account) -> None:
    assert billing.mrr_by_account([paying_account.pk], at=AT) == {
        paying_account.pk: Decimal("480.00")
    }
    assert billing.mrr_at(AT) == Decimal("480.00")
    assert billing.paying_account_count(AT) == 1


def test_trialing_and_cancelled_subscriptions_count_zero(db: None) -> None:
    trial = SubscriptionItemFactory(subscription__status=SubscriptionStatus.TRIALING)
    ended = SubscriptionItemFactory(
        subscription__status=SubscriptionStatus.CANCELED,
        subscription__ended_at=AT - timedelta(days=2),
    )
    cancelled_now = SubscriptionItemFactory(
        subscription__status=SubscriptionStatus.CANCELED,
        subscription__canceled_at=AT - timedelta(days=2),
    )
    ids = [i.subscription.account_id for i in (trial, ended, cancelled_now)]
    assert billing.mrr_by_account(ids, at=AT) == {trial.subscription.account_id: Decimal("0.00")}
    assert billing.mrr_at(AT) == Decimal("0.00")
    assert billing.paying_account_count(AT) == 0
    # Before it ended, the cancelled subscription still counted.
    before = AT - timedelta(days=5)
    assert billing.mrr_by_account([ids[1]], at=before) == {ids[1]: Decimal("300.00")}


def test_annotated_mrr_matches_grouped_mrr(paying_account: Account) -> None:
    AccountFactory(name="No revenue")
    rows = dict(billing.annotate_mrr(Account.objects.all(), at=AT).values_list("name", "mrr"))
    assert rows == {paying_account.name: Decimal("480.00"), "No revenue": Decimal(0)}


def test_subscription_rows_flag_live_items(paying_account: Account) -> None:
    rows = billing.subscriptions_for_account(paying_account, at=AT)
    live_total = sum(line.monthly_amount for row in rows for line in row.items if line.active)
    assert live_total == Decimal("480.00")

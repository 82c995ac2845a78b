"""Subscriptions from Stripe: statuses, item rows over time, out-of-order deliveries, discounts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from tend.billing.models import Plan, StripeEvent, Subscription, SubscriptionItem
from tend.billing.queries import mrr_at
from tests.billing import stripe_objects as so

pytestmark = pytest.mark.django_db

SUB = "sub_1Rk9Lm2eZvKYlo2C"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # trial starts
T1 = T0 + timedelta(days=14)  # trial converts
T2 = T1 + timedelta(days=10, hours=3)  # 10 -> 15 seats mid-period
T3 = T2 + timedelta(days=5)  # Growth -> Scale
T4 = T1 + timedelta(days=31)  # paused
T5 = T4 + timedelta(days=30)  # resumed
T6 = T5 + timedelta(days=3)  # cancel at period end requested
T7 = T5 + timedelta(days=31)  # period ends, subscription deleted

GROWTH = so.price("price_growth_monthly", unit_amount=3000)
SCALE = so.price("price_scale_monthly", unit_amount=5000, nickname="Scale (monthly)")

Row = tuple[str, str, int, datetime, datetime | None]


def item_rows() -> list[Row]:
    return [
        (row.external_id, row.plan.external_id, row.quantity, row.started_at, row.ended_at)
        for row in SubscriptionItem.objects.select_related("plan").order_by("started_at", "pk")
    ]


def snapshot(at: datetime, **fields: Any) -> so.StripeObject:
    item = so.subscription_item(
        "si_Seats01",
        created=T0,
        item_price=fields.pop("item_price", GROWTH),
        quantity=fields.pop("quantity", 10),
        period=(at, at + timedelta(days=30)),
    )
    return so.subscription(SUB, created=T0, items=[item], **fields)


def test_subscription_lifecycle(client: Client) -> None:
    trial = {"status": "trialing", "trial_end": T1}
    so.send(client, "customer.subscription.created", snapshot(T0, **trial), T0)
    sub = Subscription.objects.get()
    assert (sub.status, sub.started_at, sub.trial_ends_at) == ("trialing", T0, T1)
    assert sub.currency == "EUR"
    assert sub.current_period_end == T0 + timedelta(days=30)
    assert sub.metadata["stripe"]["metadata"] == {"plan_family": "growth"}
    assert item_rows() == [("si_Seats01", "price_growth_monthly", 10, T0, None)]
    growth = Plan.objects.get(external_id="price_growth_monthly")
    assert (growth.unit_amount, growth.currency, growth.interval) == (Decimal(30), "EUR", "month")

    so.send(client, "customer.subscription.updated", snapshot(T1, trial_end=T1), T1)
    sub.refresh_from_db()
    assert sub.status == "active"
    assert item_rows() == [("si_Seats01", "price_growth_monthly", 10, T0, None)]

    so.send(client, "customer.subscription.updated", snapshot(T1, trial_end=T1, quantity=15), T2)
    assert item_rows() == [
        ("si_Seats01", "price_growth_monthly", 10, T0, T2),
        ("si_Seats01#2", "price_growth_monthly", 15, T2, None),
    ]

    upgraded = {"trial_end": T1, "quantity": 15, "item_price": SCALE}
    so.send(client, "customer.subscription.updated", snapshot(T1, **upgraded), T3)
    assert item_rows() == [
        ("si_Seats01", "price_growth_monthly", 10, T0, T2),
        ("si_Seats01#2", "price_growth_monthly", 15, T2, T3),
        ("si_Seats01#3", "price_scale_monthly", 15, T3, None),
    ]
    assert mrr_at(T3 + timedelta(days=1)) == Decimal("750.00")

    so.send(client, "customer.subscription.paused", snapshot(T4, status="paused", **upgraded), T4)
    sub.refresh_from_db()
    assert (sub.status, sub.paused_at) == ("paused", T4)
    assert item_rows()[-1] == ("si_Seats01#3", "price_scale_monthly", 15, T3, T4)
    assert mrr_at(T4 + timedelta(days=1)) == Decimal(0)

    so.send(client, "customer.subscription.resumed", snapshot(T5, **upgraded), T5)
    sub.refresh_from_db()
    assert (sub.status, sub.paused_at) == ("active", None)
    assert item_rows()[-2:] == [
        ("si_Seats01#3", "price_scale_monthly", 15, T3, T4),
        ("si_Seats01#4", "price_scale_monthly", 15, T5, None),
    ]

    cancel = {**upgraded, "cancel_at": T7, "canceled_at": T6}
    so.send(client, "customer.subscription.updated", snapshot(T5, **cancel), T6)
    sub.refresh_from_db()
    assert (sub.status, sub.cancel_at, sub.canceled_at, sub.ended_at) == ("active", T7, T6, None)
    assert sub.metadata["stripe"]["cancel_at_period_end"] is True
    assert item_rows()[-1] == ("si_Seats01#4", "price_scale_monthly", 15, T5, None)
    assert mrr_at(T7 - timedelta(days=1)) == Decimal("750.00")

    ended = snapshot(T5, status="canceled", ended_at=T7, **cancel)
    so.send(client, "customer.subscription.deleted", ended, T7)
    sub.refresh_from_db()
    assert (sub.status, sub.ended_at, sub.source_updated_at) == ("canceled", T7, T7)
    assert item_rows() == [
        ("si_Seats01", "price_growth_monthly", 10, T0, T2),
        ("si_Seats01#2", "price_growth_monthly", 15, T2, T3),
        ("si_Seats01#3", "price_scale_monthly", 15, T3, T4),
        ("si_Seats01#4", "price_scale_monthly", 15, T5, T7),
    ]
    assert mrr_at(T7 + timedelta(days=1)) == Decimal(0)
    assert StripeEvent.objects.filter(processed_at__isnull=False).count() == 8


def test_updated_before_created_keeps_the_newer_state(client: Client) -> None:
    created = snapshot(T0, status="trialing", trial_end=T1)
    updated = snapshot(T1, trial_end=T1, quantity=12)
    assert so.send(client, "customer.subscription.updated", updated, T1) == "processed"
    assert so.send(client, "customer.subscription.created", created, T0) == "outdated"
    sub = Subscription.objects.get()
    assert (sub.status, sub.source_updated_at) == ("active", T1)
    assert item_rows() == [("si_Seats01", "price_growth_monthly", 12, T0, None)]
    assert StripeEvent.objects.filter(type="customer.subscription.created").exists()


def test_an_older_update_after_a_newer_one_changes_nothing(client: Client) -> None:
    so.send(client, "customer.subscription.created", snapshot(T0), T0)
    so.send(client, "customer.subscription.updated", snapshot(T0, quantity=15), T2)
    assert so.send(client, "customer.subscription.updated", snapshot(T0, quantity=12), T1) == (
        "outdated"
    )
    assert item_rows() == [
        ("si_Seats01", "price_growth_monthly", 10, T0, T2),
        ("si_Seats01#2", "price_growth_monthly", 15, T2, None),
    ]


def test_an_added_item_opens_and_a_removed_item_ends(client: Client) -> None:
    so.send(client, "customer.subscription.created", snapshot(T0), T0)
    seats = so.subscription_item("si_Seats01", created=T0, item_price=GROWTH, quantity=10)
    addon_price = so.price("price_sso_monthly", unit_amount=20000, nickname="SSO add-on")
    addon = so.subscription_item("si_Sso01", created=T2, item_price=addon_price)
    so.send(
        client,
        "customer.subscription.updated",
        so.subscription(created=T0, items=[seats, addon]),
        T2,
    )
    so.send(client, "customer.subscription.updated", so.subscription(created=T0, items=[seats]), T3)
    assert item_rows() == [
        ("si_Seats01", "price_growth_monthly", 10, T0, None),
        ("si_Sso01", "price_sso_monthly", 1, T2, T3),
    ]


def test_pause_collection_counts_as_paused(client: Client) -> None:
    so.send(client, "customer.subscription.created", snapshot(T0), T0)
    pause = {"behavior": "void", "resumes_at": so.unix(T5)}
    so.send(client, "customer.subscription.updated", snapshot(T0, pause_collection=pause), T4)
    sub = Subscription.objects.get()
    assert (sub.status, sub.paused_at, sub.resumes_at) == ("paused", T4, T5)
    assert item_rows() == [("si_Seats01", "price_growth_monthly", 10, T0, T4)]


@pytest.mark.parametrize(
    ("stripe_status", "tend_status", "open_items"),
    [
        ("incomplete", "trialing", 1),
        ("unpaid", "past_due", 1),
        ("past_due", "past_due", 1),
        ("incomplete_expired", "canceled", 0),
    ],
)
def test_status_mapping(
    client: Client, stripe_status: str, tend_status: str, open_items: int
) -> None:
    so.send(client, "customer.subscription.created", snapshot(T0, status=stripe_status), T0)
    sub = Subscription.objects.get()
    assert sub.status == tend_status
    assert sub.metadata["stripe"]["status"] == stripe_status
    assert SubscriptionItem.objects.filter(ended_at__isnull=True).count() == open_items


def test_prices_in_other_intervals_and_zero_decimal_currencies(client: Client) -> None:
    yen = so.price("price_team_quarterly_jpy", unit_amount=45000, currency="jpy", interval_count=3)
    metered = so.price("price_api_calls", unit_amount=2, usage_type="metered")
    items = [
        so.subscription_item("si_Team01", created=T0, item_price=yen, quantity=4),
        so.subscription_item("si_Api01", created=T0, item_price=metered),
    ]
    sub = so.subscription(created=T0, items=items, currency="jpy")
    so.send(client, "customer.subscription.created", sub, T0)
    plan = Plan.objects.get(external_id="price_team_quarterly_jpy")
    assert (plan.unit_amount, plan.currency, plan.interval, plan.interval_count) == (
        Decimal(45000),
        "JPY",
        "quarter",
        1,
    )
    assert item_rows() == [("si_Team01", "price_team_quarterly_jpy", 4, T0, None)]
    assert mrr_at(T1) == Decimal("60000.00")


@pytest.mark.parametrize(
    ("discount", "percent"),
    [
        (so.coupon_discount(percent_off=20), Decimal("20.00")),
        (so.coupon_discount(amount_off=5000, currency="eur"), Decimal("16.67")),
        (so.coupon_discount(percent_off=50, duration="once"), Decimal(0)),
    ],
)
def test_recurring_coupons_become_a_discount_percent(
    client: Client, discount: so.StripeObject, percent: Decimal
) -> None:
    so.send(client, "customer.subscription.created", snapshot(T0, discount=discount), T0)
    assert SubscriptionItem.objects.get().discount_percent == percent


def test_discount_ids_without_their_coupon_are_recorded(client: Client) -> None:
    so.send(client, "customer.subscription.created", snapshot(T0, discounts=["di_1Rk9Lr2e"]), T0)
    assert SubscriptionItem.objects.get().discount_percent == 0
    assert Subscription.objects.get().metadata["stripe"]["unresolved_discounts"] == ["di_1Rk9Lr2e"]

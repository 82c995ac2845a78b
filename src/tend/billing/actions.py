"""Writes of plans, subscriptions, their items and invoices."""

from __future__ import annotations

from collections.abc import Sequence

from tend.billing.models import Invoice, Plan, Subscription, SubscriptionItem
from tend.core.actions import bulk_insert


def insert_plans(plans: Sequence[Plan]) -> list[Plan]:
    return bulk_insert(plans)


def insert_subscriptions(subscriptions: Sequence[Subscription]) -> list[Subscription]:
    return bulk_insert(subscriptions)


def insert_subscription_items(items: Sequence[SubscriptionItem]) -> list[SubscriptionItem]:
    return bulk_insert(items)


def insert_invoices(invoices: Sequence[Invoice]) -> list[Invoice]:
    return bulk_insert(invoices)

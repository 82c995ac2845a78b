"""Renewals coming up, for the home page and lists: live subscriptions on a yearly term whose
current period ends within the next N days (monthly plans "renew" every month and are left out;
health/renewals.py forecasts renewals with probabilities for the CLI, API and lists)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from tend.billing.models import BillingInterval, Subscription, SubscriptionItem, SubscriptionStatus
from tend.billing.queries import CENT, MONEY, item_active_at, monthly_amount_expression
from tend.customers.models import Account

RENEWING = (SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE)


@dataclass(frozen=True)
class Renewal:
    account: Account
    renews_at: datetime
    mrr: Decimal
    currency: str
    cancel_scheduled: bool


def upcoming_renewals(
    now: datetime, within_days: int = 90, accounts: Q | None = None, limit: int = 8
) -> list[Renewal]:
    """Yearly-term subscriptions renewing in (now, now + within_days], soonest first, with
    their MRR now (one query). `accounts` filters with `account__…` lookups."""
    yearly_items = SubscriptionItem.objects.filter(
        item_active_at(now), interval=BillingInterval.YEAR
    )
    due = Subscription.objects.filter(
        status__in=RENEWING,
        current_period_end__gt=now,
        current_period_end__lte=now + timedelta(days=within_days),
        pk__in=yearly_items.values("subscription_id"),
    )
    if accounts is not None:
        due = due.filter(accounts)
    live_mrr = (
        SubscriptionItem.objects.filter(item_active_at(now), subscription=OuterRef("pk"))
        .order_by()
        .values("subscription")
        .annotate(total=Sum(monthly_amount_expression(), output_field=MONEY))
        .values("total")
    )
    subscriptions = list(
        due.annotate(
            mrr=Coalesce(
                Subquery(live_mrr, output_field=MONEY), Value(Decimal(0)), output_field=MONEY
            )
        )
        .select_related("account__owner")
        .order_by("current_period_end", "pk")[:limit]
    )
    return [
        Renewal(
            account=s.account,
            renews_at=s.current_period_end or now,
            mrr=Decimal(s.mrr).quantize(CENT),
            currency=s.currency,
            cancel_scheduled=s.cancel_at is not None,
        )
        for s in subscriptions
    ]

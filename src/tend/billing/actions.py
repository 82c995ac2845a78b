"""Writes of plans, subscriptions, their items and invoices.

Every upsert takes plain typed values (not a billing provider's payload), so the Stripe webhook,
the bulk importer and the REST API share them. Upserts that carry `source_updated_at` refuse
to apply state older than what is stored, so out-of-order deliveries cannot undo newer state.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from tend.billing.models import (
    ExchangeRate,
    Invoice,
    InvoiceStatus,
    Plan,
    StripeEvent,
    Subscription,
    SubscriptionItem,
)
from tend.core.actions import bulk_insert
from tend.customers.models import Account

# How far an invoice has gone; at an equal source time a snapshot never moves it backwards.
INVOICE_STATUS_RANK = {
    InvoiceStatus.DRAFT: 0,
    InvoiceStatus.OPEN: 1,
    InvoiceStatus.PAID: 2,
    InvoiceStatus.VOID: 2,
    InvoiceStatus.UNCOLLECTIBLE: 2,
}


def insert_plans(plans: Sequence[Plan]) -> list[Plan]:
    return bulk_insert(plans)


def insert_subscriptions(subscriptions: Sequence[Subscription]) -> list[Subscription]:
    return bulk_insert(subscriptions)


def insert_subscription_items(items: Sequence[SubscriptionItem]) -> list[SubscriptionItem]:
    return bulk_insert(items)


def insert_invoices(invoices: Sequence[Invoice]) -> list[Invoice]:
    return bulk_insert(invoices)


# -- accounts ------------------------------------------------------------------------------------


@transaction.atomic
def set_exchange_rate(currency: str, to_currency: str, valid_from: date, rate: Decimal) -> None:
    """Record (or correct) the rate of a currency pair from a day on."""
    if rate <= 0:
        raise ValueError(f"an exchange rate must be positive, got {rate}")
    if currency == to_currency:
        raise ValueError(f"a rate converts between two currencies, got {currency} twice")
    ExchangeRate.objects.update_or_create(
        currency=currency.upper(),
        to_currency=to_currency.upper(),
        valid_from=valid_from,
        defaults={"rate": rate},
    )


def move_billing_records(from_account: Account, to_account: Account) -> None:
    """Give `from_account`'s subscriptions and invoices to `to_account` (merging a placeholder
    account made for an unknown billing customer into the real one)."""
    with transaction.atomic():
        Subscription.objects.filter(account=from_account).update(account=to_account)
        Invoice.objects.filter(account=from_account).update(account=to_account)


# -- plans ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanData:
    external_id: str
    name: str
    unit_amount: Decimal
    currency: str
    interval: str
    interval_count: int = 1
    product: str = ""
    active: bool = True


def upsert_plan(data: PlanData) -> Plan:
    """Create or update a plan by external id; tier and seat settings stay as set in Tend."""
    values = {
        "name": data.name,
        "unit_amount": data.unit_amount,
        "currency": data.currency,
        "interval": data.interval,
        "interval_count": data.interval_count,
        "product": data.product,
        "active": data.active,
    }
    with transaction.atomic():
        plan, _ = Plan.objects.update_or_create(external_id=data.external_id, defaults=values)
        return plan


# -- subscriptions -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SubscriptionData:
    external_id: str
    status: str
    currency: str
    started_at: datetime
    trial_ends_at: datetime | None = None
    current_period_end: datetime | None = None
    cancel_at: datetime | None = None
    canceled_at: datetime | None = None
    ended_at: datetime | None = None
    paused_at: datetime | None = None
    resumes_at: datetime | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


def upsert_subscription(
    account: Account, data: SubscriptionData, source_updated_at: datetime | None = None
) -> tuple[Subscription, bool]:
    """Create or update a subscription by external id; returns it and whether `data` was applied
    (False when the stored state comes from a newer source time)."""
    values: dict[str, Any] = {
        "account": account,
        "status": data.status,
        "currency": data.currency,
        "started_at": data.started_at,
        "trial_ends_at": data.trial_ends_at,
        "current_period_end": data.current_period_end,
        "cancel_at": data.cancel_at,
        "canceled_at": data.canceled_at,
        "ended_at": data.ended_at,
        "paused_at": data.paused_at,
        "resumes_at": data.resumes_at,
        "metadata": data.metadata,
    }
    if source_updated_at is not None:  # a write without a source time keeps the watermark
        values["source_updated_at"] = source_updated_at
    with transaction.atomic():
        current = (
            Subscription.objects.select_for_update().filter(external_id=data.external_id).first()
        )
        if current is None:
            return Subscription.objects.create(external_id=data.external_id, **values), True
        if _is_older(source_updated_at, current.source_updated_at):
            return current, False
        for name, value in values.items():
            setattr(current, name, value)
        current.save()
        return current, True


def _is_older(incoming: datetime | None, stored: datetime | None) -> bool:
    return incoming is not None and stored is not None and incoming < stored


@dataclass(frozen=True)
class ItemData:
    """One line of a subscription as the source sees it now; `key` is the source's item id."""

    key: str
    plan: Plan
    unit_amount: Decimal
    quantity: int
    interval: str
    interval_count: int = 1
    discount_percent: Decimal = Decimal(0)
    started_at: datetime | None = None


@dataclass
class ItemChanges:
    started: list[SubscriptionItem] = field(default_factory=list)
    ended: list[SubscriptionItem] = field(default_factory=list)


def sync_subscription_items(
    subscription: Subscription, items: Sequence[ItemData], at: datetime
) -> ItemChanges:
    """Make the subscription's open item rows match `items` as of `at`: a changed plan, price,
    quantity or discount ends the open row at `at` and opens a new one; an item no longer listed
    ends. Pass no items to end them all (a pause or a cancellation)."""
    changes = ItemChanges()
    with transaction.atomic():
        rows = list(SubscriptionItem.objects.select_for_update().filter(subscription=subscription))
        open_rows = {_item_key(row.external_id): row for row in rows if row.ended_at is None}
        seen_keys = {_item_key(row.external_id) for row in rows}
        wanted = {item.key: item for item in items}
        for key, row in open_rows.items():
            if key not in wanted or not _same_terms(row, wanted[key]):
                row.ended_at = max(at, row.started_at)
                row.save(update_fields=["ended_at"])
                changes.ended.append(row)
        for key, item in wanted.items():
            current = open_rows.get(key)
            if current is not None and current.ended_at is None:
                continue
            started_at = at if key in seen_keys else (item.started_at or at)
            count = sum(1 for r in rows if _item_key(r.external_id) == key)
            changes.started.append(
                SubscriptionItem.objects.create(
                    external_id=key if count == 0 else f"{key}#{count + 1}",
                    subscription=subscription,
                    plan=item.plan,
                    unit_amount=item.unit_amount,
                    quantity=item.quantity,
                    interval=item.interval,
                    interval_count=item.interval_count,
                    discount_percent=item.discount_percent,
                    started_at=started_at,
                )
            )
    return changes


def _item_key(external_id: str) -> str:
    """A source item keeps one key across the rows of its successive terms (`si_1`, `si_1#2`)."""
    return external_id.split("#", 1)[0]


def _same_terms(row: SubscriptionItem, item: ItemData) -> bool:
    return (
        row.plan_id == item.plan.pk
        and row.unit_amount == item.unit_amount
        and row.quantity == item.quantity
        and row.interval == item.interval
        and row.interval_count == item.interval_count
        and row.discount_percent == item.discount_percent
    )


# -- invoices ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InvoiceData:
    external_id: str
    status: str
    currency: str
    amount_due: Decimal
    issued_at: datetime
    amount_paid: Decimal = Decimal(0)
    tax: Decimal = Decimal(0)
    number: str = ""
    period_start: datetime | None = None
    period_end: datetime | None = None
    due_at: datetime | None = None
    paid_at: datetime | None = None


def upsert_invoice(
    account: Account,
    data: InvoiceData,
    subscription: Subscription | None = None,
    source_updated_at: datetime | None = None,
) -> tuple[Invoice, bool]:
    """Create or update an invoice by external id; returns it and whether `data` was applied.
    Older source state is refused, and so is a status step backwards at the same source time."""
    values: dict[str, Any] = {
        "account": account,
        "subscription": subscription,
        "number": data.number,
        "status": data.status,
        "currency": data.currency,
        "amount_due": data.amount_due,
        "amount_paid": data.amount_paid,
        "tax": data.tax,
        "period_start": data.period_start,
        "period_end": data.period_end,
        "issued_at": data.issued_at,
        "due_at": data.due_at,
        "paid_at": data.paid_at,
    }
    if source_updated_at is not None:
        values["source_updated_at"] = source_updated_at
    with transaction.atomic():
        current = Invoice.objects.select_for_update().filter(external_id=data.external_id).first()
        if current is None:
            return Invoice.objects.create(external_id=data.external_id, **values), True
        if _is_older(source_updated_at, current.source_updated_at) or (
            source_updated_at is not None
            and source_updated_at == current.source_updated_at
            and INVOICE_STATUS_RANK[InvoiceStatus(data.status)]
            < INVOICE_STATUS_RANK[InvoiceStatus(current.status)]
        ):
            return current, False
        if subscription is None:
            values["subscription"] = current.subscription
        for name, value in values.items():
            setattr(current, name, value)
        current.save()
        return current, True


# -- raw Stripe events ---------------------------------------------------------------------------


def open_stripe_event(
    event_id: str, type: str, created: datetime, livemode: bool, payload: dict[str, Any]
) -> tuple[StripeEvent, bool]:
    """Store a webhook event raw (locking its row) before it is applied; returns it and whether
    it was already processed. Called inside the transaction that applies it."""
    with transaction.atomic():
        event, _ = StripeEvent.objects.select_for_update().get_or_create(
            event_id=event_id,
            defaults={"type": type, "created": created, "livemode": livemode, "payload": payload},
        )
        return event, event.processed_at is not None


def close_stripe_event(event: StripeEvent, error: str = "") -> None:
    """Mark an event processed, or keep its error (unprocessed, so Stripe's retry applies it)."""
    with transaction.atomic():
        event.error = error
        event.processed_at = None if error else timezone.now()
        event.save(update_fields=["error", "processed_at"])

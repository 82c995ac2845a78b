"""Stripe to Tend: apply each verified webhook event's object snapshot through billing actions,
exactly once per event id and never over state from a newer event. Choices: docs/stripe.md."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, overload

from django.db import transaction

from tend.billing.actions import (
    InvoiceData,
    ItemData,
    PlanData,
    SubscriptionData,
    close_stripe_event,
    open_stripe_event,
    sync_subscription_items,
    upsert_invoice,
    upsert_plan,
    upsert_subscription,
)
from tend.billing.models import (
    BillingInterval,
    InvoiceStatus,
    StripeEvent,
    Subscription,
    SubscriptionStatus,
)
from tend.customers.actions import BillingCustomer, account_for_customer, upsert_billing_customer

logger = logging.getLogger(__name__)

StripeObject = dict[str, Any]

# ISO 4217 currencies Stripe counts in whole units, and in thousandths (docs.stripe.com/currencies).
ZERO_DECIMAL_CURRENCIES = frozenset(
    [
        "BIF",
        "CLP",
        "DJF",
        "GNF",
        "JPY",
        "KMF",
        "KRW",
        "MGA",
        "PYG",
        "RWF",
        "UGX",
        "VND",
        "VUV",
        "XAF",
        "XOF",
        "XPF",
    ]
)
THREE_DECIMAL_CURRENCIES = frozenset(["BHD", "JOD", "KWD", "OMR", "TND"])

SUBSCRIPTION_STATUS = {
    "trialing": SubscriptionStatus.TRIALING,
    "active": SubscriptionStatus.ACTIVE,
    "past_due": SubscriptionStatus.PAST_DUE,
    "unpaid": SubscriptionStatus.PAST_DUE,
    # First payment not made yet (Stripe gives it 23 hours): nothing paid, so no MRR.
    "incomplete": SubscriptionStatus.TRIALING,
    "incomplete_expired": SubscriptionStatus.CANCELED,
    "paused": SubscriptionStatus.PAUSED,
    "canceled": SubscriptionStatus.CANCELED,
}
# Statuses whose items are live; a paused or cancelled subscription has no open item rows.
LIVE_STATUSES = {
    SubscriptionStatus.TRIALING,
    SubscriptionStatus.ACTIVE,
    SubscriptionStatus.PAST_DUE,
}
# (Stripe interval, interval_count) -> Tend's named interval, for the common multi-month prices.
NAMED_INTERVALS = {
    ("month", 3): BillingInterval.QUARTER,
    ("month", 6): BillingInterval.HALF_YEAR,
    ("month", 12): BillingInterval.YEAR,
}


class Outcome(StrEnum):
    PROCESSED = "processed"
    DUPLICATE = "duplicate"
    OUTDATED = "outdated"
    IGNORED = "ignored"
    FAILED = "failed"


def receive_event(event: StripeObject) -> Outcome:
    """Store a verified event raw and apply it in the same transaction. A failing handler leaves
    the event stored, unprocessed and with its error, so Stripe's retry applies it again."""
    created = from_unix(int(event["created"]))
    with transaction.atomic():
        row, processed = open_stripe_event(
            event["id"], event["type"], created, bool(event.get("livemode")), event
        )
        if processed:
            return Outcome.DUPLICATE
        handler = HANDLERS.get(event["type"])
        if handler is None:
            close_stripe_event(row)
            return Outcome.IGNORED
        try:
            with transaction.atomic():
                applied = handler(event["data"]["object"], created)
        except Exception:
            logger.exception("Stripe event %s (%s) failed", event["id"], event["type"])
            close_stripe_event(row, error=traceback.format_exc())
            return Outcome.FAILED
        close_stripe_event(row)
        return Outcome.PROCESSED if applied else Outcome.OUTDATED


# -- customers -----------------------------------------------------------------------------------


def apply_customer(customer: StripeObject, at: datetime) -> bool:
    """Upsert the account; Stripe deleting a customer keeps the account and its history."""
    newer = StripeEvent.objects.filter(
        type__in=CUSTOMER_EVENTS,
        payload__data__object__id=customer["id"],
        created__gt=at,
        processed_at__isnull=False,
    )
    if newer.exists():
        return False
    metadata = customer.get("metadata") or {}
    email = customer.get("email") or ""
    upsert_billing_customer(
        BillingCustomer(
            customer_id=customer["id"],
            external_id=metadata.get("tend_account_id") or metadata.get("external_id") or "",
            name=customer.get("name") or "",
            domain=email.rpartition("@")[2].lower() if "@" in email else "",
            country=((customer.get("address") or {}).get("country") or "").upper(),
        )
    )
    return True


# -- subscriptions -------------------------------------------------------------------------------


def apply_subscription(stripe_subscription: StripeObject, at: datetime) -> bool:
    """Upsert the subscription from its snapshot, then its item rows (unless it is outdated)."""
    obj = stripe_subscription
    account = account_for_customer(_id(obj["customer"]))
    existing = Subscription.objects.filter(external_id=obj["id"]).first()
    status = SUBSCRIPTION_STATUS[obj["status"]]
    pause = obj.get("pause_collection")
    if pause and status in LIVE_STATUSES and status != SubscriptionStatus.TRIALING:
        status = SubscriptionStatus.PAUSED
    paused_at = None
    if status == SubscriptionStatus.PAUSED:
        still_paused = existing and existing.status == SubscriptionStatus.PAUSED
        paused_at = (existing.paused_at if still_paused and existing else None) or at
    currency = obj["currency"].upper()
    discounts, unresolved = _subscription_coupons(obj)
    stripe_facts = {
        "status": obj["status"],
        "cancel_at_period_end": bool(obj.get("cancel_at_period_end")),
        "pause_collection": pause,
        "metadata": obj.get("metadata") or {},
        "unresolved_discounts": unresolved,
    }
    data = SubscriptionData(
        external_id=obj["id"],
        status=status,
        currency=currency,
        started_at=from_unix(obj.get("start_date") or obj["created"]) or at,
        trial_ends_at=from_unix(obj.get("trial_end")),
        current_period_end=from_unix(_current_period_end(obj)),
        cancel_at=from_unix(obj.get("cancel_at")),
        canceled_at=from_unix(obj.get("canceled_at")),
        ended_at=from_unix(obj.get("ended_at")),
        paused_at=paused_at,
        resumes_at=from_unix((pause or {}).get("resumes_at")),
        metadata={**(existing.metadata if existing else {}), "stripe": stripe_facts},
    )
    subscription, applied = upsert_subscription(account, data, source_updated_at=at)
    if not applied:
        return False
    if status in LIVE_STATUSES:
        items = _items(obj, currency, discounts)
        sync_subscription_items(subscription, items, at)
    else:
        ended = data.ended_at if status == SubscriptionStatus.CANCELED else None
        sync_subscription_items(subscription, [], ended or at)
    return True


def _current_period_end(obj: StripeObject) -> int | None:
    """On the subscription before API 2025-03-31, on each item since."""
    if obj.get("current_period_end"):
        return int(obj["current_period_end"])
    ends = [
        i["current_period_end"] for i in _lines(obj.get("items")) if i.get("current_period_end")
    ]
    return max(ends) if ends else None


def _items(obj: StripeObject, currency: str, discounts: list[StripeObject]) -> list[ItemData]:
    """Licensed items only: metered usage is not recurring revenue (kpis.md)."""
    priced = []
    for item in _lines(obj.get("items")):
        price = item.get("price") or item.get("plan") or {}
        if (price.get("recurring") or {}).get("usage_type") == "metered":
            continue
        plan = upsert_plan(plan_data(price))
        priced.append((item, plan))
    gross = sum(
        (plan.unit_amount * (item.get("quantity") or 1) for item, plan in priced), Decimal(0)
    )
    rows = []
    for item, plan in priced:
        quantity = item.get("quantity") or 1
        item_coupons, _ = _coupons(item.get("discounts") or [])
        percents = [_percent_off(c, gross, currency) for c in discounts]
        percents += [_percent_off(c, plan.unit_amount * quantity, currency) for c in item_coupons]
        rows.append(
            ItemData(
                key=item["id"],
                plan=plan,
                unit_amount=plan.unit_amount,
                quantity=quantity,
                interval=plan.interval,
                interval_count=plan.interval_count,
                discount_percent=_stacked(percents),
                started_at=from_unix(item.get("created")),
            )
        )
    return rows


def plan_data(price: StripeObject) -> PlanData:
    """A Stripe price as a plan: amount per unit in major units, interval as Tend names it."""
    recurring = price.get("recurring") or {}
    interval = recurring.get("interval") or "month"
    count = int(recurring.get("interval_count") or 1)
    named = NAMED_INTERVALS.get((interval, count))
    currency = price["currency"].upper()
    minor = price.get("unit_amount_decimal") or price.get("unit_amount") or 0
    product = price.get("product")
    product_id = _id(product) if product else ""
    product_name = product.get("name") if isinstance(product, dict) else None
    return PlanData(
        external_id=price["id"],
        name=(price.get("nickname") or product_name or price["id"])[:120],
        unit_amount=to_major(minor, currency).quantize(Decimal("0.0001")),
        currency=currency,
        interval=named or BillingInterval(interval),
        interval_count=1 if named else count,
        product=product_id,
        active=bool(price.get("active", True)),
    )


def _subscription_coupons(obj: StripeObject) -> tuple[list[StripeObject], list[str]]:
    """Recurring coupons on the whole subscription: `discounts` (ids unless expanded) and the
    pre-2025 single `discount` object."""
    discounts = list(obj.get("discounts") or [])
    legacy = obj.get("discount")
    if isinstance(legacy, dict) and all(_id(d) != legacy.get("id") for d in discounts):
        discounts.append(legacy)
    return _coupons(discounts)


def _coupons(discounts: list[Any]) -> tuple[list[StripeObject], list[str]]:
    """The recurring coupons that the payload spells out, and the discount ids it does not."""
    coupons, unresolved = [], []
    for discount in discounts:
        coupon = None
        if isinstance(discount, dict):
            coupon = discount.get("coupon") or (discount.get("source") or {}).get("coupon")
        if not isinstance(coupon, dict):
            unresolved.append(_id(discount))
        elif coupon.get("duration") != "once":
            coupons.append(coupon)
    return coupons, unresolved


def _percent_off(coupon: StripeObject, base: Decimal, currency: str) -> Decimal:
    """A coupon as a percentage; a fixed amount off becomes its share of the amount it reduces."""
    if coupon.get("percent_off") is not None:
        return Decimal(str(coupon["percent_off"]))
    amount_off = coupon.get("amount_off")
    if not amount_off or not base or (coupon.get("currency") or "").upper() != currency:
        return Decimal(0)
    return min(Decimal(100), to_major(amount_off, currency) * 100 / base)


def _stacked(percents: list[Decimal]) -> Decimal:
    """Discounts apply one after another: 20 % then 10 % is 28 % off."""
    remaining = Decimal(1)
    for percent in percents:
        remaining *= 1 - min(percent, Decimal(100)) / 100
    return ((1 - remaining) * 100).quantize(Decimal("0.01"))


# -- invoices ------------------------------------------------------------------------------------


def apply_invoice(invoice: StripeObject, at: datetime) -> bool:
    account = account_for_customer(_id(invoice["customer"]))
    parent = invoice.get("parent") or {}
    subscription_id = invoice.get("subscription") or (
        (parent.get("subscription_details") or {}).get("subscription")
    )
    subscription = (
        Subscription.objects.filter(external_id=_id(subscription_id)).first()
        if subscription_id
        else None
    )
    currency = invoice["currency"].upper()
    transitions = invoice.get("status_transitions") or {}
    taxes = invoice.get("total_taxes") or []
    tax = invoice.get("tax") if invoice.get("tax") is not None else sum(t["amount"] for t in taxes)
    periods = [line["period"] for line in _lines(invoice.get("lines")) if line.get("period")]
    start = min((p["start"] for p in periods), default=invoice.get("period_start"))
    end = max((p["end"] for p in periods), default=invoice.get("period_end"))
    issued_at = from_unix(int(transitions.get("finalized_at") or invoice["created"]))
    data = InvoiceData(
        external_id=invoice["id"],
        number=invoice.get("number") or "",
        status=InvoiceStatus(invoice.get("status") or "draft"),
        currency=currency,
        amount_due=to_major(invoice.get("amount_due") or 0, currency),
        amount_paid=to_major(invoice.get("amount_paid") or 0, currency),
        tax=to_major(tax or 0, currency),
        period_start=from_unix(start),
        period_end=from_unix(end),
        issued_at=issued_at,
        due_at=from_unix(invoice.get("due_date")),
        paid_at=from_unix(transitions.get("paid_at")),
    )
    _, applied = upsert_invoice(account, data, subscription, source_updated_at=at)
    return applied


# -- helpers -------------------------------------------------------------------------------------


@overload
def from_unix(seconds: int) -> datetime: ...
@overload
def from_unix(seconds: int | float | str | None) -> datetime | None: ...
def from_unix(seconds: int | float | str | None) -> datetime | None:
    if seconds is None or seconds == "":
        return None
    return datetime.fromtimestamp(int(seconds), tz=UTC)


def to_major(minor: int | str | Decimal, currency: str) -> Decimal:
    """Stripe amounts are in the currency's smallest unit (cents, but yen are whole)."""
    currency = currency.upper()
    if currency in ZERO_DECIMAL_CURRENCIES:
        return Decimal(str(minor))
    return Decimal(str(minor)) / (1000 if currency in THREE_DECIMAL_CURRENCIES else 100)


def _id(value: Any) -> str:
    """An expandable field is an id, or the expanded object carrying it."""
    return str(value["id"] if isinstance(value, dict) else value)


def _lines(listing: StripeObject | None) -> list[StripeObject]:
    return list((listing or {}).get("data") or [])


CUSTOMER_EVENTS = ("customer.created", "customer.updated", "customer.deleted")
SUBSCRIPTION_EVENTS = tuple(
    f"customer.subscription.{name}"
    for name in ("created", "updated", "deleted", "paused", "resumed", "trial_will_end")
)
INVOICE_EVENTS = tuple(
    f"invoice.{name}"
    for name in (
        "created",
        "finalized",
        "paid",
        "payment_failed",
        "payment_succeeded",
        "voided",
        "marked_uncollectible",
        "overdue",
        "updated",
    )
)
HANDLERS: dict[str, Callable[[StripeObject, datetime], bool]] = {
    **dict.fromkeys(CUSTOMER_EVENTS, apply_customer),
    **dict.fromkeys(SUBSCRIPTION_EVENTS, apply_subscription),
    **dict.fromkeys(INVOICE_EVENTS, apply_invoice),
}

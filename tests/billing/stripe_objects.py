"""Builders of Stripe event JSON as Stripe sends it (API 2026-10-28), and a signed delivery."""

from __future__ import annotations

import copy
import itertools
import json
import time
from datetime import UTC, datetime
from typing import Any

import stripe
from django.test import Client

API_VERSION = "2026-10-28.endive"
SECRET = "whsec_test_current_4eC39HqLyjWDarjtT1zdp7dc"
ROTATED_SECRET = "whsec_test_previous_9kQ2mXc7LpT4vB8nR1sD6fGh"
URL = "/webhooks/stripe"

StripeObject = dict[str, Any]
_ids = itertools.count(1)


def unix(at: datetime) -> int:
    return int(at.replace(tzinfo=at.tzinfo or UTC).timestamp())


def customer(
    customer_id: str = "cus_Q8xT4aZk2LmN0p",
    *,
    created: datetime,
    name: str | None = "Acme GmbH",
    email: str | None = "billing@acme.example",
    country: str | None = "DE",
    metadata: dict[str, str] | None = None,
) -> StripeObject:
    address = None
    if country:
        address = {
            "city": "Berlin",
            "country": country,
            "line1": "Torstrasse 1",
            "line2": None,
            "postal_code": "10119",
            "state": None,
        }
    return {
        "id": customer_id,
        "object": "customer",
        "address": address,
        "balance": 0,
        "created": unix(created),
        "currency": "eur",
        "default_source": None,
        "delinquent": False,
        "description": None,
        "email": email,
        "invoice_prefix": "7F3A1C2B",
        "invoice_settings": {
            "custom_fields": None,
            "default_payment_method": None,
            "footer": None,
            "rendering_options": None,
        },
        "livemode": False,
        "metadata": metadata or {},
        "name": name,
        "phone": None,
        "preferred_locales": ["de"],
        "shipping": None,
        "tax_exempt": "none",
        "test_clock": None,
    }


def price(
    price_id: str = "price_growth_monthly",
    *,
    unit_amount: int = 3000,
    currency: str = "eur",
    interval: str = "month",
    interval_count: int = 1,
    nickname: str | None = "Growth (monthly)",
    product: str = "prod_Growth01",
    usage_type: str = "licensed",
) -> StripeObject:
    return {
        "id": price_id,
        "object": "price",
        "active": True,
        "billing_scheme": "per_unit",
        "created": 1767225600,
        "currency": currency,
        "custom_unit_amount": None,
        "livemode": False,
        "lookup_key": None,
        "metadata": {},
        "nickname": nickname,
        "product": product,
        "recurring": {
            "interval": interval,
            "interval_count": interval_count,
            "meter": None,
            "trial_period_days": None,
            "usage_type": usage_type,
        },
        "tax_behavior": "exclusive",
        "tiers_mode": None,
        "transform_quantity": None,
        "type": "recurring",
        "unit_amount": unit_amount,
        "unit_amount_decimal": str(unit_amount),
    }


def subscription_item(
    item_id: str,
    *,
    created: datetime,
    item_price: StripeObject,
    quantity: int = 1,
    subscription_id: str = "sub_1Rk9Lm2eZvKYlo2C",
    period: tuple[datetime, datetime] | None = None,
    discounts: list[Any] | None = None,
) -> StripeObject:
    start, end = period or (created, created)
    return {
        "id": item_id,
        "object": "subscription_item",
        "billing_thresholds": None,
        "created": unix(created),
        "current_period_end": unix(end),
        "current_period_start": unix(start),
        "discounts": discounts or [],
        "metadata": {},
        "price": item_price,
        "quantity": quantity,
        "subscription": subscription_id,
        "tax_rates": [],
    }


def subscription(
    subscription_id: str = "sub_1Rk9Lm2eZvKYlo2C",
    *,
    customer_id: str = "cus_Q8xT4aZk2LmN0p",
    created: datetime,
    status: str = "active",
    items: list[StripeObject],
    currency: str = "eur",
    trial_end: datetime | None = None,
    cancel_at: datetime | None = None,
    canceled_at: datetime | None = None,
    ended_at: datetime | None = None,
    pause_collection: StripeObject | None = None,
    discounts: list[Any] | None = None,
    discount: StripeObject | None = None,
) -> StripeObject:
    obj: StripeObject = {
        "id": subscription_id,
        "object": "subscription",
        "application": None,
        "automatic_tax": {"enabled": False, "liability": None},
        "billing_cycle_anchor": unix(trial_end or created),
        "cancel_at": unix(cancel_at) if cancel_at else None,
        "cancel_at_period_end": cancel_at is not None and ended_at is None,
        "canceled_at": unix(canceled_at) if canceled_at else None,
        "cancellation_details": {"comment": None, "feedback": None, "reason": None},
        "collection_method": "charge_automatically",
        "created": unix(created),
        "currency": currency,
        "customer": customer_id,
        "days_until_due": None,
        "default_payment_method": "pm_1Rk9Ln2eZvKYlo2CbM3x",
        "description": None,
        "discounts": discounts or [],
        "ended_at": unix(ended_at) if ended_at else None,
        "items": {
            "object": "list",
            "data": items,
            "has_more": False,
            "total_count": len(items),
            "url": f"/v1/subscription_items?subscription={subscription_id}",
        },
        "latest_invoice": None,
        "livemode": False,
        "metadata": {"plan_family": "growth"},
        "pause_collection": pause_collection,
        "start_date": unix(created),
        "status": status,
        "test_clock": None,
        "trial_end": unix(trial_end) if trial_end else None,
        "trial_settings": {"end_behavior": {"missing_payment_method": "pause"}},
        "trial_start": unix(created) if trial_end else None,
    }
    if discount is not None:
        obj["discount"] = discount
    return obj


def coupon_discount(
    *,
    percent_off: float | None = None,
    amount_off: int | None = None,
    currency: str | None = None,
    duration: str = "forever",
) -> StripeObject:
    """A discount object with its coupon embedded, as older API versions send it."""
    return {
        "id": f"di_{next(_ids):06d}",
        "object": "discount",
        "coupon": {
            "id": f"coupon_{next(_ids):06d}",
            "object": "coupon",
            "amount_off": amount_off,
            "currency": currency,
            "duration": duration,
            "duration_in_months": None,
            "percent_off": percent_off,
            "valid": True,
        },
        "end": None,
        "start": 1767225600,
    }


def invoice(
    invoice_id: str = "in_1Rk9Lo2eZvKYlo2C",
    *,
    customer_id: str = "cus_Q8xT4aZk2LmN0p",
    subscription_id: str | None = "sub_1Rk9Lm2eZvKYlo2C",
    created: datetime,
    status: str = "draft",
    amount_due: int = 30000,
    amount_paid: int = 0,
    tax: int = 0,
    currency: str = "eur",
    number: str | None = None,
    period: tuple[datetime, datetime],
    due_date: datetime | None = None,
    finalized_at: datetime | None = None,
    paid_at: datetime | None = None,
    voided_at: datetime | None = None,
    marked_uncollectible_at: datetime | None = None,
) -> StripeObject:
    line = {
        "id": f"il_{invoice_id[3:]}",
        "object": "line_item",
        "amount": amount_due - tax,
        "currency": currency,
        "description": "10 seat(s) x Growth (at EUR 30.00 / month)",
        "period": {"start": unix(period[0]), "end": unix(period[1])},
        "quantity": 10,
    }
    parent = None
    if subscription_id:
        parent = {
            "type": "subscription_details",
            "quote_details": None,
            "subscription_details": {"metadata": {}, "subscription": subscription_id},
        }

    def at(value: datetime | None) -> int | None:
        return unix(value) if value else None

    return {
        "id": invoice_id,
        "object": "invoice",
        "account_country": "DE",
        "amount_due": amount_due,
        "amount_paid": amount_paid,
        "amount_remaining": amount_due - amount_paid,
        "attempt_count": 0,
        "attempted": False,
        "billing_reason": "subscription_cycle",
        "collection_method": "charge_automatically",
        "created": unix(created),
        "currency": currency,
        "customer": customer_id,
        "customer_email": "billing@acme.example",
        "due_date": at(due_date),
        "lines": {"object": "list", "data": [line], "has_more": False, "total_count": 1},
        "livemode": False,
        "metadata": {},
        "number": number,
        "parent": parent,
        # Stripe's invoice period is the one before the billed service; lines carry the latter.
        "period_end": unix(period[0]),
        "period_start": unix(period[0]),
        "status": status,
        "status_transitions": {
            "finalized_at": at(finalized_at),
            "marked_uncollectible_at": at(marked_uncollectible_at),
            "paid_at": at(paid_at),
            "voided_at": at(voided_at),
        },
        "subtotal": amount_due - tax,
        "total": amount_due,
        "total_taxes": [{"amount": tax, "tax_behavior": "exclusive", "type": "tax_rate_details"}]
        if tax
        else [],
    }


def event(event_type: str, obj: StripeObject, *, created: datetime) -> StripeObject:
    """An event wrapping a snapshot of `obj` (copied, so later edits do not leak into it)."""
    return {
        "id": f"evt_1Rk9{next(_ids):012d}",
        "object": "event",
        "api_version": API_VERSION,
        "created": unix(created),
        "data": {"object": copy.deepcopy(obj), "previous_attributes": {}},
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": f"req_{next(_ids):014d}", "idempotency_key": None},
        "type": event_type,
    }


def signed_headers(body: str, secret: str = SECRET, timestamp: int | None = None) -> dict[str, str]:
    """A real `Stripe-Signature` header made by the stripe library's own signing helper."""
    header = stripe.WebhookSignature.generate_signature_header(
        body, secret, timestamp=timestamp if timestamp is not None else int(time.time())
    )
    return {"HTTP_STRIPE_SIGNATURE": header}


def deliver(
    client: Client,
    stripe_event: StripeObject,
    *,
    secret: str = SECRET,
    timestamp: int | None = None,
) -> Any:
    """POST the event as Stripe does: the JSON body, signed."""
    body = json.dumps(stripe_event)
    return client.post(
        URL, body, content_type="application/json", **signed_headers(body, secret, timestamp)
    )


def send(client: Client, event_type: str, obj: StripeObject, at: datetime) -> str:
    """Deliver an event about `obj` created at `at`; it must be accepted. Returns the outcome."""
    response = deliver(client, event(event_type, obj, created=at))
    assert response.status_code == 200, response.content
    outcome: str = response.json()["outcome"]
    return outcome

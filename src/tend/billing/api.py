"""REST API for subscriptions (with their item history) and invoices."""

from datetime import datetime
from decimal import Decimal

from ninja import Field, Schema

from tend.billing.models import Invoice, Subscription
from tend.core.rest import entity_router
from tend.imports.entities import INVOICES, SUBSCRIPTIONS


class SubscriptionItemOut(Schema):
    external_id: str
    plan: str = Field(..., alias="plan.external_id")
    unit_amount: Decimal
    quantity: int
    interval: str
    interval_count: int
    discount_percent: Decimal
    started_at: datetime
    ended_at: datetime | None


class SubscriptionOut(Schema):
    external_id: str
    account: str = Field(..., alias="account.external_id")
    status: str
    currency: str
    started_at: datetime
    trial_ends_at: datetime | None
    current_period_end: datetime | None
    cancel_at: datetime | None
    canceled_at: datetime | None
    ended_at: datetime | None
    items: list[SubscriptionItemOut]


subscriptions_router = entity_router(
    SUBSCRIPTIONS,
    Subscription,
    tag="subscriptions",
    filters=("account", "status"),
    out=SubscriptionOut,
    prefetch=("items__plan",),
)
invoices_router = entity_router(
    INVOICES, Invoice, tag="invoices", filters=("account", "subscription", "status")
)

"""What can be imported: each entity's fields, and the domain action that writes its rows."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import orjson
from django.utils import timezone

from tend.billing import actions as billing_actions
from tend.billing.models import (
    BillingInterval,
    Invoice,
    InvoiceStatus,
    Subscription,
    SubscriptionStatus,
)
from tend.customers import actions as customer_actions
from tend.customers.models import Account, AcquisitionSource, LifecycleGroup, LifecycleStage
from tend.imports.fields import FieldSpec
from tend.support import actions as support_actions
from tend.support.models import Channel, Direction, TicketPriority, TicketStatus, TouchpointKind
from tend.surveys import actions as survey_actions
from tend.surveys.models import ResponseChannel
from tend.usage.actions import format_db_time, insert_event_rows
from tend.usage.models import EventType

Row = dict[str, Any]
Writer = Callable[[Sequence[Row]], tuple[int, int]]


@dataclass(frozen=True)
class EntitySpec:
    """An importable entity. `extra_into` names the JSON field that collects `<name>.<key>`
    columns (e.g. `traits.plan`); references are resolved to primary keys before `write`."""

    name: str
    fields: dict[str, FieldSpec]
    write: Writer
    key: str = "external_id"
    extra_into: str | None = None


def _choices(choices: type) -> tuple[str, ...]:
    return tuple(str(value) for value in choices.values)  # type: ignore[attr-defined]


def _counted(upsert: Callable[[Sequence[Row]], tuple[list[Any], list[Any]]]) -> Writer:
    def write(rows: Sequence[Row]) -> tuple[int, int]:
        created, updated = upsert(rows)
        return len(created), len(updated)

    return write


EXTERNAL_ID = FieldSpec("text", required=True, max_length=120)
ACCOUNT_REF = FieldSpec("text", refers_to="account")

ACCOUNTS = EntitySpec(
    name="accounts",
    fields={
        "external_id": EXTERNAL_ID,
        "name": FieldSpec("text", required=True, max_length=200),
        "domain": FieldSpec("text", max_length=200),
        "parent": FieldSpec("text", refers_to="account"),
        "owner": FieldSpec("text", refers_to="team"),
        "industry": FieldSpec("text", max_length=80),
        "country": FieldSpec("text", max_length=2),
        "employee_count": FieldSpec("int", minimum=0),
        "seats": FieldSpec("int", minimum=0),
        "lifecycle_stage": FieldSpec("text", choices=_choices(LifecycleStage)),
        "acquisition_source": FieldSpec("text", choices=_choices(AcquisitionSource)),
        "referred_by": FieldSpec("text", refers_to="account"),
        "stripe_customer_id": FieldSpec("text", max_length=120),
        "traits": FieldSpec("json"),
        "signed_up_at": FieldSpec("datetime"),
        "first_paid_at": FieldSpec("datetime"),
        "churned_at": FieldSpec("datetime"),
    },
    write=_counted(customer_actions.upsert_accounts),
    extra_into="traits",
)

CONTACTS = EntitySpec(
    name="contacts",
    fields={
        "external_id": EXTERNAL_ID,
        "email": FieldSpec("text", max_length=254),
        "name": FieldSpec("text", max_length=200),
        "title": FieldSpec("text", max_length=120),
        "account": ACCOUNT_REF,
        "is_champion": FieldSpec("bool"),
        "is_decision_maker": FieldSpec("bool"),
        "lifecycle_group": FieldSpec("text", choices=_choices(LifecycleGroup)),
        "traits": FieldSpec("json"),
        "first_seen_at": FieldSpec("datetime"),
        "last_seen_at": FieldSpec("datetime"),
    },
    write=_counted(customer_actions.upsert_contacts),
    extra_into="traits",
)

TICKETS = EntitySpec(
    name="tickets",
    fields={
        "external_id": EXTERNAL_ID,
        "account": FieldSpec("text", required=True, refers_to="account"),
        "contact": FieldSpec("text", refers_to="contact"),
        "subject": FieldSpec("text", required=True, max_length=300),
        "topic": FieldSpec("text", max_length=60),
        "priority": FieldSpec("text", choices=_choices(TicketPriority)),
        "channel": FieldSpec("text", choices=_choices(Channel)),
        "status": FieldSpec("text", required=True, choices=_choices(TicketStatus)),
        "opened_at": FieldSpec("datetime", required=True),
        "first_response_at": FieldSpec("datetime"),
        "resolved_at": FieldSpec("datetime"),
        "agent_replies": FieldSpec("int", minimum=0),
        "reopened_count": FieldSpec("int", minimum=0),
        "escalated": FieldSpec("bool"),
        "csat": FieldSpec("int", minimum=1, maximum=5),
    },
    write=_counted(support_actions.upsert_tickets),
)

TOUCHPOINTS = EntitySpec(
    name="touchpoints",
    fields={
        "external_id": EXTERNAL_ID,
        "account": FieldSpec("text", required=True, refers_to="account"),
        "contact": FieldSpec("text", refers_to="contact"),
        "csm": FieldSpec("text", refers_to="team"),
        "kind": FieldSpec("text", required=True, choices=_choices(TouchpointKind)),
        "direction": FieldSpec("text", required=True, choices=_choices(Direction)),
        "occurred_at": FieldSpec("datetime", required=True),
        "subject": FieldSpec("text", max_length=300),
        "duration_minutes": FieldSpec("int", minimum=0),
        "satisfaction": FieldSpec("int", minimum=1, maximum=5),
    },
    write=_counted(support_actions.upsert_touchpoints),
)

SURVEY_RESPONSES = EntitySpec(
    name="survey_responses",
    fields={
        "external_id": EXTERNAL_ID,
        "survey": FieldSpec("text", required=True, refers_to="survey"),
        "account": ACCOUNT_REF,
        "contact": FieldSpec("text", refers_to="contact"),
        "score": FieldSpec("int", required=True),
        "comment": FieldSpec("text"),
        "answered_at": FieldSpec("datetime", required=True),
        "channel": FieldSpec("text", choices=_choices(ResponseChannel)),
    },
    write=_counted(survey_actions.upsert_responses),
)


def _write_events(rows: Sequence[Row]) -> tuple[int, int]:
    now = timezone.now()
    tuples = [
        (
            row["source"],
            row["message_id"] or _derived_message_id(row),
            row.get("type") or EventType.TRACK,
            row.get("name") or "",
            row.get("user_id") or "",
            row.get("anonymous_id") or "",
            row.get("account_id"),
            format_db_time(row["timestamp"]),
            format_db_time(row.get("received_at") or now),
            orjson.dumps(row.get("properties") or {}).decode(),
            orjson.dumps(row.get("context") or {}).decode(),
        )
        for row in rows
    ]
    return insert_event_rows(tuples), 0


def _derived_message_id(row: Row) -> str:
    """A stable id for an event without one, so importing the same file twice adds nothing."""
    digest = hashlib.sha1(orjson.dumps(row, option=orjson.OPT_SORT_KEYS, default=str))
    return f"imp-{digest.hexdigest()[:32]}"


EVENTS = EntitySpec(
    name="events",
    key="message_id",
    fields={
        "message_id": FieldSpec("text", max_length=120),
        "source": FieldSpec("text", max_length=60),
        "type": FieldSpec("text", choices=_choices(EventType)),
        "name": FieldSpec("text", max_length=200),
        "user_id": FieldSpec("text", max_length=120),
        "anonymous_id": FieldSpec("text", max_length=120),
        "account": ACCOUNT_REF,
        "timestamp": FieldSpec("datetime", required=True),
        "received_at": FieldSpec("datetime"),
        "properties": FieldSpec("json"),
        "context": FieldSpec("json"),
    },
    write=_write_events,
    extra_into="properties",
)


def _write_subscriptions(rows: Sequence[Row]) -> tuple[int, int]:
    """Each row is a subscription's current state with its one item: the subscription is
    upserted and its items synced, so a changed plan or quantity starts a new item period."""
    rows = [_with_current_state(row) for row in rows]
    accounts = Account.objects.in_bulk({row["account_id"] for row in rows})
    created = updated = 0
    for row in rows:
        plan = billing_actions.upsert_plan(
            billing_actions.PlanData(
                external_id=row["plan"],
                name=row.get("plan_name") or row["plan"],
                unit_amount=row["unit_amount"],
                currency=row.get("currency") or "USD",
                interval=row["interval"],
                interval_count=row.get("interval_count") or 1,
            )
        )
        subscription, applied = billing_actions.upsert_subscription(
            accounts[row["account_id"]],
            billing_actions.SubscriptionData(
                external_id=row["external_id"],
                status=row["status"],
                currency=row.get("currency") or "USD",
                started_at=row["started_at"],
                trial_ends_at=row.get("trial_ends_at"),
                current_period_end=row.get("current_period_end"),
                cancel_at=row.get("cancel_at"),
                canceled_at=row.get("canceled_at"),
                ended_at=row.get("ended_at"),
            ),
        )
        is_new = not subscription.items.exists()
        ended = row.get("ended_at") if row["status"] == "canceled" else None
        items = (
            []
            if ended
            else [
                billing_actions.ItemData(
                    key=row.get("item_id") or f"{row['external_id']}-item",
                    plan=plan,
                    unit_amount=row["unit_amount"],
                    quantity=row.get("quantity") or 1,
                    interval=row["interval"],
                    interval_count=row.get("interval_count") or 1,
                    discount_percent=row.get("discount_percent") or Decimal(0),
                    started_at=row["started_at"],
                )
            ]
        )
        at = ended or row.get("changed_at") or (row["started_at"] if is_new else timezone.now())
        billing_actions.sync_subscription_items(subscription, items, at)
        created += is_new
        updated += (not is_new) and applied
    return created, updated


def _with_current_state(row: Row) -> Row:
    """A partial update (API PATCH) keeps what it does not mention from the stored state."""
    current = Subscription.objects.filter(external_id=row["external_id"]).first()
    if current is None:
        return row
    stored: Row = {
        "account_id": current.account_id,
        "status": current.status,
        "currency": current.currency,
        "started_at": current.started_at,
        "trial_ends_at": current.trial_ends_at,
        "current_period_end": current.current_period_end,
        "cancel_at": current.cancel_at,
        "canceled_at": current.canceled_at,
        "ended_at": current.ended_at,
    }
    item = current.items.filter(ended_at__isnull=True).select_related("plan").first()
    if item is not None:
        stored.update(
            plan=item.plan.external_id,
            unit_amount=item.unit_amount,
            quantity=item.quantity,
            interval=item.interval,
            interval_count=item.interval_count,
            discount_percent=item.discount_percent,
            item_id=item.external_id.split("#", 1)[0],
        )
    return {**stored, **row}


SUBSCRIPTIONS = EntitySpec(
    name="subscriptions",
    fields={
        "external_id": EXTERNAL_ID,
        "account": FieldSpec("text", required=True, refers_to="account"),
        "status": FieldSpec("text", required=True, choices=_choices(SubscriptionStatus)),
        "currency": FieldSpec("text", max_length=3),
        "started_at": FieldSpec("datetime", required=True),
        "trial_ends_at": FieldSpec("datetime"),
        "current_period_end": FieldSpec("datetime"),
        "cancel_at": FieldSpec("datetime"),
        "canceled_at": FieldSpec("datetime"),
        "ended_at": FieldSpec("datetime"),
        "plan": FieldSpec("text", required=True, max_length=120),
        "plan_name": FieldSpec("text", max_length=120),
        "unit_amount": FieldSpec("decimal", required=True, minimum=0),
        "quantity": FieldSpec("int", minimum=0),
        "interval": FieldSpec("text", required=True, choices=_choices(BillingInterval)),
        "interval_count": FieldSpec("int", minimum=1),
        "discount_percent": FieldSpec("decimal", minimum=0, maximum=100),
        "item_id": FieldSpec("text", max_length=120),
        "changed_at": FieldSpec("datetime"),
    },
    write=_write_subscriptions,
)


def _write_invoices(rows: Sequence[Row]) -> tuple[int, int]:
    accounts = Account.objects.in_bulk({row["account_id"] for row in rows})
    subscriptions = Subscription.objects.in_bulk(
        {row["subscription_id"] for row in rows if row.get("subscription_id")}
    )
    existing = set(
        Invoice.objects.filter(external_id__in=[r["external_id"] for r in rows]).values_list(
            "external_id", flat=True
        )
    )
    for row in rows:
        billing_actions.upsert_invoice(
            accounts[row["account_id"]],
            billing_actions.InvoiceData(
                external_id=row["external_id"],
                status=row["status"],
                currency=row.get("currency") or "USD",
                amount_due=row["amount_due"],
                issued_at=row["issued_at"],
                amount_paid=row.get("amount_paid") or Decimal(0),
                tax=row.get("tax") or Decimal(0),
                number=row.get("number") or "",
                period_start=row.get("period_start"),
                period_end=row.get("period_end"),
                due_at=row.get("due_at"),
                paid_at=row.get("paid_at"),
            ),
            subscription=subscriptions.get(row.get("subscription_id") or 0),
        )
    created = sum(1 for row in rows if row["external_id"] not in existing)
    return created, len(rows) - created


INVOICES = EntitySpec(
    name="invoices",
    fields={
        "external_id": EXTERNAL_ID,
        "account": FieldSpec("text", required=True, refers_to="account"),
        "subscription": FieldSpec("text", refers_to="subscription"),
        "number": FieldSpec("text", max_length=60),
        "status": FieldSpec("text", required=True, choices=_choices(InvoiceStatus)),
        "currency": FieldSpec("text", max_length=3),
        "amount_due": FieldSpec("decimal", required=True),
        "amount_paid": FieldSpec("decimal"),
        "tax": FieldSpec("decimal"),
        "period_start": FieldSpec("datetime"),
        "period_end": FieldSpec("datetime"),
        "issued_at": FieldSpec("datetime", required=True),
        "due_at": FieldSpec("datetime"),
        "paid_at": FieldSpec("datetime"),
    },
    write=_write_invoices,
)

ENTITIES: dict[str, EntitySpec] = {
    spec.name: spec
    for spec in (
        ACCOUNTS,
        CONTACTS,
        SUBSCRIPTIONS,
        INVOICES,
        TICKETS,
        TOUCHPOINTS,
        SURVEY_RESPONSES,
        EVENTS,
    )
}

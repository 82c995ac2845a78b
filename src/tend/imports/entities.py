"""What can be imported: each entity's fields, and the domain action that writes its rows."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from django.utils import timezone

from tend.customers import actions as customer_actions
from tend.customers.models import AcquisitionSource, LifecycleGroup, LifecycleStage
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

ENTITIES: dict[str, EntitySpec] = {
    spec.name: spec for spec in (ACCOUNTS, CONTACTS, TICKETS, TOUCHPOINTS, SURVEY_RESPONSES, EVENTS)
}

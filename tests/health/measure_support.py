"""Helpers for the health measures tests: rows for tiny inputs and results as a lookup."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from tend.health.measures import RESULT_SCHEMA, measure_values
from tend.metrics.inputs import Inputs
from tests.metrics.engine_support import at

Values = dict[tuple[str, date, str], float | None]


def moment(year: int, month: int, day: int, hour: int = 0) -> datetime:
    """A UTC instant."""
    return datetime(year, month, day, hour, tzinfo=UTC)


SIGNED_UP = at(2023, 1, 1)


def account(name: str, signed_up: datetime | None = SIGNED_UP, **fields: Any) -> dict:
    """An account row signed up on `signed_up` (None: no sign-up date)."""
    return {"account": name, "signed_up_at": signed_up, **fields}


def usage(account: str, user: str, day: date, name: str = "view", **fields: Any) -> dict:
    """A usage_daily row: one event of `name`, no session unless given."""
    row = {"events": 1, "sessions": 0, "active_minutes": 0.0, **fields}
    return {"account": account, "user": user, "day": day, "event_name": name, **row}


def ticket(name: str, account: str, opened: datetime, **fields: Any) -> dict:
    """A normal-priority open ticket unless `fields` say otherwise."""
    row = {"priority": "normal", "status": "open", **fields}
    return {"ticket": name, "account": account, "opened_at": opened, **row}


def answer(
    name: str, account: str, contact: str | None, score: int, when: datetime, **fields: Any
) -> dict:
    """An answer to a 0-10 NPS survey unless `fields` give another kind and scale."""
    row = {"kind": "nps", "scale_min": 0, "scale_max": 10, "survey": "s", **fields}
    return {
        "response": name,
        "account": account,
        "contact": contact,
        "score": score,
        "answered_at": when,
        **row,
    }


def invoice(
    name: str, account: str, amount: str, issued: datetime, due: datetime, **fields: Any
) -> dict:
    """An open USD invoice of `amount`, nothing paid, unless `fields` say otherwise."""
    row = {"status": "open", "currency": "USD", "amount_paid": Decimal(0), **fields}
    return {
        "invoice": name,
        "account": account,
        "amount_due": Decimal(amount),
        "issued_at": issued,
        "due_at": due,
        **row,
    }


def computed(inputs: Inputs, days: Sequence[date], names: Iterable[str]) -> Values:
    """measure_values as (account, day, measure) → value, checking the result's schema and
    that each key appears once."""
    table = measure_values(inputs, days, names)
    assert table.schema.equals(RESULT_SCHEMA)
    rows = table.to_pylist()
    values = {(row["account"], row["day"], row["measure"]): row["value"] for row in rows}
    assert len(values) == len(rows)
    return values

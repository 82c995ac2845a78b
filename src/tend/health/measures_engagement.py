"""Engagement-with-us measures from touchpoints (kpis.md, "Engagement with us"), and the
account's own custom traits as measures.

Traits have no history: `trait:<name>` is the trait's value now, the same on every day, so it is
the one measure that is not "as of" the day.
"""

from __future__ import annotations

import json
import math
from typing import Any

import ibis
import pyarrow as pa

from tend.health.measures_frame import (
    MeasureFrame,
    MeasureRequest,
    Running,
    day_number,
    trailing_changes,
)


def touch_days(frame: MeasureFrame) -> ibis.Table:
    """`account, day, touchpoints`: touchpoints per account and day they occurred on (UTC)."""

    def build() -> ibis.Table:
        touchpoints = frame.inputs.touchpoints
        dated = touchpoints.filter(
            touchpoints.account.notnull(), touchpoints.occurred_at.notnull()
        ).mutate(day=touchpoints.occurred_at.date())
        return dated.group_by(["account", "day"]).aggregate(touchpoints=dated.count())

    return frame.shared("touch_days", build)


def touchpoints(frame: MeasureFrame, request: MeasureRequest) -> Running:
    """Touchpoints (emails, calls, meetings, …) in the trailing N days."""
    changes = trailing_changes(frame, touch_days(frame), ["touchpoints"], request.days)
    return Running(changes, lambda t: t.touchpoints, sums=("touchpoints",))


def days_since_last_touch(frame: MeasureFrame, request: MeasureRequest) -> Running:
    """D minus the day of the last touchpoint on or before D (0: touched on D; null: never)."""
    days = touch_days(frame)
    touched = days.select("account", "day", touched=day_number(days.day))
    return Running(touched, lambda t: day_number(t.day) - t.touched, maxima=("touched",))


def trait_number(value: Any) -> float | None:
    """A trait value as a number: JSON numbers, booleans (1/0) and numeric text; else None."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def trait_values(accounts: pa.Table, name: str) -> pa.Table:
    """`account, value`: trait `name` of each account (from `traits` JSON text) as a number."""
    values = []
    for traits in accounts.column("traits").to_pylist():
        try:
            parsed = json.loads(traits) if traits else None
        except ValueError:
            parsed = None
        values.append(trait_number(parsed.get(name)) if isinstance(parsed, dict) else None)
    return pa.table(
        {"account": accounts.column("account"), "value": pa.array(values, pa.float64())}
    )


def trait(frame: MeasureFrame, request: MeasureRequest) -> ibis.Table:
    """The account's custom trait `request.argument` now, on every day (not as of D)."""
    accounts = frame.inputs.accounts.select("account", "traits").to_pyarrow()
    values = ibis.memtable(trait_values(accounts, request.argument or ""))
    values = values.rename(trait_account="account")
    grid = frame.grid
    joined = grid.join(values, grid.account == values.trait_account)
    return joined.select("account", "day", "value")

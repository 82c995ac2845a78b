"""Helpers shared by the health tests: measure values and accounts as Arrow tables."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

import pyarrow as pa

from tend.metrics.inputs import INSTANT

DAY = date(2026, 3, 2)


def values(rows: Mapping[tuple[str, date], Mapping[str, float | None]]) -> pa.Table:
    """`measure_values` rows from {(account, day): {measure: value}}."""
    flat = [
        (account, day, name, value)
        for (account, day), measures in rows.items()
        for name, value in measures.items()
    ]
    return pa.table(
        {
            "account": pa.array([r[0] for r in flat], pa.string()),
            "day": pa.array([r[1] for r in flat], pa.date32()),
            "measure": pa.array([r[2] for r in flat], pa.string()),
            "value": pa.array([r[3] for r in flat], pa.float64()),
        }
    )


def accounts(*names: str, **columns: list[Any]) -> pa.Table:
    """An accounts input table; `segment`, `lifecycle_stage`, `signed_up_at`, `churned_at` may
    be given as lists."""
    data: dict[str, pa.Array] = {"account": pa.array(list(names), pa.string())}
    for name, column in columns.items():
        kind = INSTANT if name.endswith("_at") else pa.string()
        data[name] = pa.array(column, kind)
    return pa.table(data)


def at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 12, tzinfo=UTC)


def row(table: pa.Table, account: str, day: date = DAY) -> dict[str, Any]:
    """The result row of one account and day."""
    found = [r for r in table.to_pylist() if r["account"] == account and r["day"] == day]
    assert len(found) == 1, f"{account} {day}: {len(found)} rows"
    return found[0]


def contributions(result: dict[str, Any]) -> float:
    return sum(v for k, v in result.items() if k.startswith("contribution:"))

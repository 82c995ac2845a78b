"""Helpers for pure pipeline tests: inputs from plain rows, results as a lookup."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pyarrow as pa

from tend.metrics.grid import Grid, make_grid
from tend.metrics.inputs import SCHEMAS, Inputs, duckdb_inputs


def at(year: int, month: int, day: int = 1) -> datetime:
    return datetime(year, month, day, tzinfo=UTC)


def inputs_from_rows(**tables: list[dict[str, Any]]) -> Inputs:
    """Inputs on DuckDB from lists of row dicts (missing columns are null)."""
    arrow = {}
    for name, rows in tables.items():
        schema = SCHEMAS[name]
        filled = [{field.name: row.get(field.name) for field in schema} for row in rows]
        arrow[name] = pa.Table.from_pylist(filled, schema=schema)
    return duckdb_inputs(arrow)


def grid_for(inputs: Inputs, first: date, last: date, **options: Any) -> Grid:
    return make_grid(inputs.con, inputs.accounts, first, last, **options)


def item(
    name: str, subscription: str, amount: str, start: datetime, **fields: Any
) -> dict[str, Any]:
    """A monthly subscription item of one unit at `amount`."""
    return {
        "item": name,
        "subscription": subscription,
        "unit_amount": Decimal(amount),
        "quantity": 1,
        "interval": "month",
        "interval_count": 1,
        "discount_percent": Decimal(0),
        "started_at": start,
        **fields,
    }


Key = tuple[str, str, date, str, str, str]


def results(table: pa.Table) -> dict[Key, tuple[float, int]]:
    """(kpi, grain, period_start, scope_type, scope_key, dimension) → (value, base)."""
    return {
        (
            r["kpi"],
            r["grain"],
            r["period_start"],
            r["scope_type"],
            r["scope_key"],
            r["dimension"],
        ): (
            r["value"],
            r["base"],
        )
        for r in table.to_pylist()
    }

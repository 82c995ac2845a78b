"""Periods and scopes every KPI is computed over, and the one shape every KPI returns.

A KPI pipeline is `compute(inputs, grid) -> ibis.Table` with exactly RESULT_SCHEMA's columns:
one row per (grain, period, scope, dimension) where the KPI has a value.

- Periods: `grid.periods` has `grain` (day, week, month, quarter), `period_start` (date) and
  `period_end` (date, exclusive). Weeks start on Monday. A KPI "over a period" uses facts with
  period_start <= day < period_end; a KPI "at the end of a period" uses the state at period_end.
- Scopes: `grid.scopes` maps each account to the scopes it belongs to: (`portfolio`, `all`),
  (`segment`, its segment), (`csm`, its owner's username) and (`account`, itself). A pipeline
  joins its per-account facts to it and groups by `scope_type, scope_key`.
- `dimension` splits a KPI further (a currency, a ticket topic, a feature); '' when it does not.
- `value` is a float; `base` is the count it rests on (responses, accounts, users, tickets …).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import ibis
import pyarrow as pa

GRAINS: tuple[str, ...] = ("day", "week", "month", "quarter")
SCOPE_TYPES: tuple[str, ...] = ("portfolio", "segment", "csm", "account")
PORTFOLIO_KEY = "all"

RESULT_SCHEMA = pa.schema(
    [
        ("kpi", pa.string()),
        ("grain", pa.string()),
        ("period_start", pa.date32()),
        ("period_end", pa.date32()),
        ("scope_type", pa.string()),
        ("scope_key", pa.string()),
        ("dimension", pa.string()),
        ("value", pa.float64()),
        ("base", pa.int64()),
    ]
)


@dataclass(frozen=True)
class Grid:
    """What to compute: the periods, the scopes, and the instant the data is known up to."""

    periods: ibis.Table
    scopes: ibis.Table
    as_of: datetime
    reporting_currency: str = "USD"
    derived: dict[str, Any] = field(default_factory=dict, init=False, compare=False, repr=False)
    """Tables derived from the grid once and shared by pipelines (usage_grid.scope_cells)."""


def period_start(grain: str, day: date) -> date:
    """The first day of the `grain` period that holds `day`."""
    if grain == "day":
        return day
    if grain == "week":
        return day - timedelta(days=day.weekday())
    if grain == "month":
        return day.replace(day=1)
    if grain == "quarter":
        return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    raise ValueError(f"unknown grain {grain!r}; expected one of {', '.join(GRAINS)}")


def next_period_start(grain: str, start: date) -> date:
    """The first day of the period after the one starting at `start`."""
    if grain == "day":
        return start + timedelta(days=1)
    if grain == "week":
        return start + timedelta(days=7)
    months = 1 if grain == "month" else 3
    index = start.year * 12 + start.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def period_rows(grains: Sequence[str], first: date, last: date) -> pa.Table:
    """Every period of each grain that overlaps first..last (inclusive days)."""
    if first > last:
        raise ValueError(f"the first day {first} is after the last day {last}")
    rows: dict[str, list[object]] = {"grain": [], "period_start": [], "period_end": []}
    for grain in grains:
        start = period_start(grain, first)
        while start <= last:
            end = next_period_start(grain, start)
            rows["grain"].append(grain)
            rows["period_start"].append(start)
            rows["period_end"].append(end)
            start = end
    schema = pa.schema(
        [("grain", pa.string()), ("period_start", pa.date32()), ("period_end", pa.date32())]
    )
    return pa.table(rows, schema=schema)


def scope_table(accounts: ibis.Table, scope_types: Sequence[str] = SCOPE_TYPES) -> ibis.Table:
    """`account, scope_type, scope_key` for each account and each requested scope type.

    Accounts without a segment or CSM are in no segment or CSM scope (still in the portfolio).
    """
    parts = []
    for scope_type in scope_types:
        if scope_type == "portfolio":
            key = ibis.literal(PORTFOLIO_KEY)
        elif scope_type == "segment":
            key = accounts.segment
        elif scope_type == "csm":
            key = accounts.csm
        elif scope_type == "account":
            key = accounts.account
        else:
            raise ValueError(f"unknown scope {scope_type!r}; expected one of {SCOPE_TYPES}")
        part = accounts.select(
            "account", scope_type=ibis.literal(scope_type), scope_key=key.cast("string")
        )
        parts.append(part.filter(part.scope_key.notnull()))
    return ibis.union(*parts)


def make_grid(
    con: ibis.BaseBackend,
    accounts: ibis.Table,
    first: date,
    last: date,
    grains: Sequence[str] = GRAINS,
    scope_types: Sequence[str] = SCOPE_TYPES,
    as_of: datetime | None = None,
    reporting_currency: str = "USD",
) -> Grid:
    """Periods of `grains` over first..last and the scopes of `accounts`, on `con`."""
    periods = con.create_table("periods", period_rows(grains, first, last), overwrite=True)
    scopes = con.create_table("scopes", scope_table(accounts, scope_types), overwrite=True)
    known = as_of or datetime.combine(last + timedelta(days=1), datetime.min.time(), UTC)
    return Grid(periods, scopes, known, reporting_currency)


def as_result(
    table: ibis.Table, kpi: str, value: ibis.Value, base: ibis.Value, dimension: ibis.Value | None
) -> ibis.Table:
    """Project a grouped table (with grain, period_start, period_end, scope_type, scope_key) to
    RESULT_SCHEMA's columns for KPI `kpi`."""
    return table.select(
        kpi=ibis.literal(kpi),
        grain=table.grain,
        period_start=table.period_start,
        period_end=table.period_end,
        scope_type=table.scope_type,
        scope_key=table.scope_key,
        dimension=ibis.literal("") if dimension is None else dimension.cast("string"),
        value=value.cast("float64"),
        base=base.cast("int64"),
    )


def ratio(numerator: ibis.Value, denominator: ibis.Value) -> ibis.Value:
    """numerator / denominator as float64, null when the denominator is 0 or null."""
    return ibis.ifelse(
        denominator.coalesce(0) == 0, ibis.null("float64"), numerator.cast("float64") / denominator
    )

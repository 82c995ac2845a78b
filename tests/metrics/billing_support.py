"""Row builders for the billing KPI tests: subscriptions, invoices and rates in one line each."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pyarrow as pa

from tend.metrics.grid import Grid
from tend.metrics.kpi import KpiPipeline
from tests.metrics.engine_support import Key, results


def subscription(
    name: str, account: str, start: datetime, currency: str = "USD", **fields: Any
) -> dict[str, Any]:
    """An active subscription; pass `ended_at` with status='canceled' to end it."""
    return {
        "subscription": name,
        "account": account,
        "status": "active",
        "currency": currency,
        "started_at": start,
        **fields,
    }


def invoice(
    name: str,
    account: str,
    amount_due: str,
    issued: datetime,
    due: datetime,
    paid: datetime | None = None,
    amount_paid: str | None = None,
    status: str | None = None,
    currency: str = "USD",
) -> dict[str, Any]:
    """An invoice: paid in full at `paid` unless `amount_paid` or `status` say otherwise."""
    return {
        "invoice": name,
        "account": account,
        "status": status or ("paid" if paid else "open"),
        "currency": currency,
        "amount_due": Decimal(amount_due),
        "amount_paid": Decimal(
            amount_paid if amount_paid is not None else amount_due if paid else 0
        ),
        "issued_at": issued,
        "due_at": due,
        "paid_at": paid,
    }


def rate(currency: str, valid_from: date, value: float, to: str = "USD") -> dict[str, Any]:
    return {"currency": currency, "to_currency": to, "valid_from": valid_from, "rate": value}


def run(pipelines: tuple[KpiPipeline, ...], name: str, inputs: Any, grid: Grid) -> dict[Key, Any]:
    """The results of the pipeline called `name` as a lookup (see engine_support.results)."""
    pipeline = next(p for p in pipelines if p.name == name)
    arrow: pa.Table = pipeline.compute(inputs, grid).to_pyarrow()
    assert {row["kpi"] for row in arrow.to_pylist()} <= {kpi.name for kpi in pipeline.kpis}
    return results(arrow)

"""Run the revenue pipeline on the engine's inputs (from the app DB by default)."""

from __future__ import annotations

from datetime import date

import pyarrow as pa

from tend.metrics.inputs import Inputs, duckdb_inputs
from tend.metrics.load import read_subscription_items, read_subscriptions
from tend.metrics.revenue import (
    add_months,
    first_paid,
    item_monthly_amounts,
    month_table,
    mrr_at_month_ends,
    mrr_movements,
    portfolio_movements,
    retention,
)


def revenue_inputs_report(
    inputs: Inputs, start_month: date, end_month: date
) -> dict[str, pa.Table]:
    """MRR, movements (per account and portfolio) and retention for months start..end inclusive."""
    first = start_month.replace(day=1)
    if first > end_month:
        raise ValueError(f"start month {start_month} is after end month {end_month}")
    con = inputs.con
    months = month_table(add_months(first, -1), end_month)
    amounts = item_monthly_amounts(inputs.subscription_items, inputs.subscriptions)
    # Each stage is stored before the next reads it: Ibis then compiles small queries, not one
    # ever-growing tree (compiling dominates the run time on small data).
    amounts = con.create_table("item_amounts", amounts, overwrite=True)
    mrr = con.create_table("mrr", mrr_at_month_ends(amounts, months), overwrite=True)
    movements = mrr_movements(mrr, first_paid(amounts))
    movements = con.create_table("movements", movements, overwrite=True)
    in_range = mrr.filter(mrr.month >= first).drop("month_start")
    return {
        "mrr": con.to_pyarrow(in_range.order_by(["currency", "account", "month"])),
        "movements": con.to_pyarrow(movements.order_by(["currency", "account", "month"])),
        "portfolio": con.to_pyarrow(portfolio_movements(movements)),
        "retention": con.to_pyarrow(retention(movements)),
    }


def revenue_report(start_month: date, end_month: date) -> dict[str, pa.Table]:
    """Load the app DB's billing tables and report revenue for months start..end inclusive."""
    tables = {
        "subscriptions": read_subscriptions(),
        "subscription_items": read_subscription_items(),
    }
    return revenue_inputs_report(duckdb_inputs(tables), start_month, end_month)

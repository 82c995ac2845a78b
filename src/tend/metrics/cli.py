"""`tend kpi NAME`: revenue KPIs by month, as a table, CSV or JSON (first slice of the metrics
engine: mrr, movements and retention, per currency; more KPIs and scopes are to come)."""

from __future__ import annotations

import csv
import json
import sys
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

import pyarrow as pa
import typer
from rich.console import Console
from rich.table import Table

console = Console()
REPORTS = {"mrr": "mrr", "movements": "portfolio", "retention": "retention"}
SHORT_NAMES = {
    "accounts_paying_at_start": "paying (start)",
    "accounts_paying_at_end": "paying (end)",
    "accounts_churned": "churned accounts",
    "net_revenue_retention": "NRR",
    "gross_revenue_retention": "GRR",
    "revenue_churn_rate": "revenue churn",
    "logo_churn_rate": "logo churn",
    "average_revenue_per_account": "ARPA",
}
RATES = {
    "net_revenue_retention",
    "gross_revenue_retention",
    "revenue_churn_rate",
    "logo_churn_rate",
}
FORMATS = ("table", "csv", "json")


def _month(text: str, option: str) -> date:
    try:
        year, month = (int(part) for part in text.split("-")[:2])
        return date(year, month, 1)
    except ValueError:
        raise typer.BadParameter(
            f"{text!r} is not a month like 2026-03", param_hint=option
        ) from None


def kpi_command(
    name: Annotated[str, typer.Argument(help="mrr, movements or retention.")],
    start: Annotated[str | None, typer.Option("--from", help="First month, YYYY-MM.")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Last month, YYYY-MM.")] = None,
    account: Annotated[
        str | None, typer.Option(help="One account's MRR or movements (its external id).")
    ] = None,
    output: Annotated[str, typer.Option("--format", help="table, csv or json.")] = "table",
) -> None:
    """Revenue KPIs by month and currency, computed now from the app database on DuckDB."""
    from tend.cli import setup_django

    setup_django()
    from django.utils import timezone

    from tend.customers.models import Account
    from tend.metrics.compute import revenue_report
    from tend.metrics.revenue import add_months

    if name not in REPORTS:
        raise typer.BadParameter(f"use one of {', '.join(REPORTS)}", param_hint="NAME")
    if output not in FORMATS:
        raise typer.BadParameter(f"use one of {', '.join(FORMATS)}", param_hint="--format")
    last = _month(end, "--to") if end else timezone.now().date().replace(day=1)
    first = _month(start, "--from") if start else add_months(last, -11)
    report = revenue_report(first, last)
    table = report[REPORTS[name]]
    if account is not None:
        if name == "retention":
            raise typer.BadParameter("retention is a portfolio KPI", param_hint="--account")
        found = (
            Account.objects.filter(external_id=account)
            .values_list("external_id", flat=True)
            .first()
        )
        if found is None:
            raise typer.BadParameter(f"no account {account!r}", param_hint="--account")
        rows = report["mrr" if name == "mrr" else "movements"].to_pylist()
        rows = [row for row in rows if row["account"] == found]
    elif name == "mrr":
        rows = _portfolio_mrr(table)
    else:
        rows = table.to_pylist()
    _print(rows, output, title=f"{name} {first:%Y-%m} to {last:%Y-%m}")


def _portfolio_mrr(table: pa.Table) -> list[dict[str, Any]]:
    totals: dict[tuple[str, date], Decimal] = {}
    for row in table.to_pylist():
        key = (row["currency"], row["month"])
        totals[key] = totals.get(key, Decimal(0)) + row["mrr"]
    return [
        {"currency": currency, "month": month, "mrr": amount, "arr": amount * 12}
        for (currency, month), amount in sorted(totals.items())
    ]


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    if isinstance(value, Decimal):
        return f"{value.quantize(Decimal('0.01'))}"
    return "" if value is None else str(value)


def _print(rows: list[dict[str, Any]], output: str, title: str) -> None:
    if output == "json":
        print(json.dumps(rows, default=_cell, indent=1))
        return
    columns = list(rows[0]) if rows else []
    if output == "csv":
        writer = csv.writer(sys.stdout)
        writer.writerow(columns)
        writer.writerows([_cell(row[c]) for c in columns] for row in rows)
        return
    table = Table(title=title)
    for column in columns:
        justify: Literal["left", "right"] = "left" if column in {"currency", "month"} else "right"
        table.add_column(SHORT_NAMES.get(column, column.replace("_", " ")), justify=justify)
    for row in rows:
        table.add_row(*(_shown(column, row[column]) for column in columns))
    console.print(table)


def _shown(column: str, value: Any) -> str:
    """A cell for people: rates as percentages, months as YYYY-MM, money with separators."""
    if value is None:
        return "—"
    if column in RATES:
        return f"{value * 100:.1f} %"
    if isinstance(value, date):
        return f"{value:%Y-%m}"
    if isinstance(value, (Decimal, float)):
        return f"{value:,.2f}"
    return str(value)

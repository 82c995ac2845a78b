"""`tend kpi NAME…` (KPIs computed now from the app database, one row per period) and
`tend metrics` (recompute every KPI and store the snapshots that pages and the API read)."""

from __future__ import annotations

import csv
import json
import sys
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

import pyarrow as pa
import typer
from rich.console import Console
from rich.table import Table

console = Console()
FORMATS = ("table", "csv", "json")
PERCENT_UNITS = {"ratio"}


def _day(text: str, option: str) -> date:
    """YYYY-MM-DD, or YYYY-MM for the month's first day."""
    try:
        parts = [int(part) for part in text.split("-")]
        return date(parts[0], parts[1], parts[2] if len(parts) > 2 else 1)
    except (ValueError, IndexError):
        raise typer.BadParameter(
            f"{text!r} is not a day like 2026-03-31 or a month like 2026-03", param_hint=option
        ) from None


def _period_end(text: str, option: str) -> date:
    """The last day meant by --to: a month means its last day."""
    day = _day(text, option)
    if text.count("-") == 1:
        following = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
        return following - timedelta(days=1)
    return day


def kpi_command(
    names: Annotated[
        list[str],
        typer.Argument(
            help="KPI names or families (revenue, voice, support, usage, team); "
            "'list' shows them all."
        ),
    ],
    by: Annotated[str, typer.Option(help="day, week, month or quarter.")] = "month",
    segment: Annotated[str | None, typer.Option(help="Only this segment.")] = None,
    csm: Annotated[str | None, typer.Option(help="Only this CSM's book (username).")] = None,
    account: Annotated[str | None, typer.Option(help="Only this account (external id).")] = None,
    start: Annotated[str | None, typer.Option("--from", help="First day or month.")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Last day or month.")] = None,
    dimensions: Annotated[
        bool, typer.Option("--dimensions", help="Also rows per currency, topic, feature…")
    ] = False,
    output: Annotated[str, typer.Option("--format", help="table, csv or json.")] = "table",
) -> None:
    """KPIs computed now from the app database, one row per period, one column per KPI."""
    from tend.cli import setup_django

    setup_django()
    from tend.metrics.grid import GRAINS
    from tend.metrics.registry import KPIS, expand

    if names == ["list"]:
        _print_catalog()
        return
    try:
        chosen = expand(names)
    except KeyError as error:
        raise typer.BadParameter(str(error.args[0]), param_hint="NAME") from None
    if by not in GRAINS:
        raise typer.BadParameter(f"use one of {', '.join(GRAINS)}", param_hint="--by")
    if output not in FORMATS:
        raise typer.BadParameter(f"use one of {', '.join(FORMATS)}", param_hint="--format")
    scope_type, scope_key = _scope(segment, csm, account)
    today = datetime.now(UTC).date()
    last = _period_end(end, "--to") if end else today
    first = _day(start, "--from") if start else last - timedelta(days=365)
    if first > last:
        raise typer.BadParameter(f"--from {first} is after --to {last}", param_hint="--from")
    results = _compute(chosen, by, scope_type, scope_key, first, last)
    rows = _pivot(results, sorted(chosen, key=list(KPIS).index), dimensions)
    title = f"{', '.join(names)} by {by}, {scope_type} {scope_key}, {first} to {last}"
    _print(rows, output, title)


def _scope(segment: str | None, csm: str | None, account: str | None) -> tuple[str, str]:
    from tend.core.models import User
    from tend.customers.models import Account

    given = [(t, k) for t, k in (("segment", segment), ("csm", csm), ("account", account)) if k]
    if len(given) > 1:
        raise typer.BadParameter("give at most one of --segment, --csm and --account")
    if not given:
        return "portfolio", "all"
    scope_type, key = given[0]
    if scope_type == "account" and not Account.objects.filter(external_id=key).exists():
        raise typer.BadParameter(f"no account {key!r}", param_hint="--account")
    if scope_type == "csm" and not User.objects.filter(username=key).exists():
        raise typer.BadParameter(f"no user {key!r}", param_hint="--csm")
    return scope_type, key


def _compute(
    names: set[str], grain: str, scope_type: str, scope_key: str, first: date, last: date
) -> pa.Table:
    from tend.config.settings import get_settings
    from tend.metrics.grid import make_grid
    from tend.metrics.inputs import duckdb_inputs
    from tend.metrics.load import read_app_tables
    from tend.metrics.run import HISTORY_DAYS, compute_kpis

    inputs = duckdb_inputs(read_app_tables(usage_since=first - timedelta(days=HISTORY_DAYS)))
    grid = make_grid(
        inputs.con,
        inputs.accounts,
        first,
        last,
        grains=[grain],
        scope_types=[scope_type],
        reporting_currency=get_settings().reporting_currency,
    )
    results = compute_kpis(inputs, grid, names)
    mask = pa.compute.equal(results["scope_key"], scope_key)
    return results.filter(mask)


def _pivot(results: pa.Table, names: list[str], dimensions: bool) -> list[dict[str, Any]]:
    """One row per (period, dimension) with a column per KPI."""
    rows: dict[tuple[date, str], dict[str, Any]] = {}
    for r in results.to_pylist():
        if r["dimension"] and not dimensions:
            continue
        key = (r["period_start"], r["dimension"])
        row = rows.setdefault(key, {"period": r["period_start"], "dimension": r["dimension"]})
        row[r["kpi"]] = r["value"]
    ordered = [rows[key] for key in sorted(rows)]
    columns = ["period", *(["dimension"] if dimensions else []), *names]
    return [{column: row.get(column) for column in columns} for row in ordered]


def _print_catalog() -> None:
    from tend.metrics.registry import KPIS

    table = Table(title="KPIs")
    for column in ("name", "family", "unit", "definition"):
        table.add_column(column)
    for kpi in KPIS.values():
        table.add_row(kpi.name, kpi.family, kpi.unit, kpi.definition)
    console.print(table)


def _cell(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    return value


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
    from tend.metrics.registry import KPIS

    table = Table(title=title)
    for column in columns:
        table.add_column(
            column.replace("_", " "), justify="left" if column == "period" else "right"
        )
    for row in rows:
        table.add_row(*(_shown(KPIS.get(column), row[column]) for column in columns))
    console.print(table)
    if not rows:
        console.print("No values: no data in this period and scope.")


def _shown(kpi: Any, value: Any) -> str:
    """A cell for people: ratios as percentages, money and counts with separators."""
    if value is None:
        return "-"
    if isinstance(value, date):
        return value.isoformat()
    if kpi is None or isinstance(value, str):
        return str(value)
    if kpi.unit in PERCENT_UNITS:
        return f"{value * 100:.1f} %"
    if kpi.unit == "count":
        return f"{value:,.0f}"
    return f"{value:,.2f}"


def metrics_command(
    since: Annotated[
        str | None,
        typer.Option(
            help="Recompute periods from this day (default: since the last run's last day)."
        ),
    ] = None,
    full: Annotated[bool, typer.Option("--full", help="Recompute all history.")] = False,
    engine: Annotated[
        str | None, typer.Option(help="duckdb or pyspark (default: setting).")
    ] = None,
) -> None:
    """Recompute KPIs and store them as snapshots: full, or incremental since the last run."""
    from tend.cli import setup_django

    setup_django()
    from tend.config.settings import get_settings
    from tend.metrics.queries import earliest_activity, latest_run
    from tend.metrics.run import recompute

    settings = get_settings()
    chosen_engine = engine or settings.analytics_engine
    if chosen_engine not in ("duckdb", "pyspark"):
        raise typer.BadParameter("use duckdb or pyspark", param_hint="--engine")
    today = datetime.now(UTC).date()
    previous = latest_run()
    if since is not None:
        first = _day(since, "--since")
    elif full or previous is None:
        full, first = True, earliest_activity() or today
    else:
        first = previous.last_day
    with console.status("Computing KPIs…") as status:
        report = recompute(
            chosen_engine,  # type: ignore[arg-type]
            first,
            today,
            settings.reporting_currency,
            full=full,
            progress=lambda name: status.update(f"Computing KPIs: {name}…"),
        )
    console.print(
        f"{'Full' if full else 'Incremental'} recompute {report.first_day} to {report.last_day} "
        f"on {chosen_engine}: {report.rows:,} snapshots; read {report.load_seconds:.1f} s, "
        f"computed {report.compute_seconds:.1f} s, stored {report.store_seconds:.1f} s."
    )


COHORT_GROUPINGS = ("segment", "csm", "lifecycle_stage")
COHORT_TABLES = (
    "logo_retention",
    "revenue_retention",
    "survivors",
    "sbg",
    "clv",
    "survival_curves",
    "survival_medians",
)


def cohorts_command(
    name: Annotated[str, typer.Argument(help=f"One of: {', '.join(COHORT_TABLES)}.")],
    by: Annotated[str, typer.Option(help="Split by segment, csm or lifecycle_stage.")] = "segment",
    group: Annotated[str | None, typer.Option(help="Only this group (e.g. smb).")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Last month, YYYY-MM.")] = None,
    output: Annotated[str, typer.Option("--format", help="table, csv or json.")] = "table",
) -> None:
    """Cohort triangles, retention model fits, CLV and survival curves, computed now."""
    from tend.cli import setup_django

    setup_django()
    from tend.metrics.cohort_kpis import cohort_report
    from tend.metrics.inputs import duckdb_inputs
    from tend.metrics.load import read_app_tables

    if name not in COHORT_TABLES:
        raise typer.BadParameter(f"use one of {', '.join(COHORT_TABLES)}", param_hint="NAME")
    if output not in FORMATS:
        raise typer.BadParameter(f"use one of {', '.join(FORMATS)}", param_hint="--format")
    if by not in COHORT_GROUPINGS:
        raise typer.BadParameter(f"use one of {', '.join(COHORT_GROUPINGS)}", param_hint="--by")
    last = _day(end, "--to") if end else datetime.now(UTC).date()
    report = cohort_report(duckdb_inputs(read_app_tables()), last, by=by)
    rows = report[name].to_pylist()
    if group is not None:
        rows = [row for row in rows if row.get("group") == group]
    _print(rows, output, f"{name} by {by} to {last:%Y-%m}")

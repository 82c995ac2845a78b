"""`tend score`, `tend scorecard import|export|list|backtest|learn`, `tend lists NAME|refresh`."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

console = Console()
notes = Console(stderr=True)
"""Notes beside the output (when a list was computed), kept off stdout for `--format json`."""
scorecard_commands = typer.Typer(help="Health scorecards: import, export, list, backtest, learn.")
LISTS = ("advocates", "upsell", "at_risk", "collections", "renewals", "patterns")


def _setup() -> None:
    from tend.cli import setup_django

    setup_django()


def _day(text: str | None, option: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(
            f"{text!r} is not a day like 2026-03-31", param_hint=option
        ) from None


def score_command(
    account: Annotated[str | None, typer.Option(help="Explain this account (external id).")] = None,
    day: Annotated[str | None, typer.Option(help="Score this day (default: today).")] = None,
    backfill: Annotated[
        int | None, typer.Option(help="Score every day of the last N days, as of each day.")
    ] = None,
    explain: Annotated[bool, typer.Option(help="Print the account's explanation.")] = True,
) -> None:
    """Compute health scores for every account (as of each day), store the snapshots, and
    explain one account's score."""
    _setup()
    from tend.customers.models import Account
    from tend.health.engine import history_days, score_days, today

    last = _day(day, "--day") or today()
    days = history_days(last - timedelta(days=backfill - 1), last) if backfill else [last]
    if account is not None and not Account.objects.filter(external_id=account).exists():
        raise typer.BadParameter(f"no account {account!r}", param_hint="--account")
    with console.status(f"Scoring {len(days)} day(s)…"):
        report = score_days(days)
    console.print(
        f"Scored {report.accounts:,} account(s) on {report.days} day(s): {report.rows:,} "
        f"snapshots, {report.signals:,} new signals in {report.seconds:.1f} s (measures "
        f"{report.measure_seconds:.1f} s, scoring {report.score_seconds:.1f} s, storing "
        f"{report.store_seconds:.1f} s)."
    )
    if account is not None and explain:
        _print_explanation(Account.objects.get(external_id=account))


def _print_explanation(account: Any) -> None:
    from tend.health.queries import explain, latest_snapshot

    snapshot = latest_snapshot(account)
    if snapshot is None:
        console.print("No score: the account was not alive on that day.")
        return
    detail = explain(snapshot)
    console.print(
        f"[bold]{account.name}[/] {snapshot.day}: score {_number(snapshot.score)} "
        f"({snapshot.band}), coverage {snapshot.coverage:.0%}"
        + (" — overridden" if snapshot.overridden else "")
    )
    table = Table("group", "measure", "raw", "score", "weight", "contribution")
    for group in detail["groups"]:
        for row in group["measures"]:
            table.add_row(
                f"{group['group']} ({_number(group['score'])})",
                str(row["measure"]) + (" (missing)" if row["missing"] else ""),
                _number(row.get("raw")),
                _number(row.get("normalised")),
                _number(row.get("weight")),
                _number(row.get("contribution")),
            )
    console.print(table)
    movers = ", ".join(f"{name} {change:+.1f}" for name, change in detail["top_movers"][:3])
    console.print(
        f"Change: {_number(detail['change_7d'])} in 7 days, {_number(detail['change_30d'])} in "
        f"30 days. Moved it most: {movers or '-'}"
    )


def _number(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.2f}"
    return str(value)


@scorecard_commands.command("list")
def list_scorecards() -> None:
    """Scorecards, their latest version and backtest AUC."""
    _setup()
    from tend.health.models import Scorecard
    from tend.health.queries import latest_version

    table = Table("slug", "name", "version", "default", "active", "AUC (90 days)")
    for scorecard in Scorecard.objects.order_by("priority", "name"):
        version = latest_version(scorecard)
        auc = (version.backtest or {}).get("roc_auc") if version else None
        table.add_row(
            scorecard.slug,
            scorecard.name,
            str(version.number if version else "-"),
            "yes" if scorecard.is_default else "",
            "yes" if scorecard.active else "no",
            _number(auc),
        )
    console.print(table)


@scorecard_commands.command("import")
def import_scorecard(path: Annotated[Path, typer.Argument(help="A scorecard YAML file.")]) -> None:
    """Import a scorecard from YAML as a new version (or a new scorecard)."""
    _setup()
    from tend.health.actions import import_scorecard_yaml
    from tend.health.scorecard_yaml import ScorecardError

    try:
        version = import_scorecard_yaml(path.read_text(encoding="utf-8"), None)
    except OSError as error:
        raise typer.BadParameter(str(error), param_hint="PATH") from None
    except ScorecardError as error:
        console.print(f"[red]{path}: not a valid scorecard[/]\n{error}")
        raise typer.Exit(2) from None
    console.print(f"Saved {version}.")


@scorecard_commands.command("export")
def export_scorecard(slug: Annotated[str, typer.Argument(help="The scorecard's slug.")]) -> None:
    """Print a scorecard's latest version as YAML."""
    _setup()
    from tend.health.queries import export_scorecard_yaml

    print(export_scorecard_yaml(_latest(slug)), end="")


def _latest(slug: str) -> Any:
    from tend.health.actions import ensure_default_scorecard
    from tend.health.models import Scorecard
    from tend.health.queries import latest_version

    ensure_default_scorecard()
    scorecard = Scorecard.objects.filter(slug=slug).first()
    version = latest_version(scorecard) if scorecard else None
    if version is None:
        known = ", ".join(Scorecard.objects.values_list("slug", flat=True))
        raise typer.BadParameter(f"no scorecard {slug!r}; known: {known}", param_hint="SLUG")
    return version


@scorecard_commands.command("backtest")
def backtest_scorecard(
    slug: Annotated[str, typer.Argument(help="The scorecard's slug.")],
    horizon: Annotated[int, typer.Option(help="Churn within this many days.")] = 90,
) -> None:
    """How well past snapshots of the scorecard's latest version predicted churn."""
    _setup()
    from tend.health.prediction import backtest_version

    result = backtest_version(_latest(slug), horizon)
    console.print_json(json.dumps(result))


@scorecard_commands.command("learn")
def learn_scorecard(
    slug: Annotated[str, typer.Argument(help="The scorecard to learn weights for.")],
    accept: Annotated[bool, typer.Option(help="Save the suggestion as a new version.")] = False,
    horizon: Annotated[int, typer.Option(help="Churn within this many days.")] = 90,
) -> None:
    """Learn weights from past churn (logistic regression) and a churn-probability model."""
    _setup()
    from tend.health.prediction import learn_version

    outcome = learn_version(_latest(slug), horizon, accept)
    console.print_json(json.dumps(outcome))


def lists_command(
    name: Annotated[
        str, typer.Argument(help=f"One of: {', '.join(LISTS)}; or `refresh` to compute them all.")
    ],
    limit: Annotated[int, typer.Option(help="At most this many rows.")] = 25,
    output: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
    fresh: Annotated[
        bool,
        typer.Option("--fresh", help="Compute the list now instead of reading the stored one."),
    ] = False,
) -> None:
    """Lists the health score drives: advocates, upsell, at risk, collections, renewals,
    patterns, as last stored; `tend lists refresh` computes and stores them all."""
    _setup()
    if name == "refresh":
        _refresh_lists()
        return
    if name not in LISTS:
        raise typer.BadParameter(f"use one of {', '.join(LISTS)} or refresh", param_hint="NAME")
    rows = _fresh_rows(name, limit) if fresh else _stored_rows(name, limit)
    if output == "json":
        print(json.dumps(rows, default=str, indent=1))
        return
    table = Table(*(rows[0].keys() if rows else ["(empty)"]), title=name)
    for row in rows:
        table.add_row(
            *(
                _number(v) if not isinstance(v, list) else json.dumps(v, default=str)[:60]
                for v in row.values()
            )
        )
    console.print(table)


def _refresh_lists() -> None:
    from tend.health.list_actions import refresh_lists

    refresh = refresh_lists()
    for run in refresh.runs:
        console.print(f"{run.name}: {run.row_count:,} rows in {run.seconds:.1f} s")
    console.print(f"Stored {len(refresh.runs)} lists in {refresh.seconds:.1f} s.")


def _stored_rows(name: str, limit: int) -> list[dict[str, Any]]:
    from tend.health.list_queries import NOT_COMPUTED, latest_run, stored_rows

    run = latest_run(name)
    if run is None:
        notes.print(f"[red]{NOT_COMPUTED}[/] Or use --fresh.", highlight=False)
        raise typer.Exit(1)
    notes.print(
        f"{name} as of {run.computed_at:%Y-%m-%d %H:%M} UTC: {run.row_count:,} rows",
        style="dim",
        highlight=False,
    )
    return stored_rows(run, 0, max(limit, 0)).rows


def _fresh_rows(name: str, limit: int) -> list[dict[str, Any]]:
    from django.utils import timezone

    from tend.health.list_compute import list_table, load_list_inputs

    return list_table(name, load_list_inputs(timezone.now())).to_pylist()[: max(limit, 0)]

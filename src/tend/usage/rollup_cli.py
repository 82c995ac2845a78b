"""`tend rollup`: roll up usage events now, with a progress bar and a report."""

from __future__ import annotations

import os
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

commands = typer.Typer(help="Usage rollups.")
console = Console()


@commands.callback(invoke_without_command=True)
def rollup(
    batch_size: Annotated[
        int, typer.Option(min=1, help="Events per batch (one transaction each).")
    ] = 50_000,
    reset: Annotated[
        bool, typer.Option(help="Delete every rollup and start again from the first event.")
    ] = False,
) -> None:
    """Roll up every event that arrived since the last run into daily usage per user."""
    _setup_django()
    from tend.usage.rollups import pending_events, reset_rollups, run_rollup

    if reset:
        deleted = reset_rollups()
        console.print(f"Removed {deleted:,} rollup rows; starting from the first event.")
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        task = progress.add_task("Rolling up events", total=pending_events())
        report = run_rollup(batch_size, on_batch=lambda events: progress.advance(task, events))
    lag = report.lag()
    table = Table(title="Usage rollup", show_header=False)
    table.add_row("Events read", f"{report.events_read:,}")
    table.add_row("Rollup rows written", f"{report.rows_written:,}")
    table.add_row("Batches", f"{report.batches:,}")
    table.add_row("Watermark", f"{report.position:,}")
    table.add_row("Lag", "no events yet" if lag is None else str(lag).split(".")[0])
    table.add_row("Events per second", f"{report.events_per_second:,.0f}")
    console.print(table)


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tend.config.django_settings")
    import django

    django.setup()

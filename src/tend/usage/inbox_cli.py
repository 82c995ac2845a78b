"""`tend ingest`: how much is acknowledged but not loaded yet, and loading it now."""

from __future__ import annotations

import os
from typing import Annotated

import typer
from rich.console import Console

commands = typer.Typer(help="The ingestion inbox: acknowledged events waiting to be loaded.")
console = Console()


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tend.config.django_settings")
    import django

    django.setup()


@commands.command("status")
def status() -> None:
    """Show the inbox depth: requests and events acknowledged but not yet in the events table."""
    _setup_django()
    from django.utils import timezone

    from tend.usage.loader import inbox_depth

    depth = inbox_depth()
    lag = (timezone.now() - depth.oldest).total_seconds() if depth.oldest else 0.0
    console.print(
        f"Inbox: {depth.messages:,} events in {depth.rows:,} requests waiting to be loaded"
        + (f"; the oldest arrived {lag:.1f} s ago." if depth.oldest else ".")
    )


@commands.command("drain")
def drain(
    max_seconds: Annotated[
        float | None, typer.Option(help="Stop after this long even if events are left.")
    ] = None,
) -> None:
    """Load everything waiting in the inbox now (waits while another loader has the turn)."""
    _setup_django()
    from tend.usage.loader import drain_inbox, inbox_depth

    report = drain_inbox(max_seconds)
    rate = report.events / report.seconds if report.seconds else 0.0
    console.print(
        f"Loaded {report.rows:,} requests: {report.events:,} new events, "
        f"{report.duplicates:,} duplicates absorbed, {report.rejected:,} rejected messages kept"
        f" in {report.seconds:.1f} s ({rate:,.0f} events/s)."
    )
    if report.quarantined:
        console.print(f"[red]{report.quarantined} messages could not be stored[/red] (see logs).")
    left = inbox_depth().messages
    if left:
        console.print(f"{left:,} events are still waiting.")

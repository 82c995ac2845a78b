"""`tend source`: create sources with write keys, list them, revoke keys, inspect rejections."""

from __future__ import annotations

import os
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

commands = typer.Typer(help="Event sources, their write keys and rejected messages.")
console = Console()


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tend.config.django_settings")
    import django

    django.setup()


@commands.command("create")
def create(
    name: Annotated[str, typer.Argument(help="A name for the source, e.g. 'Web app'.")],
    kind: Annotated[str, typer.Option(help="segment, posthog or webhook.")] = "segment",
) -> None:
    """Create a source and print its write key (shown only this once)."""
    _setup_django()
    from tend.usage.keys import create_source_with_key

    try:
        source, key = create_source_with_key(name, kind)
    except ValueError as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(1) from None
    console.print(f"Source [bold]{source.name}[/bold] ({source.slug}, {source.kind}) created.")
    console.print("Write key (shown only now; store it safely):")
    typer.echo(key)


@commands.command("list")
def list_sources() -> None:
    """List sources with their keys (prefixes only), last use and revocation."""
    _setup_django()
    from tend.usage.models import Source, WriteKey

    table = Table(title="Sources")
    for column in ("Source", "Slug", "Kind", "Key prefix", "Created", "Last used", "Revoked"):
        table.add_column(column)
    for source in Source.objects.prefetch_related("write_keys").order_by("name"):
        keys: list[WriteKey | None] = [*source.write_keys.order_by("created_at")] or [None]
        for key in keys:
            table.add_row(
                source.name,
                source.slug,
                source.kind,
                f"{key.prefix}…" if key else "-",
                _when(key.created_at if key else None),
                _when(key.last_used_at if key else None),
                _when(key.revoked_at if key else None),
            )
    console.print(table)


@commands.command("revoke")
def revoke(
    prefix: Annotated[str, typer.Argument(help="The key's prefix (as listed) or the whole key.")],
) -> None:
    """Revoke a write key; requests with it are refused with 401 from now on."""
    _setup_django()
    from tend.usage.keys import WriteKeyNotFound, revoke_write_key

    try:
        key = revoke_write_key(prefix)
    except WriteKeyNotFound as error:
        console.print(f"[red]{error.args[0]}[/red]")
        raise typer.Exit(1) from None
    console.print(f"Revoked key {key.prefix}… of source {key.source.slug}.")


@commands.command("rejected")
def rejected(
    source: Annotated[str | None, typer.Option(help="Only this source (slug).")] = None,
    limit: Annotated[int, typer.Option(min=1, help="How many, newest first.")] = 20,
) -> None:
    """Show the newest rejected messages with their reasons."""
    _setup_django()
    from tend.usage.models import RejectedMessage

    rows = RejectedMessage.objects.select_related("source").order_by("-received_at", "-id")
    if source:
        rows = rows.filter(source__slug=source)
    table = Table(title="Rejected messages")
    for column in ("Received", "Source", "Endpoint", "Message id", "Code", "Reason", "Payload"):
        table.add_column(column, overflow="fold")
    for row in rows[:limit]:
        table.add_row(
            _when(row.received_at),
            row.source.slug if row.source else "-",
            row.endpoint,
            row.message_id or "-",
            row.code,
            row.reason,
            row.payload[:200],
        )
    console.print(table)


def _when(moment: object) -> str:
    return "-" if moment is None else str(moment).split(".")[0]

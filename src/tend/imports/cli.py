"""`tend import ENTITY FILE`: bulk import with a progress bar and a clear report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

console = Console()
SHOWN_ERRORS = 200


def parse_mapping(pairs: list[str]) -> dict[str, str]:
    """`their_column=our_field` pairs into a dict; a clear error for a malformed pair."""
    mapping: dict[str, str] = {}
    for pair in pairs:
        theirs, sep, ours = pair.partition("=")
        if not sep or not theirs.strip() or not ours.strip():
            raise typer.BadParameter(f"{pair!r} is not their_column=our_field", param_hint="--map")
        mapping[theirs.strip()] = ours.strip()
    return mapping


def import_command(
    entity: Annotated[
        str,
        typer.Argument(
            help="accounts, contacts, tickets, touchpoints, survey_responses or events."
        ),
    ],
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    map_: Annotated[
        list[str] | None,
        typer.Option("--map", help="Rename a column: their_column=our_field (repeatable)."),
    ] = None,
    file_format: Annotated[
        str | None, typer.Option("--format", help="csv, jsonl or parquet (default: by suffix).")
    ] = None,
    skip_invalid: Annotated[
        bool, typer.Option(help="Import the valid rows; write the bad ones to a rejects file.")
    ] = False,
    rejects: Annotated[
        Path | None, typer.Option(help="Where to write rejected rows (with --skip-invalid).")
    ] = None,
    source: Annotated[str, typer.Option(help="Source name stored on imported events.")] = "import",
) -> None:
    """Import a file of ENTITY rows, upserting by external id. Nothing is written if any row is
    bad, unless --skip-invalid."""
    from tend.cli import setup_django

    setup_django()
    from tend.imports.entities import ENTITIES
    from tend.imports.runner import count_rows_hint, import_file

    if entity not in ENTITIES:
        raise typer.BadParameter(
            f"unknown entity; use one of {', '.join(sorted(ENTITIES))}", param_hint="ENTITY"
        )
    mapping = parse_mapping(map_ or [])
    try:
        total = count_rows_hint(file, file_format)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--format") from error
    with Progress(
        TextColumn(f"[bold]Importing {entity}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        task = progress.add_task("rows", total=total)
        report = import_file(
            entity,
            file,
            file_format=file_format,
            mapping=mapping,
            skip_invalid=skip_invalid,
            event_source=source,
            rejects_path=rejects,
            advance=lambda n: progress.advance(task, n),
        )
    _print_report(report)
    if report.refused:
        raise typer.Exit(code=1)


def _print_report(report: object) -> None:
    from tend.imports.runner import ImportReport

    assert isinstance(report, ImportReport)
    rate = report.rows_read / report.seconds if report.seconds else 0.0
    if report.ignored_columns:
        console.print(f"Ignored columns: {', '.join(sorted(report.ignored_columns))}")
    if report.errors:
        table = Table(title=f"{len(report.errors)} error(s)")
        for column in ("row", "field", "error"):
            table.add_column(column)
        for error in report.errors[:SHOWN_ERRORS]:
            table.add_row(str(error.row), error.field, error.message)
        console.print(table)
        if len(report.errors) > SHOWN_ERRORS:
            console.print(f"… and {len(report.errors) - SHOWN_ERRORS} more.")
    if report.refused:
        console.print(
            f"[bold red]Refused:[/] nothing was written. Fix the rows above, or pass "
            f"--skip-invalid to import the {report.rows_read - report.rejected_rows} valid rows."
        )
        return
    console.print(
        f"[bold green]Imported[/] {report.entity}: {report.rows_read:,} rows read, "
        f"{report.created:,} created, {report.updated:,} updated, "
        f"{report.rejected_rows:,} rejected in {report.seconds:.1f} s ({rate:,.0f} rows/s)."
    )
    if report.rejects_path is not None:
        console.print(f"Rejected rows and their reasons: {report.rejects_path}")

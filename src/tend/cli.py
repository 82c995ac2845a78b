"""The `tend` command: demo, serve, worker, migrate and team management."""

from __future__ import annotations

import os
import resource
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

app = typer.Typer(help="Tend: an open-source customer success platform.", no_args_is_help=True)
demo_app = typer.Typer(help="The demo company: set up and serve it, or generate data.")
app.add_typer(demo_app, name="demo")
console = Console()


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tend.config.django_settings")
    import django

    django.setup()


def _migrate() -> None:
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)


def _collect_static() -> None:
    from django.core.management import call_command

    call_command("collectstatic", interactive=False, verbosity=0)


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )


def _peak_memory_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _parse_end(end: str | None) -> datetime | None:
    if end is None:
        return None
    return datetime.fromisoformat(end).replace(tzinfo=UTC)


@app.command()
def migrate() -> None:
    """Create or update the database tables."""
    setup_django()
    _migrate()
    console.print("Database is up to date.")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    worker: Annotated[bool, typer.Option(help="Run background jobs in this process.")] = True,
) -> None:
    """Serve the web app (uvicorn) with the job worker in the same process."""
    setup_django()
    from tend.config.server import serve as run_server
    from tend.config.settings import get_settings

    settings = get_settings()
    run_server(host or settings.host, port or settings.port, with_worker=worker)


@app.command()
def worker() -> None:
    """Run the background job worker alone (for a separate worker process)."""
    setup_django()
    from tend.config.server import run_worker

    run_worker()


@app.command("createuser")
def create_user(
    username: str,
    role: Annotated[str, typer.Option(help="admin, manager, csm or viewer.")] = "csm",
    password: Annotated[str, typer.Option(prompt=True, hide_input=True)] = "",
) -> None:
    """Add a team member."""
    setup_django()
    from tend.core.actions import create_team_member
    from tend.core.models import Role

    if role not in Role.values:
        raise typer.BadParameter(
            f"role must be one of {', '.join(Role.values)}", param_hint="--role"
        )
    create_team_member(username, role=role, password=password)
    console.print(f"Added {username} ({role}).")


@demo_app.callback(invoke_without_command=True)
def demo(
    ctx: typer.Context,
    reset: Annotated[bool, typer.Option(help="Delete all data and generate it anew.")] = False,
    serve_after: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Start the server.")
    ] = True,
    accounts: Annotated[int, typer.Option(help="Accounts in the demo company.")] = 500,
    months: Annotated[int, typer.Option(help="Months of history.")] = 24,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same data.")] = 7,
) -> None:
    """Set up the demo: migrate, generate the demo company unless data exists, then serve."""
    if ctx.invoked_subcommand is not None:
        return
    setup_django()
    from tend.config.settings import get_settings
    from tend.demo.database import demo_exists, wipe_database
    from tend.demo.generate import ADMIN_USERNAME, DEMO_PASSWORD

    settings = get_settings()
    console.print(f"Data directory: {settings.resolved_data_dir}")
    _migrate()
    _collect_static()
    if reset:
        wipe_database()
        console.print("Removed all data.")
    if demo_exists():
        console.print("Using the existing data (run `tend demo --reset` to start over).")
    else:
        _generate_into_database(accounts, months, seed, None, intensity=0.5)
        _prepare_analytics()
    console.print(
        f"\n[bold green]Tend demo:[/] http://{settings.host}:{settings.port}/  "
        f"login [bold]{ADMIN_USERNAME}[/] / [bold]{DEMO_PASSWORD}[/] "
        "(CSMs: maria, deniz, sara, tom, lina; same password)\n"
    )
    if serve_after:
        from tend.config.server import serve as run_server

        run_server(settings.host, settings.port, with_worker=True)


DEMO_SCORE_DAYS = 35
"""Days of health history the demo scores at setup (enough for 7- and 30-day changes)."""


def _prepare_analytics() -> None:
    """Roll up the demo's events and compute every KPI, so the first page has numbers."""
    from datetime import UTC, datetime, timedelta

    from tend.config.settings import get_settings
    from tend.metrics.queries import earliest_activity
    from tend.metrics.run import recompute
    from tend.usage.rollups import pending_events, run_rollup

    settings = get_settings()
    with _progress() as progress:
        task = progress.add_task("Rolling up usage", total=pending_events())
        run_rollup(on_batch=lambda events: progress.advance(task, events))
    today = datetime.now(UTC).date()
    with console.status("Computing KPIs…") as status:
        report = recompute(
            settings.analytics_engine,
            earliest_activity() or today,
            today,
            settings.reporting_currency,
            full=True,
            progress=lambda name: status.update(f"Computing KPIs: {name}…"),
        )
    console.print(f"Computed {report.rows:,} KPI values.")
    from tend.health.engine import history_days, score_days

    days = history_days(today - timedelta(days=DEMO_SCORE_DAYS - 1), today)
    with console.status(f"Scoring health for the last {DEMO_SCORE_DAYS} days…"):
        scored = score_days(days)
    console.print(f"Stored {scored.rows:,} health snapshots.")
    from tend.health.list_actions import refresh_lists

    with console.status("Computing the health lists…"):
        refreshed = refresh_lists()
    console.print(f"Stored {len(refreshed.runs)} health lists in {refreshed.seconds:.1f} s.")
    from tend.demo.tasks import create_demo_tasks

    console.print(f"Created {create_demo_tasks(today):,} CSM tasks.")


@demo_app.command("generate")
def demo_generate(
    accounts: Annotated[int, typer.Option(help="Accounts in the demo company.")] = 500,
    months: Annotated[int, typer.Option(help="Months of history.")] = 24,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same data.")] = 7,
    parquet: Annotated[
        Path | None, typer.Option(help="Write Parquet files to this folder instead of the DB.")
    ] = None,
    intensity: Annotated[
        float, typer.Option(help="Events per session multiplier (tracking granularity).")
    ] = 0.5,
    end: Annotated[
        str | None, typer.Option(help="Last day of history, YYYY-MM-DD (default: today).")
    ] = None,
) -> None:
    """Generate the demo company into the database (which must be empty) or as Parquet."""
    if parquet is None:
        setup_django()
        _migrate()
        from tend.demo.database import demo_exists

        if demo_exists():
            raise typer.BadParameter(
                "the database already holds accounts; run `tend demo --reset --no-serve` first",
                param_hint="--parquet",
            )
    _generate_into_database(accounts, months, seed, parquet, intensity, _parse_end(end))


def _generate_into_database(
    accounts: int,
    months: int,
    seed: int,
    parquet: Path | None,
    intensity: float,
    end: datetime | None = None,
) -> None:
    from tend.demo.generate import DemoConfig, generate_company

    started = time.perf_counter()
    config = DemoConfig(accounts=accounts, months=months, seed=seed, intensity=intensity, end=end)
    with _progress() as progress:
        task = progress.add_task("Simulating accounts", total=accounts)
        company = generate_company(config, lambda n: progress.advance(task, n))
        simulated = time.perf_counter() - started
        task = progress.add_task(
            "Writing events" + (f" to {parquet}" if parquet else " to the database"), total=accounts
        )
        if parquet is None:
            from tend.demo.database import write_company

            events = write_company(company, lambda n: progress.advance(task, n))
        else:
            from tend.demo.parquet import write_parquet

            events = write_parquet(company, parquet, lambda n: progress.advance(task, n))
    elapsed = time.perf_counter() - started
    table = Table(title="Demo company", show_header=True)
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, count in {**company.counts(), "events": events}.items():
        table.add_row(name, f"{count:,}")
    console.print(table)
    console.print(
        f"Generated in {elapsed:.1f} s (simulation {simulated:.1f} s), "
        f"peak memory {_peak_memory_mb():.0f} MB, history {company.start:%Y-%m-%d} to "
        f"{company.end:%Y-%m-%d}."
    )


def _register_domain_commands() -> None:
    """Commands whose bodies live in their domain's `cli.py`."""
    from tend.core.cli import commands as token_commands
    from tend.health.cli import lists_command, score_command, scorecard_commands
    from tend.imports.cli import import_command
    from tend.metrics.cli import cohorts_command, kpi_command, metrics_command
    from tend.usage.cli import commands as source_commands
    from tend.usage.inbox_cli import commands as inbox_commands
    from tend.usage.rollup_cli import commands as rollup_commands

    app.command("import")(import_command)
    app.command("kpi")(kpi_command)
    app.command("metrics")(metrics_command)
    app.command("cohorts")(cohorts_command)
    app.command("score")(score_command)
    app.command("lists")(lists_command)
    app.add_typer(scorecard_commands, name="scorecard")
    app.add_typer(token_commands, name="token", callback=setup_django)
    app.add_typer(rollup_commands, name="rollup")
    app.add_typer(source_commands, name="source", callback=setup_django)
    app.add_typer(inbox_commands, name="ingest")


_register_domain_commands()


def main() -> None:
    app()


if __name__ == "__main__":
    main()

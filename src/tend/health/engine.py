"""Scoring runs: measures from the metrics engine's inputs, scores per scorecard version,
snapshots stored and signals recorded. Used by `tend score`, the freshness job and backfills."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import pyarrow as pa
import pyarrow.compute as pc

from tend.health import actions, queries
from tend.health.measures import measure_values
from tend.health.models import ScorecardVersion
from tend.health.scorecard import ScorecardConfig
from tend.health.scoring import assign_scorecards, lookup_days, score
from tend.metrics.inputs import Inputs, duckdb_inputs

DAYS_PER_BLOCK = 31
"""Days scored at once: bounds memory (measure values grow with accounts x days)."""

Progress = Callable[[int], None]


@dataclass
class ScoringReport:
    """What one scoring run did, with where its time went."""

    days: int = 0
    accounts: int = 0
    rows: int = 0
    signals: int = 0
    load_seconds: float = 0.0
    measure_seconds: float = 0.0
    score_seconds: float = 0.0
    store_seconds: float = 0.0
    versions: list[str] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return self.load_seconds + self.measure_seconds + self.score_seconds + self.store_seconds


def load_inputs(accounts: Sequence[str] | None = None) -> Inputs:
    """The app database's data on DuckDB (all accounts, or only those given)."""
    from tend.metrics.load import read_app_tables

    return duckdb_inputs(read_app_tables(accounts=accounts))


def score_days(
    days: Sequence[date],
    inputs: Inputs | None = None,
    only_accounts: Sequence[str] | None = None,
    progress: Progress | None = None,
) -> ScoringReport:
    """Score every account (or `only_accounts`) on `days` with the scorecard that applies to it,
    store the snapshots (replacing those days) and record band changes and drops."""
    report = ScoringReport(days=len(days))
    if not days:
        return report
    actions.ensure_default_scorecard()
    started = time.perf_counter()
    if inputs is None:
        inputs = load_inputs(only_accounts)
    report.load_seconds = time.perf_counter() - started
    accounts = inputs.con.to_pyarrow(inputs.accounts)
    if only_accounts is not None:
        accounts = accounts.filter(
            pc.is_in(accounts["account"], pa.array(sorted(set(only_accounts)), pa.string()))
        )
    report.accounts = accounts.num_rows
    versions = queries.active_versions()
    for version, assigned in assign_scorecards(versions, accounts).items():
        if assigned.num_rows == 0:
            continue
        report.versions.append(str(version))
        config = versions[version]
        for start in range(0, len(days), DAYS_PER_BLOCK):
            block = sorted(days)[start : start + DAYS_PER_BLOCK]
            _score_block(version, config, inputs, assigned, block, report)
            if progress is not None:
                progress(len(block))
    return report


def _score_block(
    version: ScorecardVersion,
    config: ScorecardConfig,
    inputs: Inputs,
    accounts: pa.Table,
    days: list[date],
    report: ScoringReport,
) -> None:
    clock = time.perf_counter()
    values = measure_values(inputs, lookup_days(config, days), config.metrics())
    report.measure_seconds += time.perf_counter() - clock
    clock = time.perf_counter()
    overrides = queries.override_table(accounts["account"].to_pylist())
    table = score(config, values, accounts, days, overrides)
    report.score_seconds += time.perf_counter() - clock
    clock = time.perf_counter()
    report.rows += actions.store_health_snapshots(version, table)
    report.signals += actions.record_signals(version, days)
    report.store_seconds += time.perf_counter() - clock


def today() -> date:
    return datetime.now(UTC).date()


def history_days(first: date, last: date) -> list[date]:
    """Every day from first to last inclusive."""
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]

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
from tend.health.churn_scoring import store_churn_predictions
from tend.health.measures import measure_values
from tend.health.models import ScorecardVersion
from tend.health.scorecard import Percentile, ScorecardConfig
from tend.health.scoring import assign_scorecards, lookup_days, score
from tend.metrics.inputs import Inputs, duckdb_inputs

DAYS_PER_BLOCK = 31
"""Fewest days scored at once (a block then holds the 30 days the next one's changes need)."""
ACCOUNT_DAYS_PER_BLOCK = 250_000
"""Account-days scored at once: bounds memory (measure values grow with accounts x days) while
few accounts get long blocks (each block pays the measures' fixed cost of building its query)."""


def days_per_block(accounts: int) -> int:
    return max(DAYS_PER_BLOCK, ACCOUNT_DAYS_PER_BLOCK // max(accounts, 1))


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
    predict_seconds: float = 0.0
    versions: list[str] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return (
            self.load_seconds
            + self.measure_seconds
            + self.score_seconds
            + self.store_seconds
            + self.predict_seconds
        )


def load_inputs(accounts: Sequence[str] | None = None) -> Inputs:
    """The app database's data on DuckDB (all accounts, or only those given)."""
    from tend.metrics.load import read_app_tables

    return duckdb_inputs(read_app_tables(accounts=accounts))


def score_days(
    days: Sequence[date],
    inputs: Inputs | None = None,
    only_accounts: Sequence[str] | None = None,
    progress: Progress | None = None,
    only_versions: Sequence[ScorecardVersion] | None = None,
) -> ScoringReport:
    """Score every account on `days` with the scorecard that applies to it, store the
    snapshots (replacing those days), record band changes and drops, and store churn
    probabilities when a churn model was trained. `only_accounts` limits what is read and
    scored (percentiles then rank among those accounts only: for tests and tools; the
    freshness loop uses `rescore_accounts`); `only_versions` limits the scorecards."""
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
        if assigned.num_rows == 0 or (only_versions is not None and version not in only_versions):
            continue
        report.versions.append(str(version))
        config = versions[version]
        previous = None
        size = days_per_block(assigned.num_rows)
        for start in range(0, len(days), size):
            block = sorted(days)[start : start + size]
            previous = _score_block(version, config, inputs, assigned, block, report, previous)
            if progress is not None:
                progress(len(block))
    return report


def backfill_version(
    version: ScorecardVersion,
    days: Sequence[date],
    inputs: Inputs | None = None,
    progress: Progress | None = None,
) -> ScoringReport:
    """Score `days` (each as of that day) with `version` for the accounts its scorecard applies
    to now, replacing the version's snapshots of those days: the history of a new or edited
    scorecard. Other versions' snapshots are untouched."""
    report = ScoringReport(days=len(days))
    if not days:
        return report
    started = time.perf_counter()
    inputs = inputs if inputs is not None else load_inputs()
    report.load_seconds = time.perf_counter() - started
    versions = queries.active_versions()
    config = versions.get(version)
    if config is None:  # an older version or an inactive scorecard: score it alone
        config = queries.version_config(version)
        versions = {version: config}
    accounts = assign_scorecards(versions, inputs.con.to_pyarrow(inputs.accounts))[version]
    report.accounts = accounts.num_rows
    report.versions.append(str(version))
    if accounts.num_rows == 0:
        return report
    previous = None
    size = days_per_block(accounts.num_rows)
    for start in range(0, len(days), size):
        block = sorted(days)[start : start + size]
        previous = _score_block(version, config, inputs, accounts, block, report, previous)
        if progress is not None:
            progress(len(block))
    return report


def rescore_accounts(day: date, only_accounts: Sequence[str]) -> ScoringReport:
    """Re-score `only_accounts` on `day`, reading only their data: what the freshness loop runs
    when some accounts' inputs change. Percentile measures rank them among the other accounts'
    values stored for that day. A version that has no stored snapshots of `day` yet, or that
    bands by quantiles (a band depends on every account's score), is scored whole instead."""
    report = ScoringReport(days=1)
    if not only_accounts:
        return report
    actions.ensure_default_scorecard()
    started = time.perf_counter()
    inputs = load_inputs(sorted(set(only_accounts)))
    report.load_seconds = time.perf_counter() - started
    accounts = inputs.con.to_pyarrow(inputs.accounts)
    report.accounts = accounts.num_rows
    versions = queries.active_versions()
    whole: list[ScorecardVersion] = []
    for version, assigned in assign_scorecards(versions, accounts).items():
        if assigned.num_rows == 0:
            continue
        config = versions[version]
        if config.bands.method == "quantiles" or not queries.has_snapshots(version, day):
            whole.append(version)
            continue
        report.versions.append(str(version))
        peers = _peer_values(version, config, day, assigned["account"].to_pylist())
        _score_block(version, config, inputs, assigned, [day], report, peers=peers, partial=True)
    if whole:
        full = score_days([day], only_versions=whole)
        report.rows += full.rows
        report.signals += full.signals
        report.versions += full.versions
    return report


def _peer_values(
    version: ScorecardVersion, config: ScorecardConfig, day: date, scored: list[str]
) -> pa.Table | None:
    """The stored raw values on `day` of the version's percentile measures for the accounts
    other than `scored`, as measure-value rows (None without percentile measures)."""
    metrics = {
        measure.name: measure.metric
        for _, measure in config.measures
        if isinstance(measure.normalisation, Percentile)
    }
    if not metrics:
        return None
    return queries.stored_raw_values(version, day, metrics, exclude=scored)


def _score_block(
    version: ScorecardVersion,
    config: ScorecardConfig,
    inputs: Inputs,
    accounts: pa.Table,
    days: list[date],
    report: ScoringReport,
    earlier: pa.Table | None = None,
    peers: pa.Table | None = None,
    partial: bool = False,
) -> pa.Table:
    """Score and store one block of days; returns the scored rows (the `earlier` of the next
    block: the 7- and 30-day changes then need no stored snapshots read back). With `peers`
    (other accounts' measure values), the accounts are ranked among them too; when `partial`,
    only the accounts' own snapshots of those days are replaced (else the whole days)."""
    clock = time.perf_counter()
    values = measure_values(inputs, lookup_days(config, days), config.metrics())
    report.measure_seconds += time.perf_counter() - clock
    clock = time.perf_counter()
    names = accounts["account"].to_pylist()
    overrides = queries.override_table(names)
    ranked = accounts
    if peers is not None and peers.num_rows:
        values = pa.concat_tables([values, peers.cast(values.schema)])
        others = pc.unique(peers["account"]).cast(pa.string())
        ranked = pa.concat_tables(
            [accounts, pa.table({"account": others})], promote_options="permissive"
        )
    table = score(config, values, ranked, days, overrides)
    if ranked is not accounts:
        table = table.filter(pc.is_in(table["account"], value_set=pa.array(names, pa.string())))
    report.score_seconds += time.perf_counter() - clock
    clock = time.perf_counter()
    only = names if partial else None
    report.rows += actions.store_health_snapshots(
        version, table, only_accounts=only, earlier=earlier
    )
    stored_now = table.select(["account", "day", "score", "band"])
    if earlier is not None:
        stored_now = pa.concat_tables([earlier.select(stored_now.column_names), stored_now])
    report.signals += actions.record_signals(
        version, days, only_accounts=only, stored_now=None if partial else stored_now
    )
    report.store_seconds += time.perf_counter() - clock
    clock = time.perf_counter()
    report.signals += store_churn_predictions(inputs, values, table, days)
    report.predict_seconds += time.perf_counter() - clock
    return table


def today() -> date:
    return datetime.now(UTC).date()


def history_days(first: date, last: date) -> list[date]:
    """Every day from first to last inclusive."""
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]

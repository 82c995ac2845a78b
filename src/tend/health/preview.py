"""Preview an unsaved scorecard: today's distribution of scores and bands over the accounts it
would apply to, and its backtest (health.md "Scores that predict": shown next to the scorecard
before it is saved), side by side with the saved version it would replace.

Nothing is stored. The preview re-normalises and re-weights the raw measure values stored in
the health snapshots (`preview_raws`): only a measure no snapshot holds is computed from the app
data, for the accounts and days it is missing on. The backtest scores a deterministic sample
of accounts and weekly days (`preview_state`), so the first preview costs about the same on a
big book as on a small one; what is read is kept per process (`STALE_OK_SECONDS`) and an
edited weight or band is scored again in well under a second.

`loaded_data` and `values_for` (all app data on DuckDB, measures computed from it) serve the
health lists.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from django.db import connection
from django.db.models import Max

from tend.billing.models import Invoice, Subscription, SubscriptionItem
from tend.customers.models import Account
from tend.health import queries
from tend.health.backtest import BacktestResult, backtest
from tend.health.labels import DEFAULT_HORIZON_DAYS, churn_labels
from tend.health.measures import measure_values
from tend.health.models import HealthSnapshot, Scorecard
from tend.health.prediction import weekly_days
from tend.health.preview_raws import Frame, raw_config, raw_key, raw_keys
from tend.health.preview_state import (
    BACKTEST_ACCOUNTS,
    BACKTEST_WEEKS_APART,
    PreviewState,
    latest_stored_day,
    new_state,
    sampled,
)
from tend.health.scorecard import ScorecardConfig, Trend
from tend.health.scoring import assign_scorecards, score
from tend.metrics.inputs import SCHEMAS, Inputs, duckdb_inputs
from tend.support.models import Ticket, Touchpoint
from tend.surveys.models import SurveyResponse
from tend.usage.models import UsageRollup

HISTOGRAM_BINS = 10
"""Score bins of 10 points: 0-10, 10-20, … 90-100 (100 falls in the last)."""
CACHE_SECONDS = 600.0
"""How long the loaded data is reused at most, even when the stamp does not change."""
STALE_OK_SECONDS = 120.0
"""How long the loaded data is reused even though the data changed since: with events streaming
in, the stamp changes every few seconds, and reloading everything for each page would make the
lists and the preview unusable on a big book. Pages show when their data was loaded."""
EDITED = "edited"


@dataclass(frozen=True)
class BandShare:
    """How many of the accounts scored fall in one band."""

    name: str
    colour: str
    accounts: int
    share: float | None


@dataclass(frozen=True)
class ScoreDistribution:
    """One day's computed scores (no overrides) under one config."""

    day: date
    accounts: int
    scored: int
    bands: list[BandShare]
    histogram: list[int]
    mean: float | None

    @property
    def unscored(self) -> int:
        return self.accounts - self.scored


@dataclass(frozen=True)
class ScorecardPreview:
    """The edited config's figures beside those of the saved version (None for a new one)."""

    edited: ScoreDistribution
    saved: ScoreDistribution | None
    edited_backtest: BacktestResult | None
    saved_backtest: BacktestResult | None
    backtest_days: int
    seconds: float
    data_loaded_at: datetime
    sample: BacktestSample | None = None
    sources: RawSources | None = None


@dataclass(frozen=True)
class BacktestSample:
    """What the backtest scored: `accounts` of the `of_accounts` the edited scorecard applies
    to, on `days` of the `of_days` weekly labelled days (every `weeks_apart`-th)."""

    accounts: int
    of_accounts: int
    days: int
    of_days: int
    weeks_apart: int

    @property
    def is_sample(self) -> bool:
        return self.accounts < self.of_accounts or self.days < self.of_days


@dataclass(frozen=True)
class RawSources:
    """Where the raw values scored came from: cells read from stored snapshots and cells
    computed from the app data, and the measures of the edit no snapshot stores."""

    stored_cells: int
    computed_cells: int
    not_stored: list[str]


@dataclass
class PreviewData:
    """App data on DuckDB with what was computed from it so far."""

    stamp: tuple[Any, ...]
    loaded_at: float
    loaded_at_utc: datetime
    inputs: Inputs
    accounts: pa.Table
    weekly: list[date]
    labels: pa.Table
    values: dict[tuple[str, int, date], pa.Table] = field(default_factory=dict)


_lock = threading.Lock()
_cached: PreviewData | None = None


def clear_cache() -> None:
    """Forget the loaded data (tests, or after a bulk import)."""
    global _cached, _state
    with _lock:
        _cached = None
    with _state_lock:
        _state = None


def data_stamp() -> tuple[Any, ...]:
    """Changes whenever the data the measures read changes (a new or edited row): the newest
    row id of each input table and the latest edit of the tables whose rows are edited."""
    stamp: list[Any] = [connection.alias, connection.settings_dict.get("NAME")]
    for model in (SubscriptionItem, UsageRollup, Touchpoint, SurveyResponse):
        stamp.append(model.objects.aggregate(last=Max("pk"))["last"])
    for edited in (Account, Subscription, Invoice, Ticket):
        stamp.append(
            tuple(edited.objects.aggregate(last=Max("pk"), edit=Max("updated_at")).values())
        )
    return tuple(stamp)


def health_inputs() -> Inputs:
    """The app data measures and churn labels read, on DuckDB. Product performance (page-load
    times from raw events, the slowest read) is left empty: no health measure reads it."""
    from tend.metrics import load

    tables = {
        "accounts": load.read_accounts(),
        "contacts": load.read_contacts(),
        "subscriptions": load.read_subscriptions(),
        "subscription_items": load.read_subscription_items(),
        "invoices": load.read_invoices(),
        "tickets": load.read_tickets(),
        "touchpoints": load.read_touchpoints(),
        "survey_responses": load.read_survey_responses(),
        "usage_daily": load.read_usage_daily(),
        "performance_daily": SCHEMAS["performance_daily"].empty_table(),
        "exchange_rates": load.read_exchange_rates(),
    }
    return duckdb_inputs(tables)


def _data(horizon_days: int) -> PreviewData:
    global _cached
    stamp = (*data_stamp(), horizon_days)
    now = time.monotonic()
    cached = _cached
    same_database = cached is not None and cached.stamp[:2] == stamp[:2]
    if cached is not None and same_database and cached.stamp[-1] == horizon_days:
        age = now - cached.loaded_at
        if age < STALE_OK_SECONDS or (cached.stamp == stamp and age < CACHE_SECONDS):
            return cached
    inputs = health_inputs()
    weekly = weekly_days(inputs, horizon_days)
    labels = churn_labels(inputs, weekly, horizon_days)
    accounts = inputs.con.to_pyarrow(inputs.accounts)
    _cached = PreviewData(stamp, now, datetime.now(UTC), inputs, accounts, weekly, labels)
    return _cached


@contextmanager
def loaded_data(horizon_days: int = DEFAULT_HORIZON_DAYS) -> Iterator[PreviewData]:
    """The app data on DuckDB (loaded once, reused while it is unchanged), held for the caller
    alone: the DuckDB connection serves one request at a time. The health lists use it too."""
    with _lock:
        yield _data(horizon_days)


def metric_weeks(config: ScorecardConfig) -> dict[str, int]:
    """Each metric the config reads with the most weeks a trend over it looks back (0: none)."""
    weeks: dict[str, int] = {}
    for _, measure in config.measures:
        norm = measure.normalisation
        needed = norm.weeks if isinstance(norm, Trend) else 0
        weeks[measure.metric] = max(weeks.get(measure.metric, 0), needed)
    return weeks


def _lookup(days: Sequence[date], weeks: int) -> list[date]:
    return sorted({day - timedelta(days=7 * k) for day in days for k in range(weeks + 1)})


def values_for(data: PreviewData, configs: Sequence[ScorecardConfig], day: date) -> pa.Table:
    """Measure values of every metric the configs read, on the days their scores need (today's
    day and the weekly backtest days, with trend look-backs), computed once per metric."""
    wanted: dict[str, int] = {}
    for config in configs:
        for metric, weeks in metric_weeks(config).items():
            wanted[metric] = max(wanted.get(metric, 0), weeks)
    missing: dict[int, list[str]] = {}
    for metric, weeks in wanted.items():
        if (metric, weeks, day) not in data.values:
            missing.setdefault(weeks, []).append(metric)
    for weeks, metrics in missing.items():
        table = measure_values(data.inputs, _lookup([*data.weekly, day], weeks), metrics)
        for metric in metrics:
            data.values[(metric, weeks, day)] = table.filter(pc.equal(table["measure"], metric))
    parts = [data.values[(metric, weeks, day)] for metric, weeks in wanted.items()]
    return pa.concat_tables(parts) if parts else pa.table({})


def _assigned(
    config: ScorecardConfig, scorecard: Scorecard | None, accounts: pa.Table
) -> tuple[pa.Table, pa.Table | None]:
    """The accounts the edited config would score (with the other active scorecards as they
    are) and those the saved version scores now (None for a new scorecard)."""
    current = queries.active_versions()
    saved_key = next(
        (v for v in current if scorecard is not None and v.scorecard_id == scorecard.pk), None
    )
    saved = assign_scorecards(current, accounts)[saved_key] if saved_key is not None else None
    others: dict[Any, ScorecardConfig] = {
        version.pk: other.model_copy(update={"is_default": False}) if config.is_default else other
        for version, other in current.items()
        if version != saved_key
    }
    edited = assign_scorecards({**others, EDITED: config}, accounts)[EDITED]
    return edited, saved


def distribution(config: ScorecardConfig, scores: pa.Table, day: date) -> ScoreDistribution:
    """Band counts, a 10-point histogram and the mean of the computed scores of `day`."""
    rows = scores.filter(pc.equal(scores["day"], pa.scalar(day, pa.date32())))
    values = np.asarray(rows["computed_score"].to_numpy(zero_copy_only=False), dtype=float)
    present = values[~np.isnan(values)]
    bands = rows["computed_band"].to_pylist()
    counts = {band.name: 0 for band in config.bands.levels}
    for band in bands:
        if band is not None:
            counts[band] = counts.get(band, 0) + 1
    histogram = np.histogram(np.clip(present, 0, 100), bins=HISTOGRAM_BINS, range=(0, 100))[0]
    return ScoreDistribution(
        day=day,
        accounts=rows.num_rows,
        scored=int(present.size),
        bands=[
            BandShare(
                band.name,
                band.colour,
                counts[band.name],
                counts[band.name] / present.size if present.size else None,
            )
            for band in reversed(config.bands.levels)
        ],
        histogram=[int(n) for n in histogram],
        mean=float(present.mean()) if present.size else None,
    )


def red_bands(config: ScorecardConfig) -> list[str]:
    """The bands the backtest treats as "red": those coloured red, else the bottom band."""
    named = [band.name for band in config.bands.levels if band.colour == "red"]
    return named or [config.bands.levels[0].name]


def _scores(
    config: ScorecardConfig, frame: Frame, accounts: pa.Table, all_accounts: bool
) -> pa.Table:
    """The config's computed scores over the frame's days, from raw values."""
    keys = raw_keys(config)
    frame.ensure(accounts, keys, all_accounts)
    values = frame.table(accounts["account"].to_pylist(), keys)
    return score(raw_config(config), values, accounts, frame.days)


def _evaluate(
    config: ScorecardConfig, accounts: pa.Table, state: PreviewState, day: date
) -> tuple[ScoreDistribution, BacktestResult | None]:
    today = _scores(config, state.frame_of(day), accounts, all_accounts=True)
    result = None
    if state.history.days and accounts.num_rows:
        sample = sampled(accounts)
        history = _scores(config, state.history, sample, all_accounts=False)
        result = backtest(
            history,  # scored without overrides: the computed scores
            state.labels_for(sample["account"].to_pylist()),
            state.horizon_days,
            red_bands=red_bands(config),
        )
    return distribution(config, today, day), result


def _not_stored(config: ScorecardConfig, state: PreviewState, day: date) -> list[str]:
    """The edit's measures whose raw values no snapshot of the day shown holds."""
    frame = state.frame_of(day)
    names = []
    for _, measure in config.measures:
        key = raw_key(measure.metric, measure.normalisation)
        if key not in frame.stored_keys:
            names.append(measure.name)
    return names


_state_lock = threading.Lock()
_state: PreviewState | None = None


def _preview_state(horizon_days: int) -> PreviewState:
    global _state
    stamp = (*data_stamp(), HealthSnapshot.objects.aggregate(last=Max("pk"))["last"])
    now = time.monotonic()
    state = _state
    if state is not None and state.stamp[:2] == stamp[:2] and state.horizon_days == horizon_days:
        age = now - state.loaded_at
        if age < STALE_OK_SECONDS or (state.stamp == stamp and age < CACHE_SECONDS):
            return state
    _state = new_state(stamp, now, horizon_days)
    return _state


def preview_scorecard(
    config: ScorecardConfig,
    scorecard: Scorecard | None = None,
    day: date | None = None,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
) -> ScorecardPreview:
    """Score `config` (unsaved) on `day` (default: today, UTC, or the latest day with stored
    snapshots when today has none yet) for the accounts it would apply to, and backtest it on
    a sample of weekly past days; the same for `scorecard`'s saved latest version."""
    started = time.perf_counter()
    moment = day or latest_stored_day(datetime.now(UTC).date())
    with _state_lock:
        state = _preview_state(horizon_days)
        edited_accounts, saved_accounts = _assigned(config, scorecard, state.accounts)
        saved_version = queries.latest_version(scorecard) if scorecard is not None else None
        saved_config = queries.version_config(saved_version) if saved_version else None
        edited, edited_backtest = _evaluate(config, edited_accounts, state, moment)
        saved = saved_backtest = None
        if saved_config is not None and saved_accounts is not None:
            saved, saved_backtest = _evaluate(saved_config, saved_accounts, state, moment)
        frames = [state.frame_of(moment), state.history]
        return ScorecardPreview(
            edited=edited,
            saved=saved,
            edited_backtest=edited_backtest,
            saved_backtest=saved_backtest,
            backtest_days=len(state.history.days),
            seconds=time.perf_counter() - started,
            data_loaded_at=state.loaded_at_utc,
            sample=BacktestSample(
                accounts=min(edited_accounts.num_rows, BACKTEST_ACCOUNTS),
                of_accounts=edited_accounts.num_rows,
                days=len(state.history.days),
                of_days=len(state.weekly),
                weeks_apart=BACKTEST_WEEKS_APART,
            ),
            sources=RawSources(
                stored_cells=sum(f.stored_cells for f in frames),
                computed_cells=sum(f.computed_cells for f in frames),
                not_stored=_not_stored(config, state, moment),
            ),
        )

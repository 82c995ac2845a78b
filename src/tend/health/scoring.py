"""The scoring engine: a scorecard version applied to measure values, vectorised (pure).

Values are laid out on a grid of accounts x days (numpy), so a whole backfill is a few array
operations per measure, not a loop per account. How a score is built (health.md):

- each measure's raw value is normalised to 0-100 (`normalise.py`); a missing one is excluded,
  scored 50 (`neutral`) or replaced by a stated raw value (`value`) before normalising;
- `weighted_mean` groups average their present measures by weight; `min`/`max` groups take the
  lowest/highest measure score, and that measure (the first in config order on ties) carries
  the group's whole weight while the others' weight and contribution are 0;
- the score is the weighted mean of the present groups;
- effective weight = (group weight / sum of present group weights) x (the measure's share in its
  group), contribution = normalised x effective weight, and the score is defined as the sum of
  the contributions, so they add up to it exactly;
- coverage = the share of the nominal weight (all measures present) whose raw value is present;
- a trend measure's raw value is the relative weekly slope of its values at D, D-7, ... (the
  caller provides those days: `lookup_days`); see `normalise.WeeklySlope`;
- CSM overrides (`bands.apply_overrides`) set the final score or band; the computed ones stay.

An account is scored on a day from its `signed_up_at` day (when given) until the day before its
`churned_at` day (when given). `accounts` follows `tend.metrics.inputs.SCHEMAS["accounts"]`;
only `account` is required.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tend.health.bands import apply_overrides, band_codes
from tend.health.normalise import WeeklySlope, normalise
from tend.health.score_changes import CHANGE_FIELDS, add_changes
from tend.health.scorecard import (
    NEUTRAL_SCORE,
    SCALE_MAX,
    SCALE_MIN,
    Group,
    Measure,
    ScorecardConfig,
    Trend,
)

Key = TypeVar("Key", bound=Hashable)
EPOCH = date(1970, 1, 1)
BLOCK_CELLS = 1 << 18
"""Account-days scored at once: blocks of days keep the working arrays in cache-sized pieces."""

CORE_FIELDS = [
    pa.field("account", pa.string()),
    pa.field("day", pa.date32()),
    pa.field("score", pa.float64()),
    pa.field("computed_score", pa.float64()),
    pa.field("band", pa.string()),
    pa.field("computed_band", pa.string()),
    pa.field("coverage", pa.float64()),
    pa.field("overridden", pa.bool_()),
]
MEASURE_PARTS = ("raw", "normalised", "weight", "contribution")


def result_schema(config: ScorecardConfig) -> pa.Schema:
    """The columns of `score`'s result: the core ones, then `group:<group>` per group, then
    `raw:`, `normalised:`, `weight:` and `contribution:<measure>` per measure (raw null =
    missing; weight and contribution 0 when excluded), then the changes (`score_changes.py`)."""
    fields = list(CORE_FIELDS)
    fields += [pa.field(f"group:{group.name}", pa.float64()) for group in config.groups]
    for part in MEASURE_PARTS:
        fields += [pa.field(f"{part}:{m.name}", pa.float64()) for _, m in config.measures]
    return pa.schema(fields + CHANGE_FIELDS)


def as_config(version_config: ScorecardConfig | Mapping[str, Any]) -> ScorecardConfig:
    if isinstance(version_config, ScorecardConfig):
        return version_config
    return ScorecardConfig.model_validate(version_config)


def lookup_days(
    version_config: ScorecardConfig | Mapping[str, Any], days: Sequence[date]
) -> list[date]:
    """The days `measure_values` must cover to score `days`: those and, for trend measures,
    each of them minus 7, 14, … days."""
    weeks = as_config(version_config).trend_weeks()
    wanted = {day - timedelta(days=7 * k) for day in days for k in range(weeks + 1)}
    return sorted(wanted)


def score(
    version_config: ScorecardConfig | Mapping[str, Any],
    measure_values: pa.Table,
    accounts: pa.Table,
    days: Sequence[date],
    overrides: pa.Table | None = None,
) -> pa.Table:
    """One row per account (of `accounts`) and day (of `days`) on which it is scored, in
    `result_schema` columns, ordered by day blocks (each by account, then day).
    `measure_values` has columns `account, day, measure, value` (null value = missing; plain or
    dictionary-encoded text); `overrides` the rows of `queries.override_table` (see
    `bands.apply_overrides`). Percentiles and quantile bands rank among all of `accounts`
    scored that day: pass only the accounts the scorecard applies to (`assign_scorecards`)."""
    config = as_config(version_config)
    schema = result_schema(config)
    account_ids = accounts["account"].to_pylist()
    if len(set(account_ids)) != len(account_ids):
        raise ValueError("accounts must list each account once")
    day_numbers = np.unique(np.asarray([(d - EPOCH).days for d in days], dtype=np.int64))
    if not account_ids or day_numbers.size == 0:
        return schema.empty_table()
    alive = _alive(accounts, day_numbers)
    offsets = [7 * k for k in range(config.trend_weeks() + 1)]
    lookup = np.unique(np.concatenate([day_numbers - offset for offset in offsets]))
    cube = _value_cube(measure_values, config.metrics(), account_ids, lookup)
    account_column = accounts["account"].combine_chunks()
    block = max(1, BLOCK_CELLS // len(account_ids))
    parts = []
    for start in range(0, day_numbers.size, block):
        grid = Grid(
            account_column, day_numbers[start : start + block], alive[:, start : start + block]
        )
        parts.append(_score_block(config, schema, grid, cube, lookup, overrides))
    return add_changes(pa.concat_tables(parts))


@dataclass(frozen=True)
class Grid:
    """A block of the accounts x days grid being scored."""

    accounts: pa.Array
    days: np.ndarray
    alive: np.ndarray


def _score_block(
    config: ScorecardConfig,
    schema: pa.Schema,
    grid: Grid,
    cube: np.ndarray,
    lookup: np.ndarray,
    overrides: pa.Table | None,
) -> pa.Table:
    raws, normalised = _normalised_measures(config, cube, lookup, grid)
    shares, group_scores = _shares(config, normalised)
    computed = np.zeros(grid.alive.shape)
    contributions = []
    for share, scores in zip(shares, normalised, strict=True):
        contribution = share * np.nan_to_num(scores)
        computed += contribution
        contributions.append(contribution)
    # Float rounding may leave a sum a hair outside the scale (1e-14); the clip never moves it
    # further, so the contributions still add up to the score.
    computed = np.clip(computed, SCALE_MIN, SCALE_MAX)
    unscored = np.ones(grid.alive.shape, dtype=bool)
    for group_score in group_scores:
        unscored &= np.isnan(group_score)
    computed[unscored] = np.nan
    computed_codes = band_codes(config.bands, computed)
    account_ids = grid.accounts.to_pylist() if overrides is not None and overrides.num_rows else []
    final = apply_overrides(
        config.bands, account_ids, grid.days, computed, computed_codes, overrides
    )
    cells = np.flatnonzero(grid.alive.ravel())
    rows, columns = np.divmod(cells, grid.days.size)
    picked = None if cells.size == grid.alive.size else cells
    computed_names = [band.name for band in config.bands.levels]
    data: list[pa.Array] = [
        grid.accounts.take(pa.array(rows)),
        pa.array(grid.days[columns].astype(np.int32)).cast(pa.date32()),
        _floats(final.scores, picked),
        _floats(computed, picked),
        _bands(final.codes, picked, final.names),
        _bands(computed_codes, picked, computed_names),
        _floats(_coverage(config, raws), picked),
        pa.array(final.flags.ravel() if picked is None else final.flags.ravel()[picked]),
    ]
    data += [_floats(group_score, picked) for group_score in group_scores]
    for grids in (raws, normalised, shares, contributions):
        data += [_floats(values, picked) for values in grids]
    data += [pa.nulls(len(cells), field.type) for field in CHANGE_FIELDS]
    return pa.Table.from_arrays(data, schema=schema)


def assign_scorecards(
    scorecards: Mapping[Key, ScorecardConfig], accounts: pa.Table
) -> dict[Key, pa.Table]:
    """Split `accounts` among scorecards: each account goes to the first scorecard, by
    (priority, name), whose `applies_to` matches its `segment` and `lifecycle_stage`; accounts
    that none matches go to the default one (the first by priority if several). Every key is in
    the result, with no accounts if none fall to it."""
    order = sorted(scorecards, key=lambda key: (scorecards[key].priority, scorecards[key].name))
    unassigned = np.ones(accounts.num_rows, dtype=bool)
    chosen: dict[Key, np.ndarray] = {}
    for key in order:
        applies_to = scorecards[key].applies_to
        if applies_to.everyone:
            continue
        match = unassigned.copy()
        for column, wanted in (
            ("segment", applies_to.segments),
            ("lifecycle_stage", applies_to.lifecycle_stages),
        ):
            if wanted:
                match &= _is_in(accounts, column, wanted)
        chosen[key] = match
        unassigned &= ~match
    defaults = [key for key in order if scorecards[key].is_default]
    if defaults:
        chosen[defaults[0]] = chosen.get(defaults[0], np.zeros_like(unassigned)) | unassigned
    empty = np.zeros(accounts.num_rows, dtype=bool)
    return {key: accounts.filter(pa.array(chosen.get(key, empty))) for key in scorecards}


def _is_in(accounts: pa.Table, column: str, wanted: list[str]) -> np.ndarray:
    if column not in accounts.column_names:
        return np.zeros(accounts.num_rows, dtype=bool)
    found = pc.is_in(accounts[column], value_set=pa.array(wanted, pa.string()))
    return np.asarray(found.fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)


def _alive(accounts: pa.Table, day_numbers: np.ndarray) -> np.ndarray:
    """accounts x days: signed up by the day (or unknown) and not churned by it."""
    alive = np.ones((accounts.num_rows, day_numbers.size), dtype=bool)
    for column, before in (("signed_up_at", False), ("churned_at", True)):
        if column not in accounts.column_names:
            continue
        day = pc.cast(pc.cast(accounts[column], pa.date32()), pa.int32()).to_numpy(
            zero_copy_only=False
        )
        known = ~np.isnan(day.astype(float))
        edge = np.where(known, day, 0)[:, None]
        limit = day_numbers[None, :] < edge if before else day_numbers[None, :] >= edge
        alive &= ~known[:, None] | limit
    return alive


def _codes(column: pa.Array, values: pa.Array) -> np.ndarray:
    """Position of each entry in `values`; -1 where absent or null. Dictionary-encoded columns
    are looked up once per distinct value."""
    if pa.types.is_dictionary(column.type):
        distinct = _codes(column.dictionary, values)
        indices = column.indices.fill_null(-1).to_numpy(zero_copy_only=False)
        return np.where(indices >= 0, distinct[np.maximum(indices, 0)], -1)
    found = pc.index_in(column, value_set=values).fill_null(-1)
    return np.asarray(found.to_numpy(zero_copy_only=False), dtype=np.int64)


def _value_cube(
    measure_values: pa.Table, metrics: list[str], accounts: list[str], lookup: np.ndarray
) -> np.ndarray:
    """metrics x accounts x lookup days of values, NaN where missing."""
    cube = np.full((len(metrics), len(accounts), lookup.size), np.nan)
    flat = cube.reshape(-1)
    first = int(lookup[0]) if lookup.size else 0
    day_position = np.full(int(lookup[-1]) - first + 1 if lookup.size else 0, -1, dtype=np.int64)
    day_position[lookup - first] = np.arange(lookup.size)
    metric_set, account_set = pa.array(metrics, pa.string()), pa.array(accounts, pa.string())
    for batch in measure_values.select(["account", "day", "measure", "value"]).to_batches():
        metric = _codes(batch.column(2), metric_set)
        account = _codes(batch.column(0), account_set)
        day = pc.cast(batch.column(1), pa.int32()).to_numpy(zero_copy_only=False) - first
        inside = (day >= 0) & (day < day_position.size)
        position = np.where(inside, day_position[np.where(inside, day, 0)], -1)
        keep = (metric >= 0) & (account >= 0) & (position >= 0)
        value = pc.cast(batch.column(3), pa.float64()).to_numpy(zero_copy_only=False)
        index = (metric[keep] * len(accounts) + account[keep]) * lookup.size + position[keep]
        flat[index] = value[keep]
    return cube


def _normalised_measures(
    config: ScorecardConfig, cube: np.ndarray, lookup: np.ndarray, grid: Grid
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Per measure: the raw grid (NaN = missing; a trend's relative slope) and its normalised
    grid after the missing-data policy (NaN = excluded)."""
    metrics = config.metrics()
    raws, normalised = [], []
    for _, measure in config.measures:
        values = cube[metrics.index(measure.metric)]
        raw = values[:, np.searchsorted(lookup, grid.days)]
        if isinstance(measure.normalisation, Trend):
            slope = WeeklySlope(grid.alive.shape)
            for k in range(measure.normalisation.weeks + 1):
                slope.add(k, values[:, np.searchsorted(lookup, grid.days - 7 * k)])
            raw = slope.relative_slope()
        raw = np.where(grid.alive, raw, np.nan)
        raws.append(raw)
        normalised.append(_with_policy(measure, raw, grid.alive))
    return raws, normalised


def _with_policy(measure: Measure, raw: np.ndarray, alive: np.ndarray) -> np.ndarray:
    missing = np.isnan(raw) & alive
    if measure.missing.policy == "value" and measure.missing.value is not None:
        return normalise(measure, np.where(missing, measure.missing.value, raw))
    scores = normalise(measure, raw)
    if measure.missing.policy == "neutral":
        return np.where(missing, NEUTRAL_SCORE, scores)
    return scores


def _shares(
    config: ScorecardConfig, normalised: list[np.ndarray]
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Each measure's effective weight grid and each group's score grid."""
    within: list[np.ndarray] = []
    group_scores: list[np.ndarray] = []
    start = 0
    for group in config.groups:
        scores = normalised[start : start + len(group.measures)]
        start += len(group.measures)
        measure_shares, group_score = _aggregate(group, scores)
        within += measure_shares
        group_scores.append(group_score)
    present = [~np.isnan(g) for g in group_scores]
    total = sum(
        (group.weight * p for group, p in zip(config.groups, present, strict=True)),
        np.zeros_like(group_scores[0]),
    )
    safe_total = np.where(total > 0, total, 1.0)
    group_shares = [
        group.weight * p / safe_total for group, p in zip(config.groups, present, strict=True)
    ]
    owners = [g for g, group in enumerate(config.groups) for _ in group.measures]
    shares = [within[i] * group_shares[owners[i]] for i in range(len(within))]
    return shares, group_scores


def _aggregate(group: Group, scores: list[np.ndarray]) -> tuple[list[np.ndarray], np.ndarray]:
    """The measures' shares of their group (summing to 1 where the group has a score) and the
    group's score grid (NaN when all its measures are excluded)."""
    stacked = np.stack(scores)
    present = ~np.isnan(stacked)
    any_present = present.any(axis=0)
    if group.aggregation == "weighted_mean":
        weights = np.asarray([m.weight for m in group.measures])[:, None, None] * present
        total = weights.sum(axis=0)
        safe = np.where(total > 0, total, 1.0)
        shares = weights / safe
        group_score = (shares * np.nan_to_num(stacked)).sum(axis=0)
    else:
        fill = np.inf if group.aggregation == "min" else -np.inf
        filled = np.where(present, stacked, fill)
        pick = filled.argmin(axis=0) if group.aggregation == "min" else filled.argmax(axis=0)
        shares = (np.arange(len(scores))[:, None, None] == pick[None]) & any_present
        group_score = np.take_along_axis(filled, pick[None], axis=0)[0]
    return list(shares.astype(float)), np.where(any_present, group_score, np.nan)


def _coverage(config: ScorecardConfig, raws: list[np.ndarray]) -> np.ndarray:
    group_total = sum(group.weight for group in config.groups)
    coverage = np.zeros_like(raws[0])
    i = 0
    for group in config.groups:
        measure_total = sum(m.weight for m in group.measures)
        for measure in group.measures:
            nominal = group.weight / group_total * measure.weight / measure_total
            coverage += nominal * ~np.isnan(raws[i])
            i += 1
    return np.minimum(np.round(coverage, 12), 1.0)


def _floats(grid: np.ndarray, cells: np.ndarray | None) -> pa.Array:
    """The grid's cells (all of them when `cells` is None) as floats, NaN and infinities null."""
    values = grid.ravel() if cells is None else grid.ravel()[cells]
    return pa.array(values, mask=~np.isfinite(values))


def _bands(codes: np.ndarray, cells: np.ndarray | None, names: list[str]) -> pa.Array:
    picked = codes.ravel() if cells is None else codes.ravel()[cells]
    indices = pa.array(picked, mask=picked < 0, type=pa.int16())
    return pa.DictionaryArray.from_arrays(indices, pa.array(names, pa.string())).cast(pa.string())

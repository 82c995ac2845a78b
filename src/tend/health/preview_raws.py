"""The raw measure values the scorecard preview scores, read from stored health snapshots where
they are there, computed from the app data only where they are not.

A snapshot keeps each measure's raw value (health/models.py `HealthSnapshot.measures`): the
metric's value that day for a plain measure, the relative weekly slope for a trend. So a raw
value is known by its `RawKey` (metric, trend weeks; 0 for a plain value), whatever scorecard or
version stored it, and an edited scorecard is scored by normalising and weighting those stored
values again (`raw_config`) instead of computing its measures from events. Stored raw values are
rounded to 4 decimals (`snapshot_encoding.RAW_DECIMALS`). Cells (account, day) no snapshot
covers for a key are computed from the app data of those accounts only, with only the tables
their measures read.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tend.health.measures import MEASURE_CATALOG, measure_values, parse_measure
from tend.health.models import HealthSnapshot, ScorecardVersion
from tend.health.normalise import WeeklySlope
from tend.health.scorecard import Linear, ScorecardConfig, Trend
from tend.health.scoring import _alive as alive_grid  # the engine's own rule
from tend.metrics.inputs import Inputs, duckdb_inputs

EPOCH = date(1970, 1, 1)
TREND_MARK = "@trend"
FAMILY_TABLES: dict[str, tuple[str, ...]] = {
    "usage": ("usage_daily",),
    "support": ("tickets",),
    "voice": ("survey_responses", "contacts"),
    "engagement": ("touchpoints",),
    "finance": ("invoices", "subscriptions", "subscription_items"),
    "trait": (),
}
"""The input tables (besides accounts) each family of measures reads."""


RAW_SCHEMA = pa.schema(
    [
        ("account", pa.dictionary(pa.int32(), pa.string())),
        ("day", pa.date32()),
        ("measure", pa.dictionary(pa.int32(), pa.string())),
        ("value", pa.float64()),
    ]
)


class RawKey(NamedTuple):
    """What a stored raw value is: a metric's value (weeks 0) or its trend over `weeks`."""

    metric: str
    weeks: int

    @property
    def column(self) -> str:
        """The `measure` of its rows in the values `raw_config` scores."""
        return f"{self.metric}{TREND_MARK}{self.weeks}" if self.weeks else self.metric


def raw_key(metric: str, normalisation: Any) -> RawKey:
    return RawKey(metric, normalisation.weeks if isinstance(normalisation, Trend) else 0)


def raw_keys(config: ScorecardConfig) -> list[RawKey]:
    """The raw values a config scores, each once, in config order."""
    keys = (raw_key(m.metric, m.normalisation) for _, m in config.measures)
    return list(dict.fromkeys(keys))


def raw_config(config: ScorecardConfig) -> ScorecardConfig:
    """The same scorecard reading raw values directly: a trend measure reads its stored slope
    (`RawKey.column`) and maps it linearly from slope_for_0 to slope_for_100, exactly as the
    trend normalisation does, so `scoring.score` gives the same scores. Not validated (the
    metric names are not catalog names): for the preview's scoring only."""
    groups = []
    for group in config.groups:
        measures = []
        for measure in group.measures:
            norm = measure.normalisation
            if isinstance(norm, Trend):
                slope = Linear.model_construct(
                    kind="linear", worst=norm.slope_for_0, best=norm.slope_for_100
                )
                key = raw_key(measure.metric, norm)
                measure = measure.model_copy(update={"metric": key.column, "normalisation": slope})
            measures.append(measure)
        groups.append(group.model_copy(update={"measures": measures}))
    return config.model_copy(update={"groups": groups})


@dataclass
class Frame:
    """Raw values of some accounts (rows) on some days (columns), per key: NaN = no value;
    `known` says which cells were read or computed (a known NaN is a missing value)."""

    days: list[date]
    accounts: list[str] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)
    values: dict[RawKey, np.ndarray] = field(default_factory=dict)
    known: dict[RawKey, np.ndarray] = field(default_factory=dict)
    events: EventData = field(default_factory=lambda: EventData())
    scored: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=bool))
    stored_keys: set[RawKey] = field(default_factory=set)
    stored_cells: int = 0
    computed_cells: int = 0

    def _grow(self, new: list[str]) -> None:
        for name in new:
            self.rows[name] = len(self.accounts)
            self.accounts.append(name)
        self.scored = _padded(self.scored.reshape(-1, len(self.days)), len(new), True)
        for key in self.values:
            self.values[key] = _padded(self.values[key], len(new), np.nan)
            self.known[key] = _padded(self.known[key], len(new), False)

    def _key(self, key: RawKey) -> None:
        if key not in self.values:
            shape = (len(self.accounts), len(self.days))
            self.values[key] = np.full(shape, np.nan)
            self.known[key] = ~self.scored

    def _skip_unscored(self, accounts: pa.Table) -> None:
        """Record which of these new rows' cells are scored; the others count as known."""
        rows = np.asarray([self.rows[name] for name in accounts["account"].to_pylist()])
        numbers = np.asarray([(day - EPOCH).days for day in self.days], dtype=np.int64)
        self.scored[rows] = alive_grid(accounts, numbers)
        for key in self.known:
            self.known[key][rows] |= ~self.scored[rows]

    def ensure(self, accounts: pa.Table, keys: Sequence[RawKey], all_accounts: bool) -> None:
        """Every cell of `accounts` x days known for `keys`: new accounts' stored snapshots
        read (all accounts' when `all_accounts`, with no account filter), the rest computed.
        Days an account is not scored on (before its sign-up, from its churn) need no value."""
        names = accounts["account"].to_pylist()
        new = [name for name in dict.fromkeys(names) if name not in self.rows]
        if new:
            self._grow(new)
            self._read_stored(new, filter_accounts=not all_accounts)
            self._skip_unscored(only_rows(accounts, new))
        for key in keys:
            self._key(key)
        wanted = np.asarray([self.rows[name] for name in names], dtype=np.int64)
        missing = [key for key in keys if not self.known[key][wanted].all()]
        if missing and wanted.size:
            self._compute(missing, wanted)

    def table(self, accounts: Sequence[str], keys: Sequence[RawKey]) -> pa.Table:
        """Rows `account, day, measure, value` of `accounts` for `keys` (measure = the key's
        column; account and measure dictionary-encoded), the `measure_values` input of
        `scoring.score` under `raw_config`."""
        rows = np.asarray([self.rows[name] for name in accounts], dtype=np.int64)
        width = len(self.days)
        cells = rows.size * width
        if not keys or not cells:
            return RAW_SCHEMA.empty_table()
        account_at = np.tile(np.repeat(np.arange(rows.size, dtype=np.int32), width), len(keys))
        day_at = np.tile(np.arange(width), rows.size * len(keys))
        key_at = np.repeat(np.arange(len(keys), dtype=np.int32), cells)
        values = np.concatenate([self.values[key][rows].ravel() for key in keys])
        return pa.table(
            {
                "account": pa.DictionaryArray.from_arrays(
                    account_at, pa.array(list(accounts), pa.string())
                ),
                "day": pa.array(self.days, pa.date32()).take(day_at),
                "measure": pa.DictionaryArray.from_arrays(
                    key_at, pa.array([key.column for key in keys], pa.string())
                ),
                "value": pa.array(values, mask=np.isnan(values)),
            }
        )

    def _read_stored(self, accounts: list[str], filter_accounts: bool) -> None:
        """Raw values of `accounts` in the stored snapshots of the frame's days (the accounts
        picked in the query when `filter_accounts`, else from all the days' rows); a later
        version's value wins over an earlier one's."""
        keys_by_version = _stored_keys()
        rows = HealthSnapshot.objects.filter(day__in=self.days).order_by("version_id")
        if filter_accounts:
            rows = rows.filter(account__external_id__in=accounts)
        wanted = set(accounts)
        column = {day: i for i, day in enumerate(self.days)}
        found: dict[RawKey, tuple[list[int], list[int], list[float]]] = {}
        fields = ("account__external_id", "day", "version_id", "measures")
        for account, day, version_id, measures in rows.values_list(*fields).iterator(
            chunk_size=20_000
        ):
            if account not in wanted:
                continue
            row = self.rows[account]
            parsed = json.loads(measures) if isinstance(measures, str) else measures or {}
            for name, key in keys_by_version.get(version_id, {}).items():
                parts = parsed.get(name)
                if parts is None:
                    continue
                cells = found.setdefault(key, ([], [], []))
                cells[0].append(row)
                cells[1].append(column[day])
                cells[2].append(np.nan if parts[0] is None else float(parts[0]))
        for key, (row_list, day_list, value_list) in found.items():
            self._key(key)
            self.values[key][row_list, day_list] = value_list
            self.known[key][row_list, day_list] = True
            self.stored_keys.add(key)
            self.stored_cells += len(row_list)

    def _compute(self, keys: list[RawKey], wanted: np.ndarray) -> None:
        """Compute `keys` from the app data for the wanted rows that miss any of them."""
        unknown = np.zeros((wanted.size, len(self.days)), dtype=bool)
        for key in keys:
            unknown |= ~self.known[key][wanted]
        rows = wanted[unknown.any(axis=1)]
        columns = np.flatnonzero(unknown.any(axis=0))
        accounts = [self.accounts[r] for r in rows]
        days = [self.days[c] for c in columns]
        computed = computed_raws(accounts, days, keys, self.events)
        block = np.ix_(rows, columns)
        for key in keys:
            fill = ~self.known[key][block]
            self.values[key][block] = np.where(fill, computed[key], self.values[key][block])
            self.known[key][block] = True
            self.computed_cells += int(fill.sum())


def only_rows(accounts: pa.Table, names: list[str] | pa.Array) -> pa.Table:
    chosen = names if isinstance(names, pa.Array) else pa.array(names, pa.string())
    return accounts.filter(pc.is_in(accounts["account"], chosen))


def _padded(grid: np.ndarray, extra: int, fill: Any) -> np.ndarray:
    pad = np.full((extra, grid.shape[1]), fill, dtype=grid.dtype)
    return np.concatenate([grid, pad]) if extra else grid


def _stored_keys() -> dict[int, dict[str, RawKey]]:
    """Per stored version, each measure name with the raw value it stores."""
    from tend.health.queries import version_config

    result = {}
    for version in ScorecardVersion.objects.only("pk", "config"):
        config = version_config(version)
        result[version.pk] = {
            m.name: raw_key(m.metric, m.normalisation) for _, m in config.measures
        }
    return result


@dataclass
class EventData:
    """App data tables read for computing raw values, kept for the next measure that needs
    them: reused while the accounts asked for are among those read and the usage read starts
    early enough; else read again for the accounts of both."""

    accounts: set[str] = field(default_factory=set)
    since: date | None = None
    tables: dict[str, pa.Table] = field(default_factory=dict)

    def inputs(self, accounts: Sequence[str], metrics: Iterable[str], since: date) -> Inputs:
        """The app data of `accounts` that `metrics` read (usage from `since` on), on DuckDB."""
        families = {MEASURE_CATALOG[parse_measure(metric).base].family for metric in metrics}
        wanted = {"accounts"} | {table for family in families for table in FAMILY_TABLES[family]}
        covers = set(accounts) <= self.accounts and (
            "usage_daily" not in wanted or (self.since is not None and self.since <= since)
        )
        if not covers:
            self.accounts |= set(accounts)
            self.since = since if self.since is None else min(self.since, since)
            self.tables = {}
        for name in sorted(wanted - set(self.tables)):
            self.tables[name] = _read(name, sorted(self.accounts), self.since or since)
        chosen = pa.array(list(accounts), pa.string())
        asked = {name: self.tables[name] for name in wanted}
        asked["accounts"] = only_rows(asked["accounts"], chosen)
        return duckdb_inputs(asked)


def _read(name: str, accounts: list[str], since: date) -> pa.Table:
    from tend.metrics import load

    if name == "usage_daily":
        return load.read_usage_daily(since, accounts)
    reader: Any = getattr(load, f"read_{name}")
    table: pa.Table = reader(accounts)
    return table


def computed_raws(
    accounts: Sequence[str], days: Sequence[date], keys: Sequence[RawKey], events: EventData
) -> dict[RawKey, np.ndarray]:
    """Each key's raw values (accounts x days, NaN = missing) computed from the app data, as the
    scoring engine computes them (a trend: `WeeklySlope` over D, D-7, … D-7·weeks)."""
    weeks = max(key.weeks for key in keys)
    lookup = sorted({day - timedelta(days=7 * k) for day in days for k in range(weeks + 1)})
    metrics = list(dict.fromkeys(key.metric for key in keys))
    windows = [parse_measure(metric).window or 1 for metric in metrics]
    since = lookup[0] - timedelta(days=max(windows))
    values = measure_values(events.inputs(accounts, metrics, since), lookup, metrics)
    cube = _cube(values, metrics, accounts, lookup)
    position = {day: i for i, day in enumerate(lookup)}
    result = {}
    for key in keys:
        series = cube[metrics.index(key.metric)]
        if not key.weeks:
            result[key] = series[:, [position[day] for day in days]]
            continue
        slope = WeeklySlope((len(accounts), len(days)))
        for k in range(key.weeks + 1):
            slope.add(k, series[:, [position[day - timedelta(days=7 * k)] for day in days]])
        result[key] = slope.relative_slope()
    return result


def _cube(
    values: pa.Table, metrics: list[str], accounts: Sequence[str], days: list[date]
) -> np.ndarray:
    """metrics x accounts x days of `measure_values` rows, NaN where missing."""
    cube = np.full((len(metrics), len(accounts), len(days)), np.nan)
    if values.num_rows == 0:
        return cube
    metric = _positions(values["measure"], metrics)
    account = _positions(values["account"], list(accounts))
    numbers = np.asarray([(day - EPOCH).days for day in days], dtype=np.int64)
    day_number = pc.cast(values["day"], pa.int32()).to_numpy(zero_copy_only=False)
    day = np.searchsorted(numbers, day_number)
    day = np.where(
        (day < numbers.size) & (numbers[np.minimum(day, numbers.size - 1)] == day_number), day, -1
    )
    value = pc.fill_null(pc.cast(values["value"], pa.float64()), np.nan).to_numpy(
        zero_copy_only=False
    )
    keep = (metric >= 0) & (account >= 0) & (day >= 0)
    cube[metric[keep], account[keep], day[keep]] = value[keep]
    return cube


def _positions(column: pa.ChunkedArray, names: list[str]) -> np.ndarray:
    found = pc.index_in(column, value_set=pa.array(names, pa.string())).fill_null(-1)
    return np.asarray(found.to_numpy(zero_copy_only=False), dtype=np.int64)

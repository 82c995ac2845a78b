"""Compute every list the score drives (`tend.health.lists`) in one pass over the app data:
the data is read once, the snapshots of the last 45 days once, and each list reads what it
needs. The band names come from the scorecards in use (their green and red bands). Rows are
plain JSON (instants and days as ISO text) so they can be stored; `decode_rows` turns them back
into Python values with the list's Arrow schema."""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import pyarrow as pa

from tend.health import lists, queries
from tend.health.labels import DEFAULT_HORIZON_DAYS, churn_labels
from tend.health.measures import default_measure_names, measure_values
from tend.health.models import ScorecardVersion
from tend.health.prediction import churn_probabilities, stored_snapshots, weekly_days
from tend.health.scorecard import ScorecardConfig
from tend.metrics.inputs import Inputs
from tend.surveys.queries import comments_since

LIST_NAMES = ("advocates", "upsell", "at_risk", "collections", "renewals", "patterns")
"""Every list, by the name the API, the CLI and the stored runs use."""
LIST_SCHEMAS: dict[str, pa.Schema] = {
    "advocates": lists.ADVOCATE_SCHEMA,
    "upsell": lists.UPSELL_SCHEMA,
    "at_risk": lists.AT_RISK_SCHEMA,
    "collections": lists.COLLECTIONS_SCHEMA,
    "renewals": lists.RENEWALS_DUE_SCHEMA,
    "patterns": lists.PATTERN_SCHEMA,
}
SNAPSHOT_DAYS = 45
"""Snapshots read for an account's latest state and its change over 30 days."""
COMMENT_DAYS = 180
"""How far back the at-risk list looks for detractors' verbatims."""
DEFAULT_BAND_COLOURS = {"unhealthy": "red", "at risk": "yellow", "healthy": "green"}


@dataclass(frozen=True)
class BandStyle:
    """The band names of the scorecards in use with their colours, and which are green/red."""

    colours: dict[str, str]

    @property
    def green(self) -> list[str]:
        return [name for name, colour in self.colours.items() if colour == "green"] or ["healthy"]

    @property
    def red(self) -> list[str]:
        return [name for name, colour in self.colours.items() if colour == "red"] or ["unhealthy"]


def band_style(configs: Iterable[ScorecardConfig]) -> BandStyle:
    colours = dict(DEFAULT_BAND_COLOURS)
    for config in configs:
        colours |= {band.name: band.colour for band in config.bands.levels}
    return BandStyle(colours)


@dataclass
class ListInputs:
    """What every list reads, loaded once for a refresh."""

    as_of: datetime
    inputs: Inputs
    snapshots: pa.Table
    versions: list[ScorecardVersion]
    configs: list[ScorecardConfig]
    style: BandStyle


def list_app_inputs() -> Inputs:
    """The app data the lists read, on DuckDB: the same tables the health scores read."""
    from tend.health.preview import health_inputs

    return health_inputs()


def load_list_inputs(as_of: datetime) -> ListInputs:
    active = queries.active_versions()
    first = (as_of - timedelta(days=SNAPSHOT_DAYS)).date()
    return ListInputs(
        as_of=as_of,
        inputs=list_app_inputs(),
        snapshots=stored_snapshots(first, as_of.date()),
        versions=list(active),
        configs=list(active.values()),
        style=band_style(active.values()),
    )


def _patterns(data: ListInputs) -> pa.Table:
    days = weekly_days(data.inputs, DEFAULT_HORIZON_DAYS)
    metrics = sorted({m for config in data.configs for m in config.metrics()})
    values = measure_values(data.inputs, days, metrics or default_measure_names())
    return lists.patterns(values, churn_labels(data.inputs, days, DEFAULT_HORIZON_DAYS))


def list_table(name: str, data: ListInputs) -> pa.Table:
    """One list (LIST_SCHEMAS[name] rows) as of `data.as_of`."""
    inputs, snapshots, now, style = data.inputs, data.snapshots, data.as_of, data.style
    if name == "advocates":
        return lists.advocates(inputs, snapshots, now, healthy_bands=style.green)
    if name == "upsell":
        return lists.upsell_candidates(inputs, snapshots, now, healthy_bands=style.green)
    if name == "at_risk":
        comments = comments_since(now - timedelta(days=COMMENT_DAYS))
        return lists.at_risk(inputs, snapshots, now, comments=comments, red_bands=style.red)
    if name == "collections":
        return lists.collections(inputs, now)
    if name == "renewals":
        probabilities = churn_probabilities(inputs, now.date())
        return lists.renewals_due(inputs, snapshots, now, churn_probability=probabilities)
    if name == "patterns":
        return _patterns(data)
    raise ValueError(f"unknown list {name!r}; use one of {', '.join(LIST_NAMES)}")


@dataclass(frozen=True)
class ComputedList:
    """One list's rows as JSON, with how long it took."""

    name: str
    rows: list[dict[str, Any]]
    seconds: float


def compute_lists(data: ListInputs, names: Sequence[str] = LIST_NAMES) -> list[ComputedList]:
    """Each of `names` computed from the same loaded data."""
    computed = []
    for name in names:
        started = time.perf_counter()
        rows = encode_rows(list_table(name, data).to_pylist())
        computed.append(ComputedList(name, rows, time.perf_counter() - started))
    return computed


def _json(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_json(item) for item in value]
    return value


def encode_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows as JSON values: instants and days as ISO text, NaN and infinities as null."""
    return [_json(row) for row in rows]


def _decoded(value: Any, kind: pa.DataType) -> Any:
    if value is None:
        return None
    if pa.types.is_timestamp(kind):
        return datetime.fromisoformat(value)
    if pa.types.is_date(kind):
        return date.fromisoformat(value)
    if pa.types.is_list(kind):
        return [_decoded(item, kind.value_type) for item in value]
    if pa.types.is_struct(kind):
        return {field.name: _decoded(value.get(field.name), field.type) for field in kind}
    return value


def decode_rows(name: str, rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Stored rows of list `name` back as computed: instants and days as Python values."""
    schema = LIST_SCHEMAS[name]
    return [
        {field.name: _decoded(row.get(field.name), field.type) for field in schema} for row in rows
    ]

"""Churn probabilities stored with the health snapshots: whenever accounts are scored and a
churn model has been trained (`tend scorecard learn`), the model's calibrated probability and
drivers for the same accounts and days are stored too, and rises beyond the configured jump
are recorded as signals."""

from __future__ import annotations

import logging
import threading
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from tend.health import actions
from tend.health.churn_model import ChurnModel
from tend.health.measures import measure_values
from tend.metrics.inputs import Inputs

_cache_lock = threading.Lock()
_cached: dict[Path, tuple[float, ChurnModel | None]] = {}
logger = logging.getLogger(__name__)


def churn_model_path() -> Path:
    """Where `tend scorecard learn` keeps the trained churn model."""
    from tend.config.settings import get_settings

    return get_settings().resolved_data_dir / "models" / "churn.json"


def current_churn_model() -> ChurnModel | None:
    """The trained churn model, loaded once per version of its file; None when none exists or
    it was saved in an older format."""
    path = churn_model_path()
    try:
        modified = path.stat().st_mtime
    except FileNotFoundError:
        return None
    with _cache_lock:
        cached = _cached.get(path)
        if cached is None or cached[0] != modified:
            try:
                cached = (modified, ChurnModel.load(path))
            except ValueError as error:  # an older format: `tend scorecard learn` replaces it
                logger.warning("churn model %s not used: %s", path, error)
                cached = (modified, None)
            _cached[path] = cached
        return cached[1]


def model_label(model: ChurnModel) -> str:
    return f"split {model.report.split_day}, {model.report.horizon_days} days"


def store_churn_predictions(
    inputs: Inputs, values: pa.Table, scored: pa.Table, days: list[date]
) -> int:
    """Predict and store the churn probability of each scored account-day (`scored`: a
    `scoring.score` result) when a model exists, reusing the measure values already computed
    (`values`) and computing those the model reads that they lack (its measures on the days its
    trends look back to). Returns the new jump signals."""
    model = current_churn_model()
    if model is None or scored.num_rows == 0:
        return 0
    wanted = values.filter(pc.is_in(values["measure"], pa.array(model.measures, pa.string())))
    wanted = wanted.select(["account", "day", "measure", "value"]).cast(VALUE_SCHEMA)
    needed = model.lookup_days(days)
    have_days = set(pc.unique(wanted["day"]).to_pylist())
    have_measures = set(pc.unique(wanted["measure"]).to_pylist())
    if not set(needed) <= have_days:
        wanted = measure_values(inputs, needed, model.measures).select(wanted.column_names)
        wanted = wanted.cast(VALUE_SCHEMA)
    elif lacking := sorted(set(model.measures) - have_measures):
        extra = measure_values(inputs, needed, lacking).select(wanted.column_names)
        wanted = pa.concat_tables([wanted, extra.cast(VALUE_SCHEMA)])
    keys = scored.select(["account", "day"]).cast(KEY_SCHEMA)
    predictions = model.predict_days(wanted, keys)
    return actions.store_churn_predictions(predictions, model_label(model))


KEY_SCHEMA = pa.schema([("account", pa.string()), ("day", pa.date32())])
VALUE_SCHEMA = pa.schema(
    [
        ("account", pa.string()),
        ("day", pa.date32()),
        ("measure", pa.string()),
        ("value", pa.float64()),
    ]
)

"""Churn probabilities stored with the health snapshots: whenever accounts are scored and a
churn model has been trained (`tend scorecard learn`), the model's calibrated probability and
drivers for the same accounts and days are stored too, and rises beyond the configured jump
are recorded as signals."""

from __future__ import annotations

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
_cached: dict[Path, tuple[float, ChurnModel]] = {}


def churn_model_path() -> Path:
    """Where `tend scorecard learn` keeps the trained churn model."""
    from tend.config.settings import get_settings

    return get_settings().resolved_data_dir / "models" / "churn.json"


def current_churn_model() -> ChurnModel | None:
    """The trained churn model, loaded once per version of its file; None when none exists."""
    path = churn_model_path()
    try:
        modified = path.stat().st_mtime
    except FileNotFoundError:
        return None
    with _cache_lock:
        cached = _cached.get(path)
        if cached is None or cached[0] != modified:
            cached = (modified, ChurnModel.load(path))
            _cached[path] = cached
        return cached[1]


def model_label(model: ChurnModel) -> str:
    return f"split {model.report.split_day}, {model.report.horizon_days} days"


def store_churn_predictions(
    inputs: Inputs, values: pa.Table, scored: pa.Table, days: list[date]
) -> int:
    """Predict and store the churn probability of each scored account-day (`scored`: a
    `scoring.score` result) when a model exists, reusing the measure values already computed
    (`values`) and computing the features they lack. Returns the new jump signals."""
    model = current_churn_model()
    if model is None or scored.num_rows == 0:
        return 0
    lacking = sorted(set(model.features) - set(pc.unique(values["measure"]).to_pylist()))
    if lacking:
        extra = measure_values(inputs, days, lacking)
        values = pa.concat_tables([values, extra.cast(values.schema)])
    keys = scored.select(["account", "day"])
    wanted = values.filter(pc.is_in(values["measure"], pa.array(model.features, pa.string())))
    wanted = wanted.select(["account", "day", "measure", "value"])
    wanted = wanted.cast(
        pa.schema(
            [
                ("account", pa.string()),
                ("day", pa.date32()),
                ("measure", pa.string()),
                ("value", pa.float64()),
            ]
        )
    )
    features = wanted.join(keys, ["account", "day"], join_type="inner")
    predictions = model.predict_days(features)
    return actions.store_churn_predictions(predictions, model_label(model))

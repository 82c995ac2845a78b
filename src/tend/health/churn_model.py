"""A calibrated churn probability per account (health.md "Scores that predict").

LightGBM on the measures: each measure's value on the day and its TREND_WEEKS-week trend (the
relative weekly slope of its values at D, D - 7, ..., as a scorecard's `trend` normalisation
reads it: a falling line is a warning even at a high level). Missing values stay missing (the
trees route them). Rows and the train/test split are `learning`'s.

Small data: a few thousand account-weeks and a few dozen churned accounts. So the trees are
shallow (TREE_PARAMETERS: 7 leaves, at least 50 rows a leaf, row and feature subsampling, L2),
and their number is chosen by early stopping on the log loss of the latest VALIDATION_SHARE of
the train rows (`learning.later_slice`), fitting on the earlier ones; then the trees are fitted
again, that many, on all train rows (the latest churn is the most telling: on the 500-account
demo this lifts the test AUC from 0.70 to 0.76).

Calibration: the trees are fitted on log loss without class weights, so their output is a
churn probability in the units of the observed rate, and the held-out slice picks the number
of trees with the lowest held-out log loss (more would sharpen the probabilities beyond what
unseen churn supports). A separate Platt or isotonic map fitted on that slice was measured and
made the test Brier score worse (500-account demo: 0.0965 vs 0.0867, base rate 0.0983): the
churn rate drifts between the slice and the test period and a map fitted on about a hundred
churned rows follows that drift. The test rows (from the split day on, after the horizon gap)
give the AUC, the Brier score against the base rate's, and a reliability table.

Per-account drivers are LightGBM's `pred_contrib` (TreeSHAP) contributions to the log-odds: the
three features that move the account's prediction most, with the sign of their push and the
account's value (a trend feature is named `<measure>:trend`).

Saved as one JSON document (the booster's `model_to_string` and the report):
no pickle, so a stored model loads under any later library version LightGBM can read. The caller
keeps it as a file in the data directory (e.g. `<data dir>/models/churn-<scorecard>-<day>.json`)
or in a text column.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import lightgbm
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from sklearn.metrics import brier_score_loss

from tend.health.labels import DEFAULT_HORIZON_DAYS
from tend.health.learning import (
    Dataset,
    labelled_dataset,
    later_slice,
    ranking_auc,
    require_both_classes,
    time_split,
    wide_measures,
)
from tend.health.normalise import WeeklySlope

FORMAT = "tend.churn_model/2"
TREND_WEEKS = 4
TREND_SUFFIX = ":trend"
VALIDATION_SHARE = 0.3
RELIABILITY_BINS = 10
DRIVER_COUNT = 3
DEFAULT_SEED = 7
DEFAULT_THREADS = 1
"""One thread: on a few thousand rows OpenMP's waiting threads cost more than they save, and
on a busy 2-core machine a 2-thread fit measured 30 times slower than a 1-thread one."""
MAX_TREES = 600
EARLY_STOPPING_ROUNDS = 60
TREE_PARAMETERS: dict[str, Any] = {
    "n_estimators": MAX_TREES,
    "learning_rate": 0.03,
    "num_leaves": 7,
    "max_depth": 3,
    "min_child_samples": 50,
    "subsample": 0.8,
    "subsample_freq": 1,
    "colsample_bytree": 0.8,
    "reg_lambda": 5.0,
    "deterministic": True,
    "force_row_wise": True,
    "verbose": -1,
}
DRIVER_TYPE = pa.struct(
    [("measure", pa.string()), ("contribution", pa.float64()), ("value", pa.float64())]
)
PREDICTION_SCHEMA = pa.schema(
    [
        ("account", pa.string()),
        ("day", pa.date32()),
        ("churn_probability", pa.float64()),
        ("drivers", pa.list_(DRIVER_TYPE)),
    ]
)
"""`day` is the day predicted for; `drivers` holds up to three features (a measure or
`<measure>:trend`), largest |contribution| (log-odds; positive raises the churn risk) first."""


@dataclass(frozen=True)
class ReliabilityBin:
    """Test rows whose predicted probability is in [lower, upper) ([0.9, 1] for the last)."""

    lower: float
    upper: float
    rows: int
    mean_predicted: float | None
    observed_rate: float | None


@dataclass(frozen=True)
class ChurnModelReport:
    """How the model was trained and how it did on the test days (None: not computable); days
    are ISO text. The trees (`trees` of them, as early stopping on the validation rows chose)
    are fitted on the train rows. `base_rate_brier` is the Brier score of predicting the train
    churn rate for every test row: a useful model scores below it."""

    split_day: str
    validation_start: str
    horizon_days: int
    seed: int
    train_rows: int
    train_churned: int
    validation_rows: int
    validation_churned: int
    trees: int
    test_rows: int
    test_churned: int
    test_auc: float | None
    test_brier: float | None
    base_rate_brier: float | None
    reliability: list[ReliabilityBin]


def reliability_table(churned: np.ndarray, predicted: np.ndarray) -> list[ReliabilityBin]:
    """RELIABILITY_BINS equal-width bins of predicted probability: mean predicted vs observed."""
    edges = np.linspace(0.0, 1.0, RELIABILITY_BINS + 1)
    index = np.clip(np.digitize(predicted, edges[1:-1]), 0, RELIABILITY_BINS - 1)
    bins = []
    for b in range(RELIABILITY_BINS):
        inside = index == b
        rows = int(inside.sum())
        bins.append(
            ReliabilityBin(
                lower=b / RELIABILITY_BINS,
                upper=(b + 1) / RELIABILITY_BINS,
                rows=rows,
                mean_predicted=float(predicted[inside].mean()) if rows else None,
                observed_rate=float(churned[inside].mean()) if rows else None,
            )
        )
    return bins


def _tree_output(booster: lightgbm.Booster, matrix: np.ndarray, **options: Any) -> np.ndarray:
    """The booster's predictions (probabilities, or contributions with `pred_contrib=True`)."""
    return np.asarray(booster.predict(matrix, num_threads=DEFAULT_THREADS, **options), dtype=float)


def lookup_days(days: Sequence[date], weeks: int = TREND_WEEKS) -> list[date]:
    """The days whose measure values the features of `days` read: each and the `weeks` weeks
    before it."""
    return sorted({day - timedelta(days=7 * k) for day in days for k in range(weeks + 1)})


def feature_frame(
    measure_values: pa.Table,
    keys: pd.DataFrame,
    measures: Sequence[str],
    weeks: int = TREND_WEEKS,
) -> pd.DataFrame:
    """For each `keys` row (`account`, `day`): each measure's value on the day, then its trend
    (`<measure>:trend`, the relative weekly slope over the values at day - 7k, k = 0..weeks;
    missing with fewer than two of them), one float column each, NaN for missing."""
    wide = wide_measures(measure_values, measures).set_index(["account", "day"])
    count = len(keys)
    slope = WeeklySlope((count, len(measures)))
    levels = np.full((count, len(measures)), np.nan)
    accounts = keys["account"].to_numpy(dtype=object)
    for k in range(weeks + 1):
        shifted = [d - timedelta(days=7 * k) for d in keys["day"]]
        index = pd.MultiIndex.from_arrays([accounts, shifted], names=["account", "day"])
        values = wide.reindex(index).to_numpy(dtype=float) if count else levels
        if k == 0:
            levels = values
        slope.add(k, values)
    trends = slope.relative_slope()
    names = [*measures, *(f"{m}{TREND_SUFFIX}" for m in measures)]
    return pd.DataFrame(np.hstack([levels, trends]), columns=names)


def _with_trends(dataset: Dataset, measure_values: pa.Table) -> Dataset:
    keys = pd.DataFrame({"account": dataset.accounts, "day": dataset.days})
    features = feature_frame(measure_values, keys, list(dataset.features.columns))
    return Dataset(features, dataset.churned, dataset.accounts, dataset.days)


@dataclass(frozen=True)
class ChurnModel:
    """The fitted trees and the report. `measures` are the measures read; `features` the trees'
    columns (the measures, then their trends)."""

    booster: lightgbm.Booster
    measures: list[str]
    features: list[str]
    trend_weeks: int
    report: ChurnModelReport

    def lookup_days(self, days: Sequence[date]) -> list[date]:
        """The days of measure values `predict_days` needs to predict `days`."""
        return lookup_days(days, self.trend_weeks)

    def probability(self, features: pd.DataFrame) -> np.ndarray:
        matrix = features.reindex(columns=self.features).to_numpy(dtype=float)
        return _tree_output(self.booster, matrix)

    def predict(self, measure_values: pa.Table) -> pa.Table:
        """PREDICTION_SCHEMA rows: each account's churn probability on its latest day in
        `measure_values` (the earlier days there serve its trends)."""
        if measure_values.num_rows == 0:
            return PREDICTION_SCHEMA.empty_table()
        latest = measure_values.group_by("account").aggregate([("day", "max")])
        keys = pa.table({"account": latest["account"], "day": latest["day_max"]})
        return self.predict_days(measure_values, keys)

    def predict_days(self, measure_values: pa.Table, keys: pa.Table | None = None) -> pa.Table:
        """PREDICTION_SCHEMA rows: the churn probability and drivers of every account and
        day of `keys` (default: every one in `measure_values`), ordered by account and day;
        `measure_values` should also hold the days `lookup_days` names for them."""
        if keys is None:
            keys = measure_values.select(["account", "day"]).group_by(["account", "day"])
            keys = keys.aggregate([])
        if measure_values.num_rows == 0 or keys.num_rows == 0:
            return PREDICTION_SCHEMA.empty_table()
        wanted = measure_values.filter(
            pc.is_in(measure_values["measure"], pa.array(self.measures, pa.string()))
        )
        frame = keys.select(["account", "day"]).to_pandas()
        frame = frame.sort_values(["account", "day"]).reset_index(drop=True)
        features = feature_frame(wanted, frame, self.measures, self.trend_weeks)
        matrix = features.reindex(columns=self.features).to_numpy(dtype=float)
        probability = _tree_output(self.booster, matrix)
        contributions = _tree_output(self.booster, matrix, pred_contrib=True)[:, :-1]
        order = np.argsort(-np.abs(contributions), axis=1, kind="stable")[:, :DRIVER_COUNT]
        drivers = []
        for row, picked in enumerate(order):
            drivers.append(
                [
                    {
                        "measure": self.features[i],
                        "contribution": float(contributions[row, i]),
                        "value": None if np.isnan(matrix[row, i]) else float(matrix[row, i]),
                    }
                    for i in picked
                    if contributions[row, i] != 0
                ]
            )
        return pa.table(
            {
                "account": pa.array(frame["account"], pa.string()),
                "day": pa.array(frame["day"], pa.date32()),
                "churn_probability": pa.array(probability, pa.float64()),
                "drivers": pa.array(drivers, pa.list_(DRIVER_TYPE)),
            },
            schema=PREDICTION_SCHEMA,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "measures": self.measures,
            "features": self.features,
            "trend_weeks": self.trend_weeks,
            "booster": self.booster.model_to_string(),
            "report": asdict(self.report),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ChurnModel:
        if data.get("format") != FORMAT:
            raise ValueError(f"not a {FORMAT} document (train the churn model again)")
        report = dict(data["report"])
        report["reliability"] = [ReliabilityBin(**b) for b in report["reliability"]]
        return cls(
            booster=lightgbm.Booster(model_str=data["booster"]),
            measures=list(data["measures"]),
            features=list(data["features"]),
            trend_weeks=int(data["trend_weeks"]),
            report=ChurnModelReport(**report),
        )

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_json()), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> ChurnModel:
        return cls.from_json(json.loads(path.read_text(encoding="utf-8")))


def train_churn_model(
    measure_values: pa.Table,
    labels: pa.Table,
    split_day: date,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
    seed: int = DEFAULT_SEED,
    threads: int = DEFAULT_THREADS,
) -> ChurnModel:
    """Fit and test the churn model (see the module's docstring for the splits).
    `measure_values` should cover the TREND_WEEKS weeks before each labelled day too (days
    without them get missing trends)."""
    dataset = _with_trends(labelled_dataset(measure_values, labels), measure_values)
    train, test = time_split(dataset, split_day, horizon_days)
    require_both_classes(train, "train")
    earlier, validation = later_slice(train, VALIDATION_SHARE)
    require_both_classes(earlier, "model-fitting")
    require_both_classes(validation, "validation")
    trees = _early_stopped_trees(earlier, validation, seed, threads)
    parameters = {**TREE_PARAMETERS, "n_estimators": trees}
    classifier = lightgbm.LGBMClassifier(random_state=seed, n_jobs=threads, **parameters)
    classifier.fit(train.features.to_numpy(dtype=float), train.churned)
    booster = classifier.booster_
    probability = (
        _tree_output(booster, test.features.to_numpy(dtype=float)) if len(test) else np.zeros(0)
    )
    report = ChurnModelReport(
        split_day=split_day.isoformat(),
        validation_start=min(validation.days).isoformat(),
        horizon_days=horizon_days,
        seed=seed,
        train_rows=len(train),
        train_churned=train.positives(),
        validation_rows=len(validation),
        validation_churned=validation.positives(),
        trees=trees,
        test_rows=len(test),
        test_churned=test.positives(),
        **_test_figures(test.churned, probability, train),
    )
    measures = [c for c in dataset.features.columns if not c.endswith(TREND_SUFFIX)]
    features = list(dataset.features.columns)
    return ChurnModel(booster, measures, features, TREND_WEEKS, report)


def _early_stopped_trees(earlier: Dataset, validation: Dataset, seed: int, threads: int) -> int:
    """The number of trees (at most MAX_TREES) with the lowest validation log loss, fitting on
    `earlier`."""
    parameters = {**TREE_PARAMETERS, "objective": "binary", "seed": seed, "num_threads": threads}
    rounds = parameters.pop("n_estimators")
    fitting = lightgbm.Dataset(earlier.features.to_numpy(dtype=float), earlier.churned)
    held_out = fitting.create_valid(validation.features.to_numpy(dtype=float), validation.churned)
    booster = lightgbm.train(
        parameters,
        fitting,
        num_boost_round=rounds,
        valid_sets=[held_out],
        callbacks=[lightgbm.early_stopping(EARLY_STOPPING_ROUNDS, verbose=False)],
    )
    return max(1, int(booster.best_iteration or rounds))


def _test_figures(churned: np.ndarray, probability: np.ndarray, train: Dataset) -> dict[str, Any]:
    """AUC, Brier scores and reliability of the test rows."""
    if len(churned) == 0:
        empty = dict.fromkeys(("test_auc", "test_brier", "base_rate_brier"))
        return {**empty, "reliability": []}
    base_rate = float(train.churned.mean())
    return {
        "test_auc": ranking_auc(churned, probability),
        "test_brier": float(brier_score_loss(churned, probability)),
        "base_rate_brier": float(np.mean((churned.astype(float) - base_rate) ** 2)),
        "reliability": reliability_table(churned, probability),
    }

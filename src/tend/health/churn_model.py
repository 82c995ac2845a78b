"""A calibrated churn probability per account (health.md "Scores that predict").

LightGBM on the raw measures (missing values stay missing: the trees route them), small and
deterministic. Rows and the train/test split are `learning`'s. Inside the train rows, the later
CALIBRATION_SHARE of them (by day) calibrate: the trees are fitted on the train days whose
horizon ended before the calibration days begin (the same no-leakage rule as the split), and an
isotonic regression maps the trees' probabilities to observed churn rates on the calibration
days. Isotonic rather than sigmoid because the calibration rows number in the thousands on a
real book and the trees' miscalibration need not be logistic-shaped. The model kept is the one
fitted on the earlier part (refitting on all train days would void the calibration).

Per-account drivers are LightGBM's `pred_contrib` (TreeSHAP) contributions to the log-odds: the
three measures that move the account's prediction most, with the sign of their push and the
account's raw value.

Saved as one JSON document (the booster's `model_to_string`, the isotonic steps and the report):
no pickle, so a stored model loads under any later library version LightGBM can read. The caller
keeps it as a file in the data directory (e.g. `<data dir>/models/churn-<scorecard>-<day>.json`)
or in a text column.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import Any

import lightgbm
import numpy as np
import pandas as pd
import pyarrow as pa
from sklearn.isotonic import IsotonicRegression
from sklearn.metrics import brier_score_loss

from tend.health.labels import DEFAULT_HORIZON_DAYS
from tend.health.learning import (
    Dataset,
    labelled_dataset,
    ranking_auc,
    require_both_classes,
    time_split,
    wide_measures,
)

FORMAT = "tend.churn_model/1"
CALIBRATION_SHARE = 0.3
RELIABILITY_BINS = 10
DRIVER_COUNT = 3
DEFAULT_SEED = 7
DEFAULT_THREADS = 1
"""One thread: on a few thousand rows OpenMP's waiting threads cost more than they save, and
on a busy 2-core machine a 2-thread fit measured 30 times slower than a 1-thread one."""
TREE_PARAMETERS: dict[str, Any] = {
    "n_estimators": 200,
    "learning_rate": 0.05,
    "num_leaves": 15,
    "min_child_samples": 40,
    "reg_lambda": 1.0,
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
"""`day` is the account's latest day in the measure values predicted from; `drivers` holds up to
three measures, largest |contribution| (log-odds; positive raises the churn risk) first."""


@dataclass(frozen=True)
class ReliabilityBin:
    """Test rows whose calibrated probability is in [lower, upper) ([0.9, 1] for the last)."""

    lower: float
    upper: float
    rows: int
    mean_predicted: float | None
    observed_rate: float | None


@dataclass(frozen=True)
class ChurnModelReport:
    """How the model was trained and how it did on the test days (None: not computable); days
    are ISO text."""

    split_day: str
    calibration_start: str
    horizon_days: int
    seed: int
    fit_rows: int
    calibration_rows: int
    test_rows: int
    test_churned: int
    test_auc: float | None
    test_auc_calibrated: float | None
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


def _calibrated(raw: np.ndarray, steps_x: np.ndarray, steps_y: np.ndarray) -> np.ndarray:
    """The isotonic step function (linear between its points, flat beyond them)."""
    return np.clip(np.interp(raw, steps_x, steps_y), 0.0, 1.0)


def _tree_output(booster: lightgbm.Booster, matrix: np.ndarray, **options: Any) -> np.ndarray:
    """The booster's predictions (probabilities, or contributions with `pred_contrib=True`)."""
    return np.asarray(booster.predict(matrix, num_threads=DEFAULT_THREADS, **options), dtype=float)


def _calibration_start(train: Dataset) -> date:
    """The first day of the latest CALIBRATION_SHARE of train rows."""
    days: list[date] = sorted(train.days)
    return days[int(len(days) * (1 - CALIBRATION_SHARE))]


@dataclass(frozen=True)
class ChurnModel:
    """The fitted trees, their isotonic calibration and the report."""

    booster: lightgbm.Booster
    features: list[str]
    calibration_x: np.ndarray
    calibration_y: np.ndarray
    report: ChurnModelReport

    def raw_probability(self, features: pd.DataFrame) -> np.ndarray:
        matrix = features.reindex(columns=self.features).to_numpy(dtype=float)
        return _tree_output(self.booster, matrix)

    def calibrate(self, raw: np.ndarray) -> np.ndarray:
        return _calibrated(raw, self.calibration_x, self.calibration_y)

    def probability(self, features: pd.DataFrame) -> np.ndarray:
        return self.calibrate(self.raw_probability(features))

    def predict(self, measure_values: pa.Table) -> pa.Table:
        """PREDICTION_SCHEMA rows: each account's calibrated probability on its latest day."""
        if measure_values.num_rows == 0:
            return PREDICTION_SCHEMA.empty_table()
        latest = measure_values.group_by("account").aggregate([("day", "max")])
        latest = pa.table({"account": latest["account"], "day": latest["day_max"]})
        return self.predict_days(measure_values.join(latest, ["account", "day"], join_type="inner"))

    def predict_days(self, measure_values: pa.Table) -> pa.Table:
        """PREDICTION_SCHEMA rows: the calibrated probability and drivers of every account and
        day in `measure_values`, ordered by account and day."""
        if measure_values.num_rows == 0:
            return PREDICTION_SCHEMA.empty_table()
        wide = wide_measures(measure_values, self.features)
        wide = wide.sort_values(["account", "day"]).reset_index(drop=True)
        matrix = wide[self.features].to_numpy(dtype=float)
        probability = self.calibrate(_tree_output(self.booster, matrix))
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
                "account": pa.array(wide["account"], pa.string()),
                "day": pa.array(wide["day"], pa.date32()),
                "churn_probability": pa.array(probability, pa.float64()),
                "drivers": pa.array(drivers, pa.list_(DRIVER_TYPE)),
            },
            schema=PREDICTION_SCHEMA,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "features": self.features,
            "booster": self.booster.model_to_string(),
            "calibration": {"x": self.calibration_x.tolist(), "y": self.calibration_y.tolist()},
            "report": asdict(self.report),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ChurnModel:
        if data.get("format") != FORMAT:
            raise ValueError(f"not a {FORMAT} document")
        report = dict(data["report"])
        report["reliability"] = [ReliabilityBin(**b) for b in report["reliability"]]
        return cls(
            booster=lightgbm.Booster(model_str=data["booster"]),
            features=list(data["features"]),
            calibration_x=np.asarray(data["calibration"]["x"], dtype=float),
            calibration_y=np.asarray(data["calibration"]["y"], dtype=float),
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
    """Fit, calibrate and test the churn model (see the module's docstring for the splits)."""
    dataset = labelled_dataset(measure_values, labels)
    train, test = time_split(dataset, split_day, horizon_days)
    require_both_classes(train, "train")
    calibration_start = _calibration_start(train)
    fit, calibration = time_split(train, calibration_start, horizon_days)
    require_both_classes(fit, "model-fitting")
    require_both_classes(calibration, "calibration")
    classifier = lightgbm.LGBMClassifier(random_state=seed, n_jobs=threads, **TREE_PARAMETERS)
    classifier.fit(fit.features.to_numpy(dtype=float), fit.churned)
    booster = classifier.booster_
    isotonic = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
    isotonic.fit(
        _tree_output(booster, calibration.features.to_numpy(dtype=float)),
        calibration.churned.astype(float),
    )
    steps_x = np.asarray(isotonic.X_thresholds_, dtype=float)
    steps_y = np.asarray(isotonic.y_thresholds_, dtype=float)
    raw = _tree_output(booster, test.features.to_numpy(dtype=float)) if len(test) else np.zeros(0)
    report = ChurnModelReport(
        split_day=split_day.isoformat(),
        calibration_start=calibration_start.isoformat(),
        horizon_days=horizon_days,
        seed=seed,
        fit_rows=len(fit),
        calibration_rows=len(calibration),
        test_rows=len(test),
        test_churned=test.positives(),
        **_test_figures(test.churned, raw, _calibrated(raw, steps_x, steps_y), train),
    )
    features = list(dataset.features.columns)
    return ChurnModel(booster, features, steps_x, steps_y, report)


def _test_figures(
    churned: np.ndarray, raw: np.ndarray, calibrated: np.ndarray, train: Dataset
) -> dict[str, Any]:
    """AUC (raw and calibrated), Brier scores and reliability of the test rows."""
    if len(churned) == 0:
        empty = dict.fromkeys(("test_auc", "test_auc_calibrated", "test_brier", "base_rate_brier"))
        return {**empty, "reliability": []}
    base_rate = float(train.churned.mean())
    return {
        "test_auc": ranking_auc(churned, raw),
        "test_auc_calibrated": ranking_auc(churned, calibrated),
        "test_brier": float(brier_score_loss(churned, calibrated)),
        "base_rate_brier": float(np.mean((churned.astype(float) - base_rate) ** 2)),
        "reliability": reliability_table(churned, calibrated),
    }

"""Learned scorecard weights (health.md "Scores that predict"; seed 001 step 3).

An L2-regularised logistic regression of churn within the horizon on the standardised measures,
trained before the split day and tested after it (`learning.time_split`: no train label looks
past the split day). Preparation uses the train rows only:
- a missing value is imputed with the measure's train median, and a measure missing in at least
  MISSING_INDICATOR_SHARE of train rows gets a 0/1 "missing" column too, since being unmeasured
  (no survey answer, no usage) is itself a signal; a measure never seen in train is left out;
- every column is standardised, so coefficients are per standard deviation and comparable.

`class_weight="balanced"`: churn is rare (a few % of account-days), and unweighted the penalty
shrinks every coefficient towards the intercept in proportion to that rarity; balancing makes
the coefficients' relative sizes, which is all the suggested weights use, independent of the
portfolio's base rate. It does not change the ranking AUC measures, and this model's
probabilities are not used (the calibrated churn probability comes from `churn_model`).

Suggested weights: |coefficient| normalised to sum to 100 over the measures; the sign gives the
direction (a positive coefficient means more churn as the value rises: lower is better).
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

import numpy as np
import pyarrow as pa
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from tend.health.labels import DEFAULT_HORIZON_DAYS
from tend.health.learning import (
    Dataset,
    labelled_dataset,
    ranking_auc,
    require_both_classes,
    time_split,
)

MISSING_INDICATOR_SHARE = 0.05
HIGHER_IS_BETTER = "higher_is_better"
LOWER_IS_BETTER = "lower_is_better"


@dataclass(frozen=True)
class MeasureWeight:
    """One measure's learned effect: `coefficient` on churn log-odds per standard deviation,
    `weight` (0-100, all sum to 100) and `direction` for a scorecard, `median` imputed."""

    measure: str
    coefficient: float
    weight: float
    direction: str
    median: float
    missing_share: float


@dataclass(frozen=True)
class LearnedWeights:
    """The fitted regression's suggestions and how well it ranks churn before and after the split.
    `missing_indicators` holds the coefficients of the "measure is missing" columns;
    `unlearned` the measures without any train value."""

    measures: list[MeasureWeight]
    missing_indicators: dict[str, float]
    unlearned: list[str]
    intercept: float
    split_day: date
    horizon_days: int
    regularisation_c: float
    train_rows: int
    train_churned: int
    test_rows: int
    test_churned: int
    train_auc: float | None
    test_auc: float | None

    def weights(self) -> dict[str, MeasureWeight]:
        return {m.measure: m for m in self.measures}

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["split_day"] = self.split_day.isoformat()
        return data


@dataclass(frozen=True)
class _Preparation:
    """Train-fitted imputation and scaling, applied the same way to any rows."""

    measures: list[str]
    medians: np.ndarray
    indicators: list[str]
    scaler: StandardScaler

    def matrix(self, part: Dataset) -> np.ndarray:
        imputed = _imputed(part, self.measures, self.medians, self.indicators)
        return np.asarray(self.scaler.transform(imputed))


def _imputed(
    part: Dataset, measures: list[str], medians: np.ndarray, indicators: list[str]
) -> np.ndarray:
    """Measures with missing values replaced by `medians`, then the 0/1 missing columns."""
    raw = part.features[measures].to_numpy(dtype=float)
    flags = part.features[indicators].isna().to_numpy(dtype=float)
    return np.hstack([np.where(np.isnan(raw), medians, raw), flags])


def _prepare(train: Dataset) -> _Preparation:
    features = train.features
    measures = [name for name in features.columns if features[name].notna().any()]
    missing_share = features[measures].isna().mean()
    indicators = [m for m in measures if missing_share[m] >= MISSING_INDICATOR_SHARE]
    medians = features[measures].median().to_numpy(dtype=float)
    scaler = StandardScaler().fit(_imputed(train, measures, medians, indicators))
    return _Preparation(measures, medians, indicators, scaler)


def learn_weights(
    measure_values: pa.Table,
    labels: pa.Table,
    split_day: date,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
    regularisation_c: float = 1.0,
) -> LearnedWeights:
    """Fit the regression on the days before `split_day` (less the horizon) and test it on the
    days from `split_day` on; `regularisation_c` is sklearn's C (smaller: stronger L2)."""
    dataset = labelled_dataset(measure_values, labels)
    train, test = time_split(dataset, split_day, horizon_days)
    require_both_classes(train, "train")
    preparation = _prepare(train)
    model = LogisticRegression(C=regularisation_c, class_weight="balanced", max_iter=2000)
    model.fit(preparation.matrix(train), train.churned)
    coefficients = model.coef_[0]
    count = len(preparation.measures)
    measure_coefficients = coefficients[:count]
    total = float(np.abs(measure_coefficients).sum())
    missing_share = train.features[preparation.measures].isna().mean()
    measures = [
        MeasureWeight(
            measure=name,
            coefficient=float(coefficient),
            weight=100.0 * abs(float(coefficient)) / total if total else 0.0,
            direction=LOWER_IS_BETTER if coefficient > 0 else HIGHER_IS_BETTER,
            median=float(median),
            missing_share=float(missing_share[name]),
        )
        for name, coefficient, median in zip(
            preparation.measures, measure_coefficients, preparation.medians, strict=True
        )
    ]
    test_risk = model.decision_function(preparation.matrix(test)) if len(test) else np.array([])
    return LearnedWeights(
        measures=sorted(measures, key=lambda m: -m.weight),
        missing_indicators={
            name: float(c)
            for name, c in zip(preparation.indicators, coefficients[count:], strict=True)
        },
        unlearned=[c for c in train.features.columns if c not in preparation.measures],
        intercept=float(model.intercept_[0]),
        split_day=split_day,
        horizon_days=horizon_days,
        regularisation_c=regularisation_c,
        train_rows=len(train),
        train_churned=train.positives(),
        test_rows=len(test),
        test_churned=test.positives(),
        train_auc=ranking_auc(train.churned, model.decision_function(preparation.matrix(train))),
        test_auc=ranking_auc(test.churned, test_risk),
    )


# Keys a scorecard's measure may name its catalog metric by, in order of preference.
MEASURE_KEYS = ("metric", "measure", "name")
WEIGHT_DECIMALS = 2


def _measure_key(measure: dict[str, Any], learned: dict[str, MeasureWeight]) -> str | None:
    for key in MEASURE_KEYS:
        value = measure.get(key)
        if isinstance(value, str) and value in learned:
            return value
    return None


def _flip_normalisation(normalisation: Any) -> Any:
    """The same normalisation read the other way round (kinds that carry their own direction:
    linear's worst/best, trend's slopes, thresholds' tier scores); others are unchanged."""
    if not isinstance(normalisation, dict):
        return normalisation
    flipped = dict(normalisation)
    kind = normalisation.get("kind")
    if kind == "linear" and {"worst", "best"} <= set(normalisation):
        flipped["worst"], flipped["best"] = normalisation["best"], normalisation["worst"]
    elif kind == "trend" and {"slope_for_0", "slope_for_100"} <= set(normalisation):
        flipped["slope_for_0"] = normalisation["slope_for_100"]
        flipped["slope_for_100"] = normalisation["slope_for_0"]
    elif kind == "thresholds" and isinstance(normalisation.get("tiers"), list):
        tiers = normalisation["tiers"]
        scores = [tier.get("score") for tier in tiers][::-1]
        flipped["tiers"] = [{**tier, "score": s} for tier, s in zip(tiers, scores, strict=True)]
    return flipped


def suggested_scorecard(base_config: dict[str, Any], learned: LearnedWeights) -> dict[str, Any]:
    """A copy of `base_config` with the learned weights and directions.

    Each measure whose metric was learned takes its learned weight (measures sharing a metric
    split it) and direction; a flipped direction also flips linear, trend and thresholds
    normalisations. Each group's weight becomes the sum of its measures' weights, so under a
    weighted mean a measure's share of the score is its learned weight / 100. Measures without a
    learned weight above zero are dropped (a zero weight is not a valid scorecard weight), and
    groups left empty with them; the description says what changed. Everything else (bands,
    applies_to, normalisation bounds, missing-data policies) is kept.
    """
    config = copy.deepcopy(base_config)
    weights = learned.weights()
    sharing: dict[str, int] = {}
    for group in config.get("groups", []):
        for measure in group.get("measures", []):
            key = _measure_key(measure, weights)
            if key is not None:
                sharing[key] = sharing.get(key, 0) + 1
    dropped: list[str] = []
    flipped: list[str] = []
    groups = []
    for group in config.get("groups", []):
        measures = []
        for measure in group.get("measures", []):
            key = _measure_key(measure, weights)
            label = str(measure.get("name") or measure.get("metric") or "?")
            weight = round(weights[key].weight / sharing[key], WEIGHT_DECIMALS) if key else 0.0
            if key is None or weight <= 0:
                dropped.append(label)
                continue
            direction = weights[key].direction
            if measure.get("direction", direction) != direction:
                flipped.append(label)
                if "normalisation" in measure:
                    measure["normalisation"] = _flip_normalisation(measure["normalisation"])
            measure["weight"] = weight
            measure["direction"] = direction
            measures.append(measure)
        if measures:
            group["measures"] = measures
            group["weight"] = round(sum(m["weight"] for m in measures), WEIGHT_DECIMALS)
            groups.append(group)
    if not groups:
        raise ValueError("no measure of the base scorecard has a learned weight")
    config["groups"] = groups
    note = (
        f"Weights learned by logistic regression on days before {learned.split_day.isoformat()} "
        f"(test AUC {learned.test_auc:.3f})."
        if learned.test_auc is not None
        else f"Weights learned by logistic regression on days before {learned.split_day}."
    )
    if flipped:
        note += f" Direction reversed: {', '.join(flipped)}."
    if dropped:
        note += f" Dropped (no learned weight): {', '.join(dropped)}."
    description = str(config.get("description") or "").strip()
    config["description"] = f"{description}\n\n{note}".strip()
    return config

"""Learned scorecard weights (health.md "Scores that predict"; seed 001 step 3).

An L2-regularised logistic regression of churn within the horizon, trained before the split day
and tested after it (`learning.time_split`: no train label looks past the split day). Its
features are, for a scorecard (`learn_scorecard_weights`), the normalised measure scores the
scorecard weighs (0-100 after its normalisation, trend slopes and missing-data policies
included), so a coefficient says how much the scorecard should weigh that very score; or, on
plain measure values (`learn_weights`), each measure's raw value. Preparation uses the train
rows only:
- a missing value is imputed with the measure's train median; on measure values, a measure
  missing in at least MISSING_INDICATOR_SHARE of train rows gets a 0/1 "missing" column too,
  since being unmeasured (no survey answer, no usage) is itself a signal. On a scorecard's
  scores it does not: a scorecard has no weight for "missing" (its missing-data policies
  decide), and a regression leaning on such columns would rank better than the scorecard made
  from its weights; a measure never seen in train is left out;
- every column is standardised, so coefficients are per standard deviation and comparable;
- the regularisation C is chosen from REGULARISATION_GRID by the ranking AUC on the latest
  VALIDATION_SHARE of the train rows (`learning.later_slice`), fitting on the earlier ones; the
  model is then refitted on all train rows. A few dozen churned accounts support only a few
  effective parameters, so strong regularisation usually wins.

`class_weight="balanced"`: churn is rare (a few % of account-days), and unweighted the penalty
shrinks every coefficient towards the intercept in proportion to that rarity; balancing makes
the coefficients' relative sizes, which is all the suggested weights use, independent of the
portfolio's base rate. It does not change the ranking AUC measures, and this model's
probabilities are not used (the calibrated churn probability comes from `churn_model`).

Suggested weights: |coefficient| (per standard deviation; on normalised scores divided by the
train standard deviation: the effect per point of score, which is what a scorecard weight
multiplies), normalised to sum to 100 over the measures; the sign gives the direction (a
positive coefficient means more churn as the value rises: lower is better). On normalised
scores a suggested scorecard's score is then, where every measure is present, a decreasing
linear function of the regression's log-odds: it ranks as the regression does.
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
    has_both_classes,
    labelled_dataset,
    later_slice,
    ranking_auc,
    require_both_classes,
    scored_dataset,
    time_split,
)
from tend.health.scorecard import NEUTRAL_SCORE, SCALE_MAX

MISSING_INDICATOR_SHARE = 0.05
REGULARISATION_GRID = (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0)
"""Candidate Cs (sklearn: smaller is stronger L2), strongest first: ties go to the simpler fit."""
DEFAULT_REGULARISATION_C = 1.0
"""Used when the train rows are too few to hold a validation slice with churn in it."""
VALIDATION_SHARE = 0.3
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
    `unlearned` the measures without any train value; `on_scores` says the features were a
    scorecard's normalised scores (a measure's `direction` is then relative: lower_is_better
    means a higher score went with more churn, so the scorecard should read it the other way
    round); `validation_aucs` the AUC of each candidate C on the validation slice."""

    measures: list[MeasureWeight]
    missing_indicators: dict[str, float]
    unlearned: list[str]
    intercept: float
    split_day: date
    horizon_days: int
    regularisation_c: float
    validation_aucs: dict[str, float | None]
    on_scores: bool
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


def _prepare(train: Dataset, with_indicators: bool) -> _Preparation:
    features = train.features
    measures = [name for name in features.columns if features[name].notna().any()]
    missing_share = features[measures].isna().mean()
    share = MISSING_INDICATOR_SHARE if with_indicators else np.inf
    indicators = [m for m in measures if missing_share[m] >= share]
    medians = features[measures].median().to_numpy(dtype=float)
    scaler = StandardScaler().fit(_imputed(train, measures, medians, indicators))
    return _Preparation(measures, medians, indicators, scaler)


def learn_weights(
    measure_values: pa.Table,
    labels: pa.Table,
    split_day: date,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
    regularisation_c: float | None = None,
) -> LearnedWeights:
    """Fit the regression on the raw measure values of the days before `split_day` (less the
    horizon) and test it on the days from `split_day` on; `regularisation_c` is sklearn's C
    (smaller: stronger L2), chosen on a validation slice when None."""
    dataset = labelled_dataset(measure_values, labels)
    return fit_weights(dataset, split_day, horizon_days, regularisation_c)


def learn_scorecard_weights(
    snapshots: pa.Table,
    labels: pa.Table,
    split_day: date,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
    regularisation_c: float | None = None,
) -> LearnedWeights:
    """As `learn_weights`, on a scorecard's snapshots (`scoring.score` output): the features are
    its normalised measure scores, named by the scorecard's measure names."""
    dataset = scored_dataset(snapshots, labels)
    return fit_weights(dataset, split_day, horizon_days, regularisation_c, on_scores=True)


def _fitted(part: Dataset, c: float, on_scores: bool) -> tuple[_Preparation, LogisticRegression]:
    preparation = _prepare(part, with_indicators=not on_scores)
    model = LogisticRegression(C=c, class_weight="balanced", max_iter=2000)
    model.fit(preparation.matrix(part), part.churned)
    return preparation, model


def _risk(fitted: tuple[_Preparation, LogisticRegression], part: Dataset) -> np.ndarray:
    preparation, model = fitted
    return np.asarray(model.decision_function(preparation.matrix(part)), dtype=float)


def validation_aucs(train: Dataset, on_scores: bool) -> dict[str, float | None]:
    """Each candidate C's ranking AUC on the latest VALIDATION_SHARE of `train`, fitted on the
    earlier rows; empty when either part lacks churned or retained rows."""
    earlier, later = later_slice(train, VALIDATION_SHARE)
    if not (has_both_classes(earlier) and has_both_classes(later)):
        return {}
    return {
        str(c): ranking_auc(later.churned, _risk(_fitted(earlier, c, on_scores), later))
        for c in REGULARISATION_GRID
    }


def _best_c(aucs: dict[str, float | None]) -> float:
    scored = [(auc, -float(c)) for c, auc in aucs.items() if auc is not None]
    return -max(scored)[1] if scored else DEFAULT_REGULARISATION_C


def fit_weights(
    dataset: Dataset,
    split_day: date,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
    regularisation_c: float | None = None,
    on_scores: bool = False,
) -> LearnedWeights:
    """The regression on `dataset`'s rows, split in time at `split_day`. Weights are the
    coefficients per standard deviation, or `on_scores` (the features are a scorecard's
    normalised scores) per point of the 0-100 scale, what a scorecard weight multiplies, and
    without missing columns."""
    train, test = time_split(dataset, split_day, horizon_days)
    require_both_classes(train, "train")
    aucs = validation_aucs(train, on_scores) if regularisation_c is None else {}
    chosen = _best_c(aucs) if regularisation_c is None else regularisation_c
    fitted = _fitted(train, chosen, on_scores)
    preparation, model = fitted
    coefficients = model.coef_[0]
    count = len(preparation.measures)
    measure_coefficients = coefficients[:count]
    scales = preparation.scaler.scale_[:count] if on_scores else np.ones(count)
    per_unit = measure_coefficients / scales
    total = float(np.abs(per_unit).sum())
    missing_share = train.features[preparation.measures].isna().mean()
    measures = [
        MeasureWeight(
            measure=name,
            coefficient=float(coefficient),
            weight=100.0 * abs(float(unit)) / total if total else 0.0,
            direction=LOWER_IS_BETTER if coefficient > 0 else HIGHER_IS_BETTER,
            median=float(median),
            missing_share=float(missing_share[name]),
        )
        for name, coefficient, unit, median in zip(
            preparation.measures, measure_coefficients, per_unit, preparation.medians, strict=True
        )
    ]
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
        regularisation_c=chosen,
        validation_aucs=aucs,
        on_scores=on_scores,
        train_rows=len(train),
        train_churned=train.positives(),
        test_rows=len(test),
        test_churned=test.positives(),
        train_auc=ranking_auc(train.churned, _risk(fitted, train)),
        test_auc=ranking_auc(test.churned, _risk(fitted, test)) if len(test) else None,
    )


# Keys a scorecard's measure may name its catalog metric by, in order of preference.
MEASURE_KEYS = ("metric", "measure", "name")
WEIGHT_DECIMALS = 2


def _measure_key(
    measure: dict[str, Any], learned: dict[str, MeasureWeight], on_scores: bool
) -> str | None:
    """The learned feature a scorecard measure takes its weight from: learned on a scorecard's
    scores, its name (its metric when unnamed); on measure values, its metric."""
    if on_scores:
        value = measure.get("name") or measure.get("metric")
        return value if isinstance(value, str) and value in learned else None
    for key in MEASURE_KEYS:
        value = measure.get(key)
        if isinstance(value, str) and value in learned:
            return value
    return None


def flip_normalisation(normalisation: Any) -> Any:
    """The normalisation that scores 100 - what `normalisation` scores, once the measure's
    direction is reversed too (linear's worst/best and trend's slopes swap, thresholds' tier
    scores become 100 - score, points' base becomes 100 - base; percentile reverses with the
    direction alone)."""
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
        flipped["tiers"] = [
            {**tier, "score": SCALE_MAX - float(tier["score"])} for tier in normalisation["tiers"]
        ]
    elif kind == "points":
        flipped["base"] = SCALE_MAX - float(normalisation.get("base", NEUTRAL_SCORE))
    return flipped


def _reversed(direction: Any) -> str:
    return HIGHER_IS_BETTER if direction == LOWER_IS_BETTER else LOWER_IS_BETTER


def suggested_scorecard(base_config: dict[str, Any], learned: LearnedWeights) -> dict[str, Any]:
    """A copy of `base_config` with the learned weights and directions.

    Each measure that was learned takes its learned weight (measures sharing a metric split it)
    and direction; a reversed direction also flips linear, trend, thresholds and points
    normalisations so that the measure scores 100 - what it scored. Each group's weight becomes
    the sum of its measures' weights and a min or max group becomes a weighted mean (under min or
    max a measure's weight would be ignored), so a measure's share of the score is its learned
    weight / 100. Measures without a learned weight above zero are dropped (a zero weight is not
    a valid scorecard weight), and groups left empty with them; the description says what
    changed. Everything else (bands, applies_to, normalisation bounds, missing-data policies) is
    kept.
    """
    config = copy.deepcopy(base_config)
    weights = learned.weights()
    on_scores = learned.on_scores
    sharing: dict[str, int] = {}
    for group in config.get("groups", []):
        for measure in group.get("measures", []):
            key = _measure_key(measure, weights, on_scores)
            if key is not None:
                sharing[key] = sharing.get(key, 0) + 1
    dropped: list[str] = []
    flipped: list[str] = []
    averaged: list[str] = []
    groups = []
    for group in config.get("groups", []):
        measures = []
        for measure in group.get("measures", []):
            key = _measure_key(measure, weights, on_scores)
            label = str(measure.get("name") or measure.get("metric") or "?")
            weight = round(weights[key].weight / sharing[key], WEIGHT_DECIMALS) if key else 0.0
            if key is None or weight <= 0:
                dropped.append(label)
                continue
            current = measure.get("direction", HIGHER_IS_BETTER)
            learned_direction = weights[key].direction
            if on_scores:
                reverse = learned_direction == LOWER_IS_BETTER
            else:
                reverse = current != learned_direction
            if reverse:
                flipped.append(label)
                if "normalisation" in measure:
                    measure["normalisation"] = flip_normalisation(measure["normalisation"])
            measure["weight"] = weight
            measure["direction"] = _reversed(current) if reverse else current
            measures.append(measure)
        if measures:
            group["measures"] = measures
            group["weight"] = round(sum(m["weight"] for m in measures), WEIGHT_DECIMALS)
            if group.get("aggregation", "weighted_mean") != "weighted_mean" and len(measures) > 1:
                averaged.append(str(group.get("name") or "?"))
                group["aggregation"] = "weighted_mean"
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
    if averaged:
        note += f" Now a weighted mean: {', '.join(averaged)}."
    if dropped:
        note += f" Dropped (no learned weight): {', '.join(dropped)}."
    description = str(config.get("description") or "").strip()
    config["description"] = f"{description}\n\n{note}".strip()
    return config

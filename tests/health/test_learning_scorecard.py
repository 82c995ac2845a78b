"""Weights learned on a scorecard's own normalised scores (no database): the suggested scorecard
is a valid scorecard that, scored by the engine, ranks churn as well as the regression behind
it, reverses a measure read the wrong way round, and learns nothing from shuffled labels.

Synthetic book: each account-week has `active_users_30d` (more users, less churn),
`tickets_opened_30d` (more tickets, more churn, but the base scorecard wrongly rewards them) and
`session_minutes_median_30d` (no effect); churn within the horizon is drawn from a logistic
model of the first two."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from tend.health.backtest import backtest
from tend.health.learning_weights import (
    flip_normalisation,
    learn_scorecard_weights,
    suggested_scorecard,
)
from tend.health.normalise import normalise
from tend.health.scorecard import Measure, ScorecardConfig
from tend.health.scoring import score

FIRST_MONDAY = date(2024, 1, 1)
WEEKS = 60
ACCOUNTS = 250
HORIZON = 90
SPLIT_DAY = FIRST_MONDAY + timedelta(weeks=45)
DAYS = [FIRST_MONDAY + timedelta(weeks=w) for w in range(WEEKS)]

BASE: dict[str, Any] = {
    "name": "Base",
    "is_default": True,
    "bands": {
        "method": "thresholds",
        "levels": [
            {"name": "unhealthy", "colour": "red", "below": 40},
            {"name": "healthy", "colour": "green"},
        ],
    },
    "groups": [
        {
            "name": "adoption",
            "weight": 50,
            "measures": [
                {
                    "metric": "active_users_30d",
                    "direction": "higher_is_better",
                    "weight": 1,
                    "normalisation": {"kind": "linear", "worst": 0, "best": 40},
                },
                {
                    "metric": "session_minutes_median_30d",
                    "direction": "higher_is_better",
                    "weight": 1,
                    "normalisation": {"kind": "percentile"},
                },
            ],
        },
        {
            "name": "support",
            "weight": 50,
            "aggregation": "min",
            "measures": [
                {
                    "metric": "tickets_opened_30d",
                    "direction": "higher_is_better",  # wrong: tickets go with churn
                    "weight": 1,
                    "normalisation": {"kind": "points", "base": 0, "points_per_unit": 10},
                },
                {
                    "metric": "session_minutes_median_30d",
                    "name": "noise_in_support",
                    "direction": "higher_is_better",
                    "weight": 1,
                    "normalisation": {"kind": "linear", "worst": 20, "best": 80},
                },
            ],
        },
    ],
}


def synthetic(shuffled: bool = False) -> tuple[pa.Table, pa.Table]:
    """(measure values, labels) for ACCOUNTS accounts over WEEKS Mondays."""
    rng = np.random.default_rng(11)
    baseline = rng.normal(20, 6, ACCOUNTS)
    names = [f"acc-{n:03d}" for n in range(ACCOUNTS)]
    rows: dict[str, list[Any]] = {"account": [], "day": [], "measure": [], "value": []}
    churned: list[bool] = []
    for day in DAYS:
        users = np.maximum(baseline + rng.normal(0, 3, ACCOUNTS), 0)
        tickets = rng.poisson(2, ACCOUNTS).astype(float)
        noise = rng.normal(50, 10, ACCOUNTS)
        risk = 1 / (1 + np.exp(-(-2.6 - 1.2 * (users - 20) / 6 + 0.6 * (tickets - 2))))
        churned += list(rng.random(ACCOUNTS) < risk)
        for measure, values in (
            ("active_users_30d", users),
            ("tickets_opened_30d", tickets),
            ("session_minutes_median_30d", noise),
        ):
            rows["account"] += names
            rows["day"] += [day] * ACCOUNTS
            rows["measure"] += [measure] * ACCOUNTS
            rows["value"] += list(values)
    if shuffled:
        churned = list(rng.permutation(churned))
    labels = pa.table(
        {
            "account": [a for _ in DAYS for a in names],
            "day": pa.array([d for d in DAYS for _ in names], pa.date32()),
            "paying": [True] * len(churned),
            "churned": churned,
        }
    )
    values = pa.table({**rows, "day": pa.array(rows["day"], pa.date32())})
    return values, labels


def scores(config: dict[str, Any], values: pa.Table) -> pa.Table:
    accounts = pa.table({"account": sorted(set(values["account"].to_pylist()))})
    return score(config, values, accounts, DAYS)


def test_the_suggested_scorecard_ranks_as_the_regression_and_fixes_a_reversed_measure() -> None:
    values, labels = synthetic()
    snapshots = scores(BASE, values)
    learned = learn_scorecard_weights(snapshots, labels, SPLIT_DAY, HORIZON)
    assert learned.on_scores and learned.regularisation_c in (
        float(c) for c in learned.validation_aucs
    )
    weights = learned.weights()
    assert weights["tickets_opened_30d"].direction == "lower_is_better"  # read the other way
    assert weights["active_users_30d"].direction == "higher_is_better"
    assert (
        weights["session_minutes_median_30d"].weight < 10
        and weights["noise_in_support"].weight < 10
    )

    suggestion = suggested_scorecard(BASE, learned)
    ScorecardConfig.model_validate(suggestion)  # a valid scorecard
    support = suggestion["groups"][1]
    assert support["aggregation"] == "weighted_mean"
    tickets = support["measures"][0]
    assert tickets["direction"] == "lower_is_better"
    assert tickets["normalisation"] == {"kind": "points", "base": 100.0, "points_per_unit": 10}

    base_auc = backtest(snapshots, labels, HORIZON, since=SPLIT_DAY).roc_auc
    learned_auc = backtest(scores(suggestion, values), labels, HORIZON, since=SPLIT_DAY).roc_auc
    assert base_auc is not None and learned_auc is not None and learned.test_auc is not None
    assert learned_auc > base_auc + 0.15
    # Every measure is present: the scorecard is a linear function of the regression's log-odds
    # up to rounding and clamping.
    assert learned_auc == pytest.approx(learned.test_auc, abs=0.01)


def test_shuffled_labels_teach_nothing() -> None:
    values, labels = synthetic(shuffled=True)
    snapshots = scores(BASE, values)
    learned = learn_scorecard_weights(snapshots, labels, SPLIT_DAY, HORIZON)
    suggestion = suggested_scorecard(BASE, learned)
    auc = backtest(scores(suggestion, values), labels, HORIZON, since=SPLIT_DAY).roc_auc
    assert auc is not None and abs(auc - 0.5) < 0.05


@pytest.mark.parametrize(
    ("direction", "normalisation"),
    [
        ("higher_is_better", {"kind": "linear", "worst": 0, "best": 40}),
        ("higher_is_better", {"kind": "trend", "weeks": 4, "slope_for_0": -2, "slope_for_100": 1}),
        (
            "lower_is_better",
            {
                "kind": "thresholds",
                "tiers": [{"at_least": 0, "score": 90}, {"at_least": 5, "score": 30}],
            },
        ),
        ("lower_is_better", {"kind": "points", "base": 80, "points_per_unit": 7}),
        ("higher_is_better", {"kind": "percentile"}),
    ],
)
def test_a_reversed_measure_scores_100_minus_what_it_scored(
    direction: str, normalisation: dict[str, Any]
) -> None:
    raw = np.array([[-3.0, 0.0, 2.0, 4.0, 7.0, 50.0, np.nan]]).T
    before = Measure.model_validate(
        {"metric": "events_30d", "direction": direction, "normalisation": normalisation}
    )
    other = "lower_is_better" if direction == "higher_is_better" else "higher_is_better"
    after = Measure.model_validate(
        {
            "metric": "events_30d",
            "direction": other,
            "normalisation": flip_normalisation(normalisation),
        }
    )
    np.testing.assert_allclose(normalise(after, raw), 100 - normalise(before, raw))

"""Learned weights and the churn model on synthetic data with a planted effect (no database).

Each account-week has `active_users_30d` (the planted effect: fewer users, more churn),
`noise_score` (irrelevant) and `nps_latest` (missing for 40 % of rows, no effect); churn within
the horizon is drawn from a logistic model of the standardised active users.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from sklearn.metrics import roc_auc_score

from tend.health.churn_model import MAX_TREES, ChurnModel, train_churn_model
from tend.health.learning import labelled_dataset, time_split
from tend.health.learning_weights import learn_weights, suggested_scorecard

FIRST_MONDAY = date(2024, 1, 1)
WEEKS = 70
ACCOUNTS = 300
HORIZON = 90
SPLIT_DAY = FIRST_MONDAY + timedelta(weeks=50)
MEASURES = ("active_users_30d", "noise_score", "nps_latest")


def synthetic(seed: int = 5) -> tuple[pa.Table, pa.Table]:
    """(measure values, labels) for ACCOUNTS accounts over WEEKS Mondays."""
    rng = np.random.default_rng(seed)
    baseline = rng.normal(20, 6, ACCOUNTS)
    accounts, days, users, noise, nps, churned = [], [], [], [], [], []
    for week in range(WEEKS):
        day = FIRST_MONDAY + timedelta(weeks=week)
        active = np.maximum(baseline + rng.normal(0, 3, ACCOUNTS), 0)
        risk = 1 / (1 + np.exp(-(-2.5 - 1.6 * (active - 20) / 6)))
        accounts += [f"acc-{n:03d}" for n in range(ACCOUNTS)]
        days += [day] * ACCOUNTS
        users += list(active)
        noise += list(rng.normal(50, 10, ACCOUNTS))
        nps += [
            None if r < 0.4 else float(v)
            for r, v in zip(rng.random(ACCOUNTS), rng.integers(0, 11, ACCOUNTS), strict=True)
        ]
        churned += list(rng.random(ACCOUNTS) < risk)  # fmt: skip
    count = len(accounts)
    values = pa.table(
        {
            "account": accounts * 3,
            "day": pa.array(days * 3, pa.date32()),
            "measure": [m for m in MEASURES for _ in range(count)],
            "value": pa.array(users + noise + nps, pa.float64()),
        }
    )
    labels = pa.table(
        {
            "account": accounts,
            "day": pa.array(days, pa.date32()),
            "paying": [True] * count,
            "churned": churned,
        }
    )
    return values, labels


@pytest.fixture(scope="module")
def data() -> tuple[pa.Table, pa.Table]:
    return synthetic()


def with_labels_shuffled_from(labels: pa.Table, first_day: date, seed: int) -> pa.Table:
    """`labels` with `churned` permuted among the rows on or after `first_day`."""
    churned = np.asarray(labels["churned"].to_pylist(), dtype=bool)
    late = np.asarray([d >= first_day for d in labels["day"].to_pylist()])
    shuffled = churned.copy()
    shuffled[late] = np.random.default_rng(seed).permutation(churned[late])
    assert (shuffled != churned).any()
    return labels.set_column(3, "churned", pa.array(shuffled))


def test_learning_recovers_the_planted_sign_and_beats_an_irrelevant_measure(
    data: tuple[pa.Table, pa.Table],
) -> None:
    values, labels = data
    learned = learn_weights(values, labels, SPLIT_DAY, horizon_days=HORIZON)
    weights = learned.weights()
    assert weights["active_users_30d"].coefficient < 0
    assert weights["active_users_30d"].direction == "higher_is_better"
    assert learned.measures[0].measure == "active_users_30d"
    assert weights["active_users_30d"].weight > 80
    assert sum(m.weight for m in learned.measures) == pytest.approx(100)
    assert set(learned.missing_indicators) == {"nps_latest"}

    _, test = time_split(labelled_dataset(values, labels), SPLIT_DAY, HORIZON)
    noise_auc = roc_auc_score(test.churned, test.features["noise_score"])
    assert learned.test_auc is not None
    assert learned.test_auc > max(noise_auc, 1 - noise_auc) + 0.2
    assert learned.test_rows == len(test) == ACCOUNTS * 20


def test_the_time_split_has_no_leakage(data: tuple[pa.Table, pa.Table]) -> None:
    values, labels = data
    learned = learn_weights(values, labels, SPLIT_DAY, horizon_days=HORIZON)
    # Labels from the first day whose horizon reaches the split day on cannot shape the fit.
    first_unseen = SPLIT_DAY - timedelta(days=HORIZON)
    shuffled = with_labels_shuffled_from(labels, first_unseen, seed=1)
    relearned = learn_weights(values, shuffled, SPLIT_DAY, horizon_days=HORIZON)
    assert [m.coefficient for m in relearned.measures] == [m.coefficient for m in learned.measures]
    assert relearned.intercept == learned.intercept
    assert relearned.train_auc == learned.train_auc
    assert relearned.test_auc != learned.test_auc
    # The last train day's label does shape it.
    last_train = SPLIT_DAY - timedelta(days=HORIZON + 1)
    changed = learn_weights(
        values, with_labels_shuffled_from(labels, last_train - timedelta(days=6), 2), SPLIT_DAY
    )
    assert changed.intercept != learned.intercept


BASE_CONFIG = {
    "name": "Default",
    "description": "Ships with Tend.",
    "is_default": True,
    "bands": {"method": "thresholds", "levels": []},
    "groups": [
        {
            "name": "adoption",
            "weight": 2,
            "aggregation": "weighted_mean",
            "measures": [
                {
                    "metric": "active_users_30d",
                    "direction": "lower_is_better",
                    "weight": 1,
                    "normalisation": {"kind": "linear", "worst": 40, "best": 0},
                    "missing": "exclude",
                },
                {
                    "metric": "noise_score",
                    "direction": "higher_is_better",
                    "weight": 3,
                    "normalisation": {"kind": "percentile"},
                },
            ],
        },
        {
            "name": "sentiment",
            "weight": 1,
            "aggregation": "min",
            "measures": [
                {
                    "metric": "nps_latest",
                    "direction": "higher_is_better",
                    "normalisation": {
                        "kind": "thresholds",
                        "tiers": [{"at_least": 0, "score": 0}, {"at_least": 9, "score": 100}],
                    },
                },
            ],
        },
        {
            "name": "finance",
            "measures": [{"metric": "days_overdue_max", "direction": "lower_is_better"}],
        },
    ],
}


def test_suggested_scorecard_takes_learned_weights_and_directions(
    data: tuple[pa.Table, pa.Table],
) -> None:
    values, labels = data
    learned = learn_weights(values, labels, SPLIT_DAY, horizon_days=HORIZON)
    weights = learned.weights()
    config = suggested_scorecard(BASE_CONFIG, learned)
    assert BASE_CONFIG["groups"][0]["measures"][0]["weight"] == 1  # type: ignore[index]
    assert [g["name"] for g in config["groups"]] == ["adoption", "sentiment"]  # finance: no data
    adoption = config["groups"][0]
    users = adoption["measures"][0]
    assert users["direction"] == "higher_is_better"
    assert users["normalisation"] == {"kind": "linear", "worst": 0, "best": 40}  # flipped
    assert users["missing"] == "exclude"
    assert users["weight"] == round(weights["active_users_30d"].weight, 2)
    assert adoption["weight"] == pytest.approx(
        round(users["weight"] + adoption["measures"][1]["weight"], 2)
    )
    nps = config["groups"][1]["measures"][0]
    assert nps["direction"] == weights["nps_latest"].direction
    if nps["direction"] == "lower_is_better":
        assert [t["score"] for t in nps["normalisation"]["tiers"]] == [100, 0]
    assert config["groups"][1]["aggregation"] == "min"
    total = sum(m["weight"] for g in config["groups"] for m in g["measures"])
    assert total == pytest.approx(100, abs=0.05)
    assert "days_overdue_max" in config["description"]
    assert "Direction reversed: active_users_30d" in config["description"]


def test_churn_model_is_calibrated_beats_the_base_rate_and_explains_itself(
    data: tuple[pa.Table, pa.Table], tmp_path: Path
) -> None:
    values, labels = data
    model = train_churn_model(values, labels, SPLIT_DAY, horizon_days=HORIZON, seed=3)
    report = model.report
    assert report.test_auc is not None and report.test_auc > 0.75
    assert report.test_brier is not None and report.base_rate_brier is not None
    assert report.test_brier < report.base_rate_brier
    assert len(report.reliability) == 10
    assert sum(b.rows for b in report.reliability) == report.test_rows
    assert (report.reliability[0].lower, report.reliability[-1].upper) == (0.0, 1.0)
    for (
        bin_
    ) in report.reliability:  # calibrated: where rows are many, predicted is close to observed
        if bin_.rows >= 300:
            assert bin_.mean_predicted == pytest.approx(bin_.observed_rate, abs=0.06)
    assert report.validation_rows > 0 and report.train_rows > report.validation_rows
    assert 1 <= report.trees <= MAX_TREES

    last_day = FIRST_MONDAY + timedelta(weeks=WEEKS - 1)
    today = values.filter(pa.compute.equal(values["day"], pa.scalar(last_day, pa.date32())))
    predictions = model.predict(today)
    assert predictions.num_rows == ACCOUNTS
    probabilities = np.asarray(predictions["churn_probability"].to_pylist())
    assert ((probabilities >= 0) & (probabilities <= 1)).all()
    drivers = predictions["drivers"].to_pylist()
    assert all(1 <= len(d) <= 3 for d in drivers)
    assert {d["measure"] for row in drivers for d in row} <= set(model.features)
    assert set(model.features) == {*MEASURES, *(f"{m}:trend" for m in MEASURES)}
    assert sum(row[0]["measure"] == "active_users_30d" for row in drivers) > ACCOUNTS * 0.6
    first = drivers[0][0]
    users = today.filter(
        pa.compute.and_(
            pa.compute.equal(today["account"], predictions["account"][0]),
            pa.compute.equal(today["measure"], first["measure"]),
        )
    )
    assert first["value"] == users["value"][0].as_py()
    # Fewer active users, higher probability (on average).
    by_account = dict(zip(predictions["account"].to_pylist(), probabilities, strict=True))
    active = today.filter(pa.compute.equal(today["measure"], "active_users_30d"))
    pairs = sorted(zip(active["value"].to_pylist(), active["account"].to_pylist(), strict=True))
    low = np.mean([by_account[a] for _, a in pairs[:50]])
    high = np.mean([by_account[a] for _, a in pairs[-50:]])
    assert low > high

    again = train_churn_model(values, labels, SPLIT_DAY, horizon_days=HORIZON, seed=3)
    assert again.booster.model_to_string() == model.booster.model_to_string()
    assert again.predict(today).equals(predictions)

    path = tmp_path / "models" / "churn.json"
    model.save(path)
    loaded = ChurnModel.load(path)
    assert loaded.report == model.report
    assert loaded.predict(today).equals(predictions)


def test_too_little_history_says_so(data: tuple[pa.Table, pa.Table]) -> None:
    values, labels = data
    with pytest.raises(ValueError, match="train rows need churned and retained"):
        learn_weights(values, labels, FIRST_MONDAY + timedelta(days=HORIZON))

"""Backtest figures on synthetic snapshots whose answers are known (no database)."""

from __future__ import annotations

import json
from datetime import date, timedelta

import numpy as np
import pyarrow as pa
import pytest

from tend.health.backtest import BacktestResult, backtest, scored_outcomes

DAY = date(2025, 3, 3)  # a Monday


def band_of(score: float) -> str:
    return "unhealthy" if score < 40 else "at_risk" if score < 70 else "healthy"


def tables(scores: list[float], churned: list[bool], day: date = DAY) -> tuple[pa.Table, pa.Table]:
    """One account-day per score: snapshots and matching paying labels."""
    accounts = [f"acc-{n:04d}" for n in range(len(scores))]
    days = pa.array([day] * len(scores), pa.date32())
    snapshots = pa.table(
        {
            "account": accounts,
            "day": days,
            "score": pa.array(scores, pa.float64()),
            "band": [band_of(s) for s in scores],
        }
    )
    labels = pa.table(
        {
            "account": accounts,
            "day": days,
            "paying": [True] * len(scores),
            "churned": churned,
        }
    )
    return snapshots, labels


def test_a_perfectly_ranked_score_has_auc_one_and_a_reversed_one_zero() -> None:
    churned = [n % 4 == 0 for n in range(40)]
    perfect = [10.0 + n if c else 60.0 + n for n, c in enumerate(churned)]
    assert backtest(*tables(perfect, churned)).roc_auc == 1.0
    reversed_scores = [100.0 - s for s in perfect]
    assert backtest(*tables(reversed_scores, churned)).roc_auc == 0.0


def test_a_random_score_has_auc_near_one_half() -> None:
    rng = np.random.default_rng(11)
    churned = list(rng.random(4000) < 0.15)
    scores = list(rng.uniform(0, 100, 4000))
    result = backtest(*tables(scores, churned))
    assert result.roc_auc == pytest.approx(0.5, abs=0.04)


def test_hand_computed_precision_recall_lift_and_auc() -> None:
    scores = [5.0, 15.0, 25.0, 35.0, 45.0, 55.0, 65.0, 75.0, 85.0, 95.0]
    churned = [True, True, False, False, True, False, False, False, True, False]
    result = backtest(*tables(scores, churned))
    # Red band (< 40): 5, 15, 25, 35; two of them churned, of 4 churned in all.
    assert result.red_account_days == 4
    assert result.red_precision == 0.5
    assert result.red_recall == 0.5
    # Bottom decile of 10: the single lowest score (5), churned; base rate 4 / 10.
    assert result.bottom_decile_account_days == 1
    assert result.bottom_decile_churn_rate == 1.0
    assert result.base_rate == 0.4
    assert result.bottom_decile_lift == pytest.approx(2.5)
    # Pairs (churned, retained) ranked right: 6 + 6 + 4 + 1 of 4 x 6.
    assert result.roc_auc == pytest.approx(17 / 24)
    assert result.bands["unhealthy"].churn_rate == 0.5
    assert result.bands["healthy"].account_days == 3
    assert (result.account_days, result.accounts, result.churned) == (10, 10, 4)


def test_bottom_decile_rounds_up_and_no_churn_gives_no_ratios() -> None:
    scores = [float(n) for n in range(15)]
    churned = [n < 3 for n in range(15)]
    result = backtest(*tables(scores, churned))
    assert result.bottom_decile_account_days == 2  # ceil(1.5)
    assert result.bottom_decile_lift == pytest.approx(1.0 / 0.2)
    quiet = backtest(*tables(scores, [False] * 15))
    assert quiet.roc_auc is None
    assert quiet.bottom_decile_lift is None
    assert quiet.red_recall is None


def test_only_paying_labelled_days_count_sampled_once_a_week() -> None:
    days = [DAY + timedelta(days=n) for n in range(14)]
    snapshots = pa.table(
        {
            "account": ["a"] * 14 + ["b"],
            "day": pa.array([*days, DAY], pa.date32()),
            "score": [30.0] * 14 + [80.0],
            "band": ["unhealthy"] * 14 + ["healthy"],
        }
    )
    labels = pa.table(
        {
            "account": ["a"] * 14 + ["b", "c"],
            "day": pa.array([*days, DAY, DAY], pa.date32()),
            "paying": [True] * 13 + [False, True, True],
            "churned": pa.array([True] * 12 + [None, None, False, True], pa.bool_()),
        }
    )
    rows = scored_outcomes(snapshots, labels)
    assert [(r["account"], r["day"]) for r in rows.to_pylist()] == [
        ("a", DAY),
        ("a", DAY + timedelta(days=7)),
        ("b", DAY),
    ]  # c has no snapshot; a's censored and unpaid days are gone
    later = scored_outcomes(snapshots, labels, since=DAY + timedelta(days=1))
    assert later["day"].to_pylist() == [DAY + timedelta(days=1), DAY + timedelta(days=7)]
    result = backtest(snapshots, labels)
    assert result.roc_auc == 1.0
    assert (result.first_day, result.last_day) == (DAY, DAY + timedelta(days=7))


def test_result_round_trips_through_json() -> None:
    result = backtest(*tables([5.0, 50.0, 90.0], [True, False, False]))
    stored = json.loads(json.dumps(result.to_json()))
    assert stored["first_day"] == DAY.isoformat()
    assert BacktestResult.from_json(stored) == result


def test_red_bands_can_have_other_names() -> None:
    snapshots, labels = tables([10.0, 20.0, 80.0, 90.0], [True, False, False, False])
    renamed = snapshots.set_column(3, "band", pa.array(["red", "red", "green", "green"]))
    result = backtest(renamed, labels, red_bands=("red",))
    assert (result.red_precision, result.red_recall) == (0.5, 1.0)
    assert backtest(renamed, labels).red_account_days == 0

"""Each normalisation by hand: raw values in, 0-100 scores out (NaN = missing stays missing)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from tend.health.normalise import WeeklySlope, normalise, percentile_ranks, share_below
from tend.health.scorecard import Measure

NAN = np.nan


def measure(normalisation: dict[str, Any], direction: str = "higher_is_better") -> Measure:
    return Measure.model_validate(
        {"metric": "events_30d", "direction": direction, "normalisation": normalisation}
    )


def column(*values: float) -> np.ndarray:
    """One day's values for several accounts: a grid of accounts x 1 day."""
    return np.asarray(values, dtype=float)[:, None]


def test_linear_maps_worst_to_0_and_best_to_100_clamped() -> None:
    """worst 0, best 10: 0 → 0, 5 → 50, 10 → 100, 15 → 100 (clamped), -3 → 0 (clamped)."""
    scores = normalise(
        measure({"kind": "linear", "worst": 0, "best": 10}), column(0, 5, 10, 15, -3)
    )
    assert scores[:, 0].tolist() == [0, 50, 100, 100, 0]


def test_linear_lower_is_better() -> None:
    """worst 10, best 0 (days overdue): 2.5 → (2.5 - 10) / (0 - 10) x 100 = 75; 20 → 0."""
    m = measure({"kind": "linear", "worst": 10, "best": 0}, "lower_is_better")
    assert normalise(m, column(2.5, 20, 0))[:, 0].tolist() == [75, 0, 100]


def test_missing_stays_missing() -> None:
    scores = normalise(measure({"kind": "linear", "worst": 0, "best": 10}), column(NAN, 5))
    assert np.isnan(scores[0, 0]) and scores[1, 0] == 50


def test_thresholds_take_the_last_tier_reached() -> None:
    """Tiers 0 → 100, 1 → 60, 3 → 0: -1 is below the first tier and takes its 100; 0.5 → 100;
    1 → 60; 2.99 → 60; 3 → 0; 10 → 0."""
    tiers = [
        {"at_least": 0, "score": 100},
        {"at_least": 1, "score": 60},
        {"at_least": 3, "score": 0},
    ]
    m = measure({"kind": "thresholds", "tiers": tiers}, "lower_is_better")
    scores = normalise(m, column(-1, 0, 0.5, 1, 2.99, 3, 10, NAN))[:, 0]
    assert scores[:7].tolist() == [100, 100, 100, 60, 60, 0, 0]
    assert np.isnan(scores[7])


def test_percentile_ranks_among_the_day_with_ties_averaged() -> None:
    """Values 10, 20, 20, 40 (one missing): ranks 1, 2.5, 2.5, 4 of n = 4 →
    (rank - 1) / 3 x 100 = 0, 50, 50, 100; lower is better reverses: 100, 50, 50, 0."""
    values = column(10, 20, 20, 40, NAN)
    higher = normalise(measure({"kind": "percentile"}), values)[:, 0]
    lower = normalise(measure({"kind": "percentile"}, "lower_is_better"), values)[:, 0]
    assert higher[:4].tolist() == [0, 50, 50, 100] and np.isnan(higher[4])
    assert lower[:4].tolist() == [100, 50, 50, 0] and np.isnan(lower[4])


def test_percentile_ranks_each_day_separately_and_a_lone_value_gets_50() -> None:
    """Day 1: 1 < 3 → 0, 100. Day 2: only one account has a value → 50."""
    grid = np.asarray([[1, 7], [3, NAN]], dtype=float)
    ranks = percentile_ranks(grid)
    assert ranks[:, 0].tolist() == [0, 100]
    assert ranks[0, 1] == 50 and np.isnan(ranks[1, 1])


def test_share_below_is_the_quantile_position() -> None:
    """10, 20, 20, 40: 0, 1, 1 and 3 of 4 values lie strictly below → 0, .25, .25, .75."""
    assert share_below(column(10, 20, 20, 40))[:, 0].tolist() == [0, 0.25, 0.25, 0.75]


def weekly(*values: float) -> WeeklySlope:
    """Values given oldest first: the last is day D, the one before D - 7, …"""
    slope = WeeklySlope((1, 1))
    for weeks_ago, value in enumerate(reversed(values)):
        slope.add(weeks_ago, np.asarray([[value]], dtype=float))
    return slope


def test_trend_slope_is_least_squares_per_week_relative_to_the_mean() -> None:
    """90, 100, 110 at D-14, D-7, D: slope 10 a week, mean 100 → 0.1. Scaled with slope_for_0
    -0.1 and slope_for_100 0.2: (0.1 + 0.1) / 0.3 x 100 = 66.67."""
    relative = weekly(90, 100, 110).relative_slope()
    assert relative[0, 0] == pytest.approx(0.1)
    m = measure({"kind": "trend", "weeks": 2, "slope_for_0": -0.1, "slope_for_100": 0.2})
    assert normalise(m, relative)[0, 0] == pytest.approx(200 / 3)


def test_trend_uses_the_present_weeks_only() -> None:
    """80, (missing), 100, 100: points (-3, 80), (-1, 100), (0, 100). x̄ = -4/3, ȳ = 280/3;
    Sxy = Σ(x - x̄)(y - ȳ) = (-5/3)(-40/3) + (1/3)(20/3) + (4/3)(20/3) = 300/9;
    Sxx = 25/9 + 1/9 + 16/9 = 42/9 → slope 300/42 = 7.142857; relative to 280/3:
    0.0765306."""
    assert weekly(80, NAN, 100, 100).relative_slope()[0, 0] == pytest.approx(300 / 42 / (280 / 3))


def test_trend_needs_two_points_and_a_flat_zero_line_is_flat() -> None:
    assert np.isnan(weekly(NAN, NAN, 5).relative_slope()[0, 0])
    assert weekly(0, 0, 0).relative_slope()[0, 0] == 0


def test_trend_falling_line_scores_low_even_at_a_high_level() -> None:
    """1000, 900, 800: slope -100 a week, mean 900 → -0.111; with -0.2 → 0 and 0.05 → 100:
    (-0.111 + 0.2) / 0.25 x 100 = 35.56."""
    relative = weekly(1000, 900, 800).relative_slope()
    m = measure({"kind": "trend", "weeks": 2, "slope_for_0": -0.2, "slope_for_100": 0.05})
    assert normalise(m, relative)[0, 0] == pytest.approx((-1 / 9 + 0.2) / 0.25 * 100)


def test_points_add_from_a_base_and_clamp() -> None:
    """Base 50, 10 points a unit: 3 → 80, 7 → 120 → 100. Lower is better subtracts: 2 → 30,
    6 → -10 → 0."""
    higher = measure({"kind": "points", "base": 50, "points_per_unit": 10})
    lower = measure({"kind": "points", "base": 50, "points_per_unit": 10}, "lower_is_better")
    assert normalise(higher, column(3, 7))[:, 0].tolist() == [80, 100]
    assert normalise(lower, column(2, 6))[:, 0].tolist() == [30, 0]

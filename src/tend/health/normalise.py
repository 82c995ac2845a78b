"""Normalisation of raw measure values to 0-100, vectorised over an accounts x days grid.

Every function takes and returns float arrays shaped (accounts, days); NaN means missing and
stays missing. Percentiles rank down each column, i.e. among the accounts scored that day.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata

from tend.health.scorecard import (
    NEUTRAL_SCORE,
    SCALE_MAX,
    SCALE_MIN,
    Linear,
    Measure,
    Percentile,
    Points,
    Thresholds,
    Trend,
)

FloatGrid = np.ndarray


def normalise(measure: Measure, raw: FloatGrid) -> FloatGrid:
    """`raw` (for a trend measure: its relative weekly slope) mapped to 0-100 by the measure's
    normalisation and direction."""
    norm = measure.normalisation
    rising = measure.direction == "higher_is_better"
    if isinstance(norm, Linear):
        return linear(raw, norm.worst, norm.best)
    if isinstance(norm, Trend):
        return linear(raw, norm.slope_for_0, norm.slope_for_100)
    if isinstance(norm, Thresholds):
        return tiers(raw, [t.at_least for t in norm.tiers], [t.score for t in norm.tiers])
    if isinstance(norm, Percentile):
        ranks = percentile_ranks(raw)
        return ranks if rising else np.where(np.isnan(ranks), np.nan, SCALE_MAX - ranks)
    if isinstance(norm, Points):
        sign = 1.0 if rising else -1.0
        return np.clip(norm.base + sign * norm.points_per_unit * raw, SCALE_MIN, SCALE_MAX)
    raise TypeError(f"unknown normalisation {norm!r}")


def linear(raw: FloatGrid, at_0: float, at_100: float) -> FloatGrid:
    """`at_0` → 0 and `at_100` → 100 on a straight line, clamped to the scale."""
    scaled = (raw - at_0) / (at_100 - at_0) * SCALE_MAX
    return np.clip(scaled, SCALE_MIN, SCALE_MAX)


def tiers(raw: FloatGrid, at_least: list[float], scores: list[float]) -> FloatGrid:
    """The score of the last tier whose lower bound the value reaches (the first tier's below
    all bounds)."""
    index = np.searchsorted(np.asarray(at_least), np.nan_to_num(raw), side="right") - 1
    picked = np.asarray(scores, dtype=float)[np.clip(index, 0, len(scores) - 1)]
    return np.where(np.isnan(raw), np.nan, picked)


def percentile_ranks(values: FloatGrid) -> FloatGrid:
    """100 x (average rank - 1) / (n - 1) down each column among its n present values: the
    lowest gets 0, the highest 100, ties share; a column with one value gives it 50."""
    if values.size == 0:
        return values.astype(float)
    ranks = rankdata(values, axis=0, nan_policy="omit")
    count = np.sum(~np.isnan(values), axis=0, keepdims=True)
    spread = np.where(count > 1, count - 1, 1)
    scores = np.where(count > 1, (ranks - 1.0) / spread * SCALE_MAX, NEUTRAL_SCORE)
    return np.where(np.isnan(ranks), np.nan, scores)


def share_below(values: FloatGrid) -> FloatGrid:
    """Per column, the share of present values strictly below each value (0 for the lowest):
    the quantile position used by quantile bands."""
    if values.size == 0:
        return values.astype(float)
    lowest_rank = rankdata(values, method="min", axis=0, nan_policy="omit")
    count = np.sum(~np.isnan(values), axis=0, keepdims=True)
    return (lowest_rank - 1.0) / np.maximum(count, 1)


class WeeklySlope:
    """Accumulates the values at D, D - 7, …, D - 7·weeks and gives each cell's least-squares
    slope per week over its present points, divided by the mean of their absolute values
    (a flat all-zero series has slope 0). Fewer than two present points → missing."""

    def __init__(self, shape: tuple[int, ...]) -> None:
        self.count = np.zeros(shape)
        self.sum_x = np.zeros(shape)
        self.sum_y = np.zeros(shape)
        self.sum_xx = np.zeros(shape)
        self.sum_xy = np.zeros(shape)
        self.sum_abs = np.zeros(shape)

    def add(self, weeks_ago: int, values: FloatGrid) -> None:
        """The values `weeks_ago` weeks before each cell's day."""
        present = ~np.isnan(values)
        y = np.where(present, values, 0.0)
        x = -float(weeks_ago)
        self.count += present
        self.sum_x += x * present
        self.sum_y += y
        self.sum_xx += x * x * present
        self.sum_xy += x * y
        self.sum_abs += np.abs(y)

    def relative_slope(self) -> FloatGrid:
        n = self.count
        denominator = n * self.sum_xx - self.sum_x**2
        enough = (n >= 2) & (denominator > 0)
        safe = np.where(enough, denominator, 1.0)
        slope = (n * self.sum_xy - self.sum_x * self.sum_y) / safe
        mean_abs = self.sum_abs / np.maximum(n, 1)
        relative = np.where(mean_abs > 0, slope / np.where(mean_abs > 0, mean_abs, 1.0), 0.0)
        return np.where(enough, relative, np.nan)

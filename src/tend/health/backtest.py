"""Backtest a scorecard: how well did its past scores rank the accounts that churned next?

Inputs are plain Arrow tables, so any scorecard version's snapshots can be tested:
- snapshots: `account: string, day: date32, score: float64, band: string` (0-100; bands
  `healthy`, `at_risk`, `unhealthy`);
- labels: `churn_labels` output (`account, day, paying, churned`).

Only account-days that are paying, labelled (not censored) and scored count, and of those only
each account's first in each Monday-based week (`one_day_per_week`): consecutive days of one
account are nearly the same observation and would inflate the counts. A low score should mean
churn, so the ranking scored is 100 - score.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sklearn.metrics import roc_auc_score

from tend.health.labels import DEFAULT_HORIZON_DAYS, labelled_paying, one_day_per_week

RED_BANDS: tuple[str, ...] = ("unhealthy",)
BOTTOM_SHARE = 0.10


@dataclass(frozen=True)
class BandOutcome:
    """How many sampled account-days fell in a band and how many of them churned."""

    account_days: int
    churned: int
    churn_rate: float | None


@dataclass(frozen=True)
class BacktestResult:
    """Backtest figures; a figure is None when its inputs cannot define it (no churn, no red)."""

    horizon_days: int
    account_days: int
    accounts: int
    churned: int
    base_rate: float | None
    roc_auc: float | None
    red_account_days: int
    red_precision: float | None
    red_recall: float | None
    bottom_decile_account_days: int
    bottom_decile_churn_rate: float | None
    bottom_decile_lift: float | None
    first_day: date | None
    last_day: date | None
    bands: dict[str, BandOutcome] = field(default_factory=dict)
    sampling: str = "first day per account per Monday-based week"

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (days as ISO text) for `ScorecardVersion.backtest`."""
        data = asdict(self)
        data["first_day"] = self.first_day.isoformat() if self.first_day else None
        data["last_day"] = self.last_day.isoformat() if self.last_day else None
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BacktestResult:
        values = dict(data)
        for key in ("first_day", "last_day"):
            values[key] = date.fromisoformat(values[key]) if values.get(key) else None
        values["bands"] = {k: BandOutcome(**v) for k, v in values.get("bands", {}).items()}
        return cls(**values)


def _rate(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def scored_outcomes(
    snapshots: pa.Table,
    labels: pa.Table,
    since: date | None = None,
    until: date | None = None,
) -> pa.Table:
    """Sampled paying, labelled account-days with their score, band and `churned`, optionally
    only days in since..until (inclusive), e.g. to compare with a model's hold-out period."""
    outcomes = labelled_paying(labels).select(["account", "day", "churned"])
    scores = snapshots.select(["account", "day", "score", "band"])
    scores = scores.filter(pc.is_valid(scores["score"]))
    joined = outcomes.join(scores, ["account", "day"], join_type="inner")
    if since is not None:
        joined = joined.filter(pc.greater_equal(joined["day"], pa.scalar(since, pa.date32())))
    if until is not None:
        joined = joined.filter(pc.less_equal(joined["day"], pa.scalar(until, pa.date32())))
    return one_day_per_week(joined)


def bottom_share_mask(scores: np.ndarray, share: float = BOTTOM_SHARE) -> np.ndarray:
    """True for the ceil(share * n) lowest scores (ties broken by position, stable)."""
    count = math.ceil(share * len(scores))
    mask = np.zeros(len(scores), dtype=bool)
    mask[np.argsort(scores, kind="stable")[:count]] = True
    return mask


def backtest(
    snapshots: pa.Table,
    labels: pa.Table,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
    since: date | None = None,
    until: date | None = None,
    red_bands: Collection[str] = RED_BANDS,
) -> BacktestResult:
    """ROC AUC of 100 - score for churn within the horizon, precision and recall of the red band,
    and the lift of the bottom decile (its churn rate / the base rate), on `scored_outcomes`.
    `horizon_days` must be the one the labels were made with; it is recorded, not applied.
    `red_bands` names the scorecard's red band(s) when they are not called `unhealthy`."""
    rows = scored_outcomes(snapshots, labels, since, until)
    churned = np.asarray(rows["churned"].to_numpy(zero_copy_only=False), dtype=bool)
    scores = np.asarray(rows["score"].to_numpy(zero_copy_only=False), dtype=float)
    bands = np.asarray(rows["band"].to_pylist(), dtype=object)
    total, positives = len(churned), int(churned.sum())

    auc = None
    if 0 < positives < total:
        auc = float(roc_auc_score(churned, 100.0 - scores))
    red = np.isin(bands, list(red_bands))
    red_churned = int((red & churned).sum())
    bottom = bottom_share_mask(scores)
    bottom_rate = _rate(int((bottom & churned).sum()), int(bottom.sum()))
    base_rate = _rate(positives, total)
    lift = bottom_rate / base_rate if bottom_rate is not None and base_rate else None
    outcomes_by_band = {
        str(band): BandOutcome(
            account_days=int((bands == band).sum()),
            churned=int(((bands == band) & churned).sum()),
            churn_rate=_rate(int(((bands == band) & churned).sum()), int((bands == band).sum())),
        )
        for band in sorted({b for b in bands if b is not None})
    }
    days = rows["day"]
    return BacktestResult(
        horizon_days=horizon_days,
        account_days=total,
        accounts=len(set(rows["account"].to_pylist())),
        churned=positives,
        base_rate=base_rate,
        roc_auc=auc,
        red_account_days=int(red.sum()),
        red_precision=_rate(red_churned, int(red.sum())),
        red_recall=_rate(red_churned, positives),
        bottom_decile_account_days=int(bottom.sum()),
        bottom_decile_churn_rate=bottom_rate,
        bottom_decile_lift=lift,
        first_day=pc.min(days).as_py() if total else None,
        last_day=pc.max(days).as_py() if total else None,
        bands=outcomes_by_band,
    )

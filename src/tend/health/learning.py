"""The data both learned models train on: measures made wide, joined to churn labels, split in
time without leakage.

- measure values: `account: string, day: date32, measure: string, value: float64` (null: missing);
- labels: `churn_labels` output.

Rows are the paying, labelled account-days that have at least one measure row, sampled to the
first day per account per Monday-based week as in the backtest (so a model's test AUC and a
scorecard's backtest AUC count the same kind of rows).

Or (`scored_dataset`) the same rows taken from a scorecard's snapshots (`scoring.score` output),
with the normalised measure scores the scorecard weighs as features: the learned weights then
apply to exactly what the scorecard scores (trend slopes, percentiles, missing-data policies).

The time split at `split_day` with horizon H: train on days D with D + H < split_day, so every
train label was known at the start of split_day (its horizon ended before it); test on days
D >= split_day. Nothing after split_day shapes the model: medians, scales, the regularisation
and the trees all come from the train rows.

Inside the train rows, `later_slice` sets the latest share apart (by day) to choose the
regularisation or the number of trees. That inner split keeps no horizon gap:
a gap would throw away a further 90 days of already scarce churn, and the overlap of label
windows only makes the inner validation a little optimistic for every candidate alike; the test
figures keep the full gap.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from sklearn.metrics import roc_auc_score

from tend.health.labels import labelled_paying, one_day_per_week

MEASURE_VALUE_SCHEMA = pa.schema(
    [
        ("account", pa.string()),
        ("day", pa.date32()),
        ("measure", pa.string()),
        ("value", pa.float64()),
    ]
)


@dataclass(frozen=True)
class Dataset:
    """Account-days as rows: `features` (one float column per measure, NaN missing), `churned`,
    and each row's `account` and `day`."""

    features: pd.DataFrame
    churned: np.ndarray
    accounts: np.ndarray
    days: np.ndarray

    def __len__(self) -> int:
        return len(self.churned)

    def subset(self, mask: np.ndarray) -> Dataset:
        return Dataset(
            features=self.features.loc[mask].reset_index(drop=True),
            churned=self.churned[mask],
            accounts=self.accounts[mask],
            days=self.days[mask],
        )

    def positives(self) -> int:
        return int(self.churned.sum())


def wide_measures(measure_values: pa.Table, measures: Sequence[str] | None = None) -> pd.DataFrame:
    """One row per (account, day), one float column per measure (sorted names unless
    `measures` is given); columns `account` and `day` (datetime.date) first."""
    frame = measure_values.select(["account", "day", "measure", "value"]).to_pandas()
    names = sorted(frame["measure"].dropna().unique()) if measures is None else list(measures)
    if frame.empty:
        return pd.DataFrame(columns=["account", "day", *names])
    frame["value"] = frame["value"].astype(float)
    grouped = frame.groupby(["account", "day", "measure"], sort=True)["value"].last()
    wide = grouped.unstack("measure").reindex(columns=names).astype(float)
    wide.columns.name = None
    return wide.reset_index()


def labelled_dataset(
    measure_values: pa.Table, labels: pa.Table, measures: Sequence[str] | None = None
) -> Dataset:
    """The sampled paying, labelled account-days that have measure values, with their features
    (every measure of `measure_values` unless `measures` names them)."""
    if measures is None:
        measures = sorted(set(measure_values["measure"].drop_null().to_pylist()))
    keys = measure_values.select(["account", "day"]).group_by(["account", "day"]).aggregate([])
    outcomes = labelled_paying(labels).select(["account", "day", "churned"])
    sampled = one_day_per_week(outcomes.join(keys, ["account", "day"], join_type="inner"))
    values = measure_values.join(
        sampled.select(["account", "day"]), ["account", "day"], join_type="inner"
    )
    joined = sampled.to_pandas().merge(
        wide_measures(values, measures), on=["account", "day"], how="left"
    )
    return Dataset(
        features=joined[list(measures)].astype(float).reset_index(drop=True),
        churned=joined["churned"].to_numpy(dtype=bool),
        accounts=joined["account"].to_numpy(dtype=object),
        days=joined["day"].to_numpy(dtype=object),
    )


def scored_dataset(snapshots: pa.Table, labels: pa.Table, prefix: str = "normalised:") -> Dataset:
    """The sampled paying, labelled, scored account-days of a scorecard's `snapshots`, with one
    feature per `<prefix><measure>` column named by the measure (NaN: missing, e.g. an
    `exclude` measure without a value)."""
    columns = [name for name in snapshots.column_names if name.startswith(prefix)]
    outcomes = labelled_paying(labels).select(["account", "day", "churned"])
    scored = snapshots.select(["account", "day", "score", *columns])
    scored = scored.filter(pc.is_valid(scored["score"]))
    joined = one_day_per_week(outcomes.join(scored, ["account", "day"], join_type="inner"))
    frame = joined.to_pandas()
    features = frame[columns].astype(float).reset_index(drop=True)
    features.columns = [name.removeprefix(prefix) for name in columns]
    return Dataset(
        features=features,
        churned=frame["churned"].to_numpy(dtype=bool),
        accounts=frame["account"].to_numpy(dtype=object),
        days=frame["day"].to_numpy(dtype=object),
    )


def later_slice(part: Dataset, share: float) -> tuple[Dataset, Dataset]:
    """(earlier, later): `later` holds the days from the one at the (1 - share) quantile of
    `part`'s rows on, `earlier` the days before it (no horizon gap; see the module's
    docstring)."""
    days: list[date] = sorted(part.days)
    start = days[min(len(days) - 1, int(len(days) * (1 - share)))]
    later = np.array([d >= start for d in part.days], dtype=bool)
    return part.subset(~later), part.subset(later)


def has_both_classes(part: Dataset) -> bool:
    return 0 < part.positives() < len(part)


def time_split(dataset: Dataset, split_day: date, horizon_days: int) -> tuple[Dataset, Dataset]:
    """(train, test): train days D with D + horizon < split_day, test days D >= split_day."""
    last_train_day = split_day - timedelta(days=horizon_days + 1)
    days = dataset.days
    train = np.array([d <= last_train_day for d in days], dtype=bool)
    test = np.array([d >= split_day for d in days], dtype=bool)
    return dataset.subset(train), dataset.subset(test)


def require_both_classes(part: Dataset, what: str) -> None:
    """Fail with a plain message when `part` cannot train a classifier."""
    positives = part.positives()
    if positives == 0 or positives == len(part):
        raise ValueError(
            f"the {what} rows need churned and retained account-days; got {len(part)} rows and "
            f"{positives} churned (move the split day or widen the history)"
        )


def ranking_auc(churned: np.ndarray, risk: np.ndarray) -> float | None:
    """ROC AUC of `risk` for `churned`; None when only one class is present."""
    if churned.all() or not churned.any():
        return None
    return float(roc_auc_score(churned, risk))

"""Bands of scores (thresholds or quantiles) and CSM overrides, on an accounts x days grid.

Band codes index `Bands.levels` (bottom band first); -1 means no band (no score). Quantile bands
place each score by the share of that day's computed scores strictly below it, among the
accounts the scorecard applies to: with `below` 0.25 / 0.75, the bottom quarter is unhealthy and
the top quarter healthy.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pyarrow as pa

from tend.health.normalise import share_below
from tend.health.scorecard import Bands

NO_BAND = -1
EPOCH = date(1970, 1, 1)


def band_codes(bands: Bands, scores: np.ndarray) -> np.ndarray:
    """Each cell's band code: the first band whose `below` exceeds the score (thresholds) or
    the score's quantile position (quantiles)."""
    bounds = np.asarray([band.below for band in bands.levels[:-1]], dtype=float)
    position = scores if bands.method == "thresholds" else share_below(scores)
    codes = np.searchsorted(bounds, np.nan_to_num(position), side="right").astype(np.int16)
    return np.where(np.isnan(scores), NO_BAND, codes).astype(np.int16)


@dataclass
class Overridden:
    """Final scores and band codes after overrides; `names` may gain band names that an
    override set and the scorecard's bands lack."""

    scores: np.ndarray
    codes: np.ndarray
    flags: np.ndarray
    names: list[str]


def apply_overrides(
    bands: Bands,
    accounts: list[str],
    days: np.ndarray,
    computed: np.ndarray,
    computed_codes: np.ndarray,
    overrides: pa.Table | None,
) -> Overridden:
    """Overrides (rows `account, score, band, first_day, last_day`, later rows winning) set the
    score and/or band of their account on each day from `first_day` to `last_day` inclusive
    (null: open-ended). A score override takes the band its score falls in; a band override
    keeps the computed score. `days` are date32 day numbers, the grid's columns."""
    scores = computed.copy()
    codes = computed_codes.copy()
    flags = np.zeros(computed.shape, dtype=bool)
    names = [band.name for band in bands.levels]
    if overrides is None or overrides.num_rows == 0:
        return Overridden(scores, codes, flags, names)
    position = {account: i for i, account in enumerate(accounts)}
    sorted_columns = np.sort(computed, axis=0) if bands.method == "quantiles" else None
    present = np.sum(~np.isnan(computed), axis=0)
    for row in overrides.to_pylist():
        a = position.get(row["account"])
        if a is None:
            continue
        first = (row["first_day"] - EPOCH).days
        last = (
            (row["last_day"] - EPOCH).days if row["last_day"] is not None else days.max(initial=0)
        )
        columns = np.flatnonzero((days >= first) & (days <= last))
        if columns.size == 0:
            continue
        flags[a, columns] = True
        if row.get("score") is not None:
            value = float(row["score"])
            scores[a, columns] = value
            codes[a, columns] = [
                _code_of(bands, value, sorted_columns, present, int(j)) for j in columns
            ]
        if row.get("band") is not None:
            if row["band"] not in names:
                names.append(row["band"])
            codes[a, columns] = names.index(row["band"])
    return Overridden(scores, codes, flags, names)


def _code_of(
    bands: Bands, value: float, sorted_columns: np.ndarray | None, present: np.ndarray, day: int
) -> int:
    """The band of an overriding score on one day (for quantiles: among that day's computed
    scores)."""
    bounds = [float(band.below) for band in bands.levels[:-1] if band.below is not None]
    if sorted_columns is None:
        position = value
    else:
        count = int(present[day])
        below = np.searchsorted(sorted_columns[:count, day], value, side="left")
        position = below / count if count else 0.0
    return int(np.searchsorted(np.asarray(bounds), position, side="right"))

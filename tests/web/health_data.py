"""Health snapshots for page tests: a two-group scorecard saved through the health actions, and
stored snapshots whose numbers are worked out by hand.

Adoption (weight 60) holds `events_30d` and `features_used_30d` (3 : 1 inside the group),
sentiment (weight 40) holds `nps_latest`. A snapshot's measure weights are the effective shares
of the score: 0.45, 0.15 and 0.40; each contribution is normalised x weight and they add up to
the computed score.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from tend.customers.models import Account
from tend.health.actions import save_scorecard_version
from tend.health.models import HealthSnapshot, ScorecardVersion

WEIGHTS = {"events_30d": 0.45, "features_used_30d": 0.15, "nps_latest": 0.40}
GROUPS = {"events_30d": "adoption", "features_used_30d": "adoption", "nps_latest": "sentiment"}


def two_group_config(name: str = "Two groups") -> dict[str, Any]:
    def measure(metric: str, weight: float) -> dict[str, Any]:
        return {
            "metric": metric,
            "direction": "higher_is_better",
            "weight": weight,
            "normalisation": {"kind": "linear", "worst": 0, "best": 100},
        }

    return {
        "name": name,
        "is_default": True,
        "bands": {
            "method": "thresholds",
            "levels": [
                {"name": "unhealthy", "colour": "red", "below": 40},
                {"name": "at risk", "colour": "yellow", "below": 70},
                {"name": "healthy", "colour": "green"},
            ],
        },
        "groups": [
            {
                "name": "adoption",
                "weight": 60,
                "measures": [measure("events_30d", 3), measure("features_used_30d", 1)],
            },
            {"name": "sentiment", "weight": 40, "measures": [measure("nps_latest", 1)]},
        ],
    }


def scorecard(name: str = "Two groups") -> ScorecardVersion:
    """The scorecard saved through the actions, without the snapshots a backfill may have
    stored once it committed (the tests store their own, worked out by hand)."""
    version = save_scorecard_version(None, two_group_config(name), None)
    HealthSnapshot.objects.filter(version=version).delete()
    return version


def band_of(score: float) -> str:
    return "unhealthy" if score < 40 else "at risk" if score < 70 else "healthy"


def store_snapshot(
    account: Account,
    version: ScorecardVersion,
    day: date,
    normalised: dict[str, float],
    *,
    change_7d: float | None = None,
    change_30d: float | None = None,
    score: float | None = None,
    band: str = "",
) -> HealthSnapshot:
    """A snapshot whose measures have these normalised scores (raw = normalised); its computed
    score is the sum of normalised x weight. `score`/`band` set what an override would show."""
    measures = {
        name: [value, value, WEIGHTS[name], round(value * WEIGHTS[name], 3), 0]
        for name, value in normalised.items()
    }
    computed = round(sum(row[3] for row in measures.values()), 3)
    groups: dict[str, float] = {}
    for name, row in measures.items():
        group = GROUPS[name]
        share = sum(WEIGHTS[n] for n in normalised if GROUPS[n] == group)
        groups[group] = groups.get(group, 0.0) + row[3] / share
    shown = computed if score is None else score
    return HealthSnapshot.objects.create(
        account=account,
        version=version,
        day=day,
        score=shown,
        computed_score=computed,
        band=band or band_of(shown),
        computed_band=band_of(computed),
        coverage=1.0,
        groups=groups,
        measures=measures,
        change_7d=change_7d,
        change_30d=change_30d,
        overridden=score is not None or bool(band),
    )

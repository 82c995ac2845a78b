"""Properties of every score, over random scorecards and values (hypothesis)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tend.health.scoring import lookup_days, score
from tests.health.support import DAY, accounts, values

METRICS = (
    "active_users_30d",
    "events_30d",
    "features_used_30d",
    "tickets_opened_30d",
    "nps_latest",
    "mrr",
    "tenure_days",
    "csat_90d",
    "days_overdue_max",
)
ACCOUNTS = ("a", "b", "c", "d")

weights = st.floats(min_value=0.05, max_value=20, allow_nan=False)
policies = st.sampled_from(["exclude", "neutral", {"value": 3.0}])
normalisations = st.sampled_from(
    [
        {"kind": "linear", "worst": 0, "best": 50},
        {"kind": "points", "base": 40, "points_per_unit": 2},
        {"kind": "percentile"},
        {
            "kind": "thresholds",
            "tiers": [{"at_least": 0, "score": 20}, {"at_least": 10, "score": 90}],
        },
        {"kind": "trend", "weeks": 2, "slope_for_0": -0.5, "slope_for_100": 0.5},
    ]
)
raw_values = st.one_of(st.none(), st.floats(min_value=-20, max_value=120, allow_nan=False))


@st.composite
def configs(draw: st.DrawFn) -> dict[str, Any]:
    metrics = iter(draw(st.permutations(METRICS)))
    groups = []
    for g in range(draw(st.integers(1, 3))):
        measures = [
            {
                "metric": next(metrics),
                "direction": "higher_is_better",
                "weight": draw(weights),
                "normalisation": draw(normalisations),
                "missing": draw(policies),
            }
            for _ in range(draw(st.integers(1, 3)))
        ]
        aggregation = draw(st.sampled_from(["weighted_mean", "min", "max"]))
        groups.append(
            {
                "name": f"g{g}",
                "weight": draw(weights),
                "aggregation": aggregation,
                "measures": measures,
            }
        )
    return {"name": "Random", "is_default": True, "groups": groups}


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(config=configs(), data=st.data())
def test_contributions_add_up_to_the_score(config: dict[str, Any], data: st.DataObject) -> None:
    """Whatever the scorecard and the data: the contributions sum to the score, each is its
    normalised score x effective weight, the effective weights sum to 1, scores lie in 0-100,
    and coverage in 0-1."""
    days = lookup_days(config, [DAY, DAY + timedelta(days=1)])
    metrics = [m["metric"] for g in config["groups"] for m in g["measures"]]
    table = values(
        {(a, d): {m: data.draw(raw_values) for m in metrics} for a in ACCOUNTS for d in days}
    )
    result = score(config, table, accounts(*ACCOUNTS), [DAY, DAY + timedelta(days=1)])
    assert result.num_rows == 2 * len(ACCOUNTS)
    for row in result.to_pylist():
        parts = [row[f"contribution:{m}"] for m in metrics]
        assert 0 <= row["coverage"] <= 1
        if row["score"] is None:
            assert sum(parts) == 0
            continue
        assert 0 <= row["score"] <= 100
        assert sum(parts) == pytest.approx(row["score"], abs=1e-9)
        assert sum(row[f"weight:{m}"] for m in metrics) == pytest.approx(1)
        for m in metrics:
            normalised = row[f"normalised:{m}"]
            expected = 0 if normalised is None else normalised * row[f"weight:{m}"]
            assert row[f"contribution:{m}"] == pytest.approx(expected, abs=1e-9)

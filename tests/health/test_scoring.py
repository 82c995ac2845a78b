"""Scores by hand: aggregations, missing-data policies, bands, selection and overrides."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import pyarrow as pa
import pytest

from tend.health.scorecard import ScorecardConfig, quantile_bands
from tend.health.scoring import assign_scorecards, lookup_days, score
from tests.health.factories import simple_config
from tests.health.support import DAY, accounts, at, contributions, row, values

THRESHOLDS = [
    {"at_least": 0, "score": 100},
    {"at_least": 1, "score": 60},
    {"at_least": 3, "score": 0},
]


def two_groups(policy: Any = "exclude", support: str = "weighted_mean") -> dict[str, Any]:
    """adoption (weight 3): active users linear 0..10 (weight 1), features linear 0..100
    (weight 3, missing `policy`); support (weight 1, `support` aggregation): high tickets in
    tiers 0 → 100, 1 → 60, 3 → 0 and days overdue linear 30 (worst) .. 0 (best)."""
    return {
        "name": "Two groups",
        "is_default": True,
        "groups": [
            {
                "name": "adoption",
                "weight": 3,
                "measures": [
                    {
                        "metric": "active_users_30d",
                        "direction": "higher_is_better",
                        "normalisation": {"kind": "linear", "worst": 0, "best": 10},
                    },
                    {
                        "metric": "features_used_30d",
                        "direction": "higher_is_better",
                        "weight": 3,
                        "normalisation": {"kind": "linear", "worst": 0, "best": 100},
                        "missing": policy,
                    },
                ],
            },
            {
                "name": "support",
                "aggregation": support,
                "measures": [
                    {
                        "metric": "tickets_high_open",
                        "direction": "lower_is_better",
                        "normalisation": {"kind": "thresholds", "tiers": THRESHOLDS},
                    },
                    {
                        "metric": "days_overdue_max",
                        "direction": "lower_is_better",
                        "normalisation": {"kind": "linear", "worst": 30, "best": 0},
                    },
                ],
            },
        ],
    }


def scored(
    config: dict[str, Any], measures: Mapping[str, float | None], **kw: Any
) -> dict[str, Any]:
    table = score(config, values({("a", DAY): measures}), accounts("a"), [DAY], **kw)
    return row(table, "a")


X = {"active_users_30d": 5, "features_used_30d": 80, "tickets_high_open": 1, "days_overdue_max": 12}


def test_weighted_means_of_measures_and_groups() -> None:
    """adoption = (1 x 50 + 3 x 80) / 4 = 72.5; support = (60 + 60) / 2 = 60 (12 days overdue:
    (12 - 30) / (0 - 30) x 100 = 60); score = (3 x 72.5 + 1 x 60) / 4 = 69.375, at risk.
    Effective weights: 3/4 x 1/4, 3/4 x 3/4, 1/4 x 1/2, 1/4 x 1/2."""
    result = scored(two_groups(), X)
    assert result["score"] == pytest.approx(69.375)
    assert result["band"] == result["computed_band"] == "at risk"
    assert result["group:adoption"] == 72.5 and result["group:support"] == 60
    assert result["coverage"] == pytest.approx(1)
    assert result["weight:features_used_30d"] == pytest.approx(0.5625)
    assert result["contribution:active_users_30d"] == pytest.approx(9.375)
    assert result["contribution:features_used_30d"] == pytest.approx(45)
    assert result["contribution:tickets_high_open"] == pytest.approx(7.5)
    assert contributions(result) == pytest.approx(result["score"], abs=1e-12)


def test_missing_excluded_renormalises_the_other_weights() -> None:
    """Features missing: adoption = 50 (active users alone), score = (3 x 50 + 60) / 4 = 52.5;
    coverage = 1 - 3/4 x 3/4 = 0.4375; the missing measure has weight and contribution 0."""
    result = scored(two_groups(), {**X, "features_used_30d": None})
    assert result["score"] == pytest.approx(52.5)
    assert result["coverage"] == pytest.approx(0.4375)
    assert result["raw:features_used_30d"] is None
    assert result["normalised:features_used_30d"] is None
    assert result["weight:features_used_30d"] == 0 and result["contribution:features_used_30d"] == 0
    assert result["weight:active_users_30d"] == pytest.approx(0.75)


def test_missing_neutral_scores_50() -> None:
    """Features missing → 50; 10 active users → 100: adoption = (100 + 3 x 50) / 4 = 62.5;
    score = (3 x 62.5 + 60) / 4 = 61.875. Coverage still says the value is missing."""
    result = scored(two_groups("neutral"), {**X, "active_users_30d": 10, "features_used_30d": None})
    assert result["score"] == pytest.approx(61.875)
    assert result["normalised:features_used_30d"] == 50 and result["raw:features_used_30d"] is None
    assert result["coverage"] == pytest.approx(0.4375)


def test_missing_value_is_normalised_as_a_raw_value() -> None:
    """Features missing → raw 20 → 20: adoption = (100 + 3 x 20) / 4 = 40;
    score = (3 x 40 + 60) / 4 = 45, at risk (40 ≤ 45 < 70)."""
    result = scored(
        two_groups({"value": 20}), {**X, "active_users_30d": 10, "features_used_30d": None}
    )
    assert result["score"] == pytest.approx(45)
    assert result["normalised:features_used_30d"] == 20
    assert result["band"] == "at risk"


def test_min_group_gives_its_whole_weight_to_the_lowest_measure() -> None:
    """support = min(60, 40) = 40 with 18 days overdue ((18 - 30) / -30 x 100 = 40);
    score = (3 x 72.5 + 40) / 4 = 64.375. The overdue measure carries support's 1/4:
    contribution 10; tickets weight and contribution 0."""
    result = scored(two_groups(support="min"), {**X, "days_overdue_max": 18})
    assert result["group:support"] == 40
    assert result["score"] == pytest.approx(64.375)
    assert result["weight:days_overdue_max"] == pytest.approx(0.25)
    assert result["contribution:days_overdue_max"] == pytest.approx(10)
    assert result["weight:tickets_high_open"] == 0 and result["contribution:tickets_high_open"] == 0
    assert contributions(result) == pytest.approx(result["score"], abs=1e-12)


def test_max_group_takes_the_highest_and_the_first_on_ties() -> None:
    """max(60, 40) = 60 from tickets: (3 x 72.5 + 60) / 4 = 69.375. With 12 days overdue both
    score 60 and the first measure (tickets) carries the weight."""
    result = scored(two_groups(support="max"), {**X, "days_overdue_max": 18})
    assert result["score"] == pytest.approx(69.375)
    assert result["contribution:tickets_high_open"] == pytest.approx(15)
    tied = scored(two_groups(support="max"), X)
    assert tied["weight:tickets_high_open"] == pytest.approx(0.25)
    assert tied["weight:days_overdue_max"] == 0


def test_a_group_without_data_drops_out() -> None:
    """Both support measures missing: the score is adoption's 72.5, coverage 3/4."""
    result = scored(two_groups(), {**X, "tickets_high_open": None, "days_overdue_max": None})
    assert result["score"] == pytest.approx(72.5) and result["group:support"] is None
    assert result["coverage"] == pytest.approx(0.75)


def test_no_data_at_all_gives_no_score() -> None:
    result = scored(two_groups(), dict.fromkeys(X))
    assert result["score"] is None and result["band"] is None and result["coverage"] == 0
    assert contributions(result) == 0


def points(*raw: float, **config: Any) -> pa.Table:
    """Accounts a0, a1, … whose score is exactly their raw events_30d."""
    names = [f"a{i}" for i in range(len(raw))]
    table = values({(n, DAY): {"events_30d": v} for n, v in zip(names, raw, strict=True)})
    return score(simple_config(**config), table, accounts(*names), [DAY])


def test_threshold_bands_at_their_bounds() -> None:
    """Red below 40, yellow below 70, green from 70."""
    table = points(0, 39.99, 40, 69.99, 70, 100)
    assert table["band"].to_pylist() == [
        "unhealthy",
        "unhealthy",
        "at risk",
        "at risk",
        "healthy",
        "healthy",
    ]


def test_custom_threshold_bands() -> None:
    levels = [
        {"name": "critical", "colour": "red", "below": 25},
        {"name": "poor", "colour": "orange", "below": 50},
        {"name": "fair", "colour": "yellow", "below": 75},
        {"name": "great", "colour": "green"},
    ]
    table = points(10, 25, 60, 90, bands={"method": "thresholds", "levels": levels})
    assert table["band"].to_pylist() == ["critical", "poor", "fair", "great"]


def test_quantile_bands_bottom_and_top_quarter() -> None:
    """Eight scores 10..80: 0/8 and 1/8 lie below the two lowest (< 0.25: unhealthy), 6/8 and
    7/8 below the two highest (≥ 0.75: healthy), the rest at risk."""
    table = points(50, 10, 80, 30, 20, 70, 40, 60, bands=quantile_bands().model_dump())
    bands = dict(zip(table["computed_score"].to_pylist(), table["band"].to_pylist(), strict=True))
    assert [bands[s] for s in (10, 20, 30, 40, 50, 60, 70, 80)] == (
        ["unhealthy"] * 2 + ["at risk"] * 4 + ["healthy"] * 2
    )


def test_percentile_ranks_among_the_accounts_scored_that_day() -> None:
    """Features 5, 10, 20 on the day → 0, 50, 100."""
    config = simple_config()
    config["groups"][0]["measures"][0]["normalisation"] = {"kind": "percentile"}
    raw = {"a": 10.0, "b": 5.0, "c": 20.0}
    table = score(
        config,
        values({(n, DAY): {"events_30d": v} for n, v in raw.items()}),
        accounts("a", "b", "c"),
        [DAY],
    )
    assert {r["account"]: r["score"] for r in table.to_pylist()} == {"a": 50, "b": 0, "c": 100}


def test_trend_reads_the_weekly_values_before_the_day() -> None:
    """events 90, 100, 110 at D-14, D-7, D: relative slope 0.1 → with -0.1 → 0 and 0.3 → 100:
    (0.1 + 0.1) / 0.4 x 100 = 50. The days needed are D-14, D-7 and D."""
    trend = {"kind": "trend", "weeks": 2, "slope_for_0": -0.1, "slope_for_100": 0.3}
    config = simple_config()
    config["groups"][0]["measures"][0]["normalisation"] = trend
    days = lookup_days(config, [DAY])
    assert days == [DAY - timedelta(days=14), DAY - timedelta(days=7), DAY]
    table = values({("a", d): {"events_30d": v} for d, v in zip(days, (90, 100, 110), strict=True)})
    result = row(score(config, table, accounts("a"), [DAY]), "a")
    assert result["raw:events_30d"] == pytest.approx(0.1) and result["score"] == pytest.approx(50)


def test_accounts_are_scored_from_sign_up_until_churn() -> None:
    """`late` signs up after D; `gone` churned on D: neither is scored on D, `gone` is on D-1."""
    before = DAY - timedelta(days=1)
    table = score(
        simple_config(),
        values({(n, d): {"events_30d": 50} for n in ("late", "gone") for d in (before, DAY)}),
        accounts(
            "late",
            "gone",
            signed_up_at=[at(DAY + timedelta(days=1)), None],
            churned_at=[None, at(DAY)],
        ),
        [before, DAY],
    )
    assert [(r["account"], r["day"]) for r in table.to_pylist()] == [("gone", before)]


def test_changes_against_7_and_30_days_and_the_top_movers() -> None:
    """50 at D-7, 60 at D, 20 at D-30: change_7d 10, change_30d 40; the only measure moved
    its contribution by +10."""
    days = [DAY - timedelta(days=n) for n in (30, 7, 0)]
    table = values({("a", d): {"events_30d": v} for d, v in zip(days, (20, 50, 60), strict=True)})
    result = row(score(simple_config(), table, accounts("a"), days), "a")
    assert result["change_7d"] == 10 and result["change_30d"] == 40
    assert result["top_movers"] == '[["events_30d",10]]'


def overrides(**row_values: Any) -> pa.Table:
    base = {"account": "a", "score": None, "band": None, "first_day": DAY, "last_day": None}
    base.update(row_values)
    schema = pa.schema(
        [
            ("account", pa.string()),
            ("score", pa.float64()),
            ("band", pa.string()),
            ("first_day", pa.date32()),
            ("last_day", pa.date32()),
        ]
    )
    return pa.Table.from_pylist([base], schema=schema)


def test_a_score_override_applies_until_its_last_day_then_lapses() -> None:
    """Computed 30 every day; overridden to 85 on D and D+1; D-1 and D+2 show 30 again."""
    days = [DAY + timedelta(days=n) for n in (-1, 0, 1, 2)]
    table = score(
        simple_config(),
        values({("a", d): {"events_30d": 30} for d in days}),
        accounts("a"),
        days,
        overrides=overrides(score=85.0, last_day=DAY + timedelta(days=1)),
    )
    shown = [(r["score"], r["band"], r["overridden"]) for r in table.to_pylist()]
    assert shown == [
        (30, "unhealthy", False),
        (85, "healthy", True),
        (85, "healthy", True),
        (30, "unhealthy", False),
    ]
    assert set(table["computed_score"].to_pylist()) == {30}
    assert set(table["computed_band"].to_pylist()) == {"unhealthy"}


def test_a_band_override_keeps_the_computed_score() -> None:
    result = scored(simple_config(), {"events_30d": 30}, overrides=overrides(band="healthy"))
    assert (result["score"], result["band"], result["computed_band"]) == (
        30,
        "healthy",
        "unhealthy",
    )
    assert result["overridden"]


def selection_configs() -> dict[str, ScorecardConfig]:
    def config(name: str, priority: int, **applies_to: list[str]) -> ScorecardConfig:
        return ScorecardConfig.model_validate(
            simple_config(name, is_default=False, priority=priority, applies_to=applies_to)
        )

    return {
        "enterprise": config("Enterprise", 10, segments=["enterprise"]),
        "onboarding": config("Onboarding", 20, lifecycle_stages=["onboarding", "trial"]),
        "ent_renewal": config(
            "Enterprise renewal", 5, segments=["enterprise"], lifecycle_stages=["renewal"]
        ),
        "default": ScorecardConfig.model_validate(simple_config("Default", priority=1000)),
    }


def test_scorecard_selection_by_segment_stage_priority_and_default() -> None:
    """First match by priority: enterprise renewals (5) before enterprise (10) before
    onboarding (20); an enterprise account in onboarding goes to enterprise (10 < 20); what
    nothing matches (or has no segment) falls to the default."""
    table = accounts(
        "e1",
        "e2",
        "e3",
        "s1",
        "s2",
        "n1",
        segment=["enterprise", "enterprise", "enterprise", "smb", "smb", None],
        lifecycle_stage=["renewal", "onboarding", "adoption", "trial", "adoption", "onboarding"],
    )
    chosen = assign_scorecards(selection_configs(), table)
    assert {key: part["account"].to_pylist() for key, part in chosen.items()} == {
        "ent_renewal": ["e1"],
        "enterprise": ["e2", "e3"],
        "onboarding": ["s1", "n1"],
        "default": ["s2"],
    }


def test_without_a_default_unmatched_accounts_are_not_scored() -> None:
    configs = selection_configs()
    del configs["default"]
    chosen = assign_scorecards(
        configs, accounts("s2", segment=["smb"], lifecycle_stage=["adoption"])
    )
    assert all(part.num_rows == 0 for part in chosen.values())


def test_priority_order_decides_between_overlapping_scorecards() -> None:
    configs = selection_configs()
    configs["onboarding"] = configs["onboarding"].model_copy(update={"priority": 1})
    table = accounts("e2", segment=["enterprise"], lifecycle_stage=["onboarding"])
    assert assign_scorecards(configs, table)["onboarding"]["account"].to_pylist() == ["e2"]

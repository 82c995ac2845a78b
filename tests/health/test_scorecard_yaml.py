"""Scorecards as YAML: the shipped default validates, files round-trip, errors name the field."""

from __future__ import annotations

from importlib.resources import files

import pytest

from tend.health.scorecard import ScorecardConfig
from tend.health.scorecard_yaml import ScorecardError, dump_scorecard, load_scorecard

EVERYTHING = """
name: Enterprise renewals
description: Every option once.
applies_to: {segments: [enterprise], lifecycle_stages: [renewal]}
priority: 5
bands:
  method: quantiles
  levels:
    - {name: unhealthy, colour: red, below: 0.25}
    - {name: at risk, colour: yellow, below: 0.75}
    - {name: healthy, colour: green}
groups:
  - name: adoption
    weight: 2
    aggregation: min
    measures:
      - {metric: seat_utilisation_45d, direction: higher_is_better,
         normalisation: {kind: linear, worst: 0.1, best: 0.9}, missing: neutral}
      - {name: users_trend, metric: active_users_30d, direction: higher_is_better, weight: 2,
         normalisation: {kind: trend, weeks: 8, slope_for_0: -0.1, slope_for_100: 0.05}}
      - {metric: "trait:licences_used", direction: higher_is_better,
         normalisation: {kind: percentile}, missing: {value: 0}}
  - name: support
    aggregation: max
    measures:
      - metric: tickets_high_open
        direction: lower_is_better
        normalisation:
          kind: thresholds
          tiers: [{at_least: 0, score: 100}, {at_least: 2, score: 40}]
      - {metric: tickets_opened_30d, direction: lower_is_better,
         normalisation: {kind: points, base: 100, points_per_unit: 7.5}}
"""


def default_text() -> str:
    return files("tend.health").joinpath("default_scorecard.yaml").read_text(encoding="utf-8")


def test_the_shipped_default_validates_with_every_required_kind() -> None:
    config = load_scorecard(default_text())
    assert config.is_default and config.bands.method == "thresholds"
    assert [g.name for g in config.groups] == [
        "adoption",
        "engagement",
        "support",
        "sentiment",
        "finance",
    ]
    kinds = {m.normalisation.kind for _, m in config.measures}
    assert {"linear", "thresholds", "percentile", "trend"} <= kinds
    assert [b.name for b in config.bands.levels] == ["unhealthy", "at risk", "healthy"]


@pytest.mark.parametrize("text", [EVERYTHING, default_text()], ids=["everything", "default"])
def test_round_trip(text: str) -> None:
    config = load_scorecard(text)
    exported = dump_scorecard(config)
    assert load_scorecard(exported) == config
    assert dump_scorecard(load_scorecard(exported)) == exported


def test_export_reads_like_a_hand_written_file() -> None:
    exported = dump_scorecard(load_scorecard(EVERYTHING))
    assert "missing: neutral" in exported and "value: 0" in exported
    assert "below: 0.25" in exported and "null" not in exported and "weight: 2\n" in exported
    assert "name: users_trend" in exported and "name: seat_utilisation_45d" not in exported


def test_compact_missing_policies() -> None:
    config = load_scorecard(EVERYTHING)
    policies = [(m.missing.policy, m.missing.value) for _, m in config.measures]
    assert policies[:3] == [("neutral", None), ("exclude", None), ("value", 0)]


def errors(text: str) -> list[str]:
    with pytest.raises(ScorecardError) as caught:
        load_scorecard(text)
    return caught.value.problems


def broken(old: str, new: str) -> str:
    assert old in EVERYTHING
    return EVERYTHING.replace(old, new, 1)


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        (
            "points_per_unit: 7.5}}",
            "points_per_unit: 7.5}, weight: 0}",
            "groups[1].measures[1].weight: must be > 0",
        ),
        (
            "tiers: [{at_least: 0, score: 100}",
            "tiers: [{at_least: 0, score: 120}",
            "groups[1].measures[0].normalisation.tiers[0].score: must be <= 100",
        ),
        (
            "{at_least: 2, score: 40}",
            "{at_least: -1, score: 40}",
            "groups[1].measures[0].normalisation: tiers must be in increasing order of at_least",
        ),
        (
            "kind: points, base",
            "kind: pints, base",
            "groups[1].measures[1].normalisation: kind must be one of 'linear', 'thresholds', "
            "'percentile', 'trend', 'points'",
        ),
        ("weeks: 8", "weeks: 1", "groups[0].measures[1].normalisation.weeks: must be >= 2"),
        (
            "missing: neutral}",
            "missing: ignore}",
            "groups[0].measures[0].missing.policy: must be one of 'exclude', 'neutral' or 'value'",
        ),
        (
            "aggregation: max",
            "aggregation: median",
            "groups[1].aggregation: must be one of 'weighted_mean', 'min' or 'max'",
        ),
        ("priority: 5", "priority: 5\ncolour: blue", "colour: unknown field"),
        (
            "worst: 0.1, best: 0.9",
            "worst: 0.9, best: 0.1",
            "groups[0].measures[0]: higher_is_better: best must be above worst",
        ),
        (
            "metric: tickets_opened_30d",
            "metric: tickets_closed_30d",
            "groups[1].measures[1]: metric 'tickets_closed_30d': not in the measures catalog",
        ),
        (
            "metric: tickets_high_open",
            "metric: tickets_high_open_30d",
            "groups[1].measures[0]: metric 'tickets_high_open_30d': tickets_high_open takes no "
            "window",
        ),
        (
            "{name: healthy, colour: green}",
            "{name: healthy, colour: green, below: 0.9}",
            "bands: the top band takes no 'below'",
        ),
        (
            "below: 0.75}",
            "below: 1.5}",
            "bands: 'below' must lie strictly between 0 and 1 for quantiles",
        ),
        (
            "name: users_trend,",
            "name: seat_utilisation_45d,",
            "groups[0].measures[1].name: duplicate measure 'seat_utilisation_45d'; give one a "
            "distinct name",
        ),
    ],
)
def test_errors_name_the_bad_field(old: str, new: str, problem: str) -> None:
    assert problem in errors(broken(old, new))


def test_a_scorecard_that_is_not_the_default_says_what_it_applies_to() -> None:
    text = broken("applies_to: {segments: [enterprise], lifecycle_stages: [renewal]}\n", "")
    assert errors(text) == ["applies_to: name segments or lifecycle stages, or set is_default"]


def test_several_problems_are_all_listed() -> None:
    text = broken("weight: 2\n    aggregation: min", "weight: -1\n    aggregation: min").replace(
        "weeks: 8", "weeks: many"
    )
    assert errors(text) == [
        "groups[0].weight: must be > 0",
        "groups[0].measures[1].normalisation.weeks: must be a whole number",
    ]


def test_yaml_syntax_errors_give_the_line() -> None:
    assert errors("name: [unclosed\ngroups: []\n")[0].startswith("line 2, column 7: not valid YAML")
    assert errors("- just\n- a list\n") == [
        "the file must hold a mapping (name, bands, groups, ...)"
    ]


def test_a_required_field_missing() -> None:
    assert errors("name: Empty\nis_default: true\n") == ["groups: required"]


def test_config_helpers() -> None:
    config = ScorecardConfig.model_validate(load_scorecard(EVERYTHING).model_dump())
    assert config.trend_weeks() == 8
    assert config.metrics()[:2] == ["seat_utilisation_45d", "active_users_30d"]

"""The scorecard: its typed, validated configuration (see docs health.md "The scorecard").

A `ScorecardConfig` is what a `ScorecardVersion` stores as JSON and what YAML files hold. Every
rule a score depends on is here, so a stored version reproduces its scores. The scale is always
0-100. Validation errors name the path of the bad field (see `scorecard_yaml.describe_errors`).
"""

from __future__ import annotations

import re
from itertools import pairwise
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_serializer, model_validator

SCALE_MIN = 0.0
SCALE_MAX = 100.0
NEUTRAL_SCORE = 50.0

Direction = Literal["higher_is_better", "lower_is_better"]
Aggregation = Literal["weighted_mean", "min", "max"]
METRIC_PATTERN = re.compile(r"^(trait:[A-Za-z0-9_.\-]+|[a-z][a-z0-9_]*)$")
WINDOW_SUFFIX = re.compile(r"_\d+d$")


class Strict(BaseModel):
    """Unknown keys are errors: a typo in a YAML file must not be silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Linear(Strict):
    """`worst` maps to 0 and `best` to 100, linearly, clamped; `best < worst` when lower is
    better."""

    kind: Literal["linear"] = "linear"
    worst: float
    best: float

    @model_validator(mode="after")
    def _distinct(self) -> Linear:
        if self.worst == self.best:
            raise ValueError("worst and best must differ")
        return self


class Tier(Strict):
    at_least: float
    score: float = Field(ge=SCALE_MIN, le=SCALE_MAX)


class Thresholds(Strict):
    """Tiers of raw value → score: a value gets the score of the last tier whose `at_least` it
    reaches; values below the first tier get the first tier's score. The scores are stated, so
    `direction` does not change them."""

    kind: Literal["thresholds"] = "thresholds"
    tiers: list[Tier] = Field(min_length=2)

    @model_validator(mode="after")
    def _ordered(self) -> Thresholds:
        bounds = [tier.at_least for tier in self.tiers]
        if any(b <= a for a, b in pairwise(bounds)):
            raise ValueError("tiers must be in increasing order of at_least")
        return self


class Percentile(Strict):
    """The account's rank among the accounts the scorecard applies to that day, 0-100 (ties share
    their average rank; a lone account gets 50); reversed when lower is better."""

    kind: Literal["percentile"] = "percentile"


class Trend(Strict):
    """The least-squares slope of the weekly values D - 7k (k = 0..weeks) per week, divided by the
    mean of their absolute values; `slope_for_0` maps to 0 and `slope_for_100` to 100, clamped."""

    kind: Literal["trend"] = "trend"
    weeks: int = Field(ge=2, le=52)
    slope_for_0: float
    slope_for_100: float

    @model_validator(mode="after")
    def _distinct(self) -> Trend:
        if self.slope_for_0 == self.slope_for_100:
            raise ValueError("slope_for_0 and slope_for_100 must differ")
        return self


class Points(Strict):
    """`base` plus `points_per_unit` for each unit of the raw value (subtracted when lower is
    better), clamped to 0-100."""

    kind: Literal["points"] = "points"
    base: float = Field(default=NEUTRAL_SCORE, ge=SCALE_MIN, le=SCALE_MAX)
    points_per_unit: float = Field(gt=0)


Normalisation = Annotated[
    Linear | Thresholds | Percentile | Trend | Points, Field(discriminator="kind")
]
NORMALISATION_KINDS = ("linear", "thresholds", "percentile", "trend", "points")


class Missing(Strict):
    """What a measure scores when its value is missing: `exclude` (left out, the other weights
    renormalised), `neutral` (50) or `value` (the stated raw value, normalised as usual).
    Written compactly: `exclude`, `neutral` or `{value: 0}`."""

    policy: Literal["exclude", "neutral", "value"] = "exclude"
    value: float | None = None

    @model_validator(mode="before")
    @classmethod
    def _compact(cls, data: Any) -> Any:
        if isinstance(data, str):
            return {"policy": data}
        if isinstance(data, dict) and set(data) == {"value"}:
            return {"policy": "value", **data}
        return data

    @model_validator(mode="after")
    def _value_iff_policy(self) -> Missing:
        if self.policy == "value" and self.value is None:
            raise ValueError("policy 'value' needs a value")
        if self.policy != "value" and self.value is not None:
            raise ValueError(f"policy '{self.policy}' takes no value")
        return self

    @model_serializer
    def _serialise(self) -> str | dict[str, float | None]:
        return {"value": self.value} if self.policy == "value" else self.policy


class Measure(Strict):
    """One metric from the catalog, normalised to 0-100, with its weight within its group."""

    name: str = Field(default="", max_length=80, description="Unique key; defaults to metric.")
    metric: str = Field(min_length=1, max_length=120)
    direction: Direction
    weight: float = Field(default=1.0, gt=0)
    normalisation: Normalisation
    missing: Missing = Missing()

    @model_validator(mode="before")
    @classmethod
    def _default_name(cls, data: Any) -> Any:
        if isinstance(data, dict) and not data.get("name") and isinstance(data.get("metric"), str):
            return {**data, "name": data["metric"]}
        return data

    @model_validator(mode="after")
    def _consistent(self) -> Measure:
        if not METRIC_PATTERN.match(self.metric):
            raise ValueError(f"metric {self.metric!r}: not a catalog name or trait:<name>")
        unknown = unknown_metric(self.metric)
        if unknown:
            raise ValueError(unknown)
        rising = self.direction == "higher_is_better"
        norm = self.normalisation
        if isinstance(norm, Linear) and (norm.best > norm.worst) != rising:
            raise ValueError(
                f"{self.direction}: best must be {'above' if rising else 'below'} worst"
            )
        if isinstance(norm, Trend) and (norm.slope_for_100 > norm.slope_for_0) != rising:
            side = "above" if rising else "below"
            raise ValueError(f"{self.direction}: slope_for_100 must be {side} slope_for_0")
        return self


class Group(Strict):
    """A category of measures (adoption, support, …) with its weight and aggregation."""

    name: str = Field(min_length=1, max_length=80)
    weight: float = Field(default=1.0, gt=0)
    aggregation: Aggregation = "weighted_mean"
    measures: list[Measure] = Field(min_length=1)


class Band(Strict):
    """One band; `below` is its upper bound (a score for thresholds, a share of accounts for
    quantiles); the top band has none."""

    name: str = Field(min_length=1, max_length=40)
    colour: str = Field(pattern=r"^[a-z][a-z_]*$", max_length=20)
    below: float | None = None


class Bands(Strict):
    """Thresholds on the score, or quantiles of the day's scores among the accounts the
    scorecard applies to (bottom band first)."""

    method: Literal["thresholds", "quantiles"] = "thresholds"
    levels: list[Band] = Field(min_length=2, max_length=6)

    @model_validator(mode="after")
    def _ordered(self) -> Bands:
        *lower, top = self.levels
        if top.below is not None:
            raise ValueError("the top band takes no 'below'")
        bounds = [band.below for band in lower]
        if any(bound is None for bound in bounds):
            raise ValueError("every band but the top one needs 'below'")
        limit = SCALE_MAX if self.method == "thresholds" else 1.0
        values = [float(b) for b in bounds if b is not None]
        if any(not 0 < v < limit for v in values):
            raise ValueError(f"'below' must lie strictly between 0 and {limit:g} for {self.method}")
        if any(b <= a for a, b in pairwise(values)):
            raise ValueError("'below' must increase from band to band")
        if len({band.name for band in self.levels}) != len(self.levels):
            raise ValueError("band names must be unique")
        return self


def default_bands() -> Bands:
    return Bands(
        method="thresholds",
        levels=[
            Band(name="unhealthy", colour="red", below=40),
            Band(name="at risk", colour="yellow", below=70),
            Band(name="healthy", colour="green"),
        ],
    )


def quantile_bands() -> Bands:
    """Seed 001: the bottom 25 % unhealthy, the top 25 % healthy, the rest at risk."""
    return Bands(
        method="quantiles",
        levels=[
            Band(name="unhealthy", colour="red", below=0.25),
            Band(name="at risk", colour="yellow", below=0.75),
            Band(name="healthy", colour="green"),
        ],
    )


class AppliesTo(Strict):
    """Accounts in any of `segments` (when given) and any of `lifecycle_stages` (when given)."""

    segments: list[str] = Field(default_factory=list)
    lifecycle_stages: list[str] = Field(default_factory=list)

    @property
    def everyone(self) -> bool:
        return not self.segments and not self.lifecycle_stages


class ScorecardConfig(Strict):
    """A whole scorecard: the schema of a version's config and of its YAML file."""

    name: str = Field(min_length=1, max_length=120)
    description: str = ""
    applies_to: AppliesTo = AppliesTo()
    priority: int = Field(default=100, description="Lower is checked first.")
    is_default: bool = False
    bands: Bands = Field(default_factory=default_bands)
    groups: list[Group] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_names(self) -> ScorecardConfig:
        if not self.is_default and self.applies_to.everyone:
            raise ValueError("applies_to: name segments or lifecycle stages, or set is_default")
        groups = [group.name for group in self.groups]
        if len(set(groups)) != len(groups):
            raise ValueError("group names must be unique")
        seen: set[str] = set()
        for g, group in enumerate(self.groups):
            for m, measure in enumerate(group.measures):
                if measure.name in seen:
                    raise ValueError(
                        f"groups[{g}].measures[{m}].name: duplicate measure {measure.name!r}; "
                        "give one a distinct name"
                    )
                seen.add(measure.name)
        return self

    @property
    def measures(self) -> list[tuple[Group, Measure]]:
        """Every measure with its group, in config order."""
        return [(group, measure) for group in self.groups for measure in group.measures]

    def metrics(self) -> list[str]:
        """The catalog names the scorecard reads, each once."""
        return list(dict.fromkeys(measure.metric for _, measure in self.measures))

    def trend_weeks(self) -> int:
        """The most weeks any trend measure looks back (0 without trends)."""
        weeks = [
            m.normalisation.weeks for _, m in self.measures if isinstance(m.normalisation, Trend)
        ]
        return max(weeks, default=0)


def unknown_metric(metric: str) -> str:
    """An error text when the measures catalog does not know `metric` (a base name, or a
    windowed one with `_<N>d`); empty when the metric is fine."""
    from tend.health.measures import MEASURE_CATALOG, TRAIT_PREFIX

    if metric.startswith(TRAIT_PREFIX):
        return ""
    base = WINDOW_SUFFIX.sub("", metric)
    spec = MEASURE_CATALOG.get(metric) or MEASURE_CATALOG.get(base)
    if spec is None or base == "trait":
        return f"metric {metric!r}: not in the measures catalog"
    if metric not in MEASURE_CATALOG and not spec.windowed:
        return f"metric {metric!r}: {base} takes no window"
    return ""

"""What changed between two scorecard configs, in words a manager reads: measures added, removed
or changed (metric, direction, weight, normalisation, missing-data policy, group), groups and
their weights, bands and where the scorecard applies. Pure: two configs in, a list of changes out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from tend.health.scorecard import (
    Band,
    Group,
    Linear,
    Measure,
    Missing,
    Normalisation,
    Points,
    ScorecardConfig,
    Thresholds,
    Trend,
)

ChangeKind = Literal["added", "removed", "changed"]


@dataclass(frozen=True)
class Change:
    """One difference: in `area` (scorecard, applies to, bands, group, measure), the `item` it
    concerns (a group, measure or band name), and for changes the `field` with its values."""

    area: str
    item: str
    kind: ChangeKind
    field: str = ""
    before: str = ""
    after: str = ""


def number(value: float | int | None) -> str:
    """40 rather than 40.0; a dash for none."""
    if value is None:
        return "—"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return f"{value:g}" if isinstance(value, float) else str(value)


def describe_normalisation(norm: Normalisation) -> str:
    """`linear 0.1 → 0.8`, `thresholds ≥0: 100, ≥31: 70`, `percentile`, … in one line."""
    if isinstance(norm, Linear):
        return f"linear, worst {number(norm.worst)}, best {number(norm.best)}"
    if isinstance(norm, Thresholds):
        tiers = ", ".join(f"≥{number(t.at_least)}: {number(t.score)}" for t in norm.tiers)
        return f"thresholds {tiers}"
    if isinstance(norm, Trend):
        return (
            f"trend over {norm.weeks} weeks, slope {number(norm.slope_for_0)} → 0, "
            f"{number(norm.slope_for_100)} → 100"
        )
    if isinstance(norm, Points):
        return f"points, base {number(norm.base)}, {number(norm.points_per_unit)} per unit"
    return "percentile"


def describe_missing(missing: Missing) -> str:
    if missing.policy == "value":
        return f"value {number(missing.value)}"
    return missing.policy


def describe_band(band: Band, method: str) -> str:
    if band.below is None:
        return f"{band.colour}, top band"
    unit = "" if method == "thresholds" else " (share of accounts)"
    return f"{band.colour}, below {number(band.below)}{unit}"


def _listed(values: list[str]) -> str:
    return ", ".join(values) if values else "any"


def _measure_fields(group: Group, measure: Measure) -> dict[str, str]:
    return {
        "group": group.name,
        "metric": measure.metric,
        "direction": measure.direction.replace("_", " "),
        "weight": number(measure.weight),
        "normalisation": describe_normalisation(measure.normalisation),
        "missing data": describe_missing(measure.missing),
    }


def _changed(area: str, item: str, before: dict[str, str], after: dict[str, str]) -> list[Change]:
    return [
        Change(area, item, "changed", key, before[key], after[key])
        for key in before
        if before[key] != after[key]
    ]


def diff_configs(old: ScorecardConfig, new: ScorecardConfig) -> list[Change]:
    """Every difference from `old` to `new`: the scorecard's own fields, where it applies, its
    bands (by name), its groups (by name) and its measures (by name), in config order."""
    changes = _changed(
        "scorecard",
        new.name,
        {
            "name": old.name,
            "description": old.description,
            "priority": str(old.priority),
            "default": "yes" if old.is_default else "no",
        },
        {
            "name": new.name,
            "description": new.description,
            "priority": str(new.priority),
            "default": "yes" if new.is_default else "no",
        },
    )
    changes += _changed(
        "applies to",
        "accounts",
        {
            "segments": _listed(old.applies_to.segments),
            "lifecycle stages": _listed(old.applies_to.lifecycle_stages),
        },
        {
            "segments": _listed(new.applies_to.segments),
            "lifecycle stages": _listed(new.applies_to.lifecycle_stages),
        },
    )
    changes += _bands(old, new)
    changes += _groups(old, new)
    changes += _measures(old, new)
    return changes


def _bands(old: ScorecardConfig, new: ScorecardConfig) -> list[Change]:
    changes = []
    if old.bands.method != new.bands.method:
        changes.append(
            Change("bands", "bands", "changed", "method", old.bands.method, new.bands.method)
        )
    before = {band.name: describe_band(band, old.bands.method) for band in old.bands.levels}
    after = {band.name: describe_band(band, new.bands.method) for band in new.bands.levels}
    for name, text in before.items():
        if name not in after:
            changes.append(Change("bands", name, "removed", before=text))
        elif after[name] != text:
            changes.append(Change("bands", name, "changed", "band", text, after[name]))
    changes += [Change("bands", n, "added", after=t) for n, t in after.items() if n not in before]
    return changes


def _groups(old: ScorecardConfig, new: ScorecardConfig) -> list[Change]:
    def fields(group: Group) -> dict[str, str]:
        return {"weight": number(group.weight), "aggregation": group.aggregation.replace("_", " ")}

    before = {group.name: fields(group) for group in old.groups}
    after = {group.name: fields(group) for group in new.groups}
    changes = []
    for name, values in before.items():
        if name not in after:
            changes.append(Change("group", name, "removed", before=_summary(values)))
        else:
            changes += _changed("group", name, values, after[name])
    changes += [
        Change("group", name, "added", after=_summary(values))
        for name, values in after.items()
        if name not in before
    ]
    return changes


def _measures(old: ScorecardConfig, new: ScorecardConfig) -> list[Change]:
    before = {m.name: _measure_fields(g, m) for g, m in old.measures}
    after = {m.name: _measure_fields(g, m) for g, m in new.measures}
    changes = []
    for name, values in before.items():
        if name not in after:
            changes.append(Change("measure", name, "removed", before=_summary(values)))
        else:
            changes += _changed("measure", name, values, after[name])
    changes += [
        Change("measure", name, "added", after=_summary(values))
        for name, values in after.items()
        if name not in before
    ]
    return changes


def _summary(values: dict[str, str]) -> str:
    return "; ".join(f"{key} {value}" for key, value in values.items())

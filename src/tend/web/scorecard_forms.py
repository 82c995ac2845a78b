"""The scorecard editor's form: a draft of a scorecard as the text a person typed, read from and
written to HTML form fields, turned into config data for `validate_scorecard`, with each
validation problem attached to the field (or group, measure, band) that caused it.

Field names: `name`, `description`, `priority`, `is_default`, `segments` (comma-separated),
`lifecycle_stages` (repeated), `note`, `bands-method`, `band-<b>-name|colour|below`,
`group-<g>-name|weight|aggregation`, and per measure `group-<g>-measure-<m>-<field>` with the
normalisation's parameters (`kind`, `worst`, `best`, `weeks`, `slope_for_0`, `slope_for_100`,
`base`, `points_per_unit`, `tier-<t>-at_least|score`) and `missing`, `missing_value`. Indices
only order the rows; gaps are fine, so removing a row needs no renumbering.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from django.http import QueryDict

from tend.health.scorecard import (
    Linear,
    Points,
    ScorecardConfig,
    Thresholds,
    Trend,
)
from tend.health.scorecard_yaml import ScorecardError, validate_scorecard

NORMALISATION_PARAMS: dict[str, tuple[str, ...]] = {
    "linear": ("worst", "best"),
    "thresholds": (),
    "percentile": (),
    "trend": ("weeks", "slope_for_0", "slope_for_100"),
    "points": ("base", "points_per_unit"),
}
PARAMS = ("worst", "best", "weeks", "slope_for_0", "slope_for_100", "base", "points_per_unit")
BLANK_TIERS = 1
"""Empty tier rows offered under a thresholds normalisation, to add one without a round trip."""
MAX_ROWS = 60
"""Groups, measures per group, bands or tiers read from one form, at most."""


def _text(value: float | int | None) -> str:
    """A number as a person would type it: 40 rather than 40.0."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return repr(value) if isinstance(value, float) else str(value)


@dataclass
class TierDraft:
    at_least: str = ""
    score: str = ""

    @property
    def blank(self) -> bool:
        return not self.at_least.strip() and not self.score.strip()


@dataclass
class MeasureDraft:
    """One measure as typed; `params` holds every normalisation's parameters, so switching the
    kind back and forth keeps what was typed."""

    metric: str = ""
    name: str = ""
    direction: str = "higher_is_better"
    weight: str = "1"
    kind: str = "linear"
    params: dict[str, str] = field(default_factory=lambda: dict.fromkeys(PARAMS, ""))
    tiers: list[TierDraft] = field(default_factory=list)
    missing: str = "exclude"
    missing_value: str = ""
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def shown_tiers(self) -> list[TierDraft]:
        """The tiers and the blank rows to add more."""
        return [*self.tiers, *(TierDraft() for _ in range(BLANK_TIERS))]

    def data(self) -> dict[str, Any]:
        normalisation: dict[str, Any] = {"kind": self.kind}
        for param in NORMALISATION_PARAMS.get(self.kind, ()):
            if self.params.get(param, "").strip() or param != "base":
                normalisation[param] = self.params.get(param, "").strip()
        if self.kind == "thresholds":
            normalisation["tiers"] = [
                {"at_least": t.at_least.strip(), "score": t.score.strip()}
                for t in self.tiers
                if not t.blank
            ]
        missing: Any = self.missing
        if self.missing == "value":
            missing = {"policy": "value", "value": self.missing_value.strip()}
        data: dict[str, Any] = {
            "metric": self.metric.strip(),
            "direction": self.direction,
            "weight": self.weight.strip(),
            "normalisation": normalisation,
            "missing": missing,
        }
        if self.name.strip():
            data["name"] = self.name.strip()
        return data


@dataclass
class GroupDraft:
    name: str = ""
    weight: str = "1"
    aggregation: str = "weighted_mean"
    measures: list[MeasureDraft] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)

    def data(self) -> dict[str, Any]:
        return {
            "name": self.name.strip(),
            "weight": self.weight.strip(),
            "aggregation": self.aggregation,
            "measures": [measure.data() for measure in self.measures],
        }


@dataclass
class BandDraft:
    name: str = ""
    colour: str = ""
    below: str = ""
    errors: dict[str, str] = field(default_factory=dict)


@dataclass
class ScorecardDraft:
    """A whole scorecard as typed in the editor, with the problems found in it."""

    name: str = ""
    description: str = ""
    priority: str = "100"
    is_default: bool = False
    segments: str = ""
    lifecycle_stages: list[str] = field(default_factory=list)
    bands_method: str = "thresholds"
    bands: list[BandDraft] = field(default_factory=list)
    groups: list[GroupDraft] = field(default_factory=list)
    note: str = ""
    errors: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    """Problems that belong to no single field, shown above the form."""

    @property
    def has_errors(self) -> bool:
        return bool(
            self.errors
            or self.problems
            or any(b.errors for b in self.bands)
            or any(g.errors or any(m.errors for m in g.measures) for g in self.groups)
        )

    def data(self) -> dict[str, Any]:
        """Plain config data for `validate_scorecard`: text stays text, so pydantic names each
        value that is not a number; empty optional fields are left out."""
        levels = []
        for position, band in enumerate(self.bands):
            level: dict[str, Any] = {"name": band.name.strip(), "colour": band.colour.strip()}
            if band.below.strip() or position < len(self.bands) - 1:
                level["below"] = band.below.strip() or None
            levels.append(level)
        return {
            "name": self.name.strip(),
            "description": self.description.strip(),
            "priority": self.priority.strip(),
            "is_default": self.is_default,
            "applies_to": {
                "segments": split_list(self.segments),
                "lifecycle_stages": list(self.lifecycle_stages),
            },
            "bands": {"method": self.bands_method, "levels": levels},
            "groups": [group.data() for group in self.groups],
        }


def split_list(text: str) -> list[str]:
    """`smb, mid market` → ['smb', 'mid market'], each once, in order."""
    return list(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))


def draft_from_config(config: ScorecardConfig, note: str = "") -> ScorecardDraft:
    """The editor's draft of a saved config."""
    groups = []
    for group in config.groups:
        measures = []
        for measure in group.measures:
            norm = measure.normalisation
            params = dict.fromkeys(PARAMS, "")
            tiers: list[TierDraft] = []
            if isinstance(norm, Linear):
                params |= {"worst": _text(norm.worst), "best": _text(norm.best)}
            elif isinstance(norm, Trend):
                params |= {
                    "weeks": _text(norm.weeks),
                    "slope_for_0": _text(norm.slope_for_0),
                    "slope_for_100": _text(norm.slope_for_100),
                }
            elif isinstance(norm, Points):
                params |= {"base": _text(norm.base), "points_per_unit": _text(norm.points_per_unit)}
            elif isinstance(norm, Thresholds):
                tiers = [TierDraft(_text(t.at_least), _text(t.score)) for t in norm.tiers]
            measures.append(
                MeasureDraft(
                    metric=measure.metric,
                    name="" if measure.name == measure.metric else measure.name,
                    direction=measure.direction,
                    weight=_text(measure.weight),
                    kind=norm.kind,
                    params=params,
                    tiers=tiers,
                    missing=measure.missing.policy,
                    missing_value=_text(measure.missing.value),
                )
            )
        groups.append(
            GroupDraft(group.name, _text(group.weight), group.aggregation, measures=measures)
        )
    return ScorecardDraft(
        name=config.name,
        description=config.description,
        priority=str(config.priority),
        is_default=config.is_default,
        segments=", ".join(config.applies_to.segments),
        lifecycle_stages=list(config.applies_to.lifecycle_stages),
        bands_method=config.bands.method,
        bands=[
            BandDraft(band.name, band.colour, _text(band.below)) for band in config.bands.levels
        ],
        groups=groups,
        note=note,
    )


def _indices(form: QueryDict, pattern: str) -> list[int]:
    """The row indices present in the form for a key pattern with one `(\\d+)` group."""
    found = set()
    regex = re.compile(pattern)
    for key in form:
        match = regex.fullmatch(key)
        if match:
            found.add(int(match.group(1)))
    return sorted(found)[:MAX_ROWS]


def draft_from_form(form: QueryDict) -> ScorecardDraft:
    """The draft a posted editor form holds."""

    def get(key: str, default: str = "") -> str:
        return str(form.get(key, default))

    bands = [
        BandDraft(get(f"band-{b}-name"), get(f"band-{b}-colour"), get(f"band-{b}-below"))
        for b in _indices(form, r"band-(\d+)-name")
    ]
    groups = []
    for g in _indices(form, r"group-(\d+)-name"):
        measures = []
        for m in _indices(form, rf"group-{g}-measure-(\d+)-metric"):
            prefix = f"group-{g}-measure-{m}-"
            tiers = [
                TierDraft(get(f"{prefix}tier-{t}-at_least"), get(f"{prefix}tier-{t}-score"))
                for t in _indices(form, rf"{prefix}tier-(\d+)-at_least")
            ]
            measures.append(
                MeasureDraft(
                    metric=get(prefix + "metric"),
                    name=get(prefix + "name"),
                    direction=get(prefix + "direction", "higher_is_better"),
                    weight=get(prefix + "weight"),
                    kind=get(prefix + "kind", "linear"),
                    params={param: get(prefix + param) for param in PARAMS},
                    tiers=[tier for tier in tiers if not tier.blank],
                    missing=get(prefix + "missing", "exclude"),
                    missing_value=get(prefix + "missing_value"),
                )
            )
        groups.append(
            GroupDraft(
                get(f"group-{g}-name"),
                get(f"group-{g}-weight"),
                get(f"group-{g}-aggregation", "weighted_mean"),
                measures=measures,
            )
        )
    return ScorecardDraft(
        name=get("name"),
        description=get("description"),
        priority=get("priority"),
        is_default=form.get("is_default") in ("on", "true", "1"),
        segments=get("segments"),
        lifecycle_stages=[str(stage) for stage in form.getlist("lifecycle_stages")],
        bands_method=get("bands-method", "thresholds"),
        bands=bands,
        groups=groups,
        note=get("note"),
    )


def validate_draft(draft: ScorecardDraft) -> ScorecardConfig | None:
    """The draft's config, or None with each problem attached to the draft where it belongs."""
    try:
        return validate_scorecard(draft.data())
    except ScorecardError as error:
        for problem in error.problems:
            attach_problem(draft, problem)
        return None


PATH_PART = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]")
PATH_TEXT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(?:\[\d+\]|\.[A-Za-z_][A-Za-z0-9_]*)*$")


def split_problem(problem: str) -> tuple[list[str | int], str]:
    """`groups[1].weight: must be > 0` → (['groups', 1, 'weight'], 'must be > 0'); a problem
    without a leading path gives an empty path."""
    head, sep, message = problem.partition(": ")
    if not sep or not PATH_TEXT.match(head):
        return [], problem
    parts: list[str | int] = [
        int(index) if index else name for name, index in PATH_PART.findall(head)
    ]
    return parts, message


def _add(errors: dict[str, str], key: str, message: str) -> None:
    errors[key] = f"{errors[key]}; {message}" if key in errors else message


def attach_problem(draft: ScorecardDraft, problem: str) -> None:
    """Put one `path: message` problem next to the field it names (or the closest row)."""
    path, message = split_problem(problem)
    match path:
        case ["groups", int(g), "measures", int(m), *rest] if g < len(draft.groups) and m < len(
            draft.groups[g].measures
        ):
            _add(draft.groups[g].measures[m].errors, _measure_key(rest, message), message)
        case ["groups", int(g), *rest] if g < len(draft.groups):
            key = str(rest[0]) if rest and rest[0] in ("name", "weight", "aggregation") else "group"
            _add(draft.groups[g].errors, key, message)
        case ["bands", "levels", int(b), *rest] if b < len(draft.bands):
            key = str(rest[0]) if rest and rest[0] in ("name", "colour", "below") else "band"
            _add(draft.bands[b].errors, key, message)
        case ["bands", *_]:
            _add(draft.errors, "bands", message)
        case ["applies_to", *_]:
            _add(draft.errors, "applies_to", message)
        case [str(top), *_] if top in ("name", "description", "priority", "is_default", "groups"):
            _add(draft.errors, top, message)
        case _:
            draft.problems.append(problem)


def _measure_key(rest: list[str | int], message: str) -> str:
    if not rest:
        if message.startswith("metric "):
            return "metric"
        # "higher_is_better: best must be above worst" belongs next to `best`.
        for param in ("slope_for_100", "best"):
            if f": {param} must" in message:
                return param
        return "measure"
    head = rest[0]
    if head == "normalisation":
        if len(rest) > 1 and rest[1] in PARAMS:
            return str(rest[1])
        if (len(rest) > 1 and rest[1] == "tiers") or "tiers" in message:
            return "tiers"
        return "kind" if len(rest) == 1 and "kind" in message else "normalisation"
    if head in ("metric", "name", "direction", "weight", "missing"):
        return str(head)
    return "measure"


def apply_operation(draft: ScorecardDraft, operation: str) -> bool:
    """Add or remove a row: `add-group`, `remove-group-<g>`, `add-measure-<g>`,
    `remove-measure-<g>-<m>`, `add-band`, `remove-band-<b>` (positions in the draft). Returns
    whether the operation was understood."""
    numbers = [int(n) for n in re.findall(r"\d+", operation)]
    verb = re.sub(r"-\d+", "", operation)
    if verb == "add-group" and len(draft.groups) < MAX_ROWS:
        draft.groups.append(GroupDraft(name="", measures=[MeasureDraft()]))
        return True
    if verb == "remove-group" and numbers and numbers[0] < len(draft.groups):
        del draft.groups[numbers[0]]
        return True
    if verb == "add-measure" and numbers and numbers[0] < len(draft.groups):
        draft.groups[numbers[0]].measures.append(MeasureDraft())
        return True
    if verb == "remove-measure" and len(numbers) == 2 and numbers[0] < len(draft.groups):
        measures = draft.groups[numbers[0]].measures
        if numbers[1] < len(measures):
            del measures[numbers[1]]
            return True
    if verb == "add-band" and len(draft.bands) < 6:
        draft.bands.insert(max(len(draft.bands) - 1, 0), BandDraft(colour="yellow"))
        return True
    if verb == "remove-band" and numbers and numbers[0] < len(draft.bands):
        del draft.bands[numbers[0]]
        return True
    return False


def form_fields(draft: ScorecardDraft) -> dict[str, Any]:
    """The form fields that post `draft` (what the editor's HTML holds): for tests and scripts."""
    fields: dict[str, Any] = {
        "name": draft.name,
        "description": draft.description,
        "priority": draft.priority,
        "segments": draft.segments,
        "lifecycle_stages": list(draft.lifecycle_stages),
        "bands-method": draft.bands_method,
        "note": draft.note,
    }
    if draft.is_default:
        fields["is_default"] = "on"
    for b, band in enumerate(draft.bands):
        fields |= {f"band-{b}-name": band.name, f"band-{b}-colour": band.colour}
        fields[f"band-{b}-below"] = band.below
    for g, group in enumerate(draft.groups):
        fields |= {
            f"group-{g}-name": group.name,
            f"group-{g}-weight": group.weight,
            f"group-{g}-aggregation": group.aggregation,
        }
        for m, measure in enumerate(group.measures):
            prefix = f"group-{g}-measure-{m}-"
            fields |= {
                prefix + "metric": measure.metric,
                prefix + "name": measure.name,
                prefix + "direction": measure.direction,
                prefix + "weight": measure.weight,
                prefix + "kind": measure.kind,
                prefix + "missing": measure.missing,
                prefix + "missing_value": measure.missing_value,
            }
            fields |= {prefix + param: value for param, value in measure.params.items()}
            for t, tier in enumerate(measure.tiers):
                fields[f"{prefix}tier-{t}-at_least"] = tier.at_least
                fields[f"{prefix}tier-{t}-score"] = tier.score
    return fields

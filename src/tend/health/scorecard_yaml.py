"""Scorecards as YAML files: load with errors that name the bad field, dump for export.

An error reads `groups[1].measures[0].weight: must be > 0`; a file with several problems lists
them all, one per line.
"""

from __future__ import annotations

from typing import Any

import yaml
from pydantic import ValidationError

from tend.health.scorecard import NORMALISATION_KINDS, ScorecardConfig


class ScorecardError(ValueError):
    """A scorecard that cannot be read or does not validate; `problems` are `path: message`."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid scorecard:\n" + "\n".join(f"  {p}" for p in problems))


def load_scorecard(text: str) -> ScorecardConfig:
    """Parse and validate a scorecard from YAML text."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(error, "problem", None) or str(error)
        raise ScorecardError([f"{where}not valid YAML ({problem})"]) from error
    if not isinstance(data, dict):
        raise ScorecardError(["the file must hold a mapping (name, bands, groups, ...)"])
    return validate_scorecard(data)


def validate_scorecard(data: Any) -> ScorecardConfig:
    """A validated config from plain data (YAML, JSON, a stored version)."""
    try:
        return ScorecardConfig.model_validate(data)
    except ValidationError as error:
        raise ScorecardError(describe_errors(error)) from error


def dump_scorecard(config: ScorecardConfig) -> str:
    """YAML text of a config, keys in schema order; loading it gives the same config."""
    data = _tidy(config.model_dump(mode="json"))
    for group in data["groups"]:
        for measure in group["measures"]:
            if measure["name"] == measure["metric"]:
                del measure["name"]
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def _tidy(value: Any) -> Any:
    """Without nulls, and 40 rather than 40.0, so the export reads like a hand-written file."""
    if isinstance(value, dict):
        return {key: _tidy(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [_tidy(item) for item in value]
    return _number(value)


def describe_errors(error: ValidationError) -> list[str]:
    """`path: message` for each validation problem, in plain words."""
    problems = []
    for item in error.errors(include_url=False):
        path = field_path(item["loc"])
        message = _message(item)
        problems.append(f"{path}: {message}" if path else message)
    return problems


def field_path(loc: tuple[Any, ...]) -> str:
    """`('groups', 1, 'measures', 0, 'weight')` → `groups[1].measures[0].weight`, leaving out
    the normalisation kind pydantic adds to the location."""
    parts: list[str] = []
    previous: Any = None
    for part in loc:
        if previous == "normalisation" and part in NORMALISATION_KINDS:
            previous = part
            continue
        if isinstance(part, int):
            parts.append(f"[{part}]")
        else:
            parts.append(f".{part}" if parts else str(part))
        previous = part
    return "".join(parts)


def _message(item: Any) -> str:
    kind = item["type"]
    context = {key: _number(value) for key, value in (item.get("ctx") or {}).items()}
    plain = {
        "greater_than": "must be > {gt}",
        "greater_than_equal": "must be >= {ge}",
        "less_than": "must be < {lt}",
        "less_than_equal": "must be <= {le}",
        "missing": "required",
        "extra_forbidden": "unknown field",
        "too_short": "needs at least {min_length} item(s)",
        "too_long": "takes at most {max_length} item(s)",
        "string_too_short": "must not be empty",
        "string_too_long": "takes at most {max_length} characters",
        "string_pattern_mismatch": "must match {pattern}",
        "literal_error": "must be one of {expected}",
        "union_tag_invalid": "kind must be one of {expected_tags}",
        "union_tag_not_found": "needs a kind ({expected})",
        "float_parsing": "must be a number",
        "float_type": "must be a number",
        "int_parsing": "must be a whole number",
        "int_type": "must be a whole number",
        "int_from_float": "must be a whole number",
        "bool_parsing": "must be true or false",
        "list_type": "must be a list",
        "model_type": "must be a mapping",
        "model_attributes_type": "must be a mapping",
    }
    if kind == "union_tag_not_found":
        return "needs a kind (" + ", ".join(NORMALISATION_KINDS) + ")"
    if kind in plain:
        try:
            return plain[kind].format(**context)
        except KeyError:
            pass
    message = str(item["msg"])
    return message.removeprefix("Value error, ")


def _number(value: Any) -> Any:
    """0.0 → 0, so a message reads `must be > 0`."""
    return int(value) if isinstance(value, float) and value.is_integer() else value

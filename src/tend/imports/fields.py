"""Typed fields of importable entities and how a raw value becomes a typed one."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson

TRUE_WORDS = {"true", "t", "yes", "y", "1"}
FALSE_WORDS = {"false", "f", "no", "n", "0"}


class FieldError(ValueError):
    """A value that cannot be used for a field; the message says why."""


@dataclass(frozen=True)
class FieldSpec:
    """One field of an entity: its type, whether it is required, allowed values, and the entity
    its value refers to (an external id, or a team member's username/email for `team`)."""

    kind: str
    required: bool = False
    choices: tuple[str, ...] = ()
    refers_to: str | None = None
    minimum: int | None = None
    maximum: int | None = None
    max_length: int | None = None
    default: Any = None
    aliases: tuple[str, ...] = field(default_factory=tuple)


def convert(spec: FieldSpec, raw: Any) -> Any:
    """The typed value of `raw` for `spec`; None for an empty value; FieldError if unusable."""
    if raw is None or (isinstance(raw, str) and raw.strip() == ""):
        return None
    value = CONVERTERS[spec.kind](raw)
    if spec.choices and value not in spec.choices:
        raise FieldError(f"{value!r} is not one of {', '.join(spec.choices)}")
    if spec.minimum is not None and value < spec.minimum:
        raise FieldError(f"{value} is below the minimum {spec.minimum}")
    if spec.maximum is not None and value > spec.maximum:
        raise FieldError(f"{value} is above the maximum {spec.maximum}")
    if spec.max_length is not None and isinstance(value, str) and len(value) > spec.max_length:
        raise FieldError(f"is {len(value)} characters long; at most {spec.max_length} allowed")
    return value


def _text(raw: Any) -> str:
    if isinstance(raw, (dict, list)):
        raise FieldError("expected text, got a JSON object or list")
    return str(raw).strip()


def _integer(raw: Any) -> int:
    if isinstance(raw, bool):
        raise FieldError("expected a whole number, got true/false")
    if isinstance(raw, int):
        return raw
    if isinstance(raw, float) and raw.is_integer():
        return int(raw)
    text = str(raw).strip()
    try:
        return int(text)
    except ValueError:
        try:
            as_decimal = Decimal(text)
        except InvalidOperation:
            raise FieldError(f"{text!r} is not a whole number") from None
        if as_decimal == as_decimal.to_integral_value():
            return int(as_decimal)
        raise FieldError(f"{text!r} is not a whole number") from None


def _decimal(raw: Any) -> Decimal:
    if isinstance(raw, bool):
        raise FieldError("expected a number, got true/false")
    try:
        value = Decimal(str(raw).strip())
    except InvalidOperation:
        raise FieldError(f"{raw!r} is not a number") from None
    if not value.is_finite():
        raise FieldError(f"{raw!r} is not a finite number")
    return value


def _boolean(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    raise FieldError(f"{raw!r} is not true or false")


def _datetime(raw: Any) -> datetime:
    if isinstance(raw, datetime):
        value = raw
    elif isinstance(raw, date):
        value = datetime(raw.year, raw.month, raw.day)
    elif isinstance(raw, (int, float)) and not isinstance(raw, bool):
        seconds = raw / 1000 if raw > 10_000_000_000 else raw
        return datetime.fromtimestamp(seconds, tz=UTC)
    else:
        text = str(raw).strip()
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            raise FieldError(f"{text!r} is not a date or time (use ISO 8601)") from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _json_object(raw: Any) -> dict[str, Any]:
    if isinstance(raw, dict):
        return raw
    try:
        value = orjson.loads(str(raw))
    except orjson.JSONDecodeError:
        raise FieldError("is not valid JSON") from None
    if not isinstance(value, dict):
        raise FieldError("must be a JSON object")
    return value


CONVERTERS: dict[str, Callable[[Any], Any]] = {
    "text": _text,
    "int": _integer,
    "decimal": _decimal,
    "bool": _boolean,
    "datetime": _datetime,
    "json": _json_object,
}

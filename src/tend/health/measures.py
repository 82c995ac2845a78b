"""The health measures catalog: per account and day, raw values that scorecards normalise.

`measure_values(inputs, days, names)` gives one row per account, day and measure for every
account that existed on the day (signed up on or before it, or without a sign-up date), with
the value at the end of that day (UTC) "as of" it: only facts dated that day or earlier count
(see health.md, "Fresh and historical", and measures_frame.py). The one exception is
`trait:<name>`: traits have no history, so it is today's value on every day.

Names: a catalog base name, with `_<N>d` for a window of N days (any positive integer) where
the measure takes one (`active_users_30d`; the bare base name uses its default window), or
`trait:<name>`. A trailing window of N days at D holds D-N+1..D: a fact dated exactly D-N days
is out. A null value means no data (no NPS answer ever, no seats known, …); counts are 0.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal

import ibis
import pyarrow as pa

from tend.health import (
    measures_engagement,
    measures_finance,
    measures_support,
    measures_usage,
    measures_voice,
)
from tend.health.measures_frame import (
    MeasureFrame,
    MeasureRequest,
    Running,
    distinct_parts,
    make_frame,
    running_values,
)
from tend.metrics.inputs import Inputs

MeasureUnit = Literal["count", "ratio", "percent", "score", "days", "hours", "minutes", "money"]
MeasureCompute = Callable[[MeasureFrame, MeasureRequest], ibis.Table | Running]

RESULT_SCHEMA = pa.schema(
    [
        ("account", pa.string()),
        ("day", pa.date32()),
        ("measure", pa.string()),
        ("value", pa.float64()),
    ]
)
TRAIT_PREFIX = "trait:"
WINDOW_SUFFIX = re.compile(r"^(?P<base>[a-z][a-z_]*?)_(?P<days>\d+)d$")


@dataclass(frozen=True)
class MeasureSpec:
    """One catalog measure. `default_window` is None for measures without a window;
    `when_absent` is the value of an account-day the computation has no row for (0 for counts
    and amounts, None: missing)."""

    family: str  # usage, support, voice, engagement, finance, trait
    unit: MeasureUnit
    higher_is_better: bool
    default_window: int | None
    definition: str
    compute: MeasureCompute
    when_absent: float | None = None

    @property
    def windowed(self) -> bool:
        return self.default_window is not None


MEASURE_CATALOG: dict[str, MeasureSpec] = {
    "active_users": MeasureSpec(
        family="usage",
        unit="count",
        higher_is_better=True,
        default_window=30,
        definition="Distinct users active in the trailing N days.",
        compute=measures_usage.active_users,
    ),
    "active_days_per_user": MeasureSpec(
        family="usage",
        unit="ratio",
        higher_is_better=True,
        default_window=30,
        definition=(
            "Active user-days ÷ distinct active users in the trailing N days (null: nobody active)."
        ),
        compute=measures_usage.active_days_per_user,
    ),
    "seat_utilisation": MeasureSpec(
        family="usage",
        unit="ratio",
        higher_is_better=True,
        default_window=30,
        definition=(
            "Distinct users active in the trailing N days ÷ licensed seats (null without seats)."
        ),
        compute=measures_usage.seat_utilisation,
    ),
    "session_minutes_median": MeasureSpec(
        family="usage",
        unit="minutes",
        higher_is_better=True,
        default_window=30,
        definition=(
            "Median over the trailing N days' user-days with a session of their mean session "
            "length (active minutes ÷ sessions); null without sessions."
        ),
        compute=measures_usage.session_minutes_median,
    ),
    "features_used": MeasureSpec(
        family="usage",
        unit="count",
        higher_is_better=True,
        default_window=30,
        definition="Distinct features (event names) used in the trailing N days.",
        compute=measures_usage.features_used,
    ),
    "events": MeasureSpec(
        family="usage",
        unit="count",
        higher_is_better=True,
        default_window=30,
        definition="Qualifying events in the trailing N days.",
        compute=measures_usage.events,
    ),
    "tickets_opened": MeasureSpec(
        family="support",
        unit="count",
        higher_is_better=False,
        default_window=30,
        definition="Tickets opened in the trailing N days.",
        compute=measures_support.tickets_opened,
    ),
    "tickets_high_open": MeasureSpec(
        family="support",
        unit="count",
        higher_is_better=False,
        default_window=None,
        definition="High or urgent tickets open at the end of D (opened by D, not resolved by D).",
        compute=measures_support.tickets_high_open,
    ),
    "tickets_open": MeasureSpec(
        family="support",
        unit="count",
        higher_is_better=False,
        default_window=None,
        definition="Tickets open at the end of D (opened by D, not resolved by D).",
        compute=measures_support.tickets_open,
    ),
    "resolution_hours_median": MeasureSpec(
        family="support",
        unit="hours",
        higher_is_better=False,
        default_window=90,
        definition=(
            "Median hours from opening to resolution of tickets resolved in the trailing N days."
        ),
        compute=measures_support.resolution_hours_median,
    ),
    "nps_latest": MeasureSpec(
        family="voice",
        unit="score",
        higher_is_better=True,
        default_window=None,
        definition=(
            "NPS (% promoters 9-10 - % detractors 0-6, -100..100) over each contact's latest 0-10 "
            "answer given by D; null without answers."
        ),
        compute=measures_voice.nps_latest,
    ),
    "csat": MeasureSpec(
        family="voice",
        unit="percent",
        higher_is_better=True,
        default_window=90,
        definition=(
            "% of the 1-5 CSAT answers of the trailing N days that are 4 or 5; null without any."
        ),
        compute=measures_voice.csat,
    ),
    "detractors": MeasureSpec(
        family="voice",
        unit="count",
        higher_is_better=False,
        default_window=90,
        definition="Contacts whose latest NPS answer in the trailing N days is 0-6.",
        compute=measures_voice.detractors,
    ),
    "days_since_last_touch": MeasureSpec(
        family="engagement",
        unit="days",
        higher_is_better=False,
        default_window=None,
        definition=(
            "D minus the day of the last touchpoint on or before D (0: that day; null: never)."
        ),
        compute=measures_engagement.days_since_last_touch,
    ),
    "touchpoints": MeasureSpec(
        family="engagement",
        unit="count",
        higher_is_better=True,
        default_window=90,
        definition="Touchpoints (emails, calls, meetings, chats, …) in the trailing N days.",
        compute=measures_engagement.touchpoints,
    ),
    "days_overdue_max": MeasureSpec(
        family="finance",
        unit="days",
        higher_is_better=False,
        default_window=None,
        definition=(
            "D minus the due day of the longest-overdue invoice at D (due before D, not paid by "
            "D); 0 when nothing is overdue."
        ),
        compute=measures_finance.days_overdue_max,
        when_absent=0.0,
    ),
    "overdue_amount": MeasureSpec(
        family="finance",
        unit="money",
        higher_is_better=False,
        default_window=None,
        definition="Amount still owed at D on invoices overdue then, in the account's currency.",
        compute=measures_finance.overdue_amount,
    ),
    "late_payments": MeasureSpec(
        family="finance",
        unit="count",
        higher_is_better=False,
        default_window=365,
        definition=(
            "Invoices paid after their due time, unpaid or written off, whose due day + 1 is in "
            "the trailing N days."
        ),
        compute=measures_finance.late_payments,
    ),
    "mrr": MeasureSpec(
        family="finance",
        unit="money",
        higher_is_better=True,
        default_window=None,
        definition=(
            "MRR at the end of D in the account's currencies (summed, unconverted); 0 if none."
        ),
        compute=measures_finance.mrr,
    ),
    "mrr_change": MeasureSpec(
        family="finance",
        unit="ratio",
        higher_is_better=True,
        default_window=90,
        definition="(MRR at D - MRR at D-N) ÷ MRR at D-N; null when MRR at D-N was 0.",
        compute=measures_finance.mrr_change,
    ),
    "tenure_days": MeasureSpec(
        family="finance",
        unit="days",
        higher_is_better=True,
        default_window=None,
        definition="D minus the first day the account paid anything; null if it had not paid by D.",
        compute=measures_finance.tenure_days,
    ),
    "trait": MeasureSpec(
        family="trait",
        unit="score",
        higher_is_better=True,
        default_window=None,
        definition=(
            "trait:<name>: the account's custom trait as a number (JSON number, numeric text, "
            "true/false as 1/0; else null). Traits have no history: today's value on every day, "
            "not as of D."
        ),
        compute=measures_engagement.trait,
    ),
}
"""Every measure by base name; request `<base>_<N>d` for windowed ones, `trait:<name>`."""


def _unknown(name: str, why: str) -> ValueError:
    known = ", ".join(
        f"{base}_<N>d" if spec.windowed else ("trait:<name>" if base == "trait" else base)
        for base, spec in MEASURE_CATALOG.items()
    )
    return ValueError(f"unknown measure {name!r} ({why}); known measures: {known}")


def parse_measure(name: str) -> MeasureRequest:
    """The request a measure name stands for; ValueError naming it and the known measures."""
    if name.startswith(TRAIT_PREFIX) or name == "trait":
        trait = name[len(TRAIT_PREFIX) :]
        if not trait:
            raise _unknown(name, "a trait measure needs a trait name: trait:<name>")
        return MeasureRequest(name, "trait", None, trait)
    spec = MEASURE_CATALOG.get(name)
    if spec is not None:
        return MeasureRequest(name, name, spec.default_window)
    match = WINDOW_SUFFIX.match(name)
    if match is not None:
        base, days = match.group("base"), int(match.group("days"))
        spec = MEASURE_CATALOG.get(base)
        if spec is not None and spec.windowed:
            if days < 1:
                raise _unknown(name, "a window must be at least 1 day")
            return MeasureRequest(name, base, days)
        if spec is not None:
            raise _unknown(name, f"{base} takes no window")
    raise _unknown(name, "not in the catalog")


def default_measure_names() -> list[str]:
    """Every catalog measure with its default window (traits left out: they need a name)."""
    return [
        f"{base}_{spec.default_window}d" if spec.windowed else base
        for base, spec in MEASURE_CATALOG.items()
        if base != "trait"
    ]


def measure_table(inputs: Inputs, days: Sequence[date], names: Iterable[str]) -> ibis.Table:
    """The rows of `measure_values` as an Ibis expression on `inputs.con`. Intermediates are
    materialised as `health_measure_*` tables on the backend (so one request at a time per
    connection); the result itself is not fetched."""
    requests = list({name: parse_measure(name) for name in names}.values())
    if not days or not requests:
        return ibis.memtable(RESULT_SCHEMA.empty_table())
    longest: dict[str, int] = {}
    for request in requests:
        family = MEASURE_CATALOG[request.base].family
        longest[family] = max(longest.get(family, 1), request.window or 1)
    frame = make_frame(inputs, days, longest)
    computed = [MEASURE_CATALOG[request.base].compute(frame, request) for request in requests]
    running_parts = {
        f"m{index}_": result for index, result in enumerate(computed) if isinstance(result, Running)
    }
    running = running_values(frame, running_parts) if running_parts else None
    canonical = distinct_parts(running_parts)
    parts = []
    for index, (request, result) in enumerate(zip(requests, computed, strict=True)):
        measure = ibis.literal(request.name, "string")
        if isinstance(result, Running):
            assert running is not None  # computed above whenever a part is running
            prefix = canonical[f"m{index}_"]
            view = running.select(
                "account",
                "day",
                "seats",
                **{column: running[prefix + column] for column in result.columns},
            )
            value = result.finish(view).cast("float64")
            parts.append(view.select("account", "day", measure=measure, value=value))
            continue
        values = result.rename(value_account="account", value_day="day")
        existing = frame.existing
        joined = existing.left_join(
            values,
            [existing.account == values.value_account, existing.day == values.value_day],
        )
        value = joined.value.cast("float64")
        when_absent = MEASURE_CATALOG[request.base].when_absent
        if when_absent is not None:
            value = value.coalesce(when_absent)
        parts.append(joined.select("account", "day", measure=measure, value=value))
    return parts[0] if len(parts) == 1 else ibis.union(*parts)


def measure_values(inputs: Inputs, days: Sequence[date], names: Iterable[str]) -> pa.Table:
    """Per account, day and measure: the measure's value at the end of the day, as of it.

    Columns `account, day, measure, value` (value null = missing), in no particular order.
    Unknown names raise ValueError naming the measure and listing the known ones.
    """
    table = measure_table(inputs, days, names)
    return table.to_pyarrow().cast(RESULT_SCHEMA)

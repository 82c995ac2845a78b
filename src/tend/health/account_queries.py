"""Reads of current health for account pages: which stored day is "now" for each scorecard, the
colour of each band, and the measures that moved a score most over some days.

"Current" health is the snapshot of the latest day each active scorecard's latest version has
stored: the engine scores whole days for every account it applies to (`engine.score_days`), so
each account has one row there. Reads are a few indexed queries, whatever the number of accounts.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.db.models import Q, QuerySet

from tend.customers.models import Account
from tend.health.models import HealthSnapshot, ScorecardVersion

MOVER_DAYS = (7, 30)
MOVERS_SHOWN = 3
SMALLEST_MOVE = 0.01


Bands = tuple[tuple[str, str], ...]
"""A version's bands as (name, colour), bottom band first."""


@dataclass(frozen=True)
class CurrentDay:
    """The newest stored day of one scorecard version (the latest of an active scorecard),
    with that version's bands."""

    version_id: int
    day: date
    bands: Bands = ()


def version_bands(config: Any) -> Bands:
    """The bands of a stored (already validated) version config, read without re-validating."""
    levels = (config or {}).get("bands", {}).get("levels", [])
    return tuple((str(level["name"]), str(level.get("colour", ""))) for level in levels)


def current_days() -> list[CurrentDay]:
    """Per active scorecard, its latest version and the newest day that version has snapshots
    for (versions without snapshots are left out): one query for the versions, then one indexed
    `ORDER BY day DESC LIMIT 1` per active scorecard."""
    versions = ScorecardVersion.objects.filter(scorecard__active=True).order_by(
        "scorecard_id", "-number"
    )
    latest: dict[int, tuple[int, Any]] = {}
    for scorecard_id, version_id, config in versions.values_list("scorecard_id", "pk", "config"):
        latest.setdefault(scorecard_id, (version_id, config))
    days = []
    for version_id, config in latest.values():
        day = (
            HealthSnapshot.objects.filter(version_id=version_id)
            .order_by("-day")
            .values_list("day", flat=True)
            .first()
        )
        if day is not None:
            days.append(CurrentDay(version_id, day, version_bands(config)))
    return days


def current_snapshot_condition(days: Sequence[CurrentDay], prefix: str = "") -> Q | None:
    """A condition on snapshots (reached through `prefix`, e.g. `health_snapshots__`) that keeps
    the current ones; None when nothing has been scored yet."""
    if not days:
        return None
    condition = Q()
    for current in days:
        condition |= Q(**{f"{prefix}version": current.version_id, f"{prefix}day": current.day})
    return condition


def band_colours(bands: Iterable[Bands]) -> dict[str, str]:
    """Colour per band name (the first version naming a band wins); a band only an override
    names has no colour and is shown neutral."""
    colours: dict[str, str] = {}
    for levels in bands:
        for name, colour in levels:
            colours.setdefault(name, colour)
    return colours


def band_names(bands: Iterable[Bands]) -> list[str]:
    """Band names, worst first, without repeats: the choices of a band filter."""
    return list(dict.fromkeys(name for levels in bands for name, _ in levels))


@dataclass(frozen=True)
class Mover:
    """How much one measure's contribution to the score changed over `days`."""

    measure: str
    change: float


def _contributions(measures: Any) -> dict[str, float]:
    parsed = json.loads(measures) if isinstance(measures, str) else (measures or {})
    return {name: float(values[3] or 0.0) for name, values in parsed.items()}


def score_movers(
    snapshot: HealthSnapshot, windows: Sequence[int] = MOVER_DAYS, shown: int = MOVERS_SHOWN
) -> dict[int, list[Mover]]:
    """Per window (days), the measures whose contribution changed most between the snapshot
    `days` earlier (same version) and this one, largest moves first; an empty list when there
    is no snapshot that day. One query for all windows."""
    wanted = {snapshot.day - timedelta(days=days): days for days in windows}
    earlier = HealthSnapshot.objects.filter(
        account_id=snapshot.account_id, version_id=snapshot.version_id, day__in=list(wanted)
    ).values_list("day", "measures")
    now = _contributions(snapshot.measures)
    result: dict[int, list[Mover]] = {days: [] for days in windows}
    for day, measures in earlier:
        then = _contributions(measures)
        moves = [
            Mover(name, round(now.get(name, 0.0) - then.get(name, 0.0), 3))
            for name in dict.fromkeys([*now, *then])
        ]
        moves = [m for m in moves if abs(m.change) >= SMALLEST_MOVE]
        moves.sort(key=lambda m: (-abs(m.change), m.measure))
        result[wanted[day]] = moves[:shown]
    return result


def health_history(account: Account, version_id: int, first: date) -> list[tuple[date, float]]:
    """The account's shown score per day under a version since `first`, oldest first (days
    without a score left out): the health history chart, one query."""
    rows = (
        HealthSnapshot.objects.filter(
            account=account, version_id=version_id, day__gte=first, score__isnull=False
        )
        .order_by("day")
        .values_list("day", "score")
    )
    return [(day, float(score)) for day, score in rows if score is not None]


def current_snapshots(days: Sequence[CurrentDay]) -> QuerySet[HealthSnapshot]:
    """The current snapshots (of the newest day of each active scorecard), none when nothing
    has been scored: read through the (version, day) index, a day's rows side by side."""
    condition = current_snapshot_condition(days)
    if condition is None:
        return HealthSnapshot.objects.none()
    return HealthSnapshot.objects.filter(condition)

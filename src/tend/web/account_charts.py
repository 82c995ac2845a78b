"""Chart specs of the account page, in the shape `static/web/charts.js` draws (type, unit,
labels, datasets), each with the small table shown beside it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from tend.usage.account_queries import FeatureUse, UsageDay

HISTORY_TABLE_POINTS = 12


@dataclass(frozen=True)
class AccountChart:
    """A chart spec with a summary table: `rows` of (label, values...) under `headers`."""

    id: str
    title: str
    spec: dict[str, Any]
    headers: list[str] = field(default_factory=list)
    rows: list[list[Any]] = field(default_factory=list)

    @property
    def data_id(self) -> str:
        return f"{self.id}-data"


def health_history_chart(points: Sequence[tuple[date, float]]) -> AccountChart | None:
    """The score per day; the table gives one point per week, newest first."""
    if not points:
        return None
    spec = {
        "type": "line",
        "unit": "",
        "labels": [day.isoformat() for day, _ in points],
        "datasets": [{"label": "Health score", "data": [round(score, 1) for _, score in points]}],
    }
    weekly = list(points[::-1][::7][:HISTORY_TABLE_POINTS])
    rows: list[list[Any]] = [[f"{day:%-d %b %Y}", f"{score:.1f}"] for day, score in weekly]
    return AccountChart("health-history", "Health history", spec, ["Day", "Score"], rows)


def usage_chart(days: Sequence[UsageDay]) -> AccountChart | None:
    """Active users and sessions per day; the table totals them per week, newest first."""
    if not any(day.events for day in days):
        return None
    spec = {
        "type": "line",
        "unit": "",
        "labels": [day.day.isoformat() for day in days],
        "datasets": [
            {"label": "Active users", "data": [day.active_users for day in days]},
            {"label": "Sessions", "data": [day.sessions for day in days], "dash": [6, 4]},
        ],
    }
    rows = []
    for end in range(len(days), 0, -7):
        week = days[max(0, end - 7) : end]
        rows.append(
            [
                f"{week[0].day:%-d %b} to {week[-1].day:%-d %b}",
                max(day.active_users for day in week),
                sum(day.sessions for day in week),
            ]
        )
    headers = ["Week", "Most active users in a day", "Sessions"]
    return AccountChart("usage-daily", "Active users and sessions", spec, headers, rows[:6])


def adoption_chart(features: Sequence[FeatureUse]) -> AccountChart | None:
    """Share of the active users who used each feature (30 days)."""
    if not features:
        return None
    spec = {
        "type": "bar",
        "unit": "percent",
        "horizontal": True,
        "labels": [feature.feature for feature in features],
        "datasets": [
            {"label": "Users", "data": [round(feature.share * 100, 1) for feature in features]}
        ],
    }
    rows: list[list[Any]] = [
        [feature.feature, feature.users, f"{feature.share:.0%}"] for feature in features
    ]
    return AccountChart(
        "feature-adoption", "Feature adoption", spec, ["Feature", "Users", "Share"], rows
    )

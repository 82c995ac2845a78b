"""Stored cohort tables (metrics ReportSnapshot rows) shaped for pages: the logo-retention
triangle as a heat-map table, and Kaplan-Meier survival curves on a common month axis."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any

from tend.web.kpi_format import format_value
from tend.web.kpi_series import Table
from tend.web.report_filters import ReportFilters

COHORT_GROUPING = "segment"
"""Cohort tables are stored for the portfolio and per segment (metrics/run.py)."""
MAX_OFFSETS = 12
SURVIVAL_MONTHS = 36


def cohort_group(filters: ReportFilters) -> tuple[str, str, str]:
    """`(grouping, group, note)` of the cohort rows matching the filters' scope. CSM books have
    no cohort tables, so they show the portfolio's with a note saying so."""
    if filters.scope_type == "segment":
        return COHORT_GROUPING, filters.scope_key, ""
    note = ""
    if filters.scope_type == "csm":
        note = "Cohort tables are kept for the portfolio and per segment; showing the portfolio."
    return "portfolio", "all", note


@dataclass(frozen=True)
class HeatCell:
    """One cell of the triangle: the share retained (0-1), its text and the counts behind it."""

    share: float | None
    text: str
    title: str

    @property
    def level(self) -> str:
        """The share as a CSS number for the cell's tint; the text says the same in words."""
        return "0" if self.share is None else f"{min(max(self.share, 0.0), 1.0):.2f}"

    @property
    def dark(self) -> bool:
        """Whether the tint is dark enough to need light text."""
        return self.share is not None and self.share >= 0.6


@dataclass(frozen=True)
class Triangle:
    """Cohorts down (start month, size), months since start across."""

    offsets: list[int]
    rows: list[tuple[str, int, list[HeatCell | None]]]


def retention_triangle(rows: list[dict[str, Any]], filters: ReportFilters) -> Triangle:
    """The logo-retention heat map for the filters' scope and cohorts starting in their range;
    at most `MAX_OFFSETS` months after the start are shown."""
    grouping, group, _ = cohort_group(filters)
    first, last = filters.first.isoformat(), filters.last_day.isoformat()
    cohorts: dict[str, dict[int, dict[str, Any]]] = defaultdict(dict)
    sizes: dict[str, int] = {}
    for row in rows:
        if row.get("grouping") != grouping or str(row.get("group")) != group:
            continue
        month = str(row.get("cohort_month", ""))
        offset = int(row.get("months_since_start") or 0)
        if not first <= month <= last or offset > MAX_OFFSETS:
            continue
        cohorts[month][offset] = row
        sizes[month] = int(row.get("cohort_size") or 0)
    offsets = sorted({o for cells in cohorts.values() for o in cells})
    table = []
    for month in sorted(cohorts):
        cells: list[HeatCell | None] = []
        for offset in offsets:
            cell = cohorts[month].get(offset)
            if cell is None:
                cells.append(None)
                continue
            share = cell.get("retention")
            text = format_value(share, "ratio")
            title = f"{cell.get('accounts', 0)} of {sizes[month]} accounts paying"
            cells.append(HeatCell(share, text, title))
        label = date.fromisoformat(month).strftime("%b %Y")
        table.append((label, sizes[month], cells))
    return Triangle(offsets, table)


def survival_chart(
    curves: list[dict[str, Any]], medians: list[dict[str, Any]]
) -> tuple[dict[str, Any] | None, Table]:
    """Kaplan-Meier curves of the portfolio and each segment, read at whole months (a curve is a
    step function: its value at month m is its last point at or before m), and the medians."""
    steps: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for row in curves:
        if row.get("grouping") not in ("portfolio", COHORT_GROUPING):
            continue
        if row.get("months") is None or row.get("survival") is None:
            continue
        name = _group_label(row)
        steps[name].append((float(row["months"]), float(row["survival"])))
    table_rows = [
        (
            _group_label(row),
            [
                f"{row.get('accounts', 0):,}",
                f"{row.get('churned', 0):,}",
                "not reached"
                if row.get("median_months") is None
                else f"{row['median_months']:.1f} months",
            ],
        )
        for row in medians
        if row.get("grouping") in ("portfolio", COHORT_GROUPING)
    ]
    table = Table(["Accounts", "Churned", "Median lifetime"], table_rows)
    if not steps:
        return None, table
    longest = min(SURVIVAL_MONTHS, int(max(t for points in steps.values() for t, _ in points)))
    months = list(range(longest + 1))
    datasets: list[dict[str, Any]] = []
    for name in sorted(steps, key=lambda n: (n != "All accounts", n)):
        points = sorted(steps[name])
        values: list[float | None] = []
        for month in months:
            seen = [s for t, s in points if t <= month]
            values.append(round(seen[-1] * 100, 1) if seen else 100.0)
        datasets.append({"label": name, "data": values, "dash": [] if not datasets else [6, 3]})
    chart = {
        "type": "line",
        "title": "Share of accounts still paying, by months since they first paid",
        "unit": "percent",
        "currency": "",
        "labels": [str(m) for m in months],
        "datasets": datasets,
    }
    return chart, table


def _group_label(row: dict[str, Any]) -> str:
    if row.get("grouping") == "portfolio":
        return "All accounts"
    group = str(row.get("group") or "")
    return group.replace("_", " ").capitalize() if group else "No segment"

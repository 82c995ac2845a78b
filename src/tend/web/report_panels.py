"""The panels of the report pages: a chart and the table of its numbers side by side, built
from snapshot values already loaded (no queries here)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from tend.web.kpi_format import format_value, kpi_info
from tend.web.kpi_series import Cell, KpiValues, Table, bar_chart, line_chart, period_table
from tend.web.report_filters import period_label

DIMENSIONS_SHOWN = 15


@dataclass(frozen=True)
class ChartPanel:
    """A titled chart (None when there is no data yet) and the table beside it."""

    id: str
    title: str
    chart: dict[str, Any] | None
    table: Table
    note: str = ""
    choices: list[tuple[str, str]] = field(default_factory=list)
    chosen: str = ""

    @property
    def data_id(self) -> str:
        return f"{self.id}-data"


def kpi_panel(
    values: KpiValues,
    panel_id: str,
    title: str,
    kpis: list[str],
    table_kpis: list[str] | None = None,
    note: str = "",
) -> ChartPanel:
    """A line chart of `kpis` (one unit) with a table of `table_kpis` (default the same)."""
    table = period_table(values, table_kpis or kpis)
    chart = line_chart(values, kpis, title) if any(values.has(k) for k in kpis) else None
    return ChartPanel(panel_id, title, chart, table, note)


MOVEMENTS = (
    ("mrr_new", "New", 1),
    ("mrr_reactivation", "Reactivation", 1),
    ("mrr_expansion", "Expansion", 1),
    ("mrr_contraction", "Contraction", -1),
    ("mrr_churn", "Churn", -1),
)
MOVEMENT_KPIS = ["mrr", *(kpi for kpi, _, _ in MOVEMENTS)]


def movement_periods(values: KpiValues) -> list[date]:
    """Periods with MRR and its movements stored, newest first: the choices of the waterfall."""

    def stored(kpi: str, start: date) -> bool:
        cell = values.cell(kpi, start)
        return cell is not None and cell.value is not None

    return [
        p
        for p in reversed(values.periods)
        if stored("mrr", p) and any(stored(kpi, p) for kpi, _, _ in MOVEMENTS)
    ]


def waterfall_panel(values: KpiValues, chosen: date | None) -> ChartPanel:
    """MRR movements of one period as a waterfall: MRR at its start (end minus the movements,
    so the bars reconcile exactly in the reporting currency), each movement, MRR at its end."""
    periods = movement_periods(values)
    choices = [(p.strftime("%Y-%m"), period_label(values.grain, p)) for p in periods]
    if chosen not in periods:
        chosen = periods[0] if periods else None
    title = "MRR movements"
    if chosen is None:
        return ChartPanel("mrr-movements", title, None, Table(["Amount"], []), choices=choices)
    cell = values.cell("mrr", chosen)
    end = cell.value if cell and cell.value is not None else 0.0
    amounts = []
    for kpi, label, sign in MOVEMENTS:
        moved = values.cell(kpi, chosen)
        amounts.append((label, sign, moved.value if moved and moved.value is not None else 0.0))
    start = end - sum(sign * amount for _, sign, amount in amounts)
    bars: list[list[float]] = [[0.0, round(start, 2)]]
    shown: list[float] = [round(start, 2)]
    kinds = ["total"]
    running = start
    for _, sign, amount in amounts:
        bars.append([round(running, 2), round(running + sign * amount, 2)])
        shown.append(round(sign * amount, 2))
        kinds.append("up" if sign > 0 else "down")
        running += sign * amount
    bars.append([0.0, round(end, 2)])
    shown.append(round(end, 2))
    kinds.append("total")
    labels = ["Start", *(label for label, _, _ in amounts), "End"]
    chart = {
        "type": "waterfall",
        "title": f"{title}, {period_label(values.grain, chosen)}",
        "unit": "money",
        "currency": values.currency,
        "labels": labels,
        "datasets": [{"label": "MRR", "data": bars}],
        "amounts": shown,
        "kinds": kinds,
    }
    money = values.currency
    rows = [("MRR at the start", [format_value(start, "money", money)])]
    for label, sign, amount in amounts:
        text = format_value(amount, "money", money)
        rows.append((label, [("+" if sign > 0 else "-") + text if amount else text]))
    rows.append(("MRR at the end", [format_value(end, "money", money)]))
    table = Table([period_label(values.grain, chosen)], rows, caption="Movement")
    return ChartPanel(
        "mrr-movements",
        title,
        chart,
        table,
        choices=choices,
        chosen=chosen.strftime("%Y-%m"),
    )


NPS_GROUPS = (
    ("nps_promoters", "Promoters (9-10)", "#1f8a4c"),
    ("nps_passives", "Passives (7-8)", "#9ca3af"),
    ("nps_detractors", "Detractors (0-6)", "#b3261e"),
)


def nps_distribution_panel(values: KpiValues) -> ChartPanel:
    """Promoters, passives and detractors per period as shares of the answers, stacked to 100 %,
    with the counts in the table."""
    title = "Promoters, passives and detractors"
    shares: dict[str, list[float | None]] = {kpi: [] for kpi, _, _ in NPS_GROUPS}
    rows = []
    for start in values.periods:
        counts = [values.cell(kpi, start) for kpi, _, _ in NPS_GROUPS]
        total = sum(c.value or 0 for c in counts if c)
        for (kpi, _, _), c in zip(NPS_GROUPS, counts, strict=True):
            shares[kpi].append((c.value or 0) / total * 100 if c and total else None)
        if total:
            texts = [
                f"{(c.value or 0) if c else 0:,.0f} ({((c.value or 0) if c else 0) / total:.0%})"
                for c in counts
            ]
            rows.append((period_label(values.grain, start), [*texts, f"{total:,.0f}"]))
    rows.reverse()
    table = Table([label for _, label, _ in NPS_GROUPS] + ["Answers"], rows)
    if not rows:
        return ChartPanel("nps-distribution", title, None, table)
    chart = bar_chart(
        title,
        values.labels(),
        [(label, shares[kpi]) for kpi, label, _ in NPS_GROUPS],
        "percent",
        stacked=True,
    )
    for dataset, (_, _, colour) in zip(chart["datasets"], NPS_GROUPS, strict=True):
        dataset["color"] = colour
    return ChartPanel("nps-distribution", title, chart, table)


def dimension_panel(
    panel_id: str,
    title: str,
    kpi: str,
    by_dimension: dict[str, dict[date, Cell]],
    total: bool,
    grain: str,
    heading: str,
) -> ChartPanel:
    """One bar per dimension (a topic, a priority, a feature), largest first. `total` sums the
    periods (ticket counts); otherwise the latest period's value is shown (adoption shares)."""
    unit = kpi_info(kpi).unit
    measured: list[tuple[str, float, int]] = []
    latest: date | None = None
    if not total:
        latest = max((p for cells in by_dimension.values() for p in cells), default=None)
    for name, cells in by_dimension.items():
        if total:
            amount = sum(c.value or 0 for c in cells.values())
            base = sum(c.base for c in cells.values())
        else:
            cell = cells.get(latest) if latest else None
            if cell is None or cell.value is None:
                continue
            amount, base = cell.value, cell.base
        measured.append((name, amount, base))
    measured.sort(key=lambda m: (-m[1], m[0]))
    measured = measured[:DIMENSIONS_SHOWN]
    note = "" if total or latest is None else f"In {period_label(grain, latest)}."
    labels = [name.replace("_", " ").capitalize() or "None" for name, _, _ in measured]
    if total:
        grand = sum(m[1] for m in measured) or 1
        columns = [kpi_info(kpi).title, "Share"]
        cells_text = [[format_value(a, unit), f"{a / grand:.0%}"] for _, a, _ in measured]
    else:
        columns = [kpi_info(kpi).title, "Active accounts"]
        cells_text = [[format_value(a, unit), f"{b:,}"] for _, a, b in measured]
    table = Table(columns, list(zip(labels, cells_text, strict=True)), caption=heading)
    if not measured:
        return ChartPanel(panel_id, title, None, table, note)
    chart = bar_chart(
        title,
        labels,
        [(kpi_info(kpi).title, [a for _, a, _ in measured])],
        unit,
        horizontal=True,
    )
    return ChartPanel(panel_id, title, chart, table, note)

"""KPI snapshots shaped for pages: values per KPI and period, chart specs for Chart.js
(`json_script`), the table printed beside each chart, and headline cards with their change."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from tend.metrics.queries import snapshots
from tend.web.kpi_format import Change, KpiInfo, change, chart_value, format_value, kpi_info
from tend.web.report_filters import ReportFilters, period_label


@dataclass(frozen=True)
class Cell:
    """One stored value and the count it rests on."""

    value: float | None
    base: int


@dataclass
class KpiValues:
    """Stored values of some KPIs for the periods of a report, read in one query."""

    grain: str
    periods: list[date]
    currency: str
    cells: dict[str, dict[date, Cell]] = field(default_factory=dict)

    def has(self, kpi: str) -> bool:
        """Whether the KPI has any value in the range (else the page says "no data yet")."""
        return any(c.value is not None for c in self.cells.get(kpi, {}).values())

    def cell(self, kpi: str, start: date) -> Cell | None:
        return self.cells.get(kpi, {}).get(start)

    def values(self, kpi: str) -> list[float | None]:
        """The KPI's value in each period, None where none is stored."""
        by_period = self.cells.get(kpi, {})
        return [by_period[p].value if p in by_period else None for p in self.periods]

    def latest(self, kpi: str) -> tuple[date | None, float | None, float | None]:
        """The last period with a value, that value, and the value of the period before it."""
        series = self.values(kpi)
        for i in range(len(series) - 1, -1, -1):
            if series[i] is not None:
                return self.periods[i], series[i], series[i - 1] if i > 0 else None
        return None, None, None

    def labels(self) -> list[str]:
        return [period_label(self.grain, p) for p in self.periods]

    def text(self, kpi: str, value: float | None) -> str:
        return format_value(value, kpi_info(kpi).unit, self.currency)


def load_values(kpis: list[str], filters: ReportFilters, currency: str) -> KpiValues:
    """Totals (no dimension) of `kpis` for the filters' scope and periods: one query."""
    result = KpiValues(filters.grain, filters.periods(), currency)
    rows = snapshots(
        kpis,
        filters.grain,
        filters.scope_type,
        filters.scope_key,
        filters.first,
        filters.last_day,
    ).values_list("kpi", "period_start", "value", "base")
    for kpi, start, value, base in rows:
        result.cells.setdefault(kpi, {})[start] = Cell(value, base)
    return result


def load_dimensions(
    kpi: str, filters: ReportFilters, prefix: str = ""
) -> dict[str, dict[date, Cell]]:
    """Values of one KPI split by dimension (a ticket topic, a feature), per period: one query.
    With `prefix` ("topic:") only those dimensions, the prefix removed."""
    rows = (
        snapshots(
            [kpi],
            filters.grain,
            filters.scope_type,
            filters.scope_key,
            filters.first,
            filters.last_day,
            dimension=None,
        )
        .exclude(dimension="")
        .values_list("dimension", "period_start", "value", "base")
    )
    found: dict[str, dict[date, Cell]] = defaultdict(dict)
    for dimension, start, value, base in rows:
        if dimension.startswith(prefix):
            found[dimension.removeprefix(prefix)][start] = Cell(value, base)
    return dict(found)


DASHES: tuple[list[int], ...] = ([], [6, 4], [2, 3], [10, 3, 2, 3])


def line_chart(values: KpiValues, kpis: list[str], title: str, **options: Any) -> dict[str, Any]:
    """A Chart.js line chart spec of some KPIs sharing one unit; each line gets its own dash and
    point style as well as a colour, so the legend reads without colour."""
    unit = kpi_info(kpis[0]).unit
    datasets = []
    for i, kpi in enumerate(kpis):
        datasets.append(
            {
                "label": kpi_info(kpi).title,
                "data": [chart_value(v, unit) for v in values.values(kpi)],
                "dash": DASHES[i % len(DASHES)],
            }
        )
    return {
        "type": "line",
        "title": title,
        "unit": unit,
        "currency": values.currency,
        "labels": values.labels(),
        "datasets": datasets,
        **options,
    }


def bar_chart(
    title: str,
    labels: list[str],
    datasets: list[tuple[str, list[float | None]]],
    unit: str,
    currency: str = "",
    **options: Any,
) -> dict[str, Any]:
    """A Chart.js bar chart spec; `stacked=True` and `horizontal=True` are passed through."""
    return {
        "type": "bar",
        "title": title,
        "unit": unit,
        "currency": currency,
        "labels": labels,
        "datasets": [
            {"label": label, "data": [chart_value(v, unit) for v in data]}
            for label, data in datasets
        ],
        **options,
    }


@dataclass(frozen=True)
class Table:
    """The numbers behind a chart, as text: a header row and one row per period or group."""

    columns: list[str]
    rows: list[tuple[str, list[str]]]
    caption: str = ""


def period_table(values: KpiValues, kpis: list[str], caption: str = "") -> Table:
    """Periods down, KPIs across, newest period first; periods with no value at all are left
    out."""
    rows = []
    for start in reversed(values.periods):
        cells = [values.cell(kpi, start) for kpi in kpis]
        if all(c is None or c.value is None for c in cells):
            continue
        texts = [
            values.text(kpi, c.value if c else None) for kpi, c in zip(kpis, cells, strict=True)
        ]
        rows.append((period_label(values.grain, start), texts))
    return Table([kpi_info(k).title for k in kpis], rows, caption)


@dataclass(frozen=True)
class KpiCard:
    """A headline number: the last period's value, its change, and a sparkline."""

    info: KpiInfo
    text: str
    period: str
    base: int
    change: Change | None
    sparkline: dict[str, Any]

    @property
    def dom_id(self) -> str:
        return f"spark-{self.info.name}"


def kpi_card(values: KpiValues, kpi: str) -> KpiCard:
    """The card of one KPI from values already loaded."""
    info = kpi_info(kpi)
    start, value, previous = values.latest(kpi)
    cell = values.cell(kpi, start) if start else None
    spark = {
        "type": "sparkline",
        "unit": info.unit,
        "currency": values.currency,
        "labels": values.labels(),
        "datasets": [
            {"label": info.title, "data": [chart_value(v, info.unit) for v in values.values(kpi)]}
        ],
    }
    return KpiCard(
        info=info,
        text=format_value(value, info.unit, values.currency),
        period=period_label(values.grain, start) if start else "",
        base=cell.base if cell else 0,
        change=change(value, previous, info),
        sparkline=spark,
    )

"""REST API for KPIs: the catalogue, stored values per period and scope, and a recompute."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.errors import HttpError

from tend.core.api_auth import API_AUTH
from tend.metrics.queries import latest_run, report_snapshot, snapshots
from tend.metrics.registry import KPIS

router = Router(tags=["metrics"], auth=API_AUTH)

Grain = Literal["day", "week", "month", "quarter"]
ScopeType = Literal["portfolio", "segment", "csm", "account"]


class KpiOut(Schema):
    name: str
    title: str
    family: str
    unit: str
    definition: str
    higher_is_better: bool | None


class KpiValueOut(Schema):
    period_start: date
    period_end: date = Field(description="Exclusive.")
    dimension: str
    value: float | None
    base: int = Field(description="The count the value rests on (accounts, answers, users…).")
    version: str
    computed_at: datetime


class KpiSeriesOut(Schema):
    kpi: KpiOut
    grain: str
    scope_type: str
    scope_key: str
    values: list[KpiValueOut]


class SeriesFilters(Schema):
    grain: Grain = "month"
    scope_type: ScopeType = "portfolio"
    scope_key: str = Field("all", description="Segment, CSM username or account external id.")
    start: date | None = Field(None, alias="from", description="Periods ending after this day.")
    end: date | None = Field(None, alias="to", description="Periods starting by this day.")
    dimension: str | None = Field(
        "", description="'' for the total; a currency, topic or feature; omit for all."
    )


class RunOut(Schema):
    started_at: datetime
    finished_at: datetime | None
    first_day: date
    last_day: date
    full: bool
    engine: str
    version: str
    rows: int


def _kpi_out(name: str) -> KpiOut:
    kpi = KPIS[name]
    return KpiOut(
        name=kpi.name,
        title=kpi.title,
        family=kpi.family,
        unit=kpi.unit,
        definition=kpi.definition,
        higher_is_better=kpi.higher_is_better,
    )


@router.get("/kpis", response=list[KpiOut])
def list_kpis(request: HttpRequest) -> list[KpiOut]:
    """Every KPI Tend computes, with its unit and definition (see docs/kpis.md)."""
    return [_kpi_out(name) for name in KPIS]


@router.get("/kpis/{name}", response=KpiSeriesOut)
def kpi_series(request: HttpRequest, name: str, filters: Query[SeriesFilters]) -> KpiSeriesOut:
    """Stored values of one KPI for one scope, oldest period first (from `tend metrics`)."""
    if name not in KPIS:
        raise HttpError(404, f"No KPI named {name!r}; GET /api/metrics/kpis lists them.")
    rows = snapshots(
        [name],
        filters.grain,
        filters.scope_type,
        filters.scope_key,
        filters.start,
        filters.end,
        filters.dimension,
    )
    values = [
        KpiValueOut(
            period_start=row.period_start,
            period_end=row.period_end,
            dimension=row.dimension,
            value=row.value,
            base=row.base,
            version=row.version,
            computed_at=row.computed_at,
        )
        for row in rows
    ]
    return KpiSeriesOut(
        kpi=_kpi_out(name),
        grain=filters.grain,
        scope_type=filters.scope_type,
        scope_key=filters.scope_key,
        values=values,
    )


@router.get("/runs/latest", response={200: RunOut, 404: dict})
def last_run(request: HttpRequest) -> RunOut:
    """When KPIs were last recomputed, over which days."""
    run = latest_run()
    if run is None:
        raise HttpError(404, "KPIs have not been computed yet; run `tend metrics`.")
    return RunOut.model_validate(run, from_attributes=True)


class ReportOut(Schema):
    name: str
    grouping: str
    version: str
    computed_at: datetime
    rows: list[dict[str, Any]]


@router.get("/cohorts/{name}", response=ReportOut)
def cohort_table(request: HttpRequest, name: str, grouping: str = "segment") -> ReportOut:
    """A stored cohort table: logo_retention, revenue_retention, survivors, sbg, clv,
    survival_curves or survival_medians; rows for the portfolio and per `grouping`."""
    report = report_snapshot(name, grouping)
    if report is None:
        raise HttpError(404, f"No stored table {name!r} by {grouping!r}; run `tend metrics`.")
    return ReportOut.model_validate(report, from_attributes=True)

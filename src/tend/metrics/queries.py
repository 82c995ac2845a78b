"""Reads of KPI snapshots for pages, the API and the CLI."""

from __future__ import annotations

from datetime import date

from django.db.models import QuerySet

from tend.metrics.models import KpiSnapshot, MetricsRun, ReportSnapshot


def snapshots(
    kpis: list[str],
    grain: str = "month",
    scope_type: str = "portfolio",
    scope_key: str = "all",
    first: date | None = None,
    last: date | None = None,
    dimension: str | None = "",
) -> QuerySet[KpiSnapshot]:
    """Stored values of `kpis` for one scope and grain, oldest period first."""
    rows = KpiSnapshot.objects.filter(
        kpi__in=kpis, grain=grain, scope_type=scope_type, scope_key=scope_key
    )
    if dimension is not None:
        rows = rows.filter(dimension=dimension)
    if first is not None:
        rows = rows.filter(period_end__gt=first)
    if last is not None:
        rows = rows.filter(period_start__lte=last)
    return rows.order_by("period_start", "kpi", "dimension")


def earliest_activity() -> date | None:
    """The first day anything happened: a sign-up or a subscription start."""
    from tend.billing.queries import first_subscription_start
    from tend.customers.queries import first_sign_up

    days = [d for d in (first_subscription_start(), first_sign_up()) if d is not None]
    return min(days) if days else None


def latest_run() -> MetricsRun | None:
    return MetricsRun.objects.first()


def report_snapshot(name: str, grouping: str) -> ReportSnapshot | None:
    return ReportSnapshot.objects.filter(name=name, grouping=grouping).first()

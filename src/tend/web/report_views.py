"""Report pages: revenue, voice of the customer, support and usage, read from KPI snapshots
and stored cohort tables only (never recomputed on a request). Filters come as GET
parameters; htmx requests get only the report body, so a filter change redraws it in place."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.cache import patch_vary_headers

from tend.config.settings import get_settings
from tend.metrics.models import MetricsRun
from tend.metrics.queries import latest_run
from tend.web.cohort_tables import COHORT_GROUPING, cohort_group, retention_triangle, survival_chart
from tend.web.kpi_series import KpiValues, kpi_card, load_dimensions, load_values
from tend.web.permissions import signed_in
from tend.web.report_filters import GRAINS, ReportFilters, ScopeChoices, parse_filters, parse_month
from tend.web.report_panels import (
    MOVEMENT_KPIS,
    ChartPanel,
    dimension_panel,
    kpi_panel,
    nps_distribution_panel,
    waterfall_panel,
)
from tend.web.report_queries import latest_verbatims, report_tables, scope_choices


@dataclass(frozen=True)
class Report:
    """One report page: its URL name, tab label and one-line description."""

    slug: str
    title: str
    description: str

    @property
    def url_name(self) -> str:
        return f"web:report-{self.slug}"


JOURNEY = Report("journey", "Journey map", "Lifecycle stages with their accounts, MRR and health.")
REPORTS = (
    Report("revenue", "Revenue", "MRR and its movements, retention, churn, ARPA and cohorts."),
    Report("voice", "Voice of the customer", "NPS, CSAT and CES over time, and what people say."),
    Report("support", "Support", "Resolution, response times, and tickets by topic and priority."),
    Report("usage", "Usage", "Active users, stickiness and feature adoption."),
    JOURNEY,
)

REVENUE_KPIS = [
    "mrr", "arr", "net_new_mrr", "paying_accounts", *MOVEMENT_KPIS[1:], "nrr", "grr",
    "nrr_12m", "grr_12m", "logo_churn_rate", "revenue_churn_rate", "arpa", "arpu",
]  # fmt: skip
REVENUE_CARDS = ["mrr", "arr", "nrr", "grr", "logo_churn_rate", "arpa"]
VOICE_KPIS = ["nps", "nps_promoters", "nps_passives", "nps_detractors", "csat", "ces"]
SUPPORT_KPIS = [
    "first_contact_resolution", "escalated_share", "first_response_hours_median",
    "first_response_hours_p90", "resolution_hours_median", "resolution_hours_p90",
    "tickets_opened", "tickets_per_account",
]  # fmt: skip
SUPPORT_CARDS = [
    "first_contact_resolution", "first_response_hours_median", "resolution_hours_median",
    "escalated_share", "tickets_opened",
]  # fmt: skip
USAGE_KPIS = ["dau", "wau", "mau", "stickiness", "breadth", "user_churn"]
USAGE_CARDS = ["dau", "wau", "mau", "stickiness"]


@dataclass(frozen=True)
class ReportSetup:
    """What every report reads first: the filters, the scope choices and the latest run."""

    filters: ReportFilters
    choices: ScopeChoices
    run: MetricsRun | None
    currency: str


def report_setup(request: HttpRequest) -> ReportSetup:
    """Filters anchored on the last day KPIs were computed for (today before any run)."""
    run = latest_run()
    anchor = run.last_day if run else timezone.localdate()
    choices = scope_choices()
    filters = parse_filters(request.GET, anchor, choices)
    return ReportSetup(filters, choices, run, get_settings().reporting_currency)


def wants_fragment(request: HttpRequest) -> bool:
    """htmx swaps in a fragment, except when it restores history and needs the whole page."""
    headers = request.headers
    return (
        headers.get("HX-Request") == "true" and headers.get("HX-History-Restore-Request") != "true"
    )


def _render(
    request: HttpRequest, report: str, setup: ReportSetup, context: dict[str, Any]
) -> HttpResponse:
    body = f"web/reports/_{report}.html"
    context = {
        "report": report,
        "reports": REPORTS,
        "filters": setup.filters,
        "choices": setup.choices,
        "grains": GRAINS,
        "run": setup.run,
        "body_template": body,
        **context,
    }
    if wants_fragment(request):
        response = render(request, body, context | {"fragment": True})
    else:
        response = render(request, "web/reports/report.html", context)
    patch_vary_headers(response, ["HX-Request"])
    return response


def _cards(values: KpiValues, kpis: list[str]) -> list[Any]:
    return [kpi_card(values, kpi) for kpi in kpis]


@signed_in
def report_index(request: HttpRequest) -> HttpResponse:
    """The list of reports, each with what it shows."""
    return render(request, "web/reports/index.html", {"reports": REPORTS})


@signed_in
def revenue_report(request: HttpRequest) -> HttpResponse:
    """MRR trend and movements, NRR/GRR, logo churn, ARPA, the logo-retention triangle and the
    survival curves per segment."""
    setup = report_setup(request)
    values = load_values(REVENUE_KPIS, setup.filters, setup.currency)
    tables = report_tables(
        ["logo_retention", "survival_curves", "survival_medians"], COHORT_GROUPING
    )
    survival, survival_table = survival_chart(
        tables.get("survival_curves", []), tables.get("survival_medians", [])
    )
    _, _, cohort_note = cohort_group(setup.filters)
    panels = [
        kpi_panel(values, "mrr-trend", "MRR", ["mrr"], ["mrr", "net_new_mrr", "paying_accounts"]),
        waterfall_panel(values, parse_month(request.GET.get("movements"))),
        kpi_panel(
            values,
            "retention",
            "Net and gross revenue retention",
            ["nrr", "grr", "nrr_12m", "grr_12m"],
            note="Monthly rates compare each period's two ends; trailing-12-month rates follow "
            "the accounts paying 12 months before.",
        ),
        kpi_panel(
            values, "churn", "Logo and revenue churn", ["logo_churn_rate", "revenue_churn_rate"]
        ),
        kpi_panel(values, "arpa", "Average revenue per account and per user", ["arpa", "arpu"]),
    ]
    context = {
        "cards": _cards(values, REVENUE_CARDS),
        "panels": panels,
        "triangle": retention_triangle(tables.get("logo_retention", []), setup.filters),
        "cohort_note": cohort_note,
        "survival": ChartPanel(
            "survival",
            "Survival curves by segment",
            survival,
            survival_table,
            f"Kaplan-Meier estimate of the share still paying, by months since the first "
            f"payment. {cohort_note}".strip(),
        ),
    }
    return _render(request, "revenue", setup, context)


@signed_in
def voice_report(request: HttpRequest) -> HttpResponse:
    """NPS with its distribution, CSAT, CES, and the latest verbatims."""
    setup = report_setup(request)
    values = load_values(VOICE_KPIS, setup.filters, setup.currency)
    panels = [
        kpi_panel(
            values,
            "nps-trend",
            "Net Promoter Score",
            ["nps"],
            ["nps", "nps_promoters", "nps_passives", "nps_detractors"],
        ),
        nps_distribution_panel(values),
        kpi_panel(values, "csat", "Customer satisfaction (CSAT)", ["csat"]),
        kpi_panel(
            values, "ces", "Customer effort score (CES)", ["ces"], note="1-7, higher is easier."
        ),
    ]
    context = {
        "cards": _cards(values, ["nps", "csat", "ces"]),
        "panels": panels,
        "verbatims": latest_verbatims(setup.filters),
    }
    return _render(request, "voice", setup, context)


@signed_in
def support_report(request: HttpRequest) -> HttpResponse:
    """First-contact resolution, response and resolution times, volume, topics, priorities."""
    setup = report_setup(request)
    values = load_values(SUPPORT_KPIS, setup.filters, setup.currency)
    dimensions = load_dimensions("tickets_opened", setup.filters)
    topics = {k.removeprefix("topic:"): v for k, v in dimensions.items() if k.startswith("topic:")}
    priorities = {
        k.removeprefix("priority:"): v for k, v in dimensions.items() if k.startswith("priority:")
    }
    grain = setup.filters.grain
    panels = [
        kpi_panel(
            values, "resolution", "First-contact resolution and escalations",
            ["first_contact_resolution", "escalated_share"],
        ),
        kpi_panel(
            values, "times", "Response and resolution times",
            ["first_response_hours_median", "first_response_hours_p90",
             "resolution_hours_median", "resolution_hours_p90"],
        ),
        kpi_panel(
            values, "volume", "Tickets opened", ["tickets_opened"],
            ["tickets_opened", "tickets_per_account"],
        ),
        dimension_panel(
            "topics", "Tickets by topic", "tickets_opened", topics, True, grain, "Topic"
        ),
        dimension_panel(
            "priorities", "Tickets by priority", "tickets_opened", priorities, True, grain,
            "Priority",
        ),
    ]  # fmt: skip
    context = {"cards": _cards(values, SUPPORT_CARDS), "panels": panels}
    return _render(request, "support", setup, context)


@signed_in
def usage_report(request: HttpRequest) -> HttpResponse:
    """Daily, weekly and monthly active users, stickiness, breadth and feature adoption."""
    setup = report_setup(request)
    values = load_values(USAGE_KPIS, setup.filters, setup.currency)
    features = load_dimensions("feature_adoption", setup.filters)
    panels = [
        kpi_panel(values, "active-users", "Active users", ["dau", "wau", "mau"]),
        kpi_panel(values, "stickiness", "Stickiness and breadth", ["stickiness", "breadth"]),
        kpi_panel(values, "user-churn", "User churn", ["user_churn"]),
        dimension_panel(
            "features",
            "Feature adoption",
            "feature_adoption",
            features,
            False,
            setup.filters.grain,
            "Feature",
        ),
    ]
    context = {"cards": _cards(values, USAGE_CARDS), "panels": panels}
    return _render(request, "usage", setup, context)

"""Pages: thin handlers that call the domains' queries and render templates. The accounts
table and the account page live in `account_views`."""

from __future__ import annotations

from dataclasses import replace

from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.cache import patch_vary_headers

from tend.billing import queries as billing
from tend.billing.renewal_queries import upcoming_renewals
from tend.core.models import User
from tend.customers import queries as customers
from tend.health import portfolio_queries as health
from tend.playbooks.queries import open_tasks_for
from tend.support import queries as support
from tend.web.kpi_series import kpi_card, load_values
from tend.web.permissions import signed_in
from tend.web.report_filters import ReportFilters, shift_periods
from tend.web.report_views import report_setup, wants_fragment

HOME_KPIS = ["mrr", "nrr", "grr", "logo_churn_rate", "nps"]
RENEWAL_HORIZON_DAYS = 90


def scope_accounts(filters: ReportFilters) -> Q | None:
    """The chosen scope as a filter on `account__…`: a segment trait or a CSM's book."""
    if filters.scope_type == "segment":
        return Q(account__traits__segment=filters.scope_key)
    if filters.scope_type == "csm":
        return Q(account__owner__username=filters.scope_key)
    return None


def _right_now(request: HttpRequest, filters: ReportFilters) -> dict[str, object]:
    """Health mix, at-risk accounts, renewals due and the signed-in person's tasks, today."""
    accounts = scope_accounts(filters)
    current = health.current_health()
    bands = health.band_distribution(current, accounts)
    user = request.user
    return {
        "scored_day": current.day,
        "bands": bands,
        "scored_total": sum(b.count for b in bands),
        "at_risk": health.at_risk(current, accounts),
        "renewals": upcoming_renewals(timezone.now(), RENEWAL_HORIZON_DAYS, accounts),
        "renewal_horizon": RENEWAL_HORIZON_DAYS,
        "my_tasks": open_tasks_for(user) if isinstance(user, User) else [],
        "today": timezone.localdate(),
    }


def _portfolio_kpis(request: HttpRequest) -> dict[str, object]:
    """KPI cards of the last 12 months for the chosen scope (portfolio, a segment or a CSM)."""
    setup = report_setup(request)
    filters = replace(
        setup.filters,
        grain="month",
        first=shift_periods("month", setup.filters.last, 11),
    )
    values = load_values(HOME_KPIS, filters, setup.currency)
    return {
        "cards": [kpi_card(values, kpi) for kpi in HOME_KPIS],
        "filters": filters,
        "choices": setup.choices,
        "run": setup.run,
    }


@signed_in
def home(request: HttpRequest) -> HttpResponse:
    """Portfolio overview: KPI cards with their trend; the health mix, at-risk accounts and
    renewals due in the chosen scope; my tasks; accounts per stage, paying accounts, MRR per
    currency, open tickets. htmx scope changes get only the KPI cards and the scoped panels."""
    kpis = _portfolio_kpis(request)
    filters = kpis["filters"]
    assert isinstance(filters, ReportFilters)
    kpis.update(_right_now(request, filters))
    if wants_fragment(request):
        response = render(request, "web/_home_kpis.html", kpis)
        patch_vary_headers(response, ["HX-Request"])
        return response
    stages = customers.stage_counts()
    mrr = billing.live_mrr()
    context = {
        **kpis,
        "stages": stages,
        "account_total": sum(s.count for s in stages),
        "paying_accounts": mrr.paying_accounts,
        "mrr_by_currency": mrr.by_currency,
        "open_tickets": support.open_ticket_count(),
        "chart_data": {"labels": [s.label for s in stages], "counts": [s.count for s in stages]},
    }
    response = render(request, "web/home.html", context)
    patch_vary_headers(response, ["HX-Request"])
    return response

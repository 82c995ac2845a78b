"""Pages: thin handlers that call the domains' queries and render templates."""

from __future__ import annotations

from dataclasses import dataclass, replace

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.cache import patch_vary_headers

from tend.billing import queries as billing
from tend.customers import queries as customers
from tend.customers.models import LifecycleStage
from tend.support import queries as support
from tend.surveys import queries as surveys
from tend.usage import queries as usage
from tend.web.kpi_series import kpi_card, load_values
from tend.web.permissions import signed_in
from tend.web.report_filters import shift_periods
from tend.web.report_views import report_setup, wants_fragment

ACCOUNTS_PER_PAGE = 50
# Contacts listed on the account page; the rest are counted ("and N more").
CONTACTS_SHOWN = 25
ACCOUNT_COLUMNS = (
    ("name", "Name"),
    ("stage", "Stage"),
    ("mrr", "MRR"),
    ("signed_up", "Signed up"),
)


@dataclass(frozen=True)
class SortColumn:
    """A sortable table header: the `?sort=` value its link asks for and its current direction."""

    key: str
    label: str
    next_sort: str
    direction: str


def _sort_columns(current: str) -> dict[str, SortColumn]:
    """Headers by key; clicking the current one again reverses its direction."""
    columns = {}
    for key, label in ACCOUNT_COLUMNS:
        if current == key:
            columns[key] = SortColumn(key, label, f"-{key}", "asc")
        elif current == f"-{key}":
            columns[key] = SortColumn(key, label, key, "desc")
        else:
            columns[key] = SortColumn(key, label, key, "")
    return columns


HOME_KPIS = ["mrr", "nrr", "grr", "logo_churn_rate", "nps"]


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
    """Portfolio overview: KPI cards with their trend, accounts per stage, paying accounts, MRR
    per currency, open tickets. htmx scope changes get only the KPI cards."""
    kpis = _portfolio_kpis(request)
    if wants_fragment(request):
        response = render(request, "web/_home_kpis.html", kpis)
        patch_vary_headers(response, ["HX-Request"])
        return response
    stages = customers.stage_counts()
    context = {
        **kpis,
        "stages": stages,
        "account_total": sum(s.count for s in stages),
        "paying_accounts": billing.paying_account_count(),
        "mrr_by_currency": billing.mrr_by_currency(),
        "open_tickets": support.open_ticket_count(),
        "chart_data": {"labels": [s.label for s in stages], "counts": [s.count for s in stages]},
    }
    response = render(request, "web/home.html", context)
    patch_vary_headers(response, ["HX-Request"])
    return response


@signed_in
def account_list(request: HttpRequest) -> HttpResponse:
    """Searchable, filterable, sortable accounts; htmx requests get only the results fragment."""
    query = request.GET.get("q", "").strip()
    stage = request.GET.get("stage", "")
    owner = request.GET.get("owner", "")
    sort = request.GET.get("sort", "name")
    if sort.removeprefix("-") not in customers.ACCOUNT_SORTS:
        sort = "name"
    accounts = customers.search_accounts(query=query, stage=stage, owner=owner, sort=sort)
    page = Paginator(accounts, ACCOUNTS_PER_PAGE).get_page(request.GET.get("page"))
    context: dict[str, object] = {
        "page": page,
        "query": query,
        "stage": stage,
        "owner": owner,
        "sort": sort,
        "columns": _sort_columns(sort),
    }
    if wants_fragment(request):
        response = render(request, "web/_account_results.html", context | {"htmx": True})
    else:
        context |= {"stages": LifecycleStage.choices, "owners": customers.account_owners()}
        response = render(request, "web/account_list.html", context)
    patch_vary_headers(response, ["HX-Request"])
    return response


@signed_in
def account_detail(request: HttpRequest, external_id: str) -> HttpResponse:
    """Account 360 skeleton: everything known about one customer on one page."""
    account = customers.account_by_external_id(external_id)
    if account is None:
        raise Http404("No account with that id.")
    now = timezone.now()
    mrr = billing.mrr_by_account_and_currency([account.pk], at=now).get(account.pk, [])
    context = {
        "account": account,
        "children": customers.child_accounts(account),
        "mrr": mrr,
        "arr": [billing.Money(m.amount * 12, m.currency) for m in mrr],
        "contacts": customers.account_contacts(account, limit=CONTACTS_SHOWN),
        "subscriptions": billing.subscriptions_for_account(account, at=now),
        "invoices": billing.invoices_for_account(account, at=now),
        "tickets": support.recent_tickets(account),
        "touchpoints": support.recent_touchpoints(account),
        "responses": surveys.recent_responses(account),
        "stage_history": customers.stage_history(account),
        "notes": customers.account_notes(account),
        "usage": usage.usage_summary(account, at=now),
    }
    return render(request, "web/account_detail.html", context)

"""Pages: thin handlers that call the domains' queries and render templates."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.decorators import login_required
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


def _wants_fragment(request: HttpRequest) -> bool:
    """htmx swaps in a fragment, except when it restores history and needs the whole page."""
    headers = request.headers
    return (
        headers.get("HX-Request") == "true" and headers.get("HX-History-Restore-Request") != "true"
    )


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Portfolio overview: accounts per stage, paying accounts, MRR per currency, open tickets."""
    stages = customers.stage_counts()
    context = {
        "stages": stages,
        "account_total": sum(s.count for s in stages),
        "paying_accounts": billing.paying_account_count(),
        "mrr_by_currency": billing.mrr_by_currency(),
        "open_tickets": support.open_ticket_count(),
        "chart_data": {"labels": [s.label for s in stages], "counts": [s.count for s in stages]},
    }
    return render(request, "web/home.html", context)


@login_required
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
    if _wants_fragment(request):
        response = render(request, "web/_account_results.html", context | {"htmx": True})
    else:
        context |= {"stages": LifecycleStage.choices, "owners": customers.account_owners()}
        response = render(request, "web/account_list.html", context)
    patch_vary_headers(response, ["HX-Request"])
    return response


@login_required
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

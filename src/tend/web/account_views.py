"""The accounts table and the account page (account 360): thin handlers over the table's reads
(`account_table`) and the page's pieces (`account_page`)."""

from __future__ import annotations

from dataclasses import dataclass

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.cache import patch_vary_headers

from tend.core.models import User
from tend.customers import queries as customers
from tend.customers.models import LifecycleStage
from tend.health.account_queries import band_names, current_days
from tend.web.account_page import account_page_context
from tend.web.account_table import (
    COLUMNS,
    AccountFilters,
    accounts_page,
    owner_choices,
    segment_choices,
)
from tend.web.permissions import signed_in
from tend.web.report_views import wants_fragment


@dataclass(frozen=True)
class SortColumn:
    """A sortable table header: the `?sort=` value its link asks for and its current direction."""

    key: str
    label: str
    next_sort: str
    direction: str
    numeric: bool = False


def sort_columns(current: str) -> dict[str, SortColumn]:
    """Headers by key; clicking the current one again reverses its direction."""
    columns = {}
    for column in COLUMNS:
        key, label, numeric = column.key, column.label, column.numeric
        if current == key:
            columns[key] = SortColumn(key, label, f"-{key}", "asc", numeric)
        elif current == f"-{key}":
            columns[key] = SortColumn(key, label, key, "desc", numeric)
        else:
            columns[key] = SortColumn(key, label, key, "", numeric)
    return columns


@signed_in
def account_list(request: HttpRequest) -> HttpResponse:
    """Searchable, filterable, sortable accounts with their health; htmx requests get only the
    results fragment. Saved views and the CSV export reuse the same query string."""
    filters = AccountFilters.from_query(request.GET)
    current = current_days()
    now = timezone.now()
    page = accounts_page(filters, current, now, request.GET.get("page"))
    context: dict[str, object] = {
        "page": page,
        "filters": filters,
        "params": filters.params(),
        "columns": sort_columns(filters.sort),
        "health_day": max((day.day for day in current), default=None),
    }
    if wants_fragment(request):
        response = render(request, "web/_account_results.html", context | {"htmx": True})
    else:
        user = request.user
        context |= {
            "stages": LifecycleStage.choices,
            "owners": owner_choices(),
            "segments": segment_choices(),
            "bands": band_names(day.bands for day in current),
            "saved_views": customers.saved_account_views(user) if isinstance(user, User) else [],
        }
        response = render(request, "web/account_list.html", context)
    patch_vary_headers(response, ["HX-Request"])
    return response


@signed_in
def account_detail(request: HttpRequest, external_id: str) -> HttpResponse:
    """Account 360: health with its explanation and history, usage, one timeline, people,
    billing, notes, parent and child accounts, and the override form for those who may."""
    account = customers.account_by_external_id(external_id)
    if account is None:
        raise Http404("No account with that id.")
    context = account_page_context(request, account)
    return render(request, "web/account_detail.html", context)

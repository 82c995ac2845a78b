"""The lists health scores drive (health.md "Lists the score drives"): advocates, upsell
candidates, at-risk accounts with their pain points, payment collection, renewals due with their
forecast, and patterns. Each page reads the list as last stored by `tend lists refresh` or the
worker (`tend.health.list_actions.refresh_lists`), one page of rows at a time, optionally of one
owner's accounts: a handful of queries whatever the size of the book."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.text import slugify

from tend.health.list_compute import BandStyle
from tend.health.list_queries import NO_OWNER, NOT_COMPUTED, latest_run, stored_rows
from tend.web.account_table import owner_choices
from tend.web.permissions import signed_in

__all__ = ["HEALTH_LISTS", "BandStyle", "list_index"]

PAGE_SIZE = 50
"""Rows shown per page."""


@dataclass(frozen=True)
class HealthList:
    """One list page: its URL part, the stored list's name, title and what it shows."""

    slug: str
    name: str
    title: str
    description: str
    per_account: bool = True

    @property
    def url_name(self) -> str:
        return f"web:list-{self.slug}"


HEALTH_LISTS = (
    HealthList("at-risk", "at_risk", "At risk", "Paying accounts in the red band or whose score "
               "fell by 15 points or more in 30 days, with their ticket topics and detractors' "
               "words."),
    HealthList("renewals", "renewals", "Renewals due", "Renewals in the next 90 days with the "
               "MRR due, the probability to renew and the MRR expected to renew."),
    HealthList("collections", "collections", "Payment collection", "Overdue invoices per "
               "account and currency, longest overdue first."),
    HealthList("advocates", "advocates", "Advocates", "Healthy paying promoters with six months "
               "or more of tenure: ask them for reviews, references and case studies."),
    HealthList("upsell", "upsell", "Upsell candidates", "Healthy paying accounts near their "
               "seats or growing their active users."),
    HealthList("patterns", "patterns", "Patterns", "Measures whose values differ most between "
               "accounts that churned within 90 days and those that stayed.", per_account=False),
)  # fmt: skip
BY_SLUG = {item.slug: item for item in HEALTH_LISTS}


def _with_bands(rows: list[dict[str, Any]], colours: dict[str, str]) -> list[dict[str, Any]]:
    for row in rows:
        band = row.get("band")
        row["band_colour"] = colours.get(band, "grey") if band else ""
        row["band_slug"] = slugify(band) if band else ""
    return rows


def _page_number(request: HttpRequest) -> int:
    text = request.GET.get("page", "")
    return max(int(text), 1) if text.isdigit() else 1


def _owner(request: HttpRequest, item: HealthList) -> str:
    owner = request.GET.get("owner", "")
    return owner if item.per_account and (owner == NO_OWNER or owner.isdigit()) else ""


def _list_context(request: HttpRequest, item: HealthList) -> dict[str, Any]:
    run = latest_run(item.name)
    context: dict[str, Any] = {"item": item, "lists": HEALTH_LISTS, "run": run}
    if run is None:
        return context | {"rows": [], "count": 0, "not_computed": NOT_COMPUTED}
    owner = _owner(request, item)
    number = _page_number(request)
    page = stored_rows(run, (number - 1) * PAGE_SIZE, PAGE_SIZE, owner)
    pages = max((page.total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    return context | {
        "rows": _with_bands(page.rows, run.band_colours),
        "count": page.total,
        "owner": owner,
        "owners": owner_choices() if item.per_account else [],
        "page_number": number,
        "pages": pages,
        "first_position": (number - 1) * PAGE_SIZE + 1,
        "previous_page": number - 1 if number > 1 else None,
        "next_page": number + 1 if number < pages else None,
    }


def _page(slug: str) -> Callable[[HttpRequest], HttpResponse]:
    item = BY_SLUG[slug]

    @signed_in
    def page(request: HttpRequest) -> HttpResponse:
        return render(request, f"web/lists/{slug}.html", _list_context(request, item))

    page.__name__ = f"{slug.replace('-', '_')}_list"
    page.__doc__ = item.description
    return page


@signed_in
def list_index(request: HttpRequest) -> HttpResponse:
    """The lists, each with what it shows."""
    return render(request, "web/lists/index.html", {"lists": HEALTH_LISTS})


at_risk_list = _page("at-risk")
renewals_list = _page("renewals")
collections_list = _page("collections")
advocates_list = _page("advocates")
upsell_list = _page("upsell")
patterns_list = _page("patterns")

"""The lists health scores drive (health.md "Lists the score drives"): advocates, upsell
candidates, at-risk accounts with their pain points, payment collection, renewals due with their
forecast, and patterns. Each is computed by `tend.health.lists` from the latest stored snapshots
and the app data (loaded once per process and reused while it is unchanged, see
`tend.health.preview.loaded_data`), with the band names of the scorecards in use."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.text import slugify

from tend.health import lists, queries
from tend.health.measures import default_measure_names, measure_values
from tend.health.prediction import churn_probabilities, stored_snapshots
from tend.health.preview import PreviewData, loaded_data, values_for
from tend.health.scorecard import ScorecardConfig
from tend.surveys.queries import comments_since
from tend.web.permissions import signed_in

SNAPSHOT_DAYS = 45
"""Snapshots read for an account's latest state and its change over 30 days."""
COMMENT_DAYS = 180


@dataclass(frozen=True)
class HealthList:
    """One list page: its URL part, title and what it shows."""

    slug: str
    title: str
    description: str

    @property
    def url_name(self) -> str:
        return f"web:list-{self.slug}"


HEALTH_LISTS = (
    HealthList("at-risk", "At risk", "Paying accounts in the red band or whose score fell by 15 "
               "points or more in 30 days, with their ticket topics and detractors' words."),
    HealthList("renewals", "Renewals due", "Renewals in the next 90 days with the MRR due, the "
               "probability to renew and the MRR expected to renew."),
    HealthList("collections", "Payment collection", "Overdue invoices per account and currency, "
               "longest overdue first."),
    HealthList("advocates", "Advocates", "Healthy paying promoters with six months or more of "
               "tenure: ask them for reviews, references and case studies."),
    HealthList("upsell", "Upsell candidates", "Healthy paying accounts near their seats or "
               "growing their active users."),
    HealthList("patterns", "Patterns", "Measures whose values differ most between accounts that "
               "churned within 90 days and those that stayed."),
)  # fmt: skip
BY_SLUG = {item.slug: item for item in HEALTH_LISTS}


@dataclass(frozen=True)
class BandStyle:
    """The band names of the scorecards in use with their colours, and which are green/red."""

    colours: dict[str, str]

    @property
    def green(self) -> list[str]:
        return [name for name, colour in self.colours.items() if colour == "green"] or ["healthy"]

    @property
    def red(self) -> list[str]:
        return [name for name, colour in self.colours.items() if colour == "red"] or ["unhealthy"]


def band_style(configs: list[ScorecardConfig]) -> BandStyle:
    colours = {"unhealthy": "red", "at risk": "yellow", "healthy": "green"}
    for config in configs:
        colours |= {band.name: band.colour for band in config.bands.levels}
    return BandStyle(colours)


def _table(name: str, data: PreviewData, style: BandStyle, configs: list[ScorecardConfig],
           now: datetime) -> pa.Table:  # fmt: skip
    inputs = data.inputs
    snapshots = stored_snapshots((now - timedelta(days=SNAPSHOT_DAYS)).date(), now.date())
    if name == "advocates":
        return lists.advocates(inputs, snapshots, now, healthy_bands=style.green)
    if name == "upsell":
        return lists.upsell_candidates(inputs, snapshots, now, healthy_bands=style.green)
    if name == "at-risk":
        comments = comments_since(now - timedelta(days=COMMENT_DAYS))
        return lists.at_risk(inputs, snapshots, now, comments=comments, red_bands=style.red)
    if name == "collections":
        return lists.collections(inputs, now)
    if name == "renewals":
        probabilities = churn_probabilities(inputs, now.date())
        return lists.renewals_due(inputs, snapshots, now, churn_probability=probabilities)
    if configs:
        values = values_for(data, configs, now.date())
    else:
        values = measure_values(data.inputs, data.weekly, default_measure_names())
    return lists.patterns(values, data.labels)


def compute_list(
    name: str, now: datetime | None = None
) -> tuple[list[dict[str, Any]], BandStyle, datetime]:
    """The rows of one list (by its URL part), the band style they are shown with and when the
    data they were computed from was loaded."""
    moment = now or datetime.now(UTC)
    configs = list(queries.active_versions().values())
    style = band_style(configs)
    with loaded_data() as data:
        table = _table(name, data, style, configs, moment)
        loaded_at = data.loaded_at_utc
    return table.to_pylist(), style, loaded_at


def _with_bands(rows: list[dict[str, Any]], style: BandStyle) -> list[dict[str, Any]]:
    for row in rows:
        band = row.get("band")
        row["band_colour"] = style.colours.get(band, "grey") if band else ""
        row["band_slug"] = slugify(band) if band else ""
    return rows


def _page(slug: str) -> Callable[[HttpRequest], HttpResponse]:
    item = BY_SLUG[slug]

    @signed_in
    def page(request: HttpRequest) -> HttpResponse:
        rows, style, loaded_at = compute_list(slug)
        context = {
            "item": item,
            "lists": HEALTH_LISTS,
            "rows": _with_bands(rows, style),
            "count": len(rows),
            "data_loaded_at": loaded_at,
        }
        return render(request, f"web/lists/{slug}.html", context)

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

"""The journey map: lifecycle stages in journey order, each with its accounts, MRR per currency,
health mix (accounts per band of their latest score) and the accounts that entered it in the
chosen periods; with the scope filter every report has (portfolio, a segment or a CSM's book).
A fixed number of grouped queries, whatever the number of accounts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import Count, Q, Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.text import slugify

from tend.billing.models import SubscriptionItem
from tend.billing.queries import CENT, MONEY, Money, item_active_at, monthly_amount_expression
from tend.customers.models import Account, LifecycleStage, StageChange
from tend.health.account_queries import (
    CurrentDay,
    band_colours,
    current_days,
    current_snapshot_condition,
)
from tend.health.models import HealthSnapshot
from tend.web.list_views import BandStyle
from tend.web.permissions import signed_in
from tend.web.report_filters import GRAINS, ReportFilters
from tend.web.report_views import JOURNEY, REPORTS, report_setup, wants_fragment

DEFAULT_BANDS = (("unhealthy", "red"), ("at risk", "yellow"), ("healthy", "green"))


@dataclass(frozen=True)
class BandCount:
    name: str
    colour: str
    accounts: int
    share: float
    slug: str = ""
    width: str = ""
    """The bar's width in percent of the stage's accounts, as `{% widthratio %}` rounds it."""


def _band_count(name: str, colour: str, accounts: int, total: int) -> BandCount:
    return BandCount(
        name,
        colour,
        accounts,
        accounts / (total or 1),
        slugify(name) or "no-score",
        str(round(accounts / total * 100)) if total else "0",
    )


def _grouped(number: int) -> str:
    """As `|intcomma` shows a whole number in English: 1,234."""
    return f"{number:,}"


def _money_text(money: Money) -> str:
    """As `|floatformat:2|intcomma` and `|upper` show an amount: 1,234.50 USD."""
    return f"{money.amount:,.2f} {money.currency.upper()}"


@dataclass
class StageRow:
    """One stage of the journey with what is in it."""

    stage: str
    label: str
    accounts: int = 0
    entered: int = 0
    mrr: list[Money] = field(default_factory=list)
    bands: list[BandCount] = field(default_factory=list)
    unscored: int = 0

    @property
    def accounts_text(self) -> str:
        return _grouped(self.accounts)

    @property
    def entered_text(self) -> str:
        return _grouped(self.entered)

    @property
    def mrr_texts(self) -> list[str]:
        """Each currency's MRR formatted once here: cheaper than template filters per cell."""
        return [_money_text(money) for money in self.mrr]

    def counts(self, names: list[str]) -> list[int]:
        """Accounts in each of the named bands, in that order (0 for none)."""
        found = {band.name: band.accounts for band in self.bands}
        return [found.get(name, 0) for name in names]


def _scope(filters: ReportFilters, path: str = "") -> Q:
    """Accounts (reached through `path`) in the filters' scope."""
    prefix = f"{path}__" if path else ""
    if filters.scope_type == "segment":
        return Q(**{f"{prefix}traits__segment": filters.scope_key})
    if filters.scope_type == "csm":
        return Q(**{f"{prefix}owner__username": filters.scope_key})
    return Q()


def _start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=timezone.get_current_timezone())


def journey_rows(
    filters: ReportFilters, style: BandStyle, days: list[CurrentDay], now: datetime
) -> list[StageRow]:
    """Every stage in journey order: four grouped queries. Health is each account's current
    snapshot (the newest day each active scorecard has scored, `days`)."""
    rows = {s.value: StageRow(s.value, s.label) for s in LifecycleStage}
    accounts = Account.objects.filter(_scope(filters)).order_by()
    for stage, count in accounts.values_list("lifecycle_stage").annotate(n=Count("id")):
        if stage in rows:
            rows[stage].accounts = count
    # Grouped by currency first: SQLite then walks the items and looks up their subscription
    # and account, rather than every account's subscriptions through the stage index.
    mrr = (
        SubscriptionItem.objects.filter(item_active_at(now))
        .filter(_scope(filters, "subscription__account"))
        .order_by()
        .values_list("subscription__currency", "subscription__account__lifecycle_stage")
        .annotate(total=Sum(monthly_amount_expression(), output_field=MONEY))
    )
    for currency, stage, total in mrr:
        amount = Decimal(total or 0).quantize(CENT)
        if stage in rows and amount:
            rows[stage].mrr.append(Money(amount, currency))
    mix: dict[str, dict[str, int]] = {}
    current = current_snapshot_condition(days)
    if current is not None:
        # Grouped by band first: one day's snapshots are read from the covering index, each
        # looking up its account, rather than every account probing the snapshot index.
        bands = (
            HealthSnapshot.objects.filter(current)
            .filter(_scope(filters, "account"))
            .order_by()
            .values_list("band", "account__lifecycle_stage")
            .annotate(n=Count("id"))
        )
        for band, stage, count in bands:
            if band:
                mix.setdefault(stage, {})[band] = count
    entered = (
        StageChange.objects.filter(
            changed_at__gte=_start(filters.first),
            changed_at__lt=_start(filters.last_day + timedelta(days=1)),
        )
        .filter(_scope(filters, "account"))
        .order_by()
        .values_list("to_stage")
        .annotate(n=Count("id"))
    )
    for stage, count in entered:
        if stage in rows:
            rows[stage].entered = count
    for stage, row in rows.items():
        row.mrr.sort(key=lambda m: (-m.amount, m.currency))
        counts = mix.get(stage, {})
        row.unscored = max(row.accounts - sum(counts.values()), 0)
        order = list(style.colours)
        row.bands = sorted(
            (
                _band_count(name, style.colours.get(name, "grey"), n, row.accounts)
                for name, n in counts.items()
            ),
            key=lambda b: -order.index(b.name) if b.name in order else 1,
        )
    return list(rows.values())


@signed_in
def journey_report(request: HttpRequest) -> HttpResponse:
    """Lifecycle stages with their accounts, MRR and health mix, for the chosen scope."""
    setup = report_setup(request)
    days = current_days()
    style = BandStyle(band_colours([*(day.bands for day in days), DEFAULT_BANDS]))
    rows = journey_rows(setup.filters, style, days, timezone.now())
    totals = {
        "accounts": sum(r.accounts for r in rows),
        "entered": sum(r.entered for r in rows),
    }
    legend = [(name, colour) for name, colour in reversed(style.colours.items())]
    names = [name for name, _ in legend]
    context = {
        "report": JOURNEY.slug,
        "reports": REPORTS,
        "filters": setup.filters,
        "choices": setup.choices,
        "grains": GRAINS,
        "run": setup.run,
        "body_template": "web/reports/journey.html",
        "stages": rows,
        "table": [(row, row.counts(names)) for row in rows],
        "totals": totals,
        "totals_text": {key: _grouped(value) for key, value in totals.items()},
        "legend": legend,
    }
    if wants_fragment(request):
        response = render(request, "web/reports/journey.html", context | {"fragment": True})
    else:
        response = render(request, "web/reports/report.html", context)
    patch_vary_headers(response, ["HX-Request"])
    return response

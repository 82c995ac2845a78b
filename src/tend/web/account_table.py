"""The accounts table: its filters and sort read from GET parameters, and the reads behind it.

A page costs the same few queries whatever the number of accounts: the count, then the ids of
the page in the asked order (computing only the column sorted on), then the page's rows with
every column (current health, MRR, renewal, last touch, NPS) for those ids alone. Current health
is the snapshot of each scorecard's newest stored day (`health.account_queries`), joined once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import cast
from urllib.parse import urlencode

from django.core.paginator import Page, Paginator
from django.db.models import (
    Case,
    DateTimeField,
    Exists,
    F,
    FilteredRelation,
    IntegerField,
    OrderBy,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.http import QueryDict
from django.urls import reverse
from django.utils import timezone

from tend.billing.models import Subscription, SubscriptionStatus
from tend.billing.queries import MIXED_CURRENCIES, annotate_mrr
from tend.core.models import User
from tend.customers.models import Account, LifecycleStage
from tend.health.account_queries import (
    CurrentDay,
    band_colours,
    current_snapshot_condition,
    current_snapshots,
)
from tend.support.models import Touchpoint
from tend.surveys.models import SurveyKind, SurveyResponse
from tend.web.templatetags.money import format_money

ACCOUNTS_PER_PAGE = 50
TREND_STEADY = 1.0
"""A 7-day change smaller than this many points shows as steady."""
HEALTH = "current_health"
FIELD_LIMIT = 200
"""Longest search text or filter value read from the query string."""


@dataclass(frozen=True)
class Column:
    """A column of the table: its `?sort=` key, header and whether it holds numbers."""

    key: str
    label: str
    numeric: bool = False


COLUMNS = (
    Column("name", "Name"),
    Column("health", "Health", numeric=True),
    Column("trend", "7-day trend", numeric=True),
    Column("mrr", "MRR", numeric=True),
    Column("renewal", "Renewal"),
    Column("owner", "Owner"),
    Column("stage", "Stage"),
    Column("last_touch", "Last touch"),
    Column("nps", "NPS", numeric=True),
)
SORT_KEYS = {column.key for column in COLUMNS} | {"signed_up"}


@dataclass(frozen=True)
class AccountFilters:
    """What the table shows: a search, filters (segment, owner id or "none", band, stage) and
    a sort key (`-key` for descending). Unknown values are dropped, never an error."""

    query: str = ""
    segment: str = ""
    owner: str = ""
    band: str = ""
    stage: str = ""
    sort: str = "name"

    @classmethod
    def from_query(cls, params: QueryDict) -> AccountFilters:
        def text(name: str) -> str:
            return params.get(name, "").strip()[:FIELD_LIMIT]

        owner = text("owner")
        sort = text("sort") or "name"
        return cls(
            query=text("q"),
            segment=text("segment"),
            owner=owner if owner == "none" or owner.isdigit() else "",
            band=text("band"),
            stage=text("stage") if text("stage") in LifecycleStage.values else "",
            sort=sort if sort.removeprefix("-") in SORT_KEYS else "name",
        )

    def params(self) -> str:
        """The query string of these filters (no page): what a saved view keeps."""
        values = {
            "q": self.query,
            "segment": self.segment,
            "owner": self.owner,
            "band": self.band,
            "stage": self.stage,
            "sort": "" if self.sort == "name" else self.sort,
        }
        return urlencode({key: value for key, value in values.items() if value})

    @property
    def active(self) -> bool:
        """Whether anything narrows the table."""
        return any((self.query, self.segment, self.owner, self.band, self.stage))


def _stage_order() -> Case:
    """Lifecycle stages ranked in journey order rather than alphabetically."""
    return Case(
        *[When(lifecycle_stage=s.value, then=Value(i)) for i, s in enumerate(LifecycleStage)],
        default=Value(len(LifecycleStage)),
        output_field=IntegerField(),
    )


def _with_health(accounts: QuerySet[Account], current: Sequence[CurrentDay]) -> QuerySet[Account]:
    """Join each account's current snapshot (at most one row: one scorecard per account)."""
    condition = current_snapshot_condition(current, "health_snapshots__")
    if condition is None:
        return accounts.annotate(
            health_score=Value(None, output_field=IntegerField()),
            health_band=Value(""),
            health_change=Value(None, output_field=IntegerField()),
            health_overridden=Value(False),
        )
    return accounts.annotate(
        **{HEALTH: FilteredRelation("health_snapshots", condition=condition)}
    ).annotate(
        health_score=F(f"{HEALTH}__score"),
        health_band=F(f"{HEALTH}__band"),
        health_change=F(f"{HEALTH}__change_7d"),
        health_overridden=F(f"{HEALTH}__overridden"),
    )


def _renewal(now: datetime) -> Subquery:
    """The next end of a paying subscription's current period, unless set to cancel."""
    renewals = (
        Subscription.objects.filter(
            account=OuterRef("pk"),
            status__in=(SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE),
            current_period_end__gt=now,
            cancel_at__isnull=True,
            canceled_at__isnull=True,
        )
        .order_by("current_period_end")
        .values("current_period_end")[:1]
    )
    return Subquery(renewals, output_field=DateTimeField())


def _last_touch() -> Subquery:
    touches = (
        Touchpoint.objects.filter(account=OuterRef("pk"))
        .order_by("-occurred_at")
        .values("occurred_at")[:1]
    )
    return Subquery(touches, output_field=DateTimeField())


def _latest_nps() -> Subquery:
    """The account's latest answer (0-10) to an NPS survey."""
    answers = (
        SurveyResponse.objects.filter(account=OuterRef("pk"), survey__kind=SurveyKind.NPS)
        .order_by("-answered_at", "-pk")
        .values("score")[:1]
    )
    return Subquery(answers, output_field=IntegerField())


def _annotate(
    accounts: QuerySet[Account], keys: set[str], current: Sequence[CurrentDay], now: datetime
) -> QuerySet[Account]:
    """Add the columns named in `keys` (sort keys; health brings score, band and trend)."""
    if keys & {"health", "trend"}:
        accounts = _with_health(accounts, current)
    if "mrr" in keys:
        accounts = annotate_mrr(accounts, at=now)
    if "renewal" in keys:
        accounts = accounts.annotate(renewal_at=_renewal(now))
    if "last_touch" in keys:
        accounts = accounts.annotate(last_touch_at=_last_touch())
    if "nps" in keys:
        accounts = accounts.annotate(nps=_latest_nps())
    return accounts


def _sort_expression(key: str) -> list[F | Case]:
    columns: dict[str, list[F | Case]] = {
        "health": [F("health_score")],
        "trend": [F("health_change")],
        "mrr": [F("mrr")],
        "renewal": [F("renewal_at")],
        "owner": [F("owner__first_name"), F("owner__last_name"), F("owner__username")],
        "stage": [_stage_order()],
        "last_touch": [F("last_touch_at")],
        "nps": [F("nps")],
        "signed_up": [F("signed_up_at")],
    }
    return columns.get(key, [])


def _ordering(sort: str) -> list[OrderBy | str]:
    descending = sort.startswith("-")
    key = sort.removeprefix("-")
    columns = _sort_expression(key)
    if not columns:
        return [F("name").desc() if descending else F("name").asc(), "pk"]
    ordered = [
        column.desc(nulls_last=True) if descending else column.asc(nulls_last=True)
        for column in columns
    ]
    return [*ordered, "name", "pk"]


def _conditions(filters: AccountFilters, prefix: str = "") -> Q:
    """The search and filters on accounts (reached through `prefix`), band aside."""
    condition = Q()
    if filters.query:
        text = filters.query
        condition &= (
            Q(**{f"{prefix}name__icontains": text})
            | Q(**{f"{prefix}domain__icontains": text})
            | Q(**{f"{prefix}external_id__icontains": text})
        )
    if filters.segment:
        condition &= Q(**{f"{prefix}traits__segment": filters.segment})
    if filters.owner == "none":
        condition &= Q(**{f"{prefix}owner__isnull": True})
    elif filters.owner:
        condition &= Q(**{f"{prefix}owner_id": int(filters.owner)})
    if filters.stage:
        condition &= Q(**{f"{prefix}lifecycle_stage": filters.stage})
    return condition


def filtered_accounts(filters: AccountFilters, current: Sequence[CurrentDay]) -> QuerySet[Account]:
    """Accounts matching the search and filters, unordered and without columns."""
    accounts = Account.objects.filter(_conditions(filters))
    if filters.band:
        banded = current_snapshots(current).filter(band=filters.band)
        accounts = accounts.filter(pk__in=banded.values("account_id"))
    return accounts.order_by()


SNAPSHOT_SORTS = {"health": "score", "trend": "change_7d"}
"""Sorts read from the current snapshots' side: walking one day's snapshots and looking up
their accounts is cheaper than looking up every account's snapshot."""


@dataclass(frozen=True)
class HealthOrderedIds:
    """The ids of the matching accounts sorted by a snapshot column, sliced by the paginator:
    scored accounts in order (no score last), then the accounts without a current snapshot by
    name. A slice costs one query; one more when it reaches past the scored accounts, and one
    more to count them when it starts past them."""

    filters: AccountFilters
    current: Sequence[CurrentDay]

    def __getitem__(self, part: slice) -> list[int]:
        start, stop = part.start or 0, part.stop
        descending = self.filters.sort.startswith("-")
        column = F(SNAPSHOT_SORTS[self.filters.sort.removeprefix("-")])
        order = column.desc(nulls_last=True) if descending else column.asc(nulls_last=True)
        scored = current_snapshots(self.current).filter(_conditions(self.filters, "account__"))
        if self.filters.band:
            scored = scored.filter(band=self.filters.band)
        ordered = scored.order_by(order, "account__name", "account_id")
        ids = list(ordered.values_list("account_id", flat=True)[start:stop])
        if stop is None or len(ids) == stop - start or self.filters.band:
            return ids
        skip = 0 if ids else max(0, start - scored.count())
        unscored = (
            Account.objects.filter(_conditions(self.filters))
            .exclude(pk__in=current_snapshots(self.current).values("account_id"))
            .order_by("name", "pk")
            .values_list("pk", flat=True)
        )
        return ids + list(unscored[skip : skip + (stop - start) - len(ids)])


def ordered_ids(
    filters: AccountFilters, current: Sequence[CurrentDay], now: datetime
) -> QuerySet[Account, int] | HealthOrderedIds:
    """Ids of the matching accounts in the asked order, computing only the sorted column."""
    key = filters.sort.removeprefix("-")
    if key in SNAPSHOT_SORTS:
        return HealthOrderedIds(filters, current)
    accounts = _annotate(filtered_accounts(filters, current), {key}, current, now)
    return accounts.order_by(*_ordering(filters.sort)).values_list("pk", flat=True)


class CountedPaginator(Paginator):
    """A paginator told its count: counting the ordered ids query would compute its sort
    column (a join or subquery per account) only to count rows."""

    def __init__(
        self, object_list: QuerySet[Account, int] | HealthOrderedIds, per_page: int, count: int
    ) -> None:
        super().__init__(cast(Sequence[int], object_list), per_page)
        self._known_count = count

    @property
    def count(self) -> int:
        return self._known_count


def accounts_page(
    filters: AccountFilters, current: Sequence[CurrentDay], now: datetime, number: str | None
) -> Page:
    """The asked page of the table: its rows with every column, in order."""
    count = filtered_accounts(filters, current).count()
    paginator = CountedPaginator(ordered_ids(filters, current, now), ACCOUNTS_PER_PAGE, count)
    page = paginator.get_page(number)
    page.object_list = table_rows(list(page.object_list), current, now)
    return page


ALL_COLUMNS = {"health", "mrr", "renewal", "last_touch", "nps"}


def table_rows(ids: Sequence[int], current: Sequence[CurrentDay], now: datetime) -> list[Account]:
    """The accounts with these ids, in this order, with every column and a `health` cell."""
    accounts = _annotate(
        Account.objects.filter(pk__in=list(ids)).select_related("owner"), ALL_COLUMNS, current, now
    )
    accounts = accounts.only(*ROW_FIELDS)
    by_id = {account.pk: account for account in accounts}
    rows = [by_id[pk] for pk in ids if pk in by_id]
    colours = band_colours(day.bands for day in current)
    for account in rows:
        account.health = health_cell(account, colours)  # type: ignore[attr-defined]
        account.text = row_text(account)  # type: ignore[attr-defined]
    return rows


ROW_FIELDS = (
    "external_id",
    "name",
    "lifecycle_stage",
    "signed_up_at",
    "owner__username",
    "owner__first_name",
    "owner__last_name",
)
"""The columns a row shows; loading only these keeps building 50 rows cheap."""


@dataclass(frozen=True)
class RowText:
    """A row's cells formatted once in Python: the template then only prints them, which is
    several times cheaper than resolving filters and tags per cell."""

    url: str
    mrr: str
    renewal: str
    owner: str
    stage: str
    last_touch: str
    nps: str


def _day_text(moment: datetime | None) -> str:
    """As the `date:"j M Y"` filter shows it: in the current time zone."""
    if moment is None:
        return "—"
    local = timezone.localtime(moment)
    return f"{local.day} {local:%b %Y}"


def row_text(account: Account) -> RowText:
    currency = getattr(account, "mrr_currency", None)
    if currency == MIXED_CURRENCIES:
        mrr = "mixed currencies"
    elif currency:
        mrr = format_money(getattr(account, "mrr", None), currency)
    else:
        mrr = "—"
    nps = getattr(account, "nps", None)
    return RowText(
        url=reverse("web:account", args=[account.external_id]),
        mrr=mrr,
        renewal=_day_text(getattr(account, "renewal_at", None)),
        owner=account.owner.display_name if account.owner else "—",
        stage=account.get_lifecycle_stage_display(),
        last_touch=_day_text(getattr(account, "last_touch_at", None)),
        nps="—" if nps is None else str(nps),
    )


def export_rows(
    filters: AccountFilters, current: Sequence[CurrentDay], now: datetime
) -> QuerySet[Account]:
    """Every matching account in the asked order with every column, for a streaming export."""
    accounts = _annotate(filtered_accounts(filters, current), ALL_COLUMNS, current, now)
    return accounts.select_related("owner").order_by(*_ordering(filters.sort))


@dataclass(frozen=True)
class HealthCell:
    """An account's current health as the table shows it: score, band with its colour, and
    the change over 7 days as a direction (never colour alone: name and arrow are text)."""

    score: float | None
    band: str
    colour: str
    change: float | None
    overridden: bool

    @property
    def direction(self) -> str:
        """'up', 'down', 'steady', or '' without a change to compare."""
        if self.change is None:
            return ""
        if self.change >= TREND_STEADY:
            return "up"
        if self.change <= -TREND_STEADY:
            return "down"
        return "steady"

    @property
    def change_text(self) -> str:
        """The change with its sign, one decimal: "+5.0", "-8.0"."""
        return "" if self.change is None else f"{self.change:+.1f}"

    @property
    def arrow(self) -> str:
        return {"up": "↑", "down": "↓", "steady": "→"}.get(self.direction, "")


def health_cell(account: Account, colours: dict[str, str]) -> HealthCell:
    band = getattr(account, "health_band", "") or ""
    return HealthCell(
        score=getattr(account, "health_score", None),
        band=band,
        colour=colours.get(band, ""),
        change=getattr(account, "health_change", None),
        overridden=bool(getattr(account, "health_overridden", False)),
    )


def segment_choices() -> list[str]:
    """Segments accounts are in (their `segment` trait), by name; one query."""
    values = (
        Account.objects.filter(traits__segment__isnull=False)
        .order_by()
        .values_list("traits__segment", flat=True)
        .distinct()
    )
    return sorted({str(value) for value in values if value not in (None, "")})


def csv_value(value: object) -> str:
    """A cell of the export: dates as ISO days, amounts as plain decimals, None as blank."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


def owner_choices() -> list[User]:
    """Team members who own at least one account, by name: one query, an indexed EXISTS per
    member rather than a join over every account."""
    owns = Account.objects.filter(owner=OuterRef("pk"))
    return list(
        User.objects.filter(Exists(owns))
        .only("username", "first_name", "last_name")
        .order_by("first_name", "last_name", "username")
    )

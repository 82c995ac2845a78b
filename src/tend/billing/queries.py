"""Reads for billing: normalised monthly amounts, MRR at an instant, subscriptions and invoices."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import (
    Case,
    CharField,
    DecimalField,
    F,
    Func,
    Max,
    Min,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.expressions import Combinable
from django.db.models.functions import Coalesce
from django.utils import timezone

from tend.billing.models import (
    BillingInterval,
    Invoice,
    InvoiceStatus,
    Subscription,
    SubscriptionItem,
    SubscriptionStatus,
)
from tend.customers.models import Account

MONEY: DecimalField[Decimal, Decimal] = DecimalField(max_digits=20, decimal_places=4)
CENT = Decimal("0.01")

# Months per billing interval as numerator / denominator (kpis.md, "Normalised monthly amount").
MONTHLY_FACTOR: dict[str, tuple[int, int]] = {
    BillingInterval.DAY: (365, 12),
    BillingInterval.WEEK: (52, 12),
    BillingInterval.MONTH: (1, 1),
    BillingInterval.QUARTER: (1, 3),
    BillingInterval.HALF_YEAR: (1, 6),
    BillingInterval.YEAR: (1, 12),
}


class _Exact(Func):
    """A divisor; SQLite keeps whole decimals as integers, and must not divide them as integers."""

    template = "%(expressions)s"
    output_field = MONEY

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(compiler, connection, template="CAST(%(expressions)s AS REAL)", **extra)


def normalised_monthly_amount(item: SubscriptionItem) -> Decimal:
    """One item's monthly amount in Python; the SQL in `monthly_amount_expression` must agree."""
    if item.subscription.status == SubscriptionStatus.TRIALING:
        return Decimal(0)
    numerator, denominator = MONTHLY_FACTOR[item.interval]
    gross = item.unit_amount * item.quantity * (100 - item.discount_percent) * numerator
    amount = gross / (100 * denominator * max(item.interval_count, 1))
    return amount.quantize(CENT)


def monthly_amount_expression() -> Combinable:
    """SQL for a subscription item's normalised monthly amount (0 while its subscription trials)."""
    gross = F("unit_amount") * F("quantity") * (Value(100) - F("discount_percent"))
    numerator = Case(
        *[When(interval=key, then=Value(n)) for key, (n, _) in MONTHLY_FACTOR.items()],
        default=Value(0),
    )
    denominator = Case(
        *[When(interval=key, then=Value(d)) for key, (_, d) in MONTHLY_FACTOR.items()],
        default=Value(1),
    )
    per_month = gross * numerator / _Exact(Value(100) * denominator * F("interval_count"))
    return Case(
        When(subscription__status=SubscriptionStatus.TRIALING, then=Value(0)),
        default=per_month,
        output_field=MONEY,
    )


def item_active_at(at: datetime) -> Q:
    """Items live at `at`: started, not ended, on a subscription not ended or cancelled by then."""
    item_live = Q(started_at__lte=at) & (Q(ended_at__isnull=True) | Q(ended_at__gt=at))
    cancellation_pending = Q(subscription__cancel_at__gt=at) | Q(
        subscription__cancel_at__isnull=True, subscription__canceled_at__gt=at
    )
    subscription_ended = Q(subscription__ended_at__lte=at) | (
        Q(subscription__status=SubscriptionStatus.CANCELED, subscription__ended_at__isnull=True)
        & ~cancellation_pending
    )
    return item_live & ~subscription_ended


def _now(at: datetime | None) -> datetime:
    return at if at is not None else timezone.now()


@dataclass(frozen=True)
class Money:
    """An amount in one ISO 4217 currency; amounts in different currencies are never summed."""

    amount: Decimal
    currency: str


# `annotate_mrr`'s currency for an account whose live items bill in more than one currency.
MIXED_CURRENCIES = "*"


def mrr_at(at: datetime | None = None) -> Decimal:
    """Sum of all live items' monthly amounts at `at` (default now), in one aggregate query.

    The amounts are added as they are, whatever their currency, so the result is only an MRR
    when every subscription bills in one currency; pages use `mrr_by_currency`.
    """
    total = SubscriptionItem.objects.filter(item_active_at(_now(at))).aggregate(
        total=Sum(monthly_amount_expression(), output_field=MONEY)
    )["total"]
    return Decimal(total or 0).quantize(CENT)


def mrr_by_currency(at: datetime | None = None) -> list[Money]:
    """Portfolio MRR at `at` per subscription currency, largest first.

    Amounts stay in their own currency: converting to the reporting currency needs dated rates.
    Currencies whose live items add up to zero (only trials) are left out.
    """
    return live_mrr(at).by_currency


@dataclass(frozen=True)
class LiveMrr:
    """MRR at a moment per subscription currency (largest first) and the accounts paying."""

    by_currency: list[Money]
    paying_accounts: int


def live_mrr(at: datetime | None = None) -> LiveMrr:
    """MRR per currency and the number of accounts whose MRR is above zero, in one query: the
    live items are summed per account and currency once, then read twice (a CTE that both
    SQLite and PostgreSQL materialise when it is used twice)."""
    per_account = (
        SubscriptionItem.objects.filter(item_active_at(_now(at)))
        .order_by()
        .values("subscription__account_id", "subscription__currency")
        .annotate(total=Sum(monthly_amount_expression(), output_field=MONEY))
    )
    inner, params = per_account.query.sql_with_params()
    account, currency, total = (
        connection.ops.quote_name(name)
        for name in ("subscription__account_id", "subscription__currency", "total")
    )
    sql = (
        f"WITH per_account AS ({inner}) "
        f"SELECT {currency}, SUM({total}), NULL FROM per_account GROUP BY {currency} "
        f"UNION ALL SELECT NULL, NULL, COUNT(DISTINCT {account}) FROM per_account "
        f"WHERE {total} > 0"
    )
    by_currency: list[Money] = []
    paying = 0
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for row_currency, amount, count in cursor.fetchall():
            if row_currency is None:
                paying = int(count or 0)
                continue
            money = Money(Decimal(str(amount or 0)).quantize(CENT), row_currency)
            if money.amount:
                by_currency.append(money)
    by_currency.sort(key=lambda m: (-m.amount, m.currency))
    return LiveMrr(by_currency, paying)


def mrr_by_account_and_currency(
    account_ids: list[int], at: datetime | None = None
) -> dict[int, list[Money]]:
    """MRR per account and subscription currency in one grouped query; no MRR, no entry.

    An account normally bills in one currency, so its list usually holds one amount.
    """
    rows = (
        SubscriptionItem.objects.filter(
            item_active_at(_now(at)), subscription__account_id__in=account_ids
        )
        .order_by("subscription__account_id", "subscription__currency")
        .values("subscription__account_id", "subscription__currency")
        .annotate(total=Sum(monthly_amount_expression(), output_field=MONEY))
    )
    result: dict[int, list[Money]] = {}
    for row in rows:
        money = Money(Decimal(row["total"] or 0).quantize(CENT), row["subscription__currency"])
        result.setdefault(row["subscription__account_id"], []).append(money)
    return result


def mrr_by_account(account_ids: list[int], at: datetime | None = None) -> dict[int, Decimal]:
    """MRR per account for the given ids in one grouped query; accounts without MRR are absent."""
    rows = (
        SubscriptionItem.objects.filter(
            item_active_at(_now(at)), subscription__account_id__in=account_ids
        )
        .values("subscription__account_id")
        .annotate(total=Sum(monthly_amount_expression(), output_field=MONEY))
    )
    return {row["subscription__account_id"]: Decimal(row["total"]).quantize(CENT) for row in rows}


def annotate_mrr(
    accounts: QuerySet[Account], at: datetime | None = None, name: str = "mrr"
) -> QuerySet[Account]:
    """Add each account's current MRR and its currency as correlated subqueries.

    Lists can then sort and page by `name` in the same query; `<name>_currency` is the currency
    of the account's live items, None without any, or `MIXED_CURRENCIES` if they bill in several.

    The amount is a plain number, so sorting by it compares amounts in different currencies as
    if they were one (€100 sorts below $101). That is close enough for USD, EUR and GBP until
    the metrics work converts MRR into the reporting currency with dated rates.
    """
    live = (
        SubscriptionItem.objects.filter(
            item_active_at(_now(at)), subscription__account=OuterRef("pk")
        )
        .order_by()
        .values("subscription__account")
    )
    total = live.annotate(total=Sum(monthly_amount_expression(), output_field=MONEY)).values(
        "total"
    )
    currency = (
        live.annotate(lowest=Min("subscription__currency"), highest=Max("subscription__currency"))
        .annotate(
            currency=Case(
                When(lowest=F("highest"), then=F("lowest")),
                default=Value(MIXED_CURRENCIES),
                output_field=CharField(),
            )
        )
        .values("currency")
    )
    return accounts.annotate(
        **{
            name: Coalesce(
                Subquery(total, output_field=MONEY), Value(Decimal(0)), output_field=MONEY
            ),
            f"{name}_currency": Subquery(currency, output_field=CharField()),
        }
    )


def paying_account_count(at: datetime | None = None) -> int:
    """Accounts whose MRR at `at` is above zero."""
    return live_mrr(at).paying_accounts


@dataclass(frozen=True)
class ItemRow:
    """A subscription item with its normalised monthly amount and whether it is live now."""

    item: SubscriptionItem
    monthly_amount: Decimal
    active: bool


@dataclass(frozen=True)
class SubscriptionRow:
    """A subscription with its items over time, oldest first."""

    subscription: Subscription
    items: list[ItemRow]


def _is_live(item: SubscriptionItem, at: datetime) -> bool:
    """Python twin of `item_active_at` for rows already loaded."""
    sub = item.subscription
    if item.started_at > at or (item.ended_at is not None and item.ended_at <= at):
        return False
    if sub.ended_at is not None:
        return sub.ended_at > at
    if sub.status == SubscriptionStatus.CANCELED:
        effective = sub.cancel_at or sub.canceled_at
        return effective is not None and effective > at
    return True


def subscriptions_for_account(
    account: Account, at: datetime | None = None
) -> list[SubscriptionRow]:
    """An account's subscriptions with their items and plans over time, oldest first (2 queries)."""
    now = _now(at)
    items = SubscriptionItem.objects.select_related("plan").order_by("started_at", "pk")
    subscriptions = (
        Subscription.objects.filter(account=account)
        .order_by("started_at", "pk")
        .prefetch_related(Prefetch("items", queryset=items))
    )
    rows = []
    for subscription in subscriptions:
        item_rows = []
        for item in subscription.items.all():
            item.subscription = subscription  # reuse the loaded row; no query per item
            live = _is_live(item, now)
            item_rows.append(ItemRow(item, normalised_monthly_amount(item), live))
        rows.append(SubscriptionRow(subscription, item_rows))
    return rows


@dataclass(frozen=True)
class InvoiceRow:
    """An invoice with how many days late it was paid, or is overdue while still open."""

    invoice: Invoice
    days_late: int | None

    @property
    def overdue(self) -> bool:
        """Still open and past due (rather than paid late)."""
        return self.invoice.paid_at is None and bool(self.days_late)


def days_late(invoice: Invoice, at: datetime) -> int | None:
    """Days past due: until payment for one paid late, until `at` for one still open past due."""
    if invoice.due_at is None:
        return None
    if invoice.paid_at is not None:
        late = (invoice.paid_at - invoice.due_at).days
        return late if late > 0 else None
    if invoice.status == InvoiceStatus.OPEN and invoice.due_at < at:
        return (at - invoice.due_at).days
    return None


def invoices_for_account(account: Account, at: datetime | None = None) -> list[InvoiceRow]:
    """An account's invoices, newest first, each with its days late."""
    now = _now(at)
    invoices = Invoice.objects.filter(account=account).order_by("-issued_at", "-pk")
    return [InvoiceRow(invoice, days_late(invoice, now)) for invoice in invoices]


def accounts_with_live_subscription(account_ids: Iterable[int]) -> set[int]:
    """Which of these accounts pay now (an active or past-due subscription); one raw query,
    as the event API asks this for every batch."""
    wanted = list(set(account_ids))
    if not wanted:
        return set()
    table = connection.ops.quote_name(Subscription._meta.db_table)
    placeholders = ", ".join(["%s"] * len(wanted))
    live = [SubscriptionStatus.ACTIVE.value, SubscriptionStatus.PAST_DUE.value]
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT DISTINCT account_id FROM {table} "
            f"WHERE status IN (%s, %s) AND account_id IN ({placeholders})",
            [*live, *wanted],
        )
        return {row[0] for row in cursor.fetchall()}


def first_subscription_start() -> date | None:
    """The day the earliest subscription started (UTC), or None without subscriptions."""
    first = Subscription.objects.aggregate(first=Min("started_at"))["first"]
    return None if first is None else first.astimezone(UTC).date()


def last_billing_change() -> datetime | None:
    """When an invoice or subscription was last created or changed."""
    invoices = Invoice.objects.aggregate(last=Max("updated_at"))["last"]
    subscriptions = Subscription.objects.aggregate(last=Max("updated_at"))["last"]
    return max((t for t in (invoices, subscriptions) if t is not None), default=None)

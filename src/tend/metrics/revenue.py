"""MRR, MRR movements and retention as pure Ibis expressions (kpis.md, "Revenue").

Amounts stay in their subscription's currency: every result is grouped by `currency` and nothing
is converted yet (that needs dated rates). Money is decimal(18, 4) so movements reconcile exactly.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import ibis
import ibis.expr.datatypes as dt
import pyarrow as pa

from tend.metrics.engine import to_money

MONEY = dt.Decimal(18, 4)
WIDE = dt.Decimal(38, 10)
MONEY_ZERO = ibis.literal(0).cast(MONEY)

# Months per billing interval as numerator / denominator (kpis.md, "Normalised monthly amount").
MONTHLY_FACTOR: dict[str, tuple[int, int]] = {
    "day": (365, 12),
    "week": (52, 12),
    "month": (1, 1),
    "quarter": (1, 3),
    "half_year": (1, 6),
    "year": (1, 12),
}


def add_months(month: date, count: int) -> date:
    """The first day of the month `count` months after `month`'s (negative: before)."""
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def month_table(first_month: date, last_month: date) -> ibis.Table:
    """One row per month: `month` (its first day), `month_start` and `month_end` instants (UTC)."""
    months, month = [], first_month.replace(day=1)
    while month <= last_month:
        months.append(month)
        month = add_months(month, 1)
    instant = pa.timestamp("us", tz="UTC")
    starts = [datetime(m.year, m.month, 1, tzinfo=UTC) for m in months]
    ends = [datetime.combine(add_months(m, 1), datetime.min.time(), UTC) for m in months]
    arrow = pa.table(
        {
            "month": pa.array(months, pa.date32()),
            "month_start": pa.array(starts, instant),
            "month_end": pa.array(ends, instant),
        }
    )
    return ibis.memtable(arrow)


def item_monthly_amounts(items: ibis.Table, subscriptions: ibis.Table) -> ibis.Table:
    """Each item term's normalised monthly amount and the interval [counts_from, counts_until).

    It counts from max(item start, trial end or subscription start) to the earlier of the item's
    and the subscription's end (null: still counting). As in billing/queries.py, a cancelled
    subscription without `ended_at` ends at `cancel_at` or `canceled_at` (neither: never counts);
    a trialing subscription without `trial_ends_at` never counts.
    """
    subs = subscriptions.select(
        "subscription",
        "account",
        "currency",
        sub_status="status",
        sub_started_at="started_at",
        trial_ends_at="trial_ends_at",
        sub_ended_at=ibis.ifelse(
            subscriptions.status == "canceled",
            subscriptions.ended_at.coalesce(
                subscriptions.cancel_at, subscriptions.canceled_at, subscriptions.started_at
            ),
            subscriptions.ended_at,
        ),
    )
    joined = items.join(subs, "subscription")
    numerator = joined.interval.cases(*[(k, n) for k, (n, _) in MONTHLY_FACTOR.items()], else_=0)
    denominator = joined.interval.cases(*[(k, d) for k, (_, d) in MONTHLY_FACTOR.items()], else_=1)
    # amount x (100 - discount) is exact in decimal(38, 8) on every engine; the rest is float64,
    # rounded half up by to_money with the same operations on DuckDB and Spark (ties included).
    percent_of = joined.unit_amount * (100 - joined.discount_percent)
    divisor = 100 * denominator * ibis.greatest(joined.interval_count, 1)
    amount = to_money(percent_of.cast("float64") * joined.quantity * numerator / divisor)
    paid_from = joined.trial_ends_at.coalesce(joined.sub_started_at)
    counts_from = ibis.greatest(joined.started_at, paid_from)
    counts_until = ibis.least(
        joined.ended_at.coalesce(joined.sub_ended_at),
        joined.sub_ended_at.coalesce(joined.ended_at),
    )
    unknown_trial = (joined.sub_status == "trialing") & joined.trial_ends_at.isnull()
    return joined.select(
        "item",
        "subscription",
        "account",
        "currency",
        monthly_amount=amount,
        counts_from=ibis.ifelse(unknown_trial, ibis.null(counts_from.type()), counts_from),
        counts_until=counts_until,
    ).filter(
        lambda t: (
            t.counts_from.notnull() & (t.counts_until.isnull() | (t.counts_from < t.counts_until))
        )
    )


def first_paid(items_with_amounts: ibis.Table) -> ibis.Table:
    """When each account first paid anything, in any currency: `account, first_paid_at`."""
    paying = items_with_amounts.filter(items_with_amounts.monthly_amount > 0)
    return paying.group_by("account").aggregate(first_paid_at=paying.counts_from.min())


def mrr_at_month_ends(items_with_amounts: ibis.Table, months: ibis.Table) -> ibis.Table:
    """MRR per account, currency and month at the month end; dense, zero where nothing counts.

    An item counts at instant t when counts_from <= t < counts_until, t being the first instant
    of the next month. Keys are every (account, currency) that ever had an item term.
    """
    items = items_with_amounts
    live = items.join(
        months,
        [
            items.counts_from <= months.month_end,
            items.counts_until.isnull() | (items.counts_until > months.month_end),
        ],
    )
    sums = live.group_by(["account", "currency", "month"]).aggregate(
        live_mrr=live.monthly_amount.sum()
    )
    keys = items.select("account", "currency").distinct()
    grid = keys.cross_join(months.select("month", "month_start"))
    dense = grid.left_join(sums, ["account", "currency", "month"])
    return dense.select(
        "account",
        "currency",
        "month",
        "month_start",
        mrr=dense.live_mrr.coalesce(MONEY_ZERO).cast(MONEY),
    )


def mrr_movements(mrr_by_account_month: ibis.Table, paid_before: ibis.Table) -> ibis.Table:
    """Per account, currency and month: m0, m1 and new/reactivation/expansion/contraction/churn.

    The first month of `mrr_by_account_month` only supplies m0 for the second. `paid_before`
    holds `account, first_paid_at`; paying before the month began makes a return a
    reactivation. Each row satisfies m1 = m0 + new + reactivation + expansion - contraction - churn.
    """
    mrr = mrr_by_account_month
    window = ibis.window(group_by=[mrr.account, mrr.currency], order_by=mrr.month)
    with_start = mrr.mutate(mrr_start=mrr.mrr.lag().over(window), mrr_end=mrr.mrr)
    rows = with_start.filter(with_start.mrr_start.notnull())
    rows = rows.left_join(paid_before, "account").drop("account_right")
    m0, m1 = rows.mrr_start.cast(MONEY), rows.mrr_end.cast(MONEY)
    returning = rows.first_paid_at.notnull() & (rows.first_paid_at < rows.month_start)
    starts = (m0 == 0) & (m1 > 0)
    return rows.select(
        "account",
        "currency",
        "month",
        mrr_start=m0,
        mrr_end=m1,
        new=ibis.ifelse(starts & ~returning, m1, MONEY_ZERO),
        reactivation=ibis.ifelse(starts & returning, m1, MONEY_ZERO),
        expansion=ibis.ifelse((m0 > 0) & (m1 > m0), m1 - m0, MONEY_ZERO).cast(MONEY),
        contraction=ibis.ifelse((m1 > 0) & (m1 < m0), m0 - m1, MONEY_ZERO).cast(MONEY),
        churn=ibis.ifelse((m0 > 0) & (m1 == 0), m0, MONEY_ZERO),
    )


def portfolio_movements(movements: ibis.Table) -> ibis.Table:
    """Movements summed per currency and month, with counts of paying and churned accounts."""
    m = movements
    paying_start, paying_end = m.mrr_start > 0, m.mrr_end > 0
    return (
        m.group_by(["currency", "month"])
        .aggregate(
            mrr_start=m.mrr_start.sum(),
            new=m.new.sum(),
            reactivation=m.reactivation.sum(),
            expansion=m.expansion.sum(),
            contraction=m.contraction.sum(),
            churn=m.churn.sum(),
            mrr_end=m.mrr_end.sum(),
            accounts_paying_at_start=paying_start.sum(),
            accounts_paying_at_end=paying_end.sum(),
            accounts_churned=(paying_start & ~paying_end).sum(),
        )
        .order_by(["currency", "month"])
    )


def _ratio(numerator: ibis.Value, denominator: ibis.Value) -> ibis.Value:
    """numerator / denominator as float64, null when the denominator is 0."""
    return ibis.ifelse(
        denominator == 0, ibis.null("float64"), numerator.cast("float64") / denominator
    )


def retention(movements: ibis.Table) -> ibis.Table:
    """Monthly NRR, GRR, revenue and logo churn rates and ARPA per currency (kpis.md).

    Only accounts paying at the start feed NRR/GRR (new and reactivated MRR have m0 = 0);
    ARPA = MRR at month end / accounts paying then. Rates are null without a base.
    """
    p = portfolio_movements(movements)
    retained = p.mrr_start + p.expansion - p.contraction - p.churn
    return p.select(
        "currency",
        "month",
        "mrr_start",
        "mrr_end",
        "accounts_paying_at_start",
        "accounts_paying_at_end",
        net_revenue_retention=_ratio(retained, p.mrr_start),
        gross_revenue_retention=_ratio(p.mrr_start - p.contraction - p.churn, p.mrr_start),
        revenue_churn_rate=_ratio(p.contraction + p.churn, p.mrr_start),
        logo_churn_rate=_ratio(p.accounts_churned, p.accounts_paying_at_start),
        average_revenue_per_account=_ratio(p.mrr_end, p.accounts_paying_at_end),
    ).order_by(["currency", "month"])

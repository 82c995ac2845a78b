"""Logo and revenue retention triangles by start month, as Ibis expressions (standard ops only,
so they run on DuckDB and PySpark alike).

Everything starts from `mrr`, the dense MRR per account, currency and month end of
`revenue.mrr_at_month_ends` (see `account_month_mrr`). Conventions:

- An account is *paying* at a month end when its MRR is > 0 there, in any currency.
- Its **start month** (`cohort_month`) is the first month at whose end it was paying; an account
  that never paid at a month end (e.g. started and stopped within one month) is in no cohort.
  Months before the first month of `mrr` are unseen, so build `mrr` from the first paid month.
- A reactivated account stays in its first cohort and counts again from the month it pays
  again (the triangles are not monotone); `survivor_counts` instead counts the first spell only
  (what the sBG model needs).
- `months_since_start` k runs from 0 (the start month) to the last month of `mrr`; every
  cohort has a row for every k it could have been seen at, with 0 where nobody was paying.
- Revenue retention is per currency and never adds currencies: a cohort's MRR at month
  start + k in a currency ÷ its MRR in that currency at the start month (null when that is 0,
  e.g. for a currency the cohort's accounts took up later).
- Grouped triangles (`by="segment"` or another column of `accounts`) put the group first;
  accounts without a value (or missing from `accounts`) fall in the group ''.
"""

from __future__ import annotations

from datetime import date

import ibis
import ibis.expr.types as ir
import pandas as pd

from tend.metrics.grid import ratio
from tend.metrics.inputs import Inputs
from tend.metrics.revenue import (
    MONEY,
    item_monthly_amounts,
    month_table,
    mrr_at_month_ends,
)


def account_month_mrr(
    inputs: Inputs, last_month: date, first_month: date | None = None
) -> ir.Table:
    """`account, currency, month, month_start, mrr` at each month end, first..last month.

    Without `first_month`, from the month of the earliest instant any item counts, so that no
    account's start month is cut off. Store the result (`con.create_table`) before deriving
    several triangles from it: Ibis then compiles small queries."""
    amounts = item_monthly_amounts(inputs.subscription_items, inputs.subscriptions)
    if first_month is None:
        earliest = inputs.con.execute(amounts.counts_from.min())
        first_month = last_month if pd.isna(earliest) else earliest.date().replace(day=1)
    first = min(first_month, last_month).replace(day=1)
    return mrr_at_month_ends(amounts, month_table(first, last_month))


def month_index(day: ir.DateValue) -> ir.IntegerValue:
    """Months since year 0 of the month holding `day`: differences count whole months."""
    return day.year() * 12 + day.month()


def start_months(mrr: ir.Table) -> ir.Table:
    """`account, cohort_month`: the first month at whose end each account was paying."""
    paying = mrr.filter(mrr.mrr > 0)
    return paying.group_by("account").aggregate(cohort_month=paying["month"].min())


def _cohorts(
    mrr: ir.Table, accounts: ir.Table | None, by: str | None
) -> tuple[ir.Table, list[str]]:
    """Start months with the group column `by` (from `accounts`), and the cohort's key columns."""
    starts = start_months(mrr)
    if by is None:
        return starts, ["cohort_month"]
    if accounts is None:
        raise ValueError(f"grouping by {by!r} needs the accounts table")
    groups = accounts.select("account", group_value=accounts[by].cast("string"))
    joined = starts.left_join(groups, "account")
    grouped = joined.select(
        joined.account,
        joined.cohort_month,
        **{by: joined.group_value.coalesce(ibis.literal(""))},
    )
    return grouped, [by, "cohort_month"]


def _offsets(sizes: ir.Table, mrr: ir.Table, keys: list[str]) -> ir.Table:
    """Each cohort of `sizes` with every months_since_start it can have been seen at."""
    months = mrr.select(seen_month=mrr["month"]).distinct()
    cells = sizes.cross_join(months)
    cells = cells.filter(cells.seen_month >= cells.cohort_month)
    since = month_index(cells.seen_month) - month_index(cells.cohort_month)
    return cells.select(
        *keys, *[c for c in sizes.columns if c not in keys], months_since_start=since
    )


def logo_retention_triangle(
    mrr: ir.Table, accounts: ir.Table | None = None, by: str | None = None
) -> ir.Table:
    """`[by,] cohort_month, months_since_start, accounts, cohort_size, retention`: accounts of
    the cohort paying at the end of month start + k ÷ the cohort's size."""
    starts, keys = _cohorts(mrr, accounts, by)
    sizes = starts.group_by(keys).aggregate(cohort_size=starts.account.count())
    paying = mrr.filter(mrr.mrr > 0).select("account", paying_month="month").distinct()
    seen = paying.join(starts, "account")
    seen = seen.mutate(
        months_since_start=month_index(seen.paying_month) - month_index(seen.cohort_month)
    )
    counts = seen.group_by([*keys, "months_since_start"]).aggregate(active=seen.account.nunique())
    cells = _offsets(sizes, mrr, keys)
    joined = cells.left_join(counts, [*keys, "months_since_start"])
    active = joined.active.coalesce(0)
    return joined.select(
        *[joined[k] for k in keys],
        months_since_start=joined.months_since_start,
        accounts=active.cast("int64"),
        cohort_size=joined.cohort_size.cast("int64"),
        retention=ratio(active, joined.cohort_size),
    ).order_by([*keys, "months_since_start"])


def revenue_retention_triangle(
    mrr: ir.Table, accounts: ir.Table | None = None, by: str | None = None
) -> ir.Table:
    """`[by,] cohort_month, currency, months_since_start, mrr, cohort_mrr, retention`: the
    cohort's MRR at the end of month start + k ÷ its MRR at the end of the start month, per
    currency (net: expansion and reactivation count, so it can exceed 1)."""
    starts, keys = _cohorts(mrr, accounts, by)
    rows = mrr.join(starts, "account")
    rows = rows.filter(rows["month"] >= rows.cohort_month)
    rows = rows.mutate(
        months_since_start=month_index(rows["month"]) - month_index(rows.cohort_month)
    )
    cell_keys = [*keys, "currency"]
    sums = rows.group_by([*cell_keys, "months_since_start"]).aggregate(cohort_mrr_k=rows.mrr.sum())
    # A (cohort, currency) with no MRR at any k (only free or trial items) is left out.
    present = sums.group_by(cell_keys).aggregate(
        cohort_mrr=sums.cohort_mrr_k.sum(where=sums.months_since_start == 0),
        ever=sums.cohort_mrr_k.max(),
    )
    present = present.filter(present.ever > 0).drop("ever")
    joined = sums.join(present, cell_keys)
    cohort_mrr = joined.cohort_mrr.coalesce(0).cast(MONEY)
    return joined.select(
        *[joined[k] for k in cell_keys],
        months_since_start=joined.months_since_start,
        mrr=joined.cohort_mrr_k.cast(MONEY),
        cohort_mrr=cohort_mrr,
        retention=ratio(joined.cohort_mrr_k, cohort_mrr),
    ).order_by([*cell_keys, "months_since_start"])


def survivor_counts(
    mrr: ir.Table, accounts: ir.Table | None = None, by: str | None = None
) -> ir.Table:
    """`[by,] cohort_month, months_since_start, survivors, cohort_size`: accounts of the cohort
    paying at every month end from the start month to start + k (first spell only, so the
    counts never rise: the sBG model's survivor curve s_0, s_1, …)."""
    starts, keys = _cohorts(mrr, accounts, by)
    sizes = starts.group_by(keys).aggregate(cohort_size=starts.account.count())
    # Per account, the first k at whose month end it was no longer paying (its first lapse).
    per_account = mrr.group_by(["account", "month"]).aggregate(paying=(mrr.mrr > 0).any())
    rows = per_account.join(starts, "account")
    rows = rows.filter((rows["month"] > rows.cohort_month) & ~rows.paying)
    lapses = rows.group_by("account").aggregate(
        lapse=(month_index(rows["month"]) - month_index(rows.cohort_month)).min()
    )
    with_lapse = starts.left_join(lapses, "account")
    spells = with_lapse.select(*[with_lapse[k] for k in keys], lapse=with_lapse.lapse)
    cells = _offsets(sizes, mrr, keys)
    survived = cells.join(spells, keys)
    alive = survived.lapse.isnull() | (survived.lapse > survived.months_since_start)
    counts = survived.group_by([*keys, "months_since_start", "cohort_size"]).aggregate(
        survivors=alive.sum()
    )
    return counts.select(
        *keys,
        "months_since_start",
        survivors=counts.survivors.cast("int64"),
        cohort_size=counts.cohort_size.cast("int64"),
    ).order_by([*keys, "months_since_start"])

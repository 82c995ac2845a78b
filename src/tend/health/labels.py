"""Churn labels: did an account paying on day D stop paying within the horizon?

The label follows kpis.md's logo churn ("paying at the start and not at the end"): an account is
`paying` on day D when an item term with a positive monthly amount counts at the end of D (the
first instant of D + 1, as `mrr_at_month_ends` takes a month's state at its end), and `churned`
when it is paying on D and not paying at the end of D + horizon. An account that stops and comes
back inside the horizon is therefore not churned: what a CSM must prevent is the loss that lasts.
`accounts.churned_at` is not used; the revenue is the fact.

Censoring: a day whose horizon ends after `as_of` (the end of the data) has `churned` null, as
has a day on which the account was not paying (nothing to lose). Days that begin at or after
`as_of` have no row at all.

Worked example (horizon 3 days, as_of 2025-01-10 00:00): account `a` pays from 01-01 and ends at
01-05 00:00, comes back 01-07 00:00. Day 01-01: paying; end of 01-04 is 01-05 00:00, when the
term has just ended, so churned. Day 01-02: end of 01-05 (01-06) not paying: churned. Day 01-03:
end of 01-06 is 01-07 00:00, the new term counts: not churned (came back). Day 01-04: it stops
paying at the end of the day (01-05 00:00): not paying, churned null. Day 01-07: horizon end
01-11 00:00 is after as_of: censored, null.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta

import ibis
import pyarrow as pa
import pyarrow.compute as pc

from tend.metrics.inputs import INSTANT, Inputs
from tend.metrics.revenue import item_monthly_amounts

DEFAULT_HORIZON_DAYS = 90

LABEL_SCHEMA = pa.schema(
    [
        ("account", pa.string()),
        ("day", pa.date32()),
        ("paying", pa.bool_()),
        ("churned", pa.bool_()),
    ]
)
"""`churned` is null when the account is not paying on `day` or the horizon is censored."""

# Instants that record something that happened (never a scheduled future one such as
# `cancel_at`, `ended_at` or `current_period_end`), per input table.
RECORDED_INSTANTS: dict[str, tuple[str, ...]] = {
    "subscriptions": ("started_at", "canceled_at"),
    "subscription_items": ("started_at",),
    "invoices": ("issued_at", "paid_at"),
    "tickets": ("opened_at", "resolved_at"),
    "touchpoints": ("occurred_at",),
    "survey_responses": ("answered_at",),
}
RECORDED_DAYS: tuple[str, ...] = ("usage_daily", "performance_daily")


def start_of(day: date) -> datetime:
    """The first instant (UTC) of `day`."""
    return datetime.combine(day, time.min, UTC)


def data_end(inputs: Inputs) -> datetime | None:
    """The latest instant the inputs record anything at (a daily rollup counts at its day's end);
    the default `as_of` of the labels. None when the inputs are empty."""
    latest: list[datetime] = []
    for name, columns in RECORDED_INSTANTS.items():
        table: ibis.Table = getattr(inputs, name)
        row = table.aggregate(**{column: table[column].max() for column in columns})
        latest.extend(
            value for value in inputs.con.to_pyarrow(row).to_pylist()[0].values() if value
        )
    for name in RECORDED_DAYS:
        table = getattr(inputs, name)
        last_day = inputs.con.to_pyarrow(table.aggregate(last=table.day.max()))["last"][0].as_py()
        if last_day is not None:
            latest.append(start_of(last_day + timedelta(days=1)))
    return max(latest) if latest else None


def _day_table(days: Sequence[date], horizon_days: int) -> ibis.Table:
    """`day` with `day_end` (start of day + 1) and `horizon_end` (start of day + horizon + 1)."""
    unique = sorted(set(days))
    return ibis.memtable(
        pa.table(
            {
                "day": pa.array(unique, pa.date32()),
                "day_end": pa.array([start_of(d + timedelta(days=1)) for d in unique], INSTANT),
                "horizon_end": pa.array(
                    [start_of(d + timedelta(days=horizon_days + 1)) for d in unique], INSTANT
                ),
            }
        )
    )


def _paying_at(terms: ibis.Table, days: ibis.Table, instant: str, flag: str) -> ibis.Table:
    """Distinct `account, day` pairs with a paying term counting at `days[instant]`, flagged."""
    at = days[instant]
    live = terms.join(
        days, [terms.counts_from <= at, terms.counts_until.isnull() | (terms.counts_until > at)]
    )
    return live.select("account", "day").distinct().mutate(**{flag: ibis.literal(True)})


def churn_labels(
    inputs: Inputs,
    days: Sequence[date],
    horizon_days: int = DEFAULT_HORIZON_DAYS,
    as_of: datetime | None = None,
) -> pa.Table:
    """LABEL_SCHEMA rows for every account (of `accounts` or with an item term) and each of
    `days` that began before `as_of` (default: `data_end(inputs)`), sorted by account and day."""
    if horizon_days < 1:
        raise ValueError("the horizon must be at least one day")
    known = as_of if as_of is not None else data_end(inputs)
    if known is None or not days:
        return LABEL_SCHEMA.empty_table()
    day_table = _day_table([d for d in days if start_of(d) < known], horizon_days)
    terms = item_monthly_amounts(inputs.subscription_items, inputs.subscriptions)
    paying_terms = terms.filter(terms.monthly_amount > 0).select(
        "account", "counts_from", "counts_until"
    )
    accounts = ibis.union(
        inputs.accounts.select("account"), paying_terms.select("account"), distinct=True
    )
    grid = accounts.filter(accounts.account.notnull()).cross_join(day_table)
    now = _paying_at(paying_terms, day_table, "day_end", "now")
    later = _paying_at(paying_terms, day_table, "horizon_end", "later")
    joined = grid.left_join(now, ["account", "day"]).select(
        "account", "day", "horizon_end", now=now.now
    )
    joined = joined.left_join(later, ["account", "day"]).select(
        "account", "day", "horizon_end", "now", later=later.later
    )
    paying = joined.now.notnull()
    censored = joined.horizon_end > ibis.literal(known, type="timestamp('UTC')")
    labelled = joined.select(
        "account",
        "day",
        paying=paying,
        churned=ibis.ifelse(paying & ~censored, joined.later.isnull(), ibis.null("boolean")),
    ).order_by(["account", "day"])
    return inputs.con.to_pyarrow(labelled).cast(LABEL_SCHEMA)


def labelled_paying(labels: pa.Table) -> pa.Table:
    """The account-days that can be scored against churn: paying and not censored."""
    return labels.filter(pc.and_(labels["paying"], labels["churned"].is_valid()))


def week_index(days: pa.ChunkedArray | pa.Array) -> pa.Array:
    """Monday-based week numbers of date32 `days` (1970-01-01 was a Thursday)."""
    since_epoch = pc.cast(days, pa.int32())
    return pc.floor(pc.divide(pc.cast(pc.add(since_epoch, 3), pa.float64()), 7.0)).cast(pa.int64())


def one_day_per_week(table: pa.Table) -> pa.Table:
    """Only each account's earliest row in each Monday-based week.

    Consecutive days of one account are nearly the same observation; keeping one a week stops a
    long-lived account from weighing 7 times more and keeps the counts honest, whatever the
    snapshot cadence (daily or weekly snapshots give the same sample).
    """
    if table.num_rows == 0:
        return table
    keyed = table.append_column("_week", week_index(table["day"]))
    first = keyed.group_by(["account", "_week"]).aggregate([("day", "min")])
    first = pa.table({"account": first["account"], "day": first["day_min"]})
    kept = table.join(first, ["account", "day"], join_type="inner")
    return kept.select(table.column_names).sort_by([("account", "ascending"), ("day", "ascending")])

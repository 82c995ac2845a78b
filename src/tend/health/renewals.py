"""Renewal forecast: the renewals due in the next N days, the probability each renews and the MRR
expected to renew (health.md "Scores that predict"; kpis.md "Renewal rate").

A renewal is a live subscription's `current_period_end` within (as_of, as_of + N days]; a
subscription without one renews on the next anniversary of its start when it has a yearly item
(every `interval_count` years). `intervals` can keep only subscriptions billed on some intervals
(e.g. `("year",)` for annual contracts: monthly plans otherwise "renew" every month).

`mrr_due` is the subscription's MRR at as_of (kpis.md's normalised monthly amounts, trials 0),
in its own currency; subscriptions paying nothing are left out. A subscription already set to
end (cancelled, or `cancel_at` on or before the renewal) renews with probability 0.
Otherwise the probability to renew is 1 - the account's churn probability: an approximation, as
that is the chance of not paying 90 days on (`churn_model`), not of this renewal failing; it is
best when N is near the model's horizon. Without a probability for the account it is null.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta

import ibis
import pyarrow as pa

from tend.metrics.inputs import Inputs
from tend.metrics.revenue import item_monthly_amounts

RENEWAL_SCHEMA = pa.schema(
    [
        ("account", pa.string()),
        ("subscription", pa.string()),
        ("renewal_date", pa.date32()),
        ("currency", pa.string()),
        ("mrr_due", pa.float64()),
        ("cancel_scheduled", pa.bool_()),
        ("probability_to_renew", pa.float64()),
        ("expected_renewing_mrr", pa.float64()),
    ]
)
"""One row per renewal due, by renewal date then account; money in the subscription's currency."""


def add_years(day: datetime, years: int) -> datetime:
    """`day` moved by whole years; 29 February becomes 28 February in a common year."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def next_anniversary(started_at: datetime, every_years: int, after: datetime) -> datetime:
    """The first start + k * every_years years (k >= 1) strictly after `after`."""
    step = max(every_years, 1)
    k = max(1, (after.year - started_at.year) // step)
    while add_years(started_at, k * step) <= after:
        k += 1
    while k > 1 and add_years(started_at, (k - 1) * step) > after:
        k -= 1
    return add_years(started_at, k * step)


def _live_subscriptions(inputs: Inputs, as_of: datetime) -> ibis.Table:
    """Subscriptions paying at as_of with their MRR, currency, dates and yearly term (if any)."""
    at = ibis.literal(as_of, type="timestamp('UTC')")
    terms = item_monthly_amounts(inputs.subscription_items, inputs.subscriptions)
    counting = terms.filter(
        terms.counts_from <= at, terms.counts_until.isnull() | (terms.counts_until > at)
    )
    mrr = counting.group_by("subscription").aggregate(mrr_due=counting.monthly_amount.sum())
    items = inputs.subscription_items
    yearly = (
        items.filter(items.interval == "year")
        .group_by("subscription")
        .aggregate(every_years=items.interval_count.max())
    )
    intervals = items.group_by("subscription").aggregate(intervals=items.interval.collect())
    subs = inputs.subscriptions
    joined = subs.join(mrr, "subscription").left_join(yearly, "subscription")
    joined = joined.select(
        "account",
        "subscription",
        "status",
        "currency",
        "started_at",
        "current_period_end",
        "cancel_at",
        "canceled_at",
        "mrr_due",
        "every_years",
    )
    joined = joined.left_join(intervals, "subscription").drop("subscription_right")
    return joined.filter(joined.mrr_due > 0)


def renewal_forecast(
    inputs: Inputs,
    as_of: datetime,
    within_days: int,
    churn_probability: pa.Table | None = None,
    intervals: Collection[str] | None = None,
) -> pa.Table:
    """RENEWAL_SCHEMA rows for renewals in (as_of, as_of + within_days]; `churn_probability`
    has `account, churn_probability` (e.g. `ChurnModel.predict`'s output)."""
    horizon_end = as_of + timedelta(days=within_days)
    rows = inputs.con.to_pyarrow(_live_subscriptions(inputs, as_of)).to_pylist()
    probabilities: dict[str, float] = {}
    if churn_probability is not None:
        for row in churn_probability.select(["account", "churn_probability"]).to_pylist():
            if row["churn_probability"] is not None:
                probabilities[row["account"]] = float(row["churn_probability"])
    renewals = []
    for row in rows:
        if intervals is not None and not set(row["intervals"] or []) & set(intervals):
            continue
        renews_at = row["current_period_end"]
        if renews_at is None and row["every_years"] is not None and row["started_at"]:
            renews_at = next_anniversary(row["started_at"], int(row["every_years"]), as_of)
        if renews_at is None or not as_of < renews_at <= horizon_end:
            continue
        cancel_at = row["cancel_at"]
        scheduled = (
            row["status"] == "canceled"
            or row["canceled_at"] is not None
            or (cancel_at is not None and cancel_at <= renews_at)
        )
        mrr_due = float(row["mrr_due"])
        churn = probabilities.get(row["account"])
        probability = 0.0 if scheduled else None if churn is None else 1.0 - churn
        renewals.append(
            {
                "account": row["account"],
                "subscription": row["subscription"],
                "renewal_date": renews_at.date(),  # instants are UTC
                "currency": row["currency"],
                "mrr_due": mrr_due,
                "cancel_scheduled": scheduled,
                "probability_to_renew": probability,
                "expected_renewing_mrr": None if probability is None else mrr_due * probability,
            }
        )
    renewals.sort(key=lambda r: (r["renewal_date"], r["account"], r["subscription"]))
    return pa.Table.from_pylist(renewals, schema=RENEWAL_SCHEMA)

"""The lists the score drives (health.md "Lists the score drives"; seed 001 "how to use the score").

Each list is a pure function of the engine's inputs (only what is known before `as_of`) and a
snapshots table `account: string, day: date32, score: float64, band: string` (optional
`churn_probability: float64`); an account's state is its latest snapshot on or before as_of's
day. Advocates, upsell candidates and at-risk accounts are paying accounts only (an item term
with a positive amount counts at as_of). Band names default to `healthy` and `unhealthy`; a
scorecard with other names passes its green and red bands' names. Each returns an Arrow table
with the schema beside it.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa
from scipy.stats import ks_2samp

from tend.health.learning import labelled_dataset
from tend.health.renewals import RENEWAL_SCHEMA, renewal_forecast
from tend.metrics.inputs import INSTANT, Inputs
from tend.metrics.revenue import item_monthly_amounts
from tend.metrics.voice import DETRACTOR_MAX, NPS_SCALE, PROMOTER_MIN

HEALTHY_BANDS: tuple[str, ...] = ("healthy",)
RED_BANDS: tuple[str, ...] = ("unhealthy",)
SCORE_CHANGE_DAYS = 30
USAGE_WINDOW_DAYS = 30

ADVOCATE_SCHEMA = pa.schema(
    [
        ("account", pa.string()),
        ("name", pa.string()),
        ("score", pa.float64()),
        ("nps_score", pa.int64()),
        ("nps_answered_at", INSTANT),
        ("tenure_months", pa.int64()),
    ]
)
"""Healthy paying accounts whose latest NPS answer (any contact) is a promoter's, with at least
the minimum whole months since they first paid; best score first."""

UPSELL_SCHEMA = pa.schema(
    [
        ("account", pa.string()),
        ("name", pa.string()),
        ("score", pa.float64()),
        ("seats", pa.int64()),
        ("active_users_30d", pa.int64()),
        ("active_users_prior_30d", pa.int64()),
        ("seat_utilisation", pa.float64()),
        ("usage_growth", pa.float64()),
        ("reasons", pa.list_(pa.string())),
    ]
)
"""Healthy paying accounts near their seats (`seats`: utilisation at or above the minimum) or
growing (`usage_growth`: active users of the last 30 days over the 30 before, minus 1, at or above
the minimum); the 30 days are the complete days before as_of's. Best score first."""

TOPIC_TYPE = pa.struct([("topic", pa.string()), ("tickets", pa.int64())])
COMMENT_TYPE = pa.struct(
    [("answered_at", INSTANT), ("score", pa.int64()), ("comment", pa.string())]
)
AT_RISK_SCHEMA = pa.schema(
    [
        ("account", pa.string()),
        ("name", pa.string()),
        ("score", pa.float64()),
        ("band", pa.string()),
        ("score_change_30d", pa.float64()),
        ("churn_probability", pa.float64()),
        ("reasons", pa.list_(pa.string())),
        ("ticket_topics", pa.list_(TOPIC_TYPE)),
        ("detractor_comments", pa.list_(COMMENT_TYPE)),
    ]
)
"""Paying accounts in the red band (`unhealthy`) or whose score fell by at least the minimum
since their latest snapshot 30 days or more before (`score_drop`); their pain points: the most
frequent ticket topics of the last 90 days and the latest detractor verbatims. Lowest first."""

COLLECTIONS_SCHEMA = pa.schema(
    [
        ("account", pa.string()),
        ("name", pa.string()),
        ("currency", pa.string()),
        ("overdue_amount", pa.float64()),
        ("overdue_invoices", pa.int64()),
        ("days_overdue_max", pa.int64()),
        ("oldest_due_at", INSTANT),
    ]
)
"""Per account and currency, the invoices past due and unpaid at as_of (as in
metrics/billing_invoices.py: not draft, void or uncollectible; owed = amount due, less undated
partial payments); longest overdue first."""

RENEWALS_DUE_SCHEMA = pa.schema(
    [*RENEWAL_SCHEMA, ("name", pa.string()), ("score", pa.float64()), ("band", pa.string())]
)
"""`renewals.RENEWAL_SCHEMA` with the account's name and latest score and band."""

PATTERN_SCHEMA = pa.schema(
    [
        ("measure", pa.string()),
        ("churned_rows", pa.int64()),
        ("retained_rows", pa.int64()),
        ("churned_mean", pa.float64()),
        ("retained_mean", pa.float64()),
        ("standardised_mean_difference", pa.float64()),
        ("ks_statistic", pa.float64()),
        ("ks_pvalue", pa.float64()),
    ]
)
"""Per measure, churned vs retained account-days (paying, labelled, one a week per account):
(mean churned - mean retained) / the pooled standard deviation, and the two-sample
Kolmogorov-Smirnov statistic; largest KS first. The p-value ignores that an account's weeks are
correlated, so read it as a ranking aid, not a test."""


def _frame(inputs: Inputs, expr: ibis.Table) -> pd.DataFrame:
    return inputs.con.to_pyarrow(expr).to_pandas()


def _instant(as_of: datetime) -> ibis.Value:
    return ibis.literal(as_of, type="timestamp('UTC')")


def latest_snapshots(snapshots: pa.Table, as_of: datetime) -> pd.DataFrame:
    """Each account's latest snapshot on or before as_of's day, with `score_change_30d` against
    its latest snapshot at least 30 days before that one (null without one)."""
    frame = snapshots.to_pandas()
    if "churn_probability" not in frame:
        frame["churn_probability"] = np.nan
    frame = frame[frame["day"] <= as_of.date()].sort_values(["account", "day"])
    latest = frame.groupby("account", sort=True).tail(1).set_index("account")
    earlier = frame.merge(latest[["day"]].rename(columns={"day": "latest_day"}), on="account")
    cutoff = earlier["latest_day"] - timedelta(days=SCORE_CHANGE_DAYS)
    earlier = earlier[earlier["day"] <= cutoff].groupby("account").tail(1).set_index("account")
    latest["score_change_30d"] = latest["score"] - earlier["score"].reindex(latest.index)
    return latest.reset_index()


def _names(inputs: Inputs) -> dict[str, str | None]:
    accounts = _frame(inputs, inputs.accounts.select("account", "name"))
    return dict(zip(accounts["account"], accounts["name"], strict=True))


def _paying(inputs: Inputs, as_of: datetime) -> pd.DataFrame:
    """Accounts paying at as_of with `first_paid_at`."""
    terms = item_monthly_amounts(inputs.subscription_items, inputs.subscriptions)
    paid = terms.filter(terms.monthly_amount > 0, terms.counts_from <= _instant(as_of))
    live = paid.counts_until.isnull() | (paid.counts_until > _instant(as_of))
    per_account = paid.group_by("account").aggregate(
        first_paid_at=paid.counts_from.min(), paying=live.any()
    )
    frame = _frame(inputs, per_account)
    return frame[frame["paying"]].drop(columns="paying")


def _with_names(frame: pd.DataFrame, inputs: Inputs) -> pd.DataFrame:
    names = _names(inputs)
    return frame.assign(name=[names.get(a) for a in frame["account"]])


def _table(frame: pd.DataFrame, schema: pa.Schema) -> pa.Table:
    rows = frame.reindex(columns=schema.names).astype(object)
    rows = rows.where(pd.notna(rows), None) if len(rows) else rows
    return pa.Table.from_pylist(rows.to_dict("records"), schema=schema)


def whole_months(since: datetime, until: datetime) -> int:
    """Whole calendar months from `since` to `until` (a month is complete on the same day)."""
    months = (until.year - since.year) * 12 + until.month - since.month
    return months - (1 if (until.day, until.time()) < (since.day, since.time()) else 0)


def advocates(
    inputs: Inputs,
    snapshots: pa.Table,
    as_of: datetime,
    min_tenure_months: int = 6,
    healthy_bands: Collection[str] = HEALTHY_BANDS,
) -> pa.Table:
    """ADVOCATE_SCHEMA rows: healthy, promoter, tenured paying accounts."""
    _, low, high = NPS_SCALE
    answers = inputs.survey_responses
    answers = answers.filter(
        answers.kind == NPS_SCALE[0],
        answers.scale_min == low,
        answers.scale_max == high,
        answers.score.between(low, high),
        answers.answered_at < _instant(as_of),
        answers.account.notnull(),
    )
    latest_first = ibis.window(
        group_by=answers.account, order_by=[answers.answered_at.desc(), answers.response.desc()]
    )
    ranked = answers.mutate(rank=ibis.row_number().over(latest_first))
    nps = _frame(
        inputs,
        ranked.filter(ranked["rank"] == 0).select(
            "account", nps_score="score", nps_answered_at="answered_at"
        ),
    )
    frame = latest_snapshots(snapshots, as_of)
    frame = frame[frame["band"].isin(healthy_bands)].merge(_paying(inputs, as_of), on="account")
    frame = frame.merge(nps[nps["nps_score"] >= PROMOTER_MIN], on="account")
    frame["tenure_months"] = [whole_months(t, as_of) for t in frame["first_paid_at"]]
    frame = frame[frame["tenure_months"] >= min_tenure_months]
    frame = _with_names(frame, inputs).sort_values(["score", "account"], ascending=[False, True])
    return _table(frame, ADVOCATE_SCHEMA)


def _active_users(inputs: Inputs, as_of: datetime) -> pd.DataFrame:
    """`account, active_users_30d, active_users_prior_30d` over the complete days before as_of."""
    end = as_of.date()
    usage = inputs.usage_daily
    windows = usage.mutate(
        current=(usage.day >= end - timedelta(days=USAGE_WINDOW_DAYS)) & (usage.day < end),
        prior=(usage.day >= end - timedelta(days=2 * USAGE_WINDOW_DAYS))
        & (usage.day < end - timedelta(days=USAGE_WINDOW_DAYS)),
    )
    windows = windows.filter(windows.current | windows.prior)
    counts = windows.group_by("account").aggregate(
        active_users_30d=windows.user.nunique(where=windows.current),
        active_users_prior_30d=windows.user.nunique(where=windows.prior),
    )
    return _frame(inputs, counts)


def upsell_candidates(
    inputs: Inputs,
    snapshots: pa.Table,
    as_of: datetime,
    min_seat_utilisation: float = 0.9,
    min_usage_growth: float = 0.2,
    healthy_bands: Collection[str] = HEALTHY_BANDS,
) -> pa.Table:
    """UPSELL_SCHEMA rows: healthy paying accounts near their seats or growing."""
    frame = latest_snapshots(snapshots, as_of)
    frame = frame[frame["band"].isin(healthy_bands)].merge(_paying(inputs, as_of), on="account")
    seats = _frame(inputs, inputs.accounts.select("account", "seats"))
    frame = frame.merge(seats, on="account", how="left").merge(
        _active_users(inputs, as_of), on="account", how="left"
    )
    for column in ("active_users_30d", "active_users_prior_30d"):
        frame[column] = frame[column].fillna(0).astype(int)
    seats_known = frame["seats"].notna() & (frame["seats"] > 0)
    frame["seat_utilisation"] = np.where(
        seats_known, frame["active_users_30d"] / frame["seats"].where(seats_known, 1), np.nan
    )
    prior = frame["active_users_prior_30d"]
    frame["usage_growth"] = np.where(
        prior > 0, frame["active_users_30d"] / prior.where(prior > 0, 1) - 1, np.nan
    )
    near_seats = frame["seat_utilisation"] >= min_seat_utilisation
    growing = frame["usage_growth"] >= min_usage_growth
    frame["reasons"] = [
        [reason for reason, hit in (("seats", s), ("usage_growth", g)) if hit]
        for s, g in zip(near_seats, growing, strict=True)
    ]
    frame = frame[near_seats | growing]
    frame = _with_names(frame, inputs).sort_values(["score", "account"], ascending=[False, True])
    return _table(frame, UPSELL_SCHEMA)


def _ticket_topics(inputs: Inputs, as_of: datetime, days: int, top: int) -> dict[str, list[Any]]:
    tickets = inputs.tickets
    recent = tickets.filter(
        tickets.opened_at < _instant(as_of),
        tickets.opened_at >= _instant(as_of - timedelta(days=days)),
        tickets.topic.notnull(),
    )
    counts = _frame(inputs, recent.group_by(["account", "topic"]).aggregate(tickets=recent.count()))
    counts = counts.sort_values(["account", "tickets", "topic"], ascending=[True, False, True])
    return {
        account: group.head(top)[["topic", "tickets"]].to_dict("records")
        for account, group in counts.groupby("account", sort=False)
    }


def _detractor_comments(
    comments: pa.Table | None, as_of: datetime, days: int, count: int
) -> dict[str, list[Any]]:
    if comments is None or comments.num_rows == 0:
        return {}
    frame = comments.select(["account", "answered_at", "score", "comment"]).to_pandas()
    since = pd.Timestamp(as_of - timedelta(days=days))
    frame = frame[
        (frame["score"] <= DETRACTOR_MAX)
        & (frame["answered_at"] < pd.Timestamp(as_of))
        & (frame["answered_at"] >= since)
        & (frame["comment"].fillna("").str.strip() != "")
    ].sort_values(["account", "answered_at"], ascending=[True, False])
    return {
        account: [
            {
                "answered_at": r.answered_at.to_pydatetime(),
                "score": int(r.score),
                "comment": r.comment,
            }
            for r in group.head(count).itertuples()
        ]
        for account, group in frame.groupby("account", sort=False)
    }


def at_risk(
    inputs: Inputs,
    snapshots: pa.Table,
    as_of: datetime,
    min_score_drop: float = 15.0,
    comments: pa.Table | None = None,
    topic_days: int = 90,
    top_topics: int = 3,
    comment_days: int = 180,
    latest_comments: int = 3,
    red_bands: Collection[str] = RED_BANDS,
) -> pa.Table:
    """AT_RISK_SCHEMA rows. `comments` holds `account, answered_at, score, comment` (NPS 0-10
    answers with their verbatim; detractors score 6 or less): the engine's inputs have no text."""
    frame = latest_snapshots(snapshots, as_of).merge(_paying(inputs, as_of), on="account")
    red = frame["band"].isin(red_bands)
    dropped = frame["score_change_30d"] <= -min_score_drop
    frame["reasons"] = [
        [reason for reason, hit in (("unhealthy", r), ("score_drop", d)) if hit]
        for r, d in zip(red, dropped, strict=True)
    ]
    frame = frame[red | dropped]
    topics = _ticket_topics(inputs, as_of, topic_days, top_topics)
    verbatims = _detractor_comments(comments, as_of, comment_days, latest_comments)
    frame["ticket_topics"] = [topics.get(a, []) for a in frame["account"]]
    frame["detractor_comments"] = [verbatims.get(a, []) for a in frame["account"]]
    frame = _with_names(frame, inputs).sort_values(["score", "account"])
    return _table(frame, AT_RISK_SCHEMA)


def collections(inputs: Inputs, as_of: datetime) -> pa.Table:
    """COLLECTIONS_SCHEMA rows: overdue receivables per account and currency."""
    at = _instant(as_of)
    invoices = inputs.invoices
    unpaid = invoices.filter(
        invoices.issued_at < at,
        ~invoices.status.isin(["draft", "void", "uncollectible"]),
        invoices.paid_at.isnull() | (invoices.paid_at >= at),
        invoices.due_at < at,
    )
    due = unpaid.amount_due.cast("float64").coalesce(0.0)
    paid = unpaid.amount_paid.cast("float64").coalesce(0.0)
    unpaid = unpaid.mutate(owed=ibis.ifelse(unpaid.paid_at.isnull(), due - paid, due))
    unpaid = unpaid.filter(unpaid.owed > 0)
    frame = _frame(
        inputs,
        unpaid.group_by(["account", "currency"]).aggregate(
            overdue_amount=unpaid.owed.sum(),
            overdue_invoices=unpaid.count(),
            oldest_due_at=unpaid.due_at.min(),
        ),
    )
    seconds = [(as_of - t.to_pydatetime()).total_seconds() for t in frame["oldest_due_at"]]
    frame["days_overdue_max"] = [int(s // 86_400) for s in seconds]
    frame = _with_names(frame, inputs).sort_values(
        ["days_overdue_max", "overdue_amount", "account"], ascending=[False, False, True]
    )
    return _table(frame, COLLECTIONS_SCHEMA)


def renewals_due(
    inputs: Inputs,
    snapshots: pa.Table,
    as_of: datetime,
    within_days: int = 90,
    churn_probability: pa.Table | None = None,
    intervals: Collection[str] | None = None,
) -> pa.Table:
    """RENEWALS_DUE_SCHEMA rows: `renewal_forecast` with each account's latest score and band;
    without `churn_probability` the snapshots' `churn_probability` column is used, if any."""
    latest = latest_snapshots(snapshots, as_of)
    if churn_probability is None:
        known = latest[latest["churn_probability"].notna()]
        churn_probability = pa.table(
            {
                "account": pa.array(known["account"], pa.string()),
                "churn_probability": pa.array(known["churn_probability"], pa.float64()),
            }
        )
    forecast = renewal_forecast(inputs, as_of, within_days, churn_probability, intervals)
    frame = forecast.to_pandas().merge(
        latest[["account", "score", "band"]], on="account", how="left"
    )
    return _table(_with_names(frame, inputs), RENEWALS_DUE_SCHEMA)


def patterns(measure_values: pa.Table, labels: pa.Table, top: int = 10) -> pa.Table:
    """PATTERN_SCHEMA rows for the `top` measures whose distributions differ most between churned
    and retained account-days; measures with fewer than two values on a side are left out."""
    dataset = labelled_dataset(measure_values, labels)
    rows = []
    for measure in dataset.features.columns:
        values = dataset.features[measure].to_numpy(dtype=float)
        churned = values[dataset.churned & ~np.isnan(values)]
        retained = values[~dataset.churned & ~np.isnan(values)]
        if len(churned) < 2 or len(retained) < 2:
            continue
        pooled = np.sqrt((churned.var(ddof=1) + retained.var(ddof=1)) / 2)
        difference = churned.mean() - retained.mean()
        test = ks_2samp(churned, retained)
        rows.append(
            {
                "measure": measure,
                "churned_rows": len(churned),
                "retained_rows": len(retained),
                "churned_mean": float(churned.mean()),
                "retained_mean": float(retained.mean()),
                "standardised_mean_difference": float(difference / pooled) if pooled else None,
                "ks_statistic": float(test.statistic),
                "ks_pvalue": float(test.pvalue),
            }
        )
    rows.sort(key=lambda r: (-r["ks_statistic"], -abs(r["standardised_mean_difference"] or 0)))
    return pa.Table.from_pylist(rows[:top], schema=PATTERN_SCHEMA)

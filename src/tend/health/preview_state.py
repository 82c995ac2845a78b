"""What the scorecard preview keeps between requests: the accounts, the backtest's sample of
accounts and weekly days with their churn labels, and the raw values read or computed so far
(`preview_raws.Frame`), one frame for the day shown and one for the backtest.

The backtest runs on a deterministic sample so that its cost does not grow with the book: at
most `BACKTEST_ACCOUNTS` of the accounts a scorecard applies to (those whose id hashes lowest,
so the same accounts every time and mostly the same as accounts come and go) on every
`BACKTEST_WEEKS_APART`-th of the weekly labelled days, counted back from the latest. The page
says how many of each it used.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Any

import pyarrow as pa
from django.db.models import Max

from tend.billing.models import Invoice, Subscription, SubscriptionItem
from tend.health.labels import churn_labels, start_of
from tend.health.models import HealthSnapshot
from tend.health.prediction import HISTORY_WEEKS
from tend.health.preview_raws import Frame
from tend.metrics.inputs import duckdb_inputs
from tend.support.models import Ticket, Touchpoint
from tend.surveys.models import SurveyResponse
from tend.usage.models import UsageRollup

BACKTEST_ACCOUNTS = 1_000
"""Most accounts a backtest scores: a larger book is sampled."""
BACKTEST_WEEKS_APART = 4
"""The backtest scores every 4th of the weekly labelled days: 26 days over two years."""
STORED_DAY_LOOKBACK = 7
"""Without a day asked for, the preview shows today, or the latest day with stored snapshots
when today has none yet (the daily scoring has not run), up to this many days back."""


@cache
def sample_rank(account: str) -> int:
    """A stable pseudo-random rank of an account id (the backtest keeps the lowest)."""
    return int.from_bytes(hashlib.blake2b(account.encode(), digest_size=8).digest(), "big")


def sampled(accounts: pa.Table, limit: int = BACKTEST_ACCOUNTS) -> pa.Table:
    """At most `limit` of `accounts`: those of lowest `sample_rank`, in their table order."""
    if accounts.num_rows <= limit:
        return accounts
    names = accounts["account"].to_pylist()
    kept = set(sorted(names, key=sample_rank)[:limit])
    return accounts.filter(pa.array([name in kept for name in names]))


def recorded_end() -> datetime | None:
    """The latest instant the app data records anything at (a day's usage counts at its end):
    `labels.data_end` read with aggregates in the database instead of from loaded tables."""
    instants = [
        (Subscription, ("started_at", "canceled_at")),
        (SubscriptionItem, ("started_at",)),
        (Invoice, ("issued_at", "paid_at")),
        (Ticket, ("opened_at", "resolved_at")),
        (Touchpoint, ("occurred_at",)),
        (SurveyResponse, ("answered_at",)),
    ]
    latest: list[datetime] = []
    for model, columns in instants:
        found = model._default_manager.aggregate(**{c: Max(c) for c in columns})
        latest += [value for value in found.values() if value is not None]
    used = UsageRollup.objects.exclude(user_id="").filter(account__isnull=False)
    last_day = used.aggregate(last=Max("day"))["last"]
    if last_day is not None:
        latest.append(start_of(last_day + timedelta(days=1)))
    return max(latest) if latest else None


def backtest_days(as_of: datetime | None, horizon_days: int) -> tuple[list[date], list[date]]:
    """The weekly labelled days (`prediction.weekly_days`) and the sample of them scored."""
    if as_of is None:
        return [], []
    last = as_of.date() - timedelta(days=horizon_days)
    weekly = sorted(last - timedelta(weeks=n) for n in range(HISTORY_WEEKS))
    chosen = sorted(weekly[::-1][::BACKTEST_WEEKS_APART])
    return weekly, chosen


def latest_stored_day(today: date) -> date:
    """Today, or the latest day with stored snapshots when today has none (a week back)."""
    recent = HealthSnapshot.objects.filter(
        day__lte=today, day__gte=today - timedelta(days=STORED_DAY_LOOKBACK)
    ).aggregate(last=Max("day"))["last"]
    return recent if recent is not None else today


@dataclass
class PreviewState:
    """The preview's data of one moment (`stamp`), filled in as scorecards are previewed."""

    stamp: tuple[Any, ...]
    loaded_at: float
    loaded_at_utc: datetime
    accounts: pa.Table
    horizon_days: int
    as_of: datetime | None
    weekly: list[date]
    history: Frame
    days: dict[date, Frame] = field(default_factory=dict)
    labels: pa.Table | None = None
    labelled: set[str] = field(default_factory=set)

    def frame_of(self, day: date) -> Frame:
        if day not in self.days:
            self.days[day] = Frame([day])
        return self.days[day]

    def labels_for(self, accounts: list[str]) -> pa.Table:
        """Churn labels of the backtest days for `accounts` (and those labelled before):
        computed from the billing data of those accounts alone."""
        if self.labels is None or not set(accounts) <= self.labelled:
            from tend.metrics import load

            self.labelled |= set(accounts)
            wanted = sorted(self.labelled)
            inputs = duckdb_inputs(
                {
                    "accounts": load.read_accounts(wanted),
                    "subscriptions": load.read_subscriptions(wanted),
                    "subscription_items": load.read_subscription_items(wanted),
                }
            )
            self.labels = churn_labels(
                inputs, self.history.days, self.horizon_days, as_of=self.as_of
            )
        return self.labels


def new_state(stamp: tuple[Any, ...], loaded_at: float, horizon_days: int) -> PreviewState:
    from tend.metrics import load

    as_of = recorded_end()
    weekly, chosen = backtest_days(as_of, horizon_days)
    return PreviewState(
        stamp=stamp,
        loaded_at=loaded_at,
        loaded_at_utc=datetime.now(UTC),
        accounts=load.read_accounts(),
        horizon_days=horizon_days,
        as_of=as_of,
        weekly=weekly,
        history=Frame(chosen),
    )

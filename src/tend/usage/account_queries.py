"""Reads of one account's product usage for its page, from the usage rollups (never raw events):
daily active users, sessions and events, feature adoption, and weekly summaries for the
timeline. Each read is one query over the account's rollup rows in the window."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from django.db.models import Count, Q, Sum
from django.utils import timezone

from tend.customers.models import Account
from tend.usage.models import UsageRollup

FEATURES_SHOWN = 12


@dataclass(frozen=True)
class UsageDay:
    """One UTC day of an account's usage: distinct known users, sessions and events."""

    day: date
    active_users: int
    sessions: int
    events: int


def _last_day(at: datetime | None) -> date:
    return (at if at is not None else timezone.now()).astimezone(UTC).date()


def daily_usage(account: Account, days: int = 90, at: datetime | None = None) -> list[UsageDay]:
    """The `days` UTC days up to the day of `at`, oldest first, zero on idle days."""
    last = _last_day(at)
    first = last - timedelta(days=days - 1)
    rows = (
        UsageRollup.objects.filter(account=account, day__gte=first, day__lte=last)
        .order_by()
        .values("day")
        .annotate(
            users=Count("user_id", distinct=True, filter=~Q(user_id="")),
            sessions=Sum("sessions"),
            events=Sum("events"),
        )
        .values_list("day", "users", "sessions", "events")
    )
    found = {
        day: UsageDay(day, users, sessions or 0, events or 0)
        for day, users, sessions, events in rows
    }
    return [
        found.get(day, UsageDay(day, 0, 0, 0))
        for day in (first + timedelta(days=n) for n in range(days))
    ]


@dataclass(frozen=True)
class FeatureUse:
    """How many of the account's active users used one feature (event name) in a window."""

    feature: str
    users: int
    share: float
    """Users of the feature over the account's active users in the window, 0-1."""


def feature_adoption(
    account: Account, days: int = 30, at: datetime | None = None, shown: int = FEATURES_SHOWN
) -> list[FeatureUse]:
    """The most used features (by distinct known users) in the `days` up to `at`, with their
    share of the window's active users; one query of the distinct (feature, user) pairs."""
    last = _last_day(at)
    first = last - timedelta(days=days - 1)
    rows = UsageRollup.objects.filter(account=account, day__gte=first, day__lte=last).exclude(
        user_id=""
    )
    pairs = list(rows.order_by().values_list("event_name", "user_id").distinct())
    users_per_feature: dict[str, set[str]] = {}
    everyone: set[str] = set()
    for feature, user in pairs:
        users_per_feature.setdefault(feature, set()).add(user)
        everyone.add(user)
    total = len(everyone)
    ranked = sorted(users_per_feature.items(), key=lambda item: (-len(item[1]), item[0]))
    return [
        FeatureUse(feature, len(users), len(users) / total if total else 0.0)
        for feature, users in ranked[:shown]
    ]


@dataclass(frozen=True)
class UsageWeek:
    """An account's usage over one week (Monday to Sunday, UTC): the timeline's summaries."""

    week_start: date
    active_users: int
    sessions: int
    events: int


def weekly_usage(account: Account, weeks: int = 8, at: datetime | None = None) -> list[UsageWeek]:
    """The last `weeks` weeks up to the week of `at` that had any usage, newest first; one
    query over (user, day) totals folded into weeks here."""
    last = _last_day(at)
    first = last - timedelta(days=last.weekday()) - timedelta(weeks=weeks - 1)
    rows = (
        UsageRollup.objects.filter(account=account, day__gte=first, day__lte=last)
        .order_by()
        .values("day", "user_id")
        .annotate(sessions=Sum("sessions"), events=Sum("events"))
        .values_list("day", "user_id", "sessions", "events")
    )
    users: dict[date, set[str]] = {}
    totals: dict[date, list[int]] = {}
    for day, user, sessions, events in rows:
        week = day - timedelta(days=day.weekday())
        if user:
            users.setdefault(week, set()).add(user)
        total = totals.setdefault(week, [0, 0])
        total[0] += sessions or 0
        total[1] += events or 0
    return [
        UsageWeek(week, len(users.get(week, ())), sessions, events)
        for week, (sessions, events) in sorted(totals.items(), reverse=True)
    ]

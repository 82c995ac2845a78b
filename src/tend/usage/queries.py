"""Reads for product usage: per-account activity summaries from raw events."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from django.db.models import Count, Max, Q
from django.utils import timezone

from tend.customers.models import Account
from tend.usage.models import Event, UsageRollup


@dataclass(frozen=True)
class UsageSummary:
    """Event volume and distinct active users of an account over a trailing window."""

    days: int
    events: int
    active_users: int


def usage_summary(account: Account, days: int = 30, at: datetime | None = None) -> UsageSummary:
    """Events and active users (distinct known user ids) in the `days` before `at`, one query."""
    end = at if at is not None else timezone.now()
    totals = Event.objects.filter(
        account=account, timestamp__gt=end - timedelta(days=days), timestamp__lte=end
    ).aggregate(
        events=Count("id"),
        active_users=Count("user_id", distinct=True, filter=~Q(user_id="")),
    )
    return UsageSummary(days, totals["events"], totals["active_users"])


def daily_active_users(
    account: Account, days: int = 30, at: datetime | None = None
) -> list[tuple[date, int]]:
    """Distinct known users with a qualifying event on each of the `days` UTC days up to the day
    of `at` (oldest first, zero on idle days); read from the usage rollups, one query."""
    last = (at if at is not None else timezone.now()).astimezone(UTC).date()
    first = last - timedelta(days=days - 1)
    counts = dict(
        UsageRollup.objects.filter(account=account, day__gte=first, day__lte=last)
        .exclude(user_id="")
        .values("day")
        .annotate(users=Count("user_id", distinct=True))
        .values_list("day", "users")
    )
    return [(day, counts.get(day, 0)) for day in (first + timedelta(n) for n in range(days))]


def last_event_id() -> int:
    """The newest stored event's id (0 without events): a cheap "anything new?" marker."""
    return Event.objects.aggregate(last=Max("id"))["last"] or 0

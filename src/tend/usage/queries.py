"""Reads for product usage: per-account activity summaries from raw events."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Q
from django.utils import timezone

from tend.customers.models import Account
from tend.usage.models import Event


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

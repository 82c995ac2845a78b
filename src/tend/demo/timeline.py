"""Calendar helpers for the demo: month arithmetic on days that exist in every month."""

from __future__ import annotations

import calendar
from datetime import UTC, datetime


def add_months(moment: datetime, months: int) -> datetime:
    """The same day and time `months` later, clamped to the month's last day (Jan 31 -> Feb 28)."""
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def month_start(moment: datetime) -> datetime:
    """Midnight UTC on the first day of the month of `moment`."""
    return datetime(moment.year, moment.month, 1, tzinfo=UTC)

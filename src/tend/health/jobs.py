"""Background work of the health domain. Scheduled from `tend.config.jobs`."""

from __future__ import annotations


def score_today() -> None:
    """Score every account today (the freshness loop also does it on every change)."""
    from tend.health.engine import score_days, today

    score_days([today()])

"""Background work of the metrics domain. Scheduled from `tend.config.jobs`."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

logger = logging.getLogger(__name__)


def recompute_recent_metrics() -> None:
    """Recompute the periods since the last run (all history the first time) and store them."""
    from tend.config.settings import get_settings
    from tend.metrics.queries import earliest_activity, latest_run
    from tend.metrics.run import recompute

    settings = get_settings()
    today = datetime.now(UTC).date()
    previous = latest_run()
    full = previous is None
    first = (earliest_activity() or today) if previous is None else previous.last_day
    report = recompute(settings.analytics_engine, first, today, settings.reporting_currency, full)
    logger.info(
        "metrics: %s..%s, %d snapshots in %.1f s",
        report.first_day,
        report.last_day,
        report.rows,
        report.load_seconds + report.compute_seconds + report.store_seconds,
    )


def recompute_all_metrics() -> None:
    """Recompute every period from the first activity: picks up late data and new definitions."""
    from tend.config.settings import get_settings
    from tend.metrics.queries import earliest_activity
    from tend.metrics.run import recompute

    settings = get_settings()
    today = datetime.now(UTC).date()
    first = earliest_activity() or today
    recompute(settings.analytics_engine, first, today, settings.reporting_currency, full=True)

"""Background work of the health domain. Scheduled from `tend.config.jobs`."""

from __future__ import annotations

import logging

logger = logging.getLogger(__name__)


def score_today() -> None:
    """Score every account today (the freshness loop re-scores changed accounts in between)."""
    from tend.health.engine import score_days, today

    score_days([today()])


def backfill_scorecard_version(version_id: int) -> None:
    """Compute a newly saved scorecard version for every past day, as of each day (up to the
    `health_backfill_days` setting), so its history and backtest show at once. Skipped when a
    newer version of the scorecard was saved meanwhile (its own backfill follows)."""
    from tend.health.engine import backfill_version, history_days, today
    from tend.health.models import ScorecardVersion
    from tend.health.queries import backfill_first_day, latest_version

    version = ScorecardVersion.objects.select_related("scorecard").filter(pk=version_id).first()
    if version is None or latest_version(version.scorecard) != version:
        return
    last = today()
    report = backfill_version(version, history_days(backfill_first_day(last), last))
    logger.info(
        "health: backfilled %s over %d days: %d snapshots in %.1f s",
        version,
        report.days,
        report.rows,
        report.seconds,
    )
    refresh_health_lists()


def refresh_health_lists() -> None:
    """Compute the lists the score drives and store them for pages, the API and the CLI."""
    from tend.health.list_actions import refresh_lists

    refresh_lists()

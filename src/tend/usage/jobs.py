"""Background work of the usage domain. Scheduled from `tend.config.jobs`, never registered here."""

from __future__ import annotations

import logging

ROLLUP_BATCH_SIZE = 50_000
ROLLUP_BATCHES_PER_RUN = 40
"""Bounds one scheduled run (2 M events, about ten seconds); the next minute's run continues."""

logger = logging.getLogger(__name__)


def roll_up_usage() -> None:
    """Roll up the events that arrived since the last run, up to a bounded amount of work.

    Runs every minute; overlapping runs take turns on the watermark, so nothing is counted twice.
    """
    from tend.usage.rollups import run_rollup

    report = run_rollup(batch_size=ROLLUP_BATCH_SIZE, max_batches=ROLLUP_BATCHES_PER_RUN)
    if report.events_read:
        logger.info(
            "usage rollup: %d events, %d rows, watermark %d, caught up: %s",
            report.events_read,
            report.rows_written,
            report.position,
            report.caught_up,
        )

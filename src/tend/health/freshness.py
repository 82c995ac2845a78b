"""Fresh scores: a background loop that notices new events, tickets, invoices, subscriptions,
answers and touchpoints within seconds, rolls usage up and re-scores today's health."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime

from django.db import close_old_connections

logger = logging.getLogger(__name__)

POLL_SECONDS = 2.0
"""How often the loop asks "anything new?" (a handful of indexed MAX queries)."""

Marker = tuple[int, datetime | None, datetime | None, datetime | None]
_started = threading.Event()
_stop = threading.Event()
_threads: list[threading.Thread] = []


def change_marker() -> Marker:
    """What changed last, across the domains that feed health scores."""
    from tend.billing.queries import last_billing_change
    from tend.support.queries import last_support_change
    from tend.surveys.queries import last_answer_change
    from tend.usage.queries import last_event_id

    return (last_event_id(), last_support_change(), last_billing_change(), last_answer_change())


@dataclass
class RescoreOutcome:
    """One pass of the loop: whether it re-scored and how long it took."""

    rescored: bool
    seconds: float = 0.0
    rows: int = 0


class Rescorer:
    """Re-scores today whenever the change marker moves (and once at start)."""

    def __init__(self) -> None:
        self.last_marker: Marker | None = None

    def run_once(self) -> RescoreOutcome:
        from tend.health.engine import score_days, today
        from tend.usage.rollups import run_rollup

        marker = change_marker()
        if marker == self.last_marker:
            return RescoreOutcome(rescored=False)
        started = time.perf_counter()
        run_rollup()
        report = score_days([today()])
        self.last_marker = marker
        return RescoreOutcome(True, time.perf_counter() - started, report.rows)


def start_background_rescorer(poll_seconds: float = POLL_SECONDS) -> threading.Thread | None:
    """Start the loop in a daemon thread, once per process."""
    if _started.is_set():
        return None
    _started.set()
    _stop.clear()
    thread = threading.Thread(
        target=_loop, args=(poll_seconds,), name="tend-health-rescorer", daemon=True
    )
    thread.start()
    _threads.append(thread)
    return thread


def stop_background_rescorer(timeout: float) -> None:
    """Ask the loop to stop and wait for a pass in progress: the analytics engine's native
    threads must not be running when the interpreter exits."""
    _stop.set()
    for thread in _threads:
        thread.join(timeout)
    _threads.clear()
    _started.clear()


def _loop(poll_seconds: float) -> None:
    rescorer = Rescorer()
    while not _stop.is_set():
        try:
            outcome = rescorer.run_once()
            if outcome.rescored:
                logger.info("health: re-scored today in %.1f s", outcome.seconds)
        except Exception:
            logger.exception("health: re-scoring failed; retrying")
        finally:
            close_old_connections()
        _stop.wait(poll_seconds)

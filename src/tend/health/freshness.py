"""Fresh scores: a background loop that notices new events, tickets, invoices, subscriptions,
answers and touchpoints within a second or so, rolls usage up and re-scores today's health of
the accounts they concern (`engine.rescore_accounts`), reading only those accounts' data.

The first pass of the loop and the first pass of each new UTC day score every account; so does
the hourly `score_today` job, which keeps the percentile ranks of unchanged accounts current.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import date

from django.db import close_old_connections

from tend.health.changed_accounts import ChangeMarker, accounts_changed_since, change_marker

logger = logging.getLogger(__name__)

_started = threading.Event()
_stop = threading.Event()
_threads: list[threading.Thread] = []


def poll_seconds() -> float:
    """How often the loop asks "anything new?" (a handful of indexed MAX queries)."""
    from tend.config.settings import get_settings

    return get_settings().health_rescore_seconds


@dataclass
class RescoreOutcome:
    """One pass of the loop: whether it re-scored, how many accounts and how long it took."""

    rescored: bool
    seconds: float = 0.0
    rows: int = 0
    accounts: int | None = None
    """The accounts re-scored; None when every account was."""
    parts: str = ""
    """Where the time went."""


class Rescorer:
    """Re-scores today whenever the change marker moves: every account on the first pass of
    each day, afterwards only the accounts whose inputs changed."""

    def __init__(self) -> None:
        self.last_marker: ChangeMarker | None = None
        self.last_full_day: date | None = None

    def run_once(self) -> RescoreOutcome:
        from tend.health.engine import rescore_accounts, score_days, today
        from tend.usage.rollups import run_rollup

        marker = change_marker()
        day = today()
        if marker == self.last_marker and day == self.last_full_day:
            return RescoreOutcome(rescored=False)
        started = time.perf_counter()
        if self.last_marker is None or day != self.last_full_day:
            run_rollup()
            report = score_days([day])
            self.last_marker, self.last_full_day = marker, day
            return RescoreOutcome(True, time.perf_counter() - started, report.rows)
        changed = accounts_changed_since(self.last_marker, marker)
        if marker.event_id > self.last_marker.event_id:
            run_rollup()
        rolled_up = time.perf_counter() - started
        report = rescore_accounts(day, sorted(changed))
        self.last_marker = marker
        parts = (
            f"rollup {rolled_up:.2f} s, read {report.load_seconds:.2f} s, measures "
            f"{report.measure_seconds:.2f} s, scoring {report.score_seconds:.2f} s, storing "
            f"{report.store_seconds:.2f} s"
        )
        seconds = time.perf_counter() - started
        return RescoreOutcome(True, seconds, report.rows, len(changed), parts)


def start_background_rescorer(every: float | None = None) -> threading.Thread | None:
    """Start the loop in a daemon thread, once per process, polling `every` seconds (default:
    the `health_rescore_seconds` setting)."""
    if _started.is_set():
        return None
    _started.set()
    _stop.clear()
    interval = every if every is not None else poll_seconds()
    thread = threading.Thread(
        target=_loop, args=(interval,), name="tend-health-rescorer", daemon=True
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
                scope = "all" if outcome.accounts is None else str(outcome.accounts)
                logger.info(
                    "health: re-scored today (%s accounts) in %.2f s (%s)",
                    scope,
                    outcome.seconds,
                    outcome.parts or "every account",
                )
        except Exception:
            logger.exception("health: re-scoring failed; retrying")
        finally:
            close_old_connections()
        _stop.wait(poll_seconds)

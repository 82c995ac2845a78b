"""Every background task and schedule Tend runs, declared in one place.

Job bodies live in their domain's `jobs.py`; this module registers them with a Huey instance
explicitly (`register_schedule`), so nothing depends on import side effects.
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Callable
from typing import Any

from django.db import close_old_connections
from huey import Huey, crontab
from huey.api import TaskWrapper

from tend.core import jobs as core_jobs
from tend.health import jobs as health_jobs
from tend.metrics import jobs as metrics_jobs
from tend.usage import jobs as usage_jobs

Job = Callable[..., Any]
Schedule = Callable[[Any], bool]

TASKS: list[Job] = [
    core_jobs.ping,
    health_jobs.backfill_scorecard_version,
]
"""Jobs that are enqueued on demand."""

SCHEDULE: list[tuple[Job, Schedule]] = [
    (core_jobs.lapse_expired_sessions, crontab(minute="17", hour="3")),
    (usage_jobs.roll_up_usage, crontab(minute="*")),
    (metrics_jobs.recompute_recent_metrics, crontab(minute="*/10")),
    (metrics_jobs.recompute_all_metrics, crontab(minute="40", hour="2")),
    (health_jobs.score_today, crontab(minute="5")),
    (health_jobs.refresh_health_lists, crontab(minute="*/5")),
]
"""Periodic jobs and when they run (crontab in UTC)."""

_registered: weakref.WeakKeyDictionary[Huey, dict[str, TaskWrapper]] = weakref.WeakKeyDictionary()


def register_schedule(huey: Huey) -> dict[str, TaskWrapper]:
    """Register every task and periodic job with `huey`; return the task wrappers by job name.

    Safe to call more than once for the same Huey instance.
    """
    if huey in _registered:
        return _registered[huey]
    wrappers: dict[str, TaskWrapper] = {}
    for job in TASKS:
        wrappers[job.__name__] = huey.task()(_with_fresh_connections(huey, job))
    for job, schedule in SCHEDULE:
        wrappers[job.__name__] = huey.periodic_task(schedule)(_with_fresh_connections(huey, job))
    _registered[huey] = wrappers
    return wrappers


def enqueue(job: Job, *args: Any) -> None:
    """Queue one of the TASKS on the project's Huey (run inline in immediate mode); call it from
    `transaction.on_commit` so the job sees what the caller wrote."""
    from huey.contrib.djhuey import HUEY

    register_schedule(HUEY)[job.__name__](*args)


def _with_fresh_connections(huey: Huey, job: Job) -> Job:
    """Close stale database connections around a job, as `huey.contrib.djhuey.db_task` does.

    Worker threads live for days; without this a job could reuse a connection the database
    already dropped. Skipped in immediate mode, where the job runs inside the caller's
    (possibly test) transaction.
    """

    @functools.wraps(job)
    def run(*args: Any, **kwargs: Any) -> Any:
        if not huey.immediate:
            close_old_connections()
        try:
            return job(*args, **kwargs)
        finally:
            if not huey.immediate:
                close_old_connections()

    return run

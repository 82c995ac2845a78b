"""The job schedule: every job registered explicitly, periodic jobs due when declared."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.sessions.models import Session
from django.utils import timezone
from huey import MemoryHuey

from tend.config.jobs import SCHEDULE, TASKS, register_schedule
from tend.core.jobs import lapse_expired_sessions


@pytest.fixture
def huey() -> MemoryHuey:
    return MemoryHuey("tend-test", immediate=True)


def test_every_job_is_registered_once_under_its_module_path(huey: MemoryHuey) -> None:
    tasks = register_schedule(huey)

    assert register_schedule(huey) is tasks
    expected = {f"{job.__module__}.{job.__name__}" for job in TASKS}
    expected |= {f"{job.__module__}.{job.__name__}" for job, _ in SCHEDULE}
    assert set(huey._registry._registry) == expected
    assert "tend.core.jobs.ping" in expected


def test_ping_runs_through_the_queue(huey: MemoryHuey) -> None:
    assert register_schedule(huey)["ping"]().get() == "pong"


def test_expired_sessions_lapse_daily(huey: MemoryHuey) -> None:
    register_schedule(huey)
    [(_, schedule)] = [(job, when) for job, when in SCHEDULE if job is lapse_expired_sessions]
    minutes_of_a_day = [dt.datetime(2025, 3, 1) + dt.timedelta(minutes=m) for m in range(1440)]
    due = [minute for minute in minutes_of_a_day if schedule(minute)]
    assert len(due) == 1


def test_lapse_expired_sessions_keeps_live_ones(db: None) -> None:
    now = timezone.now()
    Session.objects.create(
        session_key="expired", session_data="", expire_date=now - dt.timedelta(1)
    )
    Session.objects.create(session_key="live", session_data="", expire_date=now + dt.timedelta(1))

    lapse_expired_sessions()

    assert list(Session.objects.values_list("session_key", flat=True)) == ["live"]

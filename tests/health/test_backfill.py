"""Saving a scorecard version computes it for every past day at once, as of each day."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest

from tend.customers.models import Account
from tend.health.actions import save_scorecard_version
from tend.health.engine import today
from tend.health.models import HealthSnapshot, ScorecardVersion
from tend.usage.rollups import run_rollup
from tests.factories import AccountFactory, EventFactory
from tests.health.factories import simple_config

pytestmark = pytest.mark.django_db

Capture = Callable[..., AbstractContextManager[Any]]
HISTORY_DAYS = 60


def noon(day: date) -> datetime:
    return datetime.combine(day, time(12), UTC)


@pytest.fixture
def account() -> Account:
    """Signed up 60 days ago; 3 events 40 days ago and 2 events 5 days ago."""
    last = today()
    AccountFactory(external_id="acme", signed_up_at=noon(last - timedelta(HISTORY_DAYS)))
    account = Account.objects.get(external_id="acme")
    for days_ago, count in ((40, 3), (5, 2)):
        at = noon(last - timedelta(days=days_ago))
        for _ in range(count):
            EventFactory(account=account, user_id="u1", timestamp=at, received_at=at)
    run_rollup()
    return account


def history(version: ScorecardVersion) -> dict[date, float | None]:
    rows = HealthSnapshot.objects.filter(version=version, account__external_id="acme")
    return {row.day: row.computed_score for row in rows}


def test_a_saved_version_has_its_history_at_once_as_of_each_day(
    account: Account, django_capture_on_commit_callbacks: Capture
) -> None:
    """The score is the events of the trailing 30 days: each past day counts only the events
    known by then."""
    with django_capture_on_commit_callbacks(execute=True):
        version = save_scorecard_version(None, simple_config("Events"), None)

    scores = history(version)
    last = today()
    assert min(scores) == last - timedelta(HISTORY_DAYS) and max(scores) == last
    assert len(scores) == HISTORY_DAYS + 1
    assert scores[last - timedelta(days=41)] == 0  # before the first events
    assert scores[last - timedelta(days=40)] == 3
    assert scores[last - timedelta(days=11)] == 3  # the later events not known yet
    assert scores[last - timedelta(days=10)] == 0  # the first events out of the window
    assert scores[last - timedelta(days=5)] == 2
    assert scores[last] == 2


def test_an_edit_backfills_its_own_history_and_keeps_the_old_one(
    account: Account, django_capture_on_commit_callbacks: Capture
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        first = save_scorecard_version(None, simple_config("Events"), None)
    doubled = simple_config("Events")
    doubled["groups"][0]["measures"][0]["normalisation"]["points_per_unit"] = 2
    with django_capture_on_commit_callbacks(execute=True):
        second = save_scorecard_version(first.scorecard, doubled, None)

    old, new = history(first), history(second)
    assert set(old) == set(new)
    assert all(new[day] == 2 * (old[day] or 0) for day in old)


def test_a_version_replaced_before_its_backfill_ran_is_not_backfilled(
    account: Account, django_capture_on_commit_callbacks: Capture
) -> None:
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        first = save_scorecard_version(None, simple_config("Events"), None)
    with django_capture_on_commit_callbacks(execute=True):
        second = save_scorecard_version(first.scorecard, simple_config("Events"), None)
    for callback in callbacks:
        callback()

    assert not HealthSnapshot.objects.filter(version=first).exists()
    assert len(history(second)) == HISTORY_DAYS + 1

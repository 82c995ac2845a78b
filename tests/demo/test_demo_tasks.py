"""The demo's task lists: a high-priority follow-up for each account in the worst band, owned by
its CSM, and a preparation task three weeks before each yearly renewal in the next 60 days."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tend.billing.models import BillingInterval, SubscriptionStatus
from tend.core.models import Role
from tend.demo.tasks import create_demo_tasks
from tend.playbooks.models import Task
from tests.factories import (
    AccountFactory,
    PlanFactory,
    SubscriptionFactory,
    SubscriptionItemFactory,
    UserFactory,
)
from tests.web.health_data import scorecard, store_snapshot

pytestmark = pytest.mark.django_db


def test_demo_tasks_follow_risk_and_renewals() -> None:
    today = timezone.localdate()
    now = timezone.now()
    maria = UserFactory(username="maria", role=Role.CSM)
    version = scorecard()
    levels = ("events_30d", "features_used_30d", "nps_latest")
    risky = AccountFactory(name="Risky", owner=maria)
    store_snapshot(risky, version, today, dict.fromkeys(levels, 25))
    store_snapshot(AccountFactory(name="Fine"), version, today, dict.fromkeys(levels, 80))
    renewing = AccountFactory(name="Renewing", owner=maria)
    plan = PlanFactory(external_id="yearly", interval=BillingInterval.YEAR)
    subscription = SubscriptionFactory(
        account=renewing,
        status=SubscriptionStatus.ACTIVE,
        started_at=now - timedelta(days=320),
        current_period_end=now + timedelta(days=45),
    )
    SubscriptionItemFactory(
        subscription=subscription,
        plan=plan,
        interval=BillingInterval.YEAR,
        started_at=now - timedelta(days=320),
    )

    assert create_demo_tasks(today) == 2

    follow_up = Task.objects.get(account=risky)
    assert follow_up.assignee == maria and follow_up.priority == "high"
    assert follow_up.title == "Call the sponsor: health is 25 (unhealthy)"
    assert abs((follow_up.due_on - today).days) <= 7  # type: ignore[operator]
    renewal = Task.objects.get(account=renewing)
    assert renewal.due_on == (now + timedelta(days=45)).date() - timedelta(days=21)
    assert not Task.objects.filter(account__name="Fine").exists()

"""The demo team's to-do lists: after health is scored, each account below the top band gets a
follow-up task for its owner and each yearly renewal in the next 60 days a preparation task,
with due dates spread around today (some already overdue, a few done), as a busy CS team's
lists look."""

from __future__ import annotations

import random
from datetime import date, timedelta

from django.utils import timezone

from tend.billing.renewal_queries import upcoming_renewals
from tend.health.portfolio_queries import at_risk, current_health
from tend.playbooks.actions import complete_task, create_task
from tend.playbooks.models import TaskPriority

AT_RISK_TASKS = 40
RENEWAL_TASKS = 30


def create_demo_tasks(today: date, seed: int = 7) -> int:
    """Create the demo's tasks; returns how many."""
    rng = random.Random(seed)
    created = 0
    for snapshot, _ in at_risk(current_health(), limit=AT_RISK_TASKS):
        task = create_task(
            snapshot.account,
            f"Call the sponsor: health is {snapshot.score:.0f} ({snapshot.band})",
            created_by=None,
            due_on=today + timedelta(days=rng.randint(-6, 7)),
            priority=TaskPriority.HIGH,
            details="Find out what changed and agree on a recovery plan.",
            source="demo",
        )
        if rng.random() < 0.15:
            complete_task(task, None)
        created += 1
    for renewal in upcoming_renewals(timezone.now(), 60, limit=RENEWAL_TASKS):
        create_task(
            renewal.account,
            f"Prepare the renewal of {renewal.renews_at:%d %b}",
            created_by=None,
            due_on=renewal.renews_at.date() - timedelta(days=21),
            source="demo",
        )
        created += 1
    return created

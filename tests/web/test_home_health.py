"""The overview's "right now" panels: the health mix of the latest scored day, the accounts at
risk, yearly renewals due in 90 days and the signed-in person's open tasks, for the portfolio
or one CSM's book, at a query count that does not grow with the number of accounts."""

from __future__ import annotations

from datetime import date, timedelta

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tend.billing.models import BillingInterval, SubscriptionStatus
from tend.core.models import Role, User
from tend.customers.models import Account
from tend.health.models import ScorecardVersion
from tend.playbooks.actions import complete_task, create_task
from tests.factories import (
    AccountFactory,
    PlanFactory,
    SubscriptionFactory,
    SubscriptionItemFactory,
    UserFactory,
)
from tests.web.health_data import scorecard, store_snapshot
from tests.web.snapshot_data import MONTHS, row, store

DAY = date(2026, 11, 22)


MEASURES = ("events_30d", "features_used_30d", "nps_latest")
VERSION: list[ScorecardVersion] = []


def _score(account: Account, total: float, day: date = DAY, change_7d: float | None = None) -> None:
    """A snapshot whose computed score is `total` (all three measures at the same level)."""
    store_snapshot(account, VERSION[0], day, dict.fromkeys(MEASURES, total), change_7d=change_7d)


def _portfolio(csm: User) -> None:
    VERSION[:] = [scorecard()]
    other = UserFactory(username="robin", role=Role.CSM)
    _score(AccountFactory(name="Low", owner=csm), 20, change_7d=-12)
    _score(AccountFactory(name="Lower", owner=other), 10)
    _score(AccountFactory(name="Middle", owner=csm), 55)
    _score(AccountFactory(name="High", owner=csm), 90)
    # Scored the day before only: not part of today's mix.
    _score(AccountFactory(name="Stale", owner=csm), 5, day=DAY - timedelta(days=1))


def test_health_mix_and_at_risk_read_the_latest_day(signed_in_client: Client, csm: User) -> None:
    _portfolio(csm)

    context = signed_in_client.get(reverse("web:home")).context

    assert context["scored_day"] == DAY
    mix = [(b.level.name, b.level.colour, b.count) for b in context["bands"]]
    assert mix == [("unhealthy", "red", 2), ("at risk", "yellow", 1), ("healthy", "green", 1)]
    assert [(s.account.name, level.colour) for s, level in context["at_risk"]] == [
        ("Lower", "red"),
        ("Low", "red"),
        ("Middle", "yellow"),
    ]


def test_a_csm_scope_narrows_the_health_panels(signed_in_client: Client, csm: User) -> None:
    _portfolio(csm)
    store([row("mrr", MONTHS[-1], 100.0, scope=("csm", csm.username))])  # makes the scope a choice

    response = signed_in_client.get(reverse("web:home"), {"scope": f"csm:{csm.username}"})

    context = response.context
    mix = [(b.level.name, b.count) for b in context["bands"]]
    assert mix == [("unhealthy", 1), ("at risk", 1), ("healthy", 1)]
    assert [s.account.name for s, _ in context["at_risk"]] == ["Low", "Middle"]
    html = response.content.decode()
    assert "unhealthy</a>" in html and "▼" in html  # band names beside the colours; trend arrow


def test_renewals_due_are_yearly_terms_within_ninety_days(signed_in_client: Client) -> None:
    now = timezone.now()
    yearly = PlanFactory(external_id="yearly", interval=BillingInterval.YEAR)
    monthly = PlanFactory(external_id="monthly", interval=BillingInterval.MONTH)

    def subscription(name: str, plan: object, ends_in: int, **extra: object) -> None:
        sub = SubscriptionFactory(
            account=AccountFactory(name=name),
            status=SubscriptionStatus.ACTIVE,
            started_at=now - timedelta(days=300),
            current_period_end=now + timedelta(days=ends_in),
            **extra,
        )
        SubscriptionItemFactory(
            subscription=sub,
            plan=plan,
            interval=plan.interval,  # type: ignore[attr-defined]
            unit_amount=1200,
            quantity=2,
            started_at=now - timedelta(days=300),
        )

    subscription("Soon", yearly, 30)
    subscription("Cancelling", yearly, 10, cancel_at=now + timedelta(days=10))
    subscription("Later", yearly, 120)
    subscription("Monthly", monthly, 20)

    context = signed_in_client.get(reverse("web:home")).context

    renewals = [(r.account.name, r.mrr, r.cancel_scheduled) for r in context["renewals"]]
    # 2 seats x 1,200 a year = 2,400 a year = 200 a month.
    assert renewals == [("Cancelling", 200, True), ("Soon", 200, False)]


def test_my_tasks_are_mine_and_open(signed_in_client: Client, csm: User) -> None:
    other = UserFactory(username="robin", role=Role.CSM)
    account = AccountFactory(name="Acme", owner=csm)
    create_task(account, "Call the sponsor", created_by=None, due_on=date(2020, 1, 1))
    create_task(account, "Robin's job", created_by=None, assignee=other)
    complete_task(create_task(account, "Done already", created_by=None), csm)

    response = signed_in_client.get(reverse("web:home"))

    assert [t.title for t in response.context["my_tasks"]] == ["Call the sponsor"]
    assert "overdue</span>" in response.content.decode()


def test_the_panels_cost_the_same_queries_for_more_accounts(
    signed_in_client: Client, csm: User
) -> None:
    _portfolio(csm)
    create_task(AccountFactory(owner=csm), "One", created_by=None)
    with CaptureQueriesContext(connection) as few:
        signed_in_client.get(reverse("web:home"))
    for total in range(30):
        account = AccountFactory(owner=csm)
        _score(account, total * 3)
        create_task(account, f"Task {total}", created_by=None)
    with CaptureQueriesContext(connection) as many:
        signed_in_client.get(reverse("web:home"))
    assert len(many) == len(few)

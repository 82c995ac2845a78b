"""Query-count guards: page cost must not grow with the number of rows shown."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, date, datetime, timedelta

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tend.core.models import Note, User
from tend.customers.models import Account, StageChange
from tend.health.models import ScorecardVersion
from tend.playbooks.models import Task
from tend.usage.models import UsageRollup
from tend.web.report_views import REVENUE_KPIS, SUPPORT_KPIS, USAGE_KPIS, VOICE_KPIS
from tests.factories import (
    AccountFactory,
    ContactFactory,
    EventFactory,
    InvoiceFactory,
    PlanFactory,
    SubscriptionFactory,
    SubscriptionItemFactory,
    SurveyResponseFactory,
    TicketFactory,
    TouchpointFactory,
    UserFactory,
)
from tests.web.health_data import scorecard, store_snapshot
from tests.web.snapshot_data import MONTHS, series, store, store_cohorts

# Session, user, scorecard versions, the newest scored day (one per active scorecard), row
# count, the page's ids in order, the page's rows with every column, owner choices, segment
# choices, saved views; sorted by health or trend, a page that reaches past the scored accounts
# also reads the unscored ones (and counts the scored ones when it starts past them).
ACCOUNT_LIST_QUERIES = 12
# The htmx fragment: no choices nor saved views.
ACCOUNT_FRAGMENT_QUERIES = 7
# Session, user, account, children, MRR, contacts, subscriptions, items, invoices, tickets,
# touchpoints, survey responses, stage history, notes, usage summary, daily usage, feature
# adoption, weekly usage, latest snapshot, churn prediction, tasks, active override, movers,
# health history; for whoever may edit the account, the team members a task may be for.
ACCOUNT_PAGE_QUERIES = 25

# Per page, signed in (session and user are the first two): metrics run, scope choices
# (snapshot scopes, CSM names), then the page's own reads.
PAGE_QUERIES = {
    # KPI values; scorecard versions, latest scored day, health mix, at-risk accounts (both
    # only once scored), renewals due, my tasks; stage counts, paying accounts, MRR per
    # currency, open tickets.
    "web:home": 15,
    "web:reports": 2,
    # KPI values, cohort tables.
    "web:report-revenue": 7,
    # KPI values, verbatims.
    "web:report-voice": 7,
    # KPI values, tickets by topic and priority.
    "web:report-support": 7,
    # KPI values, feature adoption.
    "web:report-usage": 7,
    # Metrics run, team members, accounts, open tickets, touchpoints per owner, book snapshots,
    # tasks per assignee, scorecard versions, latest scored day, health mix per owner (once
    # scored).
    "web:team": 12,
    # The team list.
    "web:users": 3,
}

MaxQueries = Callable[[int], AbstractContextManager[object]]


def make_paying_accounts(count: int) -> None:
    """`count` accounts over a few owners, each with a subscription of two items, one ended."""
    owners = [UserFactory(username=f"owner{i}") for i in range(3)]
    yearly = PlanFactory(external_id="yearly", interval="year", unit_amount=1200)
    start = timezone.now() - timedelta(days=100)
    for i in range(count):
        account = AccountFactory(owner=owners[i % 3])
        subscription = SubscriptionFactory(account=account, started_at=start)
        SubscriptionItemFactory(subscription=subscription, ended_at=start + timedelta(days=30))
        SubscriptionItemFactory(subscription=subscription, plan=yearly, quantity=2)


def count_queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def score_accounts(day: date | None = None) -> None:
    """A current snapshot, a touchpoint and an NPS answer for each account without them."""
    version = ScorecardVersion.objects.first() or scorecard()
    day = day or timezone.now().date()
    for account in Account.objects.filter(health_snapshots__isnull=True):
        store_snapshot(account, version, day, {"events_30d": 50, "nps_latest": 50}, change_7d=1.5)
        TouchpointFactory(account=account)
        SurveyResponseFactory(contact=ContactFactory(account=account))


SORTS = ["name", "-health", "trend", "-mrr", "renewal", "owner", "stage", "-last_touch", "nps"]


def test_account_list_queries_do_not_grow_with_rows(
    signed_in_client: Client, django_assert_max_num_queries: MaxQueries
) -> None:
    url = reverse("web:accounts")
    make_paying_accounts(3)
    score_accounts()
    few = {sort: count_queries(signed_in_client, f"{url}?sort={sort}") for sort in SORTS}
    make_paying_accounts(57)
    score_accounts()
    assert Account.objects.count() == 60
    with django_assert_max_num_queries(ACCOUNT_LIST_QUERIES):
        response = signed_in_client.get(url, {"sort": "-mrr"})
    assert len(response.context["page"].object_list) == 50
    for sort in SORTS:
        assert count_queries(signed_in_client, f"{url}?sort={sort}") == few[sort], sort
    AccountFactory.create_batch(60)  # unscored: health sorts read them after the scored ones
    for sort in ("-health", "trend"):
        for page in (2, 3):  # past the scored accounts, then starting past them
            with django_assert_max_num_queries(ACCOUNT_LIST_QUERIES):
                response = signed_in_client.get(url, {"sort": sort, "page": page})
            assert len(response.context["page"].object_list) == (50 if page == 2 else 20)
    filtered = {"band": "at risk", "segment": "smb", "stage": "adoption", "sort": "-health"}
    with django_assert_max_num_queries(ACCOUNT_LIST_QUERIES):
        assert signed_in_client.get(url, {**filtered, "q": "Company"}).status_code == 200
    with django_assert_max_num_queries(ACCOUNT_FRAGMENT_QUERIES):
        htmx = signed_in_client.get(url, {"q": "Company"}, headers={"HX-Request": "true"})
    assert htmx.status_code == 200


def fill_account(account: Account, rows: int, csm: User) -> None:
    """Give an account `rows` of everything the account page lists."""
    now = timezone.now()
    for i in range(rows):
        subscription = SubscriptionFactory(account=account, started_at=now - timedelta(days=200))
        SubscriptionItemFactory.create_batch(2, subscription=subscription)
        contact = ContactFactory(account=account)
        InvoiceFactory(account=account, subscription=subscription)
        TicketFactory(account=account, contact=contact)
        TouchpointFactory(account=account, contact=contact, csm=csm)
        SurveyResponseFactory(contact=contact)
        StageChange.objects.create(
            account=account, to_stage="adoption", changed_by=csm, changed_at=now - timedelta(days=i)
        )
        Note.objects.create(account=account, author=csm, body=f"note {i}")
        EventFactory(account=account, timestamp=now - timedelta(hours=i))
        AccountFactory(parent=account)
        Task.objects.create(account=account, assignee=csm, title=f"task {i}")
        day = now.date() - timedelta(days=i)
        UsageRollup.objects.create(
            account=account,
            user_id=f"user{i}",
            day=day,
            event_name=f"feature{i}",
            events=3,
            sessions=1,
            first_at=now,
            last_at=now,
        )
    version = ScorecardVersion.objects.first() or scorecard()
    for i in range(rows * 15):  # a stored day each, today included
        store_snapshot(account, version, now.date() - timedelta(days=i), {"events_30d": 50 + i % 7})


def test_account_page_queries_do_not_grow_with_rows(
    signed_in_client: Client, csm: User, django_assert_max_num_queries: MaxQueries
) -> None:
    small = AccountFactory(owner=csm, parent=AccountFactory(), referred_by=AccountFactory())
    fill_account(small, 2, csm)
    large = AccountFactory(owner=csm, parent=AccountFactory(), referred_by=AccountFactory())
    fill_account(large, 25, csm)
    few = count_queries(signed_in_client, reverse("web:account", args=[small.external_id]))
    with django_assert_max_num_queries(ACCOUNT_PAGE_QUERIES):
        signed_in_client.get(reverse("web:account", args=[large.external_id]))
    assert count_queries(signed_in_client, reverse("web:account", args=[large.external_id])) == few


def snapshot_everything(owners: list[str]) -> None:
    """A metrics run with values for every KPI the pages read, per portfolio, segment and CSM."""
    rows = []
    scopes = [("portfolio", "all"), ("segment", "smb"), *[("csm", o) for o in owners]]
    for scope in scopes:
        for kpi in [
            *REVENUE_KPIS,
            *VOICE_KPIS,
            *SUPPORT_KPIS,
            *USAGE_KPIS,
            "days_since_last_touchpoint",
        ]:
            rows += series(kpi, [1.0] * len(MONTHS), scope=scope)
        rows += series("tickets_opened", [2.0] * len(MONTHS), scope=scope, dimension="topic:bug")
        rows += series("feature_adoption", [50.0] * len(MONTHS), scope=scope, dimension="reports")
    store(rows)
    store_cohorts({"logo_retention": [], "survival_curves": [], "survival_medians": []})


def add_activity() -> None:
    """An open ticket, a touchpoint and a commented answer for each account that has none."""
    now = timezone.now()
    for account in Account.objects.filter(tickets__isnull=True):
        contact = ContactFactory(account=account)
        SurveyResponseFactory(
            contact=contact, account=account, answered_at=datetime(2026, 6, 9, tzinfo=UTC)
        )
        TicketFactory(account=account, status="open")
        TouchpointFactory(account=account, occurred_at=now)


def test_new_pages_queries_do_not_grow_with_accounts(
    client: Client, admin_user: User, django_assert_max_num_queries: MaxQueries
) -> None:
    client.force_login(admin_user)
    make_paying_accounts(3)
    add_activity()
    snapshot_everything([f"owner{i}" for i in range(3)])
    few = {name: count_queries(client, reverse(name)) for name in PAGE_QUERIES}

    make_paying_accounts(27)
    add_activity()
    UserFactory.create_batch(10)
    assert Account.objects.count() == 30

    for name, bound in PAGE_QUERIES.items():
        with django_assert_max_num_queries(bound):
            response = client.get(reverse(name), {"scope": "csm:owner1"})
        assert response.status_code == 200, name
        assert count_queries(client, reverse(name)) == few[name], name
    htmx = client.get(reverse("web:report-revenue"), headers={"HX-Request": "true"})
    assert htmx.status_code == 200

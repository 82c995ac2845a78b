"""Query-count guards: page cost must not grow with the number of rows shown."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tend.core.models import Note, User
from tend.customers.models import Account, StageChange
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
from tests.web.snapshot_data import MONTHS, series, store, store_cohorts

# Session, user, row count, page of rows, owner choices.
ACCOUNT_LIST_QUERIES = 5
# Session, user, account, children, MRR, contacts, subscriptions, items, invoices, tickets,
# touchpoints, survey responses, stage history, notes, usage.
ACCOUNT_PAGE_QUERIES = 15

# Per page, signed in (session and user are the first two): metrics run, scope choices
# (snapshot scopes, CSM names), then the page's own reads.
PAGE_QUERIES = {
    # KPI values; stage counts, paying accounts, MRR per currency, open tickets.
    "web:home": 10,
    "web:reports": 2,
    # KPI values, cohort tables.
    "web:report-revenue": 7,
    # KPI values, verbatims.
    "web:report-voice": 7,
    # KPI values, tickets by topic and priority.
    "web:report-support": 7,
    # KPI values, feature adoption.
    "web:report-usage": 7,
    # Metrics run, team members, accounts, open tickets, touchpoints per owner, book snapshots.
    "web:team": 8,
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


def test_account_list_queries_do_not_grow_with_rows(
    signed_in_client: Client, django_assert_max_num_queries: MaxQueries
) -> None:
    url = reverse("web:accounts")
    make_paying_accounts(3)
    few = count_queries(signed_in_client, url)
    make_paying_accounts(57)
    assert Account.objects.count() == 60
    with django_assert_max_num_queries(ACCOUNT_LIST_QUERIES):
        response = signed_in_client.get(url, {"sort": "-mrr"})
    assert len(response.context["page"].object_list) == 50
    assert count_queries(signed_in_client, url) == few
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

"""Query-count guards of the scorecard, list and journey pages: the same number of queries for
3 accounts as for 30 (the preview data is loaded afresh for each count, so loading is counted)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tend.core.models import Role
from tend.customers.models import Account
from tend.health import preview, queries
from tend.health.actions import save_scorecard_version
from tend.health.list_actions import refresh_lists
from tend.health.models import HealthSnapshot, Scorecard
from tend.web.scorecard_forms import draft_from_config, form_fields
from tests.factories import AccountFactory, SubscriptionItemFactory, TicketFactory, UserFactory
from tests.health.factories import simple_config

pytestmark = pytest.mark.django_db
MaxQueries = Callable[[int], AbstractContextManager[object]]

# Session and user come first on every page. The preview data (`preview.loaded_data`): 8 stamp
# queries and 10 table reads.
LOAD = 18
# Scorecards in use: the active scorecards, then the latest version of each (one here).
SCORECARDS = 2
STORED_LIST = 3
PAGE_QUERIES = {
    # Metrics run, scope choices (up to 2), scorecards, stages, MRR, health mix, stage changes.
    ("web:report-journey", ()): 2 + 1 + 2 + SCORECARDS + 4,
    ("web:lists", ()): 2,
    # The stored list's latest run, a page of its rows, the owners to filter by (not patterns).
    ("web:list-at-risk", ()): 2 + STORED_LIST,
    ("web:list-renewals", ()): 2 + STORED_LIST,
    ("web:list-collections", ()): 2 + STORED_LIST,
    ("web:list-advocates", ()): 2 + STORED_LIST,
    ("web:list-upsell", ()): 2 + STORED_LIST,
    ("web:list-patterns", ()): 2 + STORED_LIST - 1,
    # Scorecards, their versions.
    ("web:scorecards", ()): 2 + 2,
    # Scorecard, versions, latest version.
    ("web:scorecard", ("slug",)): 2 + 3,
    # Scorecard, the version, the latest.
    ("web:scorecard-version", ("slug", 1)): 2 + 3,
    # Scorecard, version numbers, the two versions.
    ("web:scorecard-diff", ("slug",)): 2 + 4,
    # Scorecard, latest version, account segments.
    ("web:scorecard-edit", ("slug",)): 2 + 3,
}
# Scorecard, the day shown, the data stamp (9), the end of the data (7), the accounts,
# scorecards in use, the saved version; per frame (the day shown, the backtest's days): the
# versions' measures, their snapshots, and the accounts and usage where a raw value must be
# computed; the backtest's labels (3); the saved version's number.
PREVIEW_QUERIES = 2 + 1 + 1 + 9 + 7 + 1 + SCORECARDS + 1 + 2 * (2 + 2) + 3 + 1


def make_accounts(count: int, scorecard: Scorecard) -> None:
    """`count` paying accounts with a red snapshot today and an open ticket each."""
    version = queries.latest_version(scorecard)
    for _ in range(count):
        item = SubscriptionItemFactory(subscription__account=AccountFactory())
        account = item.subscription.account
        HealthSnapshot.objects.create(
            account=account,
            version=version,
            day=timezone.now().date(),
            score=20.0,
            computed_score=20.0,
            band="unhealthy",
            computed_band="unhealthy",
        )
        TicketFactory(account=account, opened_at=timezone.now())


def url(name: str, args: tuple[object, ...], slug: str) -> str:
    return reverse(name, args=[slug if a == "slug" else a for a in args])


def count(client: Client, path: str, data: dict[str, object] | None = None) -> int:
    preview.clear_cache()
    with CaptureQueriesContext(connection) as captured:
        response = client.post(path, data) if data is not None else client.get(path)
        assert response.status_code == 200, path
    return len(captured)


def test_health_pages_queries_do_not_grow_with_accounts(
    client: Client, django_assert_max_num_queries: MaxQueries
) -> None:
    client.force_login(UserFactory(username="mia", role=Role.MANAGER))
    first = save_scorecard_version(None, simple_config("Events"), None)
    scorecard = first.scorecard
    save_scorecard_version(scorecard, simple_config("Events", priority=3), None)
    make_accounts(3, scorecard)
    refresh_lists()
    fields = form_fields(draft_from_config(queries.version_config(first)))
    preview_url = reverse("web:scorecard-preview", args=[scorecard.slug])
    few = {key: count(client, url(*key, scorecard.slug)) for key in PAGE_QUERIES}
    few_preview = count(client, preview_url, fields)

    make_accounts(27, scorecard)
    assert Account.objects.count() == 30
    refresh_lists()

    for key, bound in PAGE_QUERIES.items():
        path = url(*key, scorecard.slug)
        preview.clear_cache()
        with django_assert_max_num_queries(bound):
            client.get(path)
        assert count(client, path) == few[key], path
    preview.clear_cache()
    with django_assert_max_num_queries(PREVIEW_QUERIES):
        client.post(preview_url, fields)
    assert count(client, preview_url, fields) == few_preview

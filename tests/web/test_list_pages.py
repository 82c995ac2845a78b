"""The list pages and the lists API read the stored lists: what was stored (not recomputed),
when it was computed, one page at a time, optionally of one owner's accounts; a clear message
until the lists are computed; the same queries for 3 rows as for 150."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tend.core.models import User
from tend.customers.models import Account
from tend.health.list_actions import refresh_lists, store_list
from tend.health.list_compute import ComputedList, encode_rows
from tend.health.list_queries import NOT_COMPUTED
from tend.health.models import HealthListRun
from tend.web.list_views import HEALTH_LISTS, PAGE_SIZE, HealthList
from tests.factories import AccountFactory, InvoiceFactory, UserFactory

pytestmark = pytest.mark.django_db
AS_OF = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)


def store_accounts(name: str, accounts: list[Account], **row: object) -> HealthListRun:
    """Store list `name` with one row per account, in the given order."""
    rows = encode_rows([{"account": a.external_id, "name": a.name, **row} for a in accounts])
    ids = {a.external_id: a.pk for a in accounts}
    colours = {"unhealthy": "red", "healthy": "green"}
    return store_list(ComputedList(name, rows, 0.5), AS_OF, [], colours, ids)


@pytest.mark.parametrize("item", HEALTH_LISTS, ids=lambda item: item.slug)
def test_each_list_page_says_when_nothing_is_computed_yet(
    signed_in_client: Client, item: HealthList
) -> None:
    response = signed_in_client.get(reverse(item.url_name))
    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-testid="list-not-computed"' in page and "tend lists refresh" in page
    assert NOT_COMPUTED.split(".")[0] in page


def test_the_page_shows_the_stored_rows_and_when_they_were_computed(
    signed_in_client: Client,
) -> None:
    late = AccountFactory(name="Late Payer", external_id="late")
    issued = timezone.now() - timedelta(days=34)
    InvoiceFactory(
        account=late, status="open", issued_at=issued, paid_at=None, amount_paid=Decimal(0)
    )
    [run] = refresh_lists(names=["collections"]).runs
    Account.objects.filter(pk=late.pk).update(name="Renamed since")
    response = signed_in_client.get(reverse("web:list-collections"))
    [row] = response.context["rows"]
    assert row["name"] == "Late Payer"  # as stored, not recomputed
    page = response.content.decode()
    assert 'data-testid="list-computed-at"' in page
    assert f"As of {run.computed_at:%-d %b %Y %H:%M} UTC" in page


def test_at_risk_keeps_its_pain_points_and_renewals_their_forecast(
    signed_in_client: Client,
) -> None:
    sinking = AccountFactory(name="Sinking Ltd", external_id="sinking")
    store_accounts(
        "at_risk",
        [sinking],
        score=22.0,
        band="unhealthy",
        reasons=["unhealthy"],
        ticket_topics=[{"topic": "billing", "tickets": 2}],
        detractor_comments=[
            {"answered_at": datetime(2026, 11, 18, 8, tzinfo=UTC), "score": 2,
             "comment": "Too slow"}
        ],
    )  # fmt: skip
    page = signed_in_client.get(reverse("web:list-at-risk")).content.decode()
    assert '<span class="badge health-red">unhealthy</span>' in page
    assert "billing (2)" in page and '“Too slow” <span class="muted">(2, 18 Nov 2026)' in page

    store_accounts(
        "renewals",
        [sinking],
        subscription="sub_1",
        renewal_date=date(2026, 12, 24),
        currency="usd",
        mrr_due=300.0,
        cancel_scheduled=False,
        probability_to_renew=0.75,
        expected_renewing_mrr=225.0,
        score=22.0,
        band="unhealthy",
    )
    response = signed_in_client.get(reverse("web:list-renewals"))
    [row] = response.context["rows"]
    assert row["renewal_date"] == date(2026, 12, 24)
    page = response.content.decode()
    assert "24 Dec 2026" in page and "300.00 USD" in page
    assert "75 %" in page and "225.00 USD" in page


def make_book(count: int, owner: User) -> list[Account]:
    """`count` accounts, every third owned by `owner`."""
    return [AccountFactory(owner=owner if n % 3 == 0 else None) for n in range(count)]


def test_pages_and_the_owner_filter(signed_in_client: Client) -> None:
    ann = UserFactory(username="ann", first_name="Ann")
    accounts = make_book(150, ann)
    store_accounts("advocates", accounts, score=90.0, nps_score=10, tenure_months=7)
    first = signed_in_client.get(reverse("web:list-advocates"))
    assert len(first.context["rows"]) == PAGE_SIZE == 50 and first.context["count"] == 150
    assert "Page 1 of 3" in first.content.decode()
    second = signed_in_client.get(reverse("web:list-advocates"), {"page": 2})
    assert [r["account"] for r in second.context["rows"]] == [
        a.external_id for a in accounts[PAGE_SIZE : 2 * PAGE_SIZE]
    ]
    owned = signed_in_client.get(reverse("web:list-advocates"), {"owner": ann.pk})
    assert owned.context["count"] == 50 and len(owned.context["rows"]) == 50
    assert [r["account"] for r in owned.context["rows"]] == [a.external_id for a in accounts[::3]]
    assert f'<option value="{ann.pk}" selected>Ann' in owned.content.decode()


def count_queries(client: Client, path: str, data: dict[str, object]) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(path, data).status_code == 200
    return len(captured)


@pytest.mark.parametrize("slug", [item.slug for item in HEALTH_LISTS])
def test_list_page_queries_do_not_grow_with_rows(signed_in_client: Client, slug: str) -> None:
    """Session, user, the latest run, a page of rows, the owners (not on patterns) and, with the
    owner filter, the count of that owner's rows."""
    item = next(item for item in HEALTH_LISTS if item.slug == slug)
    ann = UserFactory(username="ann")
    path = reverse(item.url_name)
    store_accounts(item.name, make_book(3, ann))
    few = [count_queries(signed_in_client, path, d) for d in ({}, {"owner": ann.pk})]
    store_accounts(item.name, make_book(150, ann))
    many = [count_queries(signed_in_client, path, d) for d in ({}, {"owner": ann.pk, "page": 2})]
    assert few == many
    assert many == ([5, 6] if item.per_account else [4, 4])


def test_the_api_reads_the_stored_list(client: Client, csm: User) -> None:
    client.force_login(csm)
    missing = client.get("/api/health/lists/upsell")
    assert missing.status_code == 404, missing.content
    assert "tend lists refresh" in missing.content.decode()
    ann = UserFactory(username="ann")
    accounts = make_book(9, ann)
    run = store_accounts("upsell", accounts, score=80.0, reasons=["seats"])
    response = client.get("/api/health/lists/upsell", {"limit": 2, "offset": 3})
    assert response.status_code == 200
    assert [r["account"] for r in response.json()] == [a.external_id for a in accounts[3:5]]
    assert response.json()[0]["reasons"] == ["seats"]
    assert response["X-Total-Count"] == "9"
    assert datetime.fromisoformat(response["X-List-Computed-At"]) == run.computed_at
    assert datetime.fromisoformat(response["X-List-As-Of"]) == AS_OF
    owned = client.get("/api/health/lists/upsell", {"owner": ann.pk})
    assert [r["account"] for r in owned.json()] == [a.external_id for a in accounts[::3]]
    assert owned["X-Total-Count"] == "3"

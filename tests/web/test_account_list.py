"""The accounts table: search, filters, sort, paging and the htmx fragment."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from tend.customers.models import Account, LifecycleStage
from tests.factories import (
    BASE_TIME,
    AccountFactory,
    SubscriptionItemFactory,
    UserFactory,
)


def names(response: object) -> list[str]:
    """Account names on the page, in order."""
    return [a.name for a in response.context["page"].object_list]  # type: ignore[attr-defined]


@pytest.fixture
def accounts(db: None) -> dict[str, Account]:
    dana = UserFactory(username="dana")
    acme = AccountFactory(
        name="Acme",
        external_id="acme-1",
        domain="acme.io",
        owner=dana,
        seats=40,
        lifecycle_stage=LifecycleStage.EXPANSION,
        signed_up_at=BASE_TIME - timedelta(days=300),
    )
    SubscriptionItemFactory(subscription__account=acme, quantity=20)  # 600
    beta = AccountFactory(
        name="Beta",
        external_id="b-2",
        domain="beta.dev",
        lifecycle_stage=LifecycleStage.TRIAL,
        signed_up_at=BASE_TIME,
    )
    cosmo = AccountFactory(
        name="Cosmo",
        external_id="zz-cosmo",
        domain="cosmo.app",
        owner=dana,
        lifecycle_stage=LifecycleStage.AT_RISK,
        signed_up_at=BASE_TIME - timedelta(days=30),
    )
    SubscriptionItemFactory(subscription__account=cosmo, quantity=5)  # 150
    return {"acme": acme, "beta": beta, "cosmo": cosmo}


def test_lists_accounts_with_their_columns(signed_in_client: Client, accounts: dict) -> None:
    response = signed_in_client.get(reverse("web:accounts"))
    assert response.status_code == 200
    assert names(response) == ["Acme", "Beta", "Cosmo"]
    html = response.content.decode()
    assert "$600.00" in html and "$150.00" in html
    assert reverse("web:account", args=["acme-1"]) in html
    assert 'hx-get="/accounts/"' in html and 'hx-target="#account-results"' in html


@pytest.mark.parametrize(
    ("query", "expected"),
    [("acm", ["Acme"]), ("BETA.DEV", ["Beta"]), ("zz-", ["Cosmo"]), ("nothing", [])],
)
def test_search_by_name_domain_or_external_id(
    signed_in_client: Client, accounts: dict, query: str, expected: list[str]
) -> None:
    assert names(signed_in_client.get(reverse("web:accounts"), {"q": query})) == expected


def test_filter_by_stage_and_owner(signed_in_client: Client, accounts: dict) -> None:
    url = reverse("web:accounts")
    assert names(signed_in_client.get(url, {"stage": "trial"})) == ["Beta"]
    owner = accounts["acme"].owner_id
    assert names(signed_in_client.get(url, {"owner": owner})) == ["Acme", "Cosmo"]
    assert names(signed_in_client.get(url, {"owner": owner, "stage": "at_risk"})) == ["Cosmo"]
    assert names(signed_in_client.get(url, {"owner": "none"})) == ["Beta"]


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("name", ["Acme", "Beta", "Cosmo"]),
        ("-name", ["Cosmo", "Beta", "Acme"]),
        ("-mrr", ["Acme", "Cosmo", "Beta"]),
        ("mrr", ["Beta", "Cosmo", "Acme"]),
        ("signed_up", ["Acme", "Cosmo", "Beta"]),
        ("-signed_up", ["Beta", "Cosmo", "Acme"]),
        ("stage", ["Beta", "Acme", "Cosmo"]),
        ("-stage", ["Cosmo", "Acme", "Beta"]),
        ("bogus", ["Acme", "Beta", "Cosmo"]),
    ],
)
def test_sort(signed_in_client: Client, accounts: dict, sort: str, expected: list[str]) -> None:
    assert names(signed_in_client.get(reverse("web:accounts"), {"sort": sort})) == expected


def test_pages_of_fifty(signed_in_client: Client, db: None) -> None:
    AccountFactory.create_batch(120)
    url = reverse("web:accounts")
    first = signed_in_client.get(url)
    assert len(names(first)) == 50
    assert "Page 1 of 3" in first.content.decode()
    last = signed_in_client.get(url, {"page": 3})
    assert len(names(last)) == 20
    assert names(signed_in_client.get(url, {"page": "junk"})) == names(first)


def test_htmx_request_gets_only_the_results_fragment(
    signed_in_client: Client, accounts: dict
) -> None:
    response = signed_in_client.get(
        reverse("web:accounts"), {"q": "cosmo"}, headers={"HX-Request": "true"}
    )
    html = response.content.decode()
    assert names(response) == ["Cosmo"]
    assert "<html" not in html and 'id="account-rows"' in html
    assert "HX-Request" in response["Vary"]


def test_mrr_column_is_summed_per_account(signed_in_client: Client, accounts: dict) -> None:
    response = signed_in_client.get(reverse("web:accounts"))
    mrr = {a.name: a.mrr for a in response.context["page"].object_list}
    assert mrr == {"Acme": Decimal(600), "Beta": Decimal(0), "Cosmo": Decimal(150)}


def test_mrr_column_shows_each_account_in_its_currency(signed_in_client: Client, db: None) -> None:
    start = BASE_TIME - timedelta(days=5)
    for name, currency, quantity in [
        ("Euro", "EUR", 40),
        ("Pound", "GBP", 3),
        ("Dollar", "USD", 1),
    ]:
        SubscriptionItemFactory(
            subscription__account=AccountFactory(name=name),
            subscription__currency=currency,
            subscription__started_at=start,
            quantity=quantity,
        )  # quantity x 30 a month
    mixed = AccountFactory(name="Mixed")
    for currency in ("EUR", "USD"):
        SubscriptionItemFactory(
            subscription__account=mixed,
            subscription__currency=currency,
            subscription__started_at=start,
        )
    AccountFactory(name="Nothing")

    response = signed_in_client.get(reverse("web:accounts"), {"sort": "-mrr"})

    # Sorting compares the plain numbers across currencies (see `annotate_mrr`).
    assert names(response) == ["Euro", "Mixed", "Pound", "Dollar", "Nothing"]
    rows = {a.name: (a.mrr, a.mrr_currency) for a in response.context["page"].object_list}
    assert rows["Euro"] == (Decimal(1200), "EUR")
    assert rows["Mixed"] == (Decimal(600), "*")
    assert rows["Nothing"] == (Decimal(0), None)
    cells = [
        row.split('<td class="num">')[2].split("</td>")[0]
        for row in response.content.decode().split('<tbody id="account-rows">')[1].split("<tr>")[1:]
    ]
    assert cells[0] == "€1,200.00"
    assert "mixed currencies" in cells[1]
    assert cells[2:4] == ["£90.00", "$30.00"]
    assert "—" in cells[4]

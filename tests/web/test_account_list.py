"""The accounts table: health, trend, MRR, renewal, owner, stage, last touch and NPS columns;
search, filters, sort on every column, paging and the htmx fragment."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tend.customers.models import Account, LifecycleStage
from tend.health.actions import save_scorecard_version
from tend.health.models import HealthSnapshot
from tests.factories import (
    BASE_TIME,
    AccountFactory,
    ContactFactory,
    SubscriptionFactory,
    SubscriptionItemFactory,
    SurveyFactory,
    SurveyResponseFactory,
    TouchpointFactory,
    UserFactory,
)
from tests.web.health_data import scorecard, store_snapshot, two_group_config

TODAY = date(2026, 11, 20)


def names(response: object) -> list[str]:
    """Account names on the page, in order."""
    return [a.name for a in response.context["page"].object_list]  # type: ignore[attr-defined]


def rows_html(response: object) -> list[str]:
    """The table's body rows as HTML, in order."""
    html = response.content.decode()  # type: ignore[attr-defined]
    body = html.split('<tbody id="account-rows">')[1].split("</tbody>")[0]
    return body.split("<tr>")[1:]


@pytest.fixture
def accounts(db: None) -> dict[str, Account]:
    """Acme (healthy 80, up 5, $600, renews in 40 days, NPS 9, enterprise), Beta (not scored,
    trial, unowned, smb) and Cosmo (unhealthy 30, down 8, $150, NPS 3, smb)."""
    now = timezone.now()
    dana = UserFactory(username="dana", first_name="Dana", last_name="Scully")
    acme = AccountFactory(
        name="Acme",
        external_id="acme-1",
        domain="acme.io",
        owner=dana,
        lifecycle_stage=LifecycleStage.EXPANSION,
        traits={"segment": "enterprise"},
        signed_up_at=BASE_TIME - timedelta(days=300),
    )
    subscription = SubscriptionFactory(
        account=acme, started_at=now - timedelta(days=60), current_period_end=now + timedelta(40)
    )
    SubscriptionItemFactory(subscription=subscription, quantity=20)  # 600
    beta = AccountFactory(
        name="Beta",
        external_id="b-2",
        domain="beta.dev",
        lifecycle_stage=LifecycleStage.TRIAL,
        traits={"segment": "smb"},
        signed_up_at=BASE_TIME,
    )
    cosmo = AccountFactory(
        name="Cosmo",
        external_id="zz-cosmo",
        domain="cosmo.app",
        owner=dana,
        lifecycle_stage=LifecycleStage.AT_RISK,
        traits={"segment": "smb"},
        signed_up_at=BASE_TIME - timedelta(days=30),
    )
    cancelled = SubscriptionFactory(
        account=cosmo,
        started_at=now - timedelta(days=60),
        current_period_end=now + timedelta(days=5),
        cancel_at=now + timedelta(days=5),
    )
    SubscriptionItemFactory(subscription=cancelled, quantity=5)  # 150, set to cancel: no renewal
    TouchpointFactory(account=acme, occurred_at=now - timedelta(days=3))
    TouchpointFactory(account=acme, occurred_at=now - timedelta(days=30))
    TouchpointFactory(account=cosmo, occurred_at=now - timedelta(days=90))
    SurveyResponseFactory(
        contact=ContactFactory(account=acme), score=6, answered_at=now - timedelta(30)
    )
    SurveyResponseFactory(contact=ContactFactory(account=acme), score=9, answered_at=now)
    SurveyResponseFactory(contact=ContactFactory(account=cosmo), score=3, answered_at=now)
    csat = SurveyFactory(external_id="csat", kind="csat", scale_min=1, scale_max=5)
    SurveyResponseFactory(survey=csat, contact=ContactFactory(account=beta), score=5)
    version = scorecard()
    store_snapshot(acme, version, TODAY - timedelta(days=7), {"events_30d": 70, "nps_latest": 80})
    # 0.45 x 80 + 0.40 x 110 = 36 + 44 = 80 (healthy); the 7-day change is stored as +5
    store_snapshot(acme, version, TODAY, {"events_30d": 80, "nps_latest": 110}, change_7d=5.0)
    # 0.45 x 40 + 0.40 x 30 = 18 + 12 = 30 (unhealthy)
    store_snapshot(cosmo, version, TODAY, {"events_30d": 40, "nps_latest": 30}, change_7d=-8.0)
    return {"acme": acme, "beta": beta, "cosmo": cosmo}


def test_lists_accounts_with_health_and_every_column(
    signed_in_client: Client, accounts: dict
) -> None:
    response = signed_in_client.get(reverse("web:accounts"))
    assert response.status_code == 200
    assert names(response) == ["Acme", "Beta", "Cosmo"]
    acme, beta, cosmo = rows_html(response)
    renewal = (timezone.now() + timedelta(days=40)).strftime("%-d %b %Y")
    last_touch = (timezone.now() - timedelta(days=3)).strftime("%-d %b %Y")
    for text in [
        'class="badge health-green" data-band="healthy">healthy</span>',  # colour and name
        '<span class="score">80</span>',
        "↑</span> +5.0",
        "$600.00",
        renewal,
        "Dana Scully",
        "Expansion",
        last_touch,
        '<td class="num">9</td>',  # the latest NPS answer, not the earlier 6
    ]:
        assert text in acme, text
    assert (
        "badge health-" not in beta and beta.count("—") >= 5
    )  # no score, trend, renewal, touch, NPS
    assert 'class="badge health-red" data-band="unhealthy">unhealthy</span>' in cosmo
    assert "↓</span> -8.0" in cosmo
    assert "$150.00" in cosmo and renewal not in cosmo  # set to cancel: no renewal
    assert "Health as scored on 20 Nov 2026" in response.content.decode()
    assert reverse("web:account", args=["acme-1"]) in acme


@pytest.mark.parametrize(
    ("query", "expected"),
    [("acm", ["Acme"]), ("BETA.DEV", ["Beta"]), ("zz-", ["Cosmo"]), ("nothing", [])],
)
def test_search_by_name_domain_or_external_id(
    signed_in_client: Client, accounts: dict, query: str, expected: list[str]
) -> None:
    assert names(signed_in_client.get(reverse("web:accounts"), {"q": query})) == expected


def test_filters_segment_owner_band_and_stage(signed_in_client: Client, accounts: dict) -> None:
    url = reverse("web:accounts")
    owner = accounts["acme"].owner_id
    assert names(signed_in_client.get(url, {"stage": "trial"})) == ["Beta"]
    assert names(signed_in_client.get(url, {"owner": owner})) == ["Acme", "Cosmo"]
    assert names(signed_in_client.get(url, {"owner": owner, "stage": "at_risk"})) == ["Cosmo"]
    assert names(signed_in_client.get(url, {"owner": "none"})) == ["Beta"]
    assert names(signed_in_client.get(url, {"segment": "smb"})) == ["Beta", "Cosmo"]
    assert names(signed_in_client.get(url, {"segment": "enterprise"})) == ["Acme"]
    assert names(signed_in_client.get(url, {"band": "unhealthy"})) == ["Cosmo"]
    assert names(signed_in_client.get(url, {"band": "healthy", "sort": "-health"})) == ["Acme"]
    assert names(signed_in_client.get(url, {"band": "at risk"})) == []
    assert names(signed_in_client.get(url, {"segment": "smb", "band": "healthy"})) == []
    page = signed_in_client.get(url).content.decode()
    for choice in ['<option value="smb">', '<option value="enterprise">', '"unhealthy"']:
        assert choice in page, choice


def test_filters_ignore_values_that_are_not_choices(
    signed_in_client: Client, accounts: dict
) -> None:
    url = reverse("web:accounts")
    response = signed_in_client.get(url, {"stage": "bogus", "owner": "x'1", "sort": "-bogus"})
    assert names(response) == ["Acme", "Beta", "Cosmo"]


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("name", ["Acme", "Beta", "Cosmo"]),
        ("-name", ["Cosmo", "Beta", "Acme"]),
        ("health", ["Cosmo", "Acme", "Beta"]),  # unscored accounts last either way
        ("-health", ["Acme", "Cosmo", "Beta"]),
        ("trend", ["Cosmo", "Acme", "Beta"]),
        ("-trend", ["Acme", "Cosmo", "Beta"]),
        ("-mrr", ["Acme", "Cosmo", "Beta"]),
        ("mrr", ["Beta", "Cosmo", "Acme"]),
        ("renewal", ["Acme", "Beta", "Cosmo"]),
        ("owner", ["Acme", "Cosmo", "Beta"]),
        ("stage", ["Beta", "Acme", "Cosmo"]),
        ("-stage", ["Cosmo", "Acme", "Beta"]),
        ("last_touch", ["Cosmo", "Acme", "Beta"]),
        ("-last_touch", ["Acme", "Cosmo", "Beta"]),
        ("nps", ["Cosmo", "Acme", "Beta"]),
        ("-nps", ["Acme", "Cosmo", "Beta"]),
        ("signed_up", ["Acme", "Cosmo", "Beta"]),
        ("bogus", ["Acme", "Beta", "Cosmo"]),
    ],
)
def test_sort_on_every_column(
    signed_in_client: Client, accounts: dict, sort: str, expected: list[str]
) -> None:
    assert names(signed_in_client.get(reverse("web:accounts"), {"sort": sort})) == expected


def test_sort_headers_link_to_the_reverse_order(signed_in_client: Client, accounts: dict) -> None:
    html = signed_in_client.get(reverse("web:accounts"), {"sort": "health"}).content.decode()
    assert 'aria-sort="ascending"' in html
    assert "?sort=-health" in html and "?sort=nps" in html


def test_only_the_current_day_of_the_latest_version_counts(
    signed_in_client: Client, accounts: dict
) -> None:
    """An old day, or an older version of the scorecard, never shows as current health."""
    older = HealthSnapshot.objects.first().version  # type: ignore[union-attr]
    newer = save_scorecard_version(older.scorecard, two_group_config(), None)
    assert newer.number == 2
    store_snapshot(accounts["beta"], newer, TODAY - timedelta(days=1), {"events_30d": 100})
    response = signed_in_client.get(reverse("web:accounts"))
    health = {a.name: (a.health.score, a.health.band) for a in response.context["page"].object_list}
    assert health == {"Acme": (None, ""), "Beta": (45.0, "at risk"), "Cosmo": (None, "")}


def test_pages_of_fifty(signed_in_client: Client, db: None) -> None:
    AccountFactory.create_batch(120)
    url = reverse("web:accounts")
    first = signed_in_client.get(url)
    assert len(names(first)) == 50
    assert "Page 1 of 3" in first.content.decode()
    last = signed_in_client.get(url, {"page": 3})
    assert len(names(last)) == 20
    assert names(signed_in_client.get(url, {"page": "junk"})) == names(first)
    assert len(names(signed_in_client.get(url, {"sort": "-mrr", "page": 2}))) == 50


def test_htmx_request_gets_only_the_results_fragment(
    signed_in_client: Client, accounts: dict
) -> None:
    response = signed_in_client.get(
        reverse("web:accounts"), {"q": "cosmo", "band": "unhealthy"}, headers={"HX-Request": "true"}
    )
    html = response.content.decode()
    assert names(response) == ["Cosmo"]
    assert "<html" not in html and 'id="account-rows"' in html
    assert "HX-Request" in response["Vary"]
    # the export link and the saved-view form follow the filters
    assert 'href="/accounts.csv?q=cosmo&amp;band=unhealthy"' in html
    assert 'id="view-query" value="q=cosmo&amp;band=unhealthy" hx-swap-oob="true"' in html


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
    cells = [row.split('<td class="num">')[1].split("</td>")[0] for row in rows_html(response)]
    assert cells[0] == "€1,200.00"
    assert "mixed currencies" in cells[1]
    assert cells[2:4] == ["£90.00", "$30.00"]
    assert "—" in cells[4]


def test_health_sort_pages_through_the_scored_then_the_unscored(
    signed_in_client: Client, accounts: dict
) -> None:
    companies = [a.name for a in AccountFactory.create_batch(60)]
    url = reverse("web:accounts")
    first = names(signed_in_client.get(url, {"sort": "-health"}))
    second = names(signed_in_client.get(url, {"sort": "-health", "page": 2}))
    assert first[:2] == ["Acme", "Cosmo"]
    assert first[2:] + second == sorted(["Beta", *companies])
    assert len(second) == 13

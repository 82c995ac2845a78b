"""The journey map and the list pages, on a few hand-made accounts whose figures are worked out
in the comments."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tend.customers.models import Account, StageChange
from tend.health import preview
from tend.health.actions import save_scorecard_version
from tend.health.list_actions import refresh_lists
from tend.health.models import HealthSnapshot, ScorecardVersion
from tests.factories import (
    AccountFactory,
    InvoiceFactory,
    SubscriptionFactory,
    SubscriptionItemFactory,
    TicketFactory,
)
from tests.health.factories import simple_config
from tests.web.snapshot_data import series, store

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_preview_data() -> None:
    preview.clear_cache()


def snapshot(account: Account, version: ScorecardVersion, score: float, band: str,
             day: date | None = None) -> None:  # fmt: skip
    HealthSnapshot.objects.create(
        account=account,
        version=version,
        day=day or timezone.now().date(),
        score=score,
        computed_score=score,
        band=band,
        computed_band=band,
        coverage=1.0,
    )


def paying(account: Account, quantity: int = 10) -> None:
    """30.00 a seat a month: 300.00 USD MRR for ten seats."""
    subscription = SubscriptionFactory(
        account=account, started_at=timezone.now() - timedelta(days=400)
    )
    SubscriptionItemFactory(subscription=subscription, quantity=quantity)


@pytest.fixture
def journey() -> ScorecardVersion:
    """Adoption: Acme (300 USD, healthy) and Globex (600 USD, unhealthy, segment smb).
    Renewal: Initech (no score; its snapshot is 30 days old). Globex moved to adoption
    yesterday."""
    version = save_scorecard_version(None, simple_config("Events"), None)
    acme = AccountFactory(name="Acme", lifecycle_stage="adoption")
    globex = AccountFactory(name="Globex", lifecycle_stage="adoption", traits={"segment": "smb"})
    initech = AccountFactory(name="Initech", lifecycle_stage="renewal")
    paying(acme)
    paying(globex, quantity=20)
    snapshot(acme, version, 82.0, "healthy")
    snapshot(globex, version, 31.0, "unhealthy")
    snapshot(initech, version, 55.0, "at risk", day=timezone.now().date() - timedelta(days=30))
    StageChange.objects.create(
        account=globex,
        from_stage="onboarding",
        to_stage="adoption",
        changed_at=timezone.now() - timedelta(days=1),
    )
    return version


def test_journey_map_counts_mrr_and_health_per_stage(
    signed_in_client: Client, journey: ScorecardVersion
) -> None:
    response = signed_in_client.get(reverse("web:report-journey"))
    assert response.status_code == 200
    stages = {row.stage: row for row in response.context["stages"]}
    assert list(stages)[:4] == ["trial", "onboarding", "adoption", "renewal"]
    adoption = stages["adoption"]
    assert adoption.accounts == 2 and adoption.entered == 1
    assert [(m.amount, m.currency) for m in adoption.mrr] == [(Decimal("900.00"), "USD")]
    assert [(b.name, b.colour, b.accounts) for b in adoption.bands] == [
        ("healthy", "green", 1),
        ("unhealthy", "red", 1),
    ]
    renewal = stages["renewal"]
    assert renewal.accounts == 1 and renewal.bands == [] and renewal.unscored == 1
    assert renewal.mrr == []
    page = response.content.decode()
    assert 'data-testid="stage-band-adoption-healthy"' in page
    assert '<span class="badge health-green">healthy</span>' in page  # band name beside colour
    assert "900.00 USD" in page


def test_journey_map_follows_the_segment_filter(
    signed_in_client: Client, journey: ScorecardVersion
) -> None:
    store(series("mrr", [1.0] * 6, scope=("segment", "smb")))
    response = signed_in_client.get(reverse("web:report-journey"), {"scope": "segment:smb"})
    stages = {row.stage: row for row in response.context["stages"]}
    assert stages["adoption"].accounts == 1
    assert [(m.amount, m.currency) for m in stages["adoption"].mrr] == [(Decimal("600.00"), "USD")]
    assert stages["renewal"].accounts == 0
    fragment = signed_in_client.get(
        reverse("web:report-journey"), {"scope": "segment:smb"}, headers={"HX-Request": "true"}
    )
    assert b"<html" not in fragment.content and b"journey-map" in fragment.content


def test_collections_lists_overdue_invoices_with_account_links(signed_in_client: Client) -> None:
    """300.00 due 20 days ago (issued 34 days ago, due 14 days after) and nothing paid."""
    account = AccountFactory(name="Late Payer", external_id="late")
    issued = timezone.now() - timedelta(days=34)
    InvoiceFactory(
        account=account, status="open", issued_at=issued, paid_at=None, amount_paid=Decimal(0)
    )
    refresh_lists()
    response = signed_in_client.get(reverse("web:list-collections"))
    assert response.status_code == 200
    [row] = response.context["rows"]
    assert row["account"] == "late" and row["overdue_amount"] == 300.0
    assert row["overdue_invoices"] == 1 and row["days_overdue_max"] == 20
    page = response.content.decode()
    assert f'href="{reverse("web:account", args=["late"])}"' in page
    assert "300.00 USD" in page


def test_at_risk_lists_red_accounts_with_their_pain_points(signed_in_client: Client) -> None:
    version = save_scorecard_version(None, simple_config("Events"), None)
    sinking = AccountFactory(name="Sinking Ltd", external_id="sinking")
    fine = AccountFactory(name="Fine Inc", external_id="fine")
    for account in (sinking, fine):
        paying(account)
    snapshot(sinking, version, 22.0, "unhealthy")
    snapshot(fine, version, 90.0, "healthy")
    for _ in range(2):
        TicketFactory(
            account=sinking, topic="billing", opened_at=timezone.now() - timedelta(days=3)
        )
    refresh_lists()
    response = signed_in_client.get(reverse("web:list-at-risk"))
    assert response.status_code == 200
    rows = response.context["rows"]
    assert [r["account"] for r in rows] == ["sinking"]
    assert rows[0]["ticket_topics"] == [{"topic": "billing", "tickets": 2}]
    page = response.content.decode()
    assert '<span class="badge health-red">unhealthy</span>' in page
    assert "billing (2)" in page


@pytest.mark.parametrize(
    "name", ["web:lists", "web:list-renewals", "web:list-advocates", "web:list-upsell",
             "web:list-patterns"],
)  # fmt: skip
def test_every_list_page_answers_on_an_empty_portfolio(signed_in_client: Client, name: str) -> None:
    refresh_lists()
    response = signed_in_client.get(reverse(name))
    assert response.status_code == 200

"""The account page shows everything known about one customer; unknown ids are a 404."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tend.billing.models import BillingInterval, InvoiceStatus
from tend.billing.queries import Money
from tend.core.models import Note, User
from tend.customers.models import AcquisitionSource, StageChange
from tend.support.models import TicketStatus
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
)


def test_account_page_shows_its_data(signed_in_client: Client, csm: User) -> None:
    now = timezone.now()
    parent = AccountFactory(name="Globex Holding")
    referrer = AccountFactory(name="Initech")
    account = AccountFactory(
        name="Globex Europe",
        external_id="globex-eu",
        owner=csm,
        parent=parent,
        acquisition_source=AcquisitionSource.REFERRAL,
        referred_by=referrer,
    )
    AccountFactory(name="Globex Labs", parent=account)
    item = SubscriptionItemFactory(
        subscription__account=account, quantity=10, started_at=now - timedelta(days=90)
    )
    champion = ContactFactory(
        account=account,
        name="Ada Lovelace",
        title="VP Ops",
        is_champion=True,
        email="ada@globex.test",
        last_seen_at=now,
    )
    InvoiceFactory(
        account=account,
        number="INV-LATE",
        issued_at=now - timedelta(days=60),
        paid_at=now - timedelta(days=36),
    )  # due day 14, paid day 24: 10 days late
    InvoiceFactory(
        account=account,
        number="INV-OPEN",
        status=InvoiceStatus.OPEN,
        paid_at=None,
        amount_paid=0,
        issued_at=now - timedelta(days=20),
    )  # due 6 days ago
    TicketFactory(account=account, subject="SSO login loops", status=TicketStatus.OPEN)
    TouchpointFactory(account=account, subject="Kick-off call", csm=csm, contact=champion)
    SurveyResponseFactory(contact=champion, score=10, comment="Our team lives in Tend.")
    StageChange.objects.create(
        account=account, from_stage="onboarding", to_stage="adoption", changed_at=now
    )
    Note.objects.create(account=account, author=csm, body="Renewal talk in March.", pinned=True)
    EventFactory(account=account, user_id="u1", timestamp=now - timedelta(days=1))
    EventFactory(account=account, user_id="u1", timestamp=now - timedelta(days=2))
    EventFactory(account=account, user_id="u2", timestamp=now - timedelta(days=3))
    EventFactory(account=account, user_id="u3", timestamp=now - timedelta(days=45))

    response = signed_in_client.get(reverse("web:account", args=["globex-eu"]))

    assert response.status_code == 200
    html = response.content.decode()
    for text in [
        "Globex Europe",
        "Globex Holding",
        "Globex Labs",
        "Initech",
        "Customer referral",
        "Ada Lovelace",
        "ada@globex.test",
        "VP Ops",
        "Champion",
        item.plan.name,
        "INV-LATE",
        "INV-OPEN",
        "SSO login loops",
        "Kick-off call",
        "Our team lives in Tend.",
        "Renewal talk in March.",
        "Adoption",
    ]:
        assert text in html, text
    assert response.context["mrr"] == [Money(Decimal("300.00"), "USD")]
    assert response.context["arr"] == [Money(Decimal("3600.00"), "USD")]
    days_late = {row.invoice.number: row.days_late for row in response.context["invoices"]}
    assert days_late == {"INV-LATE": 10, "INV-OPEN": 6}
    usage = response.context["usage"]
    assert (usage.events, usage.active_users) == (3, 2)


def test_account_page_limits_recent_lists_to_twenty(signed_in_client: Client) -> None:
    account = AccountFactory(external_id="busy")
    TicketFactory.create_batch(25, account=account)
    TouchpointFactory.create_batch(25, account=account)
    response = signed_in_client.get(reverse("web:account", args=["busy"]))
    assert len(response.context["tickets"]) == 20
    assert len(response.context["touchpoints"]) == 20


def test_unknown_account_is_404(signed_in_client: Client) -> None:
    response = signed_in_client.get(reverse("web:account", args=["no-such-account"]))
    assert response.status_code == 404


def test_account_page_shows_amounts_in_the_account_currency(signed_in_client: Client) -> None:
    now = timezone.now()
    account = AccountFactory(external_id="berlin")
    subscription = SubscriptionFactory(
        account=account, currency="EUR", started_at=now - timedelta(days=40)
    )
    # 12 seats x €1,250.50 a year, 10% off: 1,250.50 x 12 x 0.9 / 12 = €1,125.45 a month.
    yearly = PlanFactory(
        external_id="pro_yearly_eur", interval=BillingInterval.YEAR, unit_amount=Decimal("1250.50")
    )
    SubscriptionItemFactory(
        subscription=subscription, plan=yearly, quantity=12, discount_percent=Decimal(10)
    )
    InvoiceFactory(
        account=account,
        subscription=subscription,
        currency="EUR",
        number="INV-EUR",
        amount_due=Decimal("13505.40"),
        amount_paid=Decimal("13505.40"),
        issued_at=now - timedelta(days=40),
    )

    response = signed_in_client.get(reverse("web:account", args=["berlin"]))

    assert response.context["mrr"] == [Money(Decimal("1125.45"), "EUR")]
    html = response.content.decode()
    assert '<span class="kpi-value" data-testid="account-mrr">€1,125.45</span>' in html
    assert '<span class="kpi-value" data-testid="account-arr">€13,505.40</span>' in html
    assert "€1,250.50" in html  # unit price
    assert html.count("€13,505.40") == 3  # ARR, invoice amount due and paid
    assert "$" not in html.split('<div class="kpis account-summary">')[1]


def test_account_page_caps_the_contact_list(signed_in_client: Client) -> None:
    account = AccountFactory(external_id="big")
    ContactFactory.create_batch(31, account=account)
    response = signed_in_client.get(reverse("web:account", args=["big"]))
    contacts = response.context["contacts"]
    assert (len(contacts.contacts), contacts.total, contacts.hidden) == (25, 31, 6)
    html = response.content.decode()
    assert (
        html.count("<tr><td>", html.index('id="contacts"'), html.index('id="subscriptions"')) == 25
    )
    assert "and 6 more" in html

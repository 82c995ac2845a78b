"""Accounts from Stripe customers, including customers announced after their subscriptions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client

from tend.billing.models import Invoice, Subscription
from tend.customers.models import Account
from tests.billing import stripe_objects as so
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db

CUS = "cus_Q8xT4aZk2LmN0p"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _subscription_created() -> so.StripeObject:
    item = so.subscription_item("si_Seats01", created=T0, item_price=so.price(), quantity=10)
    return so.subscription(customer_id=CUS, created=T0, items=[item])


def test_a_customer_becomes_an_account(client: Client) -> None:
    metadata = {"tend_account_id": "acct_acme"}
    so.send(client, "customer.created", so.customer(CUS, created=T0, metadata=metadata), T0)
    account = Account.objects.get()
    assert (account.external_id, account.stripe_customer_id, account.name) == (
        "acct_acme",
        CUS,
        "Acme GmbH",
    )
    assert (account.domain, account.country) == ("acme.example", "DE")


def test_without_metadata_the_customer_id_is_the_external_id(client: Client) -> None:
    so.send(client, "customer.created", so.customer(CUS, created=T0, metadata=None), T0)
    assert Account.objects.get().external_id == CUS


def test_a_placeholder_account_is_filled_in_by_customer_created(client: Client) -> None:
    so.send(client, "customer.subscription.created", _subscription_created(), T0)
    placeholder = Account.objects.get()
    assert (placeholder.external_id, placeholder.name, placeholder.stripe_customer_id) == (
        CUS,
        CUS,
        CUS,
    )

    metadata = {"external_id": "acct_acme"}
    so.send(client, "customer.created", so.customer(CUS, created=T0, metadata=metadata), T0)
    account = Account.objects.get()
    assert account.pk == placeholder.pk
    assert (account.external_id, account.name, account.domain) == (
        "acct_acme",
        "Acme GmbH",
        "acme.example",
    )
    assert Subscription.objects.get().account == account


def test_a_placeholder_folds_into_the_account_that_already_has_the_id(client: Client) -> None:
    known = AccountFactory(external_id="acct_acme", name="Acme", country="AT")
    invoice = so.invoice(customer_id=CUS, created=T0, period=(T0, T0 + timedelta(days=30)))
    so.send(client, "invoice.created", invoice, T0)
    assert Account.objects.count() == 2

    metadata = {"tend_account_id": "acct_acme"}
    so.send(client, "customer.created", so.customer(CUS, created=T0, metadata=metadata), T0)
    assert list(Account.objects.values_list("external_id", flat=True)) == ["acct_acme"]
    known.refresh_from_db()
    assert (known.stripe_customer_id, known.name, known.country) == (CUS, "Acme GmbH", "DE")
    assert Invoice.objects.get().account == known


def test_a_linked_account_keeps_its_own_id_and_blank_fields_keep_values(client: Client) -> None:
    AccountFactory(external_id="acct_acme", name="Acme", stripe_customer_id=CUS)
    bare = so.customer(CUS, created=T0, name=None, email=None, country=None)
    so.send(client, "customer.updated", bare, T0)
    account = Account.objects.get()
    assert (account.external_id, account.name, account.domain) == (
        "acct_acme",
        "Acme",
        "acct_acme.example.com",
    )


def test_an_older_customer_update_does_not_overwrite_a_newer_one(client: Client) -> None:
    later = T0 + timedelta(hours=2)
    so.send(client, "customer.updated", so.customer(CUS, created=T0, name="Acme SE"), later)
    older = so.send(client, "customer.updated", so.customer(CUS, created=T0, name="Acme GmbH"), T0)
    assert older == "outdated"
    assert Account.objects.get().name == "Acme SE"


def test_a_deleted_customer_keeps_its_account(client: Client) -> None:
    so.send(client, "customer.created", so.customer(CUS, created=T0), T0)
    so.send(client, "customer.deleted", so.customer(CUS, created=T0), T0 + timedelta(days=90))
    assert Account.objects.get().stripe_customer_id == CUS

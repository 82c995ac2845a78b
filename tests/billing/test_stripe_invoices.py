"""Invoices from Stripe: the paid path, failures, voids, write-offs and ordering."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from tend.billing.models import Invoice, Subscription
from tests.billing import stripe_objects as so

pytestmark = pytest.mark.django_db

IN = "in_1Rk9Lo2eZvKYlo2C"
CREATED = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)
FINALIZED = CREATED + timedelta(hours=1)
DUE = FINALIZED + timedelta(days=14)
PAID = FINALIZED + timedelta(days=2, hours=5)
PERIOD = (CREATED, CREATED + timedelta(days=30))


def draft(**fields: Any) -> so.StripeObject:
    return so.invoice(IN, created=CREATED, period=PERIOD, tax=5700, amount_due=35700, **fields)


def opened(**fields: Any) -> so.StripeObject:
    return draft(
        status="open", number="7F3A1C2B-0004", due_date=DUE, finalized_at=FINALIZED, **fields
    )


def test_invoice_from_draft_to_paid(client: Client) -> None:
    so.send(client, "invoice.created", draft(), CREATED)
    invoice = Invoice.objects.get()
    assert (invoice.status, invoice.number, invoice.issued_at) == ("draft", "", CREATED)
    assert (invoice.amount_due, invoice.tax, invoice.currency) == (
        Decimal("357.00"),
        Decimal("57.00"),
        "EUR",
    )
    assert (invoice.period_start, invoice.period_end) == PERIOD
    assert invoice.account.stripe_customer_id == "cus_Q8xT4aZk2LmN0p"

    so.send(client, "invoice.finalized", opened(), FINALIZED)
    invoice.refresh_from_db()
    assert (invoice.status, invoice.number) == ("open", "7F3A1C2B-0004")
    assert (invoice.issued_at, invoice.due_at, invoice.paid_at) == (FINALIZED, DUE, None)

    failed_at = FINALIZED + timedelta(minutes=5)
    so.send(client, "invoice.payment_failed", opened(), failed_at)
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_paid, invoice.source_updated_at) == (
        "open",
        Decimal(0),
        failed_at,
    )

    paid = opened(amount_paid=35700, paid_at=PAID)
    paid["status"] = "paid"
    so.send(client, "invoice.paid", paid, PAID)
    so.send(client, "invoice.payment_succeeded", paid, PAID)
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_paid, invoice.paid_at) == (
        "paid",
        Decimal("357.00"),
        PAID,
    )
    assert Invoice.objects.count() == 1


def test_a_finalized_event_arriving_after_paid_in_the_same_second_changes_nothing(
    client: Client,
) -> None:
    paid = opened(amount_paid=35700, paid_at=FINALIZED)
    paid["status"] = "paid"
    so.send(client, "invoice.paid", paid, FINALIZED)
    assert so.send(client, "invoice.finalized", opened(), FINALIZED) == "outdated"
    assert Invoice.objects.get().status == "paid"


def test_an_older_invoice_event_is_not_applied(client: Client) -> None:
    void = opened(voided_at=PAID)
    void["status"] = "void"
    so.send(client, "invoice.voided", void, PAID)
    assert so.send(client, "invoice.payment_failed", opened(), FINALIZED) == "outdated"
    invoice = Invoice.objects.get()
    assert (invoice.status, invoice.source_updated_at) == ("void", PAID)


def test_voided_and_uncollectible_invoices(client: Client) -> None:
    so.send(client, "invoice.finalized", opened(), FINALIZED)
    void = opened(voided_at=PAID)
    void["status"] = "void"
    so.send(client, "invoice.voided", void, PAID)
    assert Invoice.objects.get().status == "void"

    other = so.invoice(
        "in_1Rk9Lp2eZvKYlo2C",
        created=CREATED,
        period=PERIOD,
        status="uncollectible",
        number="7F3A1C2B-0005",
        due_date=DUE,
        finalized_at=FINALIZED,
        marked_uncollectible_at=DUE + timedelta(days=30),
    )
    so.send(client, "invoice.marked_uncollectible", other, DUE + timedelta(days=30))
    written_off = Invoice.objects.get(external_id="in_1Rk9Lp2eZvKYlo2C")
    assert (written_off.status, written_off.amount_paid, written_off.paid_at) == (
        "uncollectible",
        Decimal(0),
        None,
    )


def test_overdue_keeps_the_invoice_open(client: Client) -> None:
    so.send(client, "invoice.overdue", opened(), DUE + timedelta(days=1))
    invoice = Invoice.objects.get()
    assert (invoice.status, invoice.due_at) == ("open", DUE)


def test_yen_amounts_are_whole_units(client: Client) -> None:
    yen = so.invoice(created=CREATED, period=PERIOD, currency="jpy", amount_due=180000)
    so.send(client, "invoice.created", yen, CREATED)
    assert Invoice.objects.get().amount_due == Decimal(180000)


def test_the_invoice_links_its_known_subscription(client: Client) -> None:
    growth = so.price()
    item = so.subscription_item("si_Seats01", created=CREATED, item_price=growth, quantity=10)
    so.send(
        client,
        "customer.subscription.created",
        so.subscription(created=CREATED, items=[item]),
        CREATED,
    )
    so.send(client, "invoice.finalized", opened(), FINALIZED)
    invoice = Invoice.objects.get()
    assert invoice.subscription == Subscription.objects.get()
    assert invoice.account == invoice.subscription.account

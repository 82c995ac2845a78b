"""The webhook endpoint's guarantees: signatures, idempotency, errors and retries."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test import Client

from tend.billing.models import StripeEvent, Subscription, SubscriptionItem
from tend.config.settings import get_settings
from tests.billing import stripe_objects as so
from tests.factories import SubscriptionItemFactory

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _created_event() -> so.StripeObject:
    growth = so.price()
    item = so.subscription_item("si_Wh00kTest01", created=T0, item_price=growth, quantity=10)
    return so.event(
        "customer.subscription.created", so.subscription(created=T0, items=[item]), created=T0
    )


def test_a_signed_event_is_stored_and_applied(client: Client) -> None:
    event = _created_event()
    response = so.deliver(client, event)
    assert response.status_code == 200
    assert response.json() == {"received": True, "outcome": "processed"}
    stored = StripeEvent.objects.get(event_id=event["id"])
    assert stored.type == "customer.subscription.created"
    assert stored.created == T0
    assert stored.payload == event
    assert stored.processed_at is not None and stored.error == ""
    assert Subscription.objects.get().external_id == "sub_1Rk9Lm2eZvKYlo2C"


def test_a_redelivery_is_acknowledged_without_applying_again(client: Client) -> None:
    event = _created_event()
    so.deliver(client, event)
    first = StripeEvent.objects.get(event_id=event["id"]).processed_at
    response = so.deliver(client, event)
    assert response.status_code == 200
    assert response.json()["outcome"] == "duplicate"
    assert StripeEvent.objects.count() == 1
    assert StripeEvent.objects.get().processed_at == first
    assert SubscriptionItem.objects.count() == 1


def test_a_tampered_body_is_refused(client: Client) -> None:
    body = json.dumps(_created_event())
    headers = so.signed_headers(body)
    tampered = body.replace('"quantity": 10', '"quantity": 1000')
    response = client.post(so.URL, tampered, content_type="application/json", **headers)
    assert response.status_code == 400
    assert response.json()["code"] == "signature_invalid"
    assert not StripeEvent.objects.exists()
    assert not Subscription.objects.exists()


def test_a_missing_signature_is_refused(client: Client) -> None:
    response = client.post(so.URL, json.dumps(_created_event()), content_type="application/json")
    assert response.status_code == 400
    assert response.json() == {
        "code": "signature_missing",
        "message": "The Stripe-Signature header is missing.",
    }


def test_a_signature_from_an_unknown_secret_is_refused(client: Client) -> None:
    response = so.deliver(client, _created_event(), secret="whsec_someone_elses_endpoint")
    assert response.status_code == 400
    assert response.json()["code"] == "signature_invalid"


def test_a_stale_timestamp_is_refused(client: Client) -> None:
    tolerance = get_settings().stripe_webhook_tolerance
    stale = int(time.time()) - tolerance - 10
    response = so.deliver(client, _created_event(), timestamp=stale)
    assert response.status_code == 400
    assert response.json()["code"] == "timestamp_stale"
    assert not StripeEvent.objects.exists()


def test_the_rotated_secret_is_still_accepted(client: Client) -> None:
    response = so.deliver(client, _created_event(), secret=so.ROTATED_SECRET)
    assert response.status_code == 200
    assert Subscription.objects.count() == 1


def test_without_secrets_nothing_is_accepted(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEND_STRIPE_WEBHOOK_SECRETS", "")
    get_settings.cache_clear()
    response = so.deliver(client, _created_event())
    assert response.status_code == 503
    assert response.json()["code"] == "not_configured"
    assert "TEND_STRIPE_WEBHOOK_SECRETS" in response.json()["message"]
    assert not StripeEvent.objects.exists()


def test_a_signed_body_that_is_not_an_event_is_refused(client: Client) -> None:
    body = json.dumps({"object": "event", "type": "invoice.paid"})
    response = client.post(so.URL, body, content_type="application/json", **so.signed_headers(body))
    assert response.status_code == 400
    assert response.json()["code"] == "payload_invalid"


def test_only_post_is_allowed(client: Client) -> None:
    assert client.get(so.URL).status_code == 405


def test_an_unknown_event_type_is_stored_and_acknowledged(client: Client) -> None:
    refund = {"id": "ch_3Rk9Lq2eZvKYlo2C", "object": "charge", "amount_refunded": 30000}
    event = so.event("charge.refunded", refund, created=T0)
    response = so.deliver(client, event)
    assert response.status_code == 200
    assert response.json()["outcome"] == "ignored"
    stored = StripeEvent.objects.get(event_id=event["id"])
    assert stored.type == "charge.refunded"
    assert stored.processed_at is not None


def test_a_failing_event_is_kept_with_its_error_and_applied_on_retry(client: Client) -> None:
    # Another system's item already holds the id Stripe uses: applying the event must fail.
    clash = SubscriptionItemFactory(external_id="si_Wh00kTest01")
    event = _created_event()

    response = so.deliver(client, event)
    assert response.status_code == 500
    assert response.json()["code"] == "processing_failed"
    stored = StripeEvent.objects.get(event_id=event["id"])
    assert stored.processed_at is None
    assert "IntegrityError" in stored.error
    assert not Subscription.objects.filter(external_id="sub_1Rk9Lm2eZvKYlo2C").exists()

    clash.delete()
    retry = so.deliver(client, event)
    assert retry.status_code == 200
    assert retry.json()["outcome"] == "processed"
    stored.refresh_from_db()
    assert stored.processed_at is not None and stored.error == ""
    assert SubscriptionItem.objects.get().subscription.external_id == "sub_1Rk9Lm2eZvKYlo2C"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite serialises writers")
@pytest.mark.django_db(transaction=True)
def test_simultaneous_redeliveries_apply_the_event_once() -> None:
    event = _created_event()
    start = threading.Barrier(4)
    outcomes: list[str] = []

    def post() -> None:
        try:
            start.wait(10)
            response = so.deliver(Client(), event)
            outcomes.append(f"{response.status_code} {response.json().get('outcome')}")
        finally:
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["200 duplicate"] * 3 + ["200 processed"]
    assert StripeEvent.objects.count() == 1
    assert SubscriptionItem.objects.count() == 1

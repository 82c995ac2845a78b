"""The Stripe webhook endpoint: verify the signature, then store and apply the event."""

from __future__ import annotations

import json
from typing import Any

import stripe
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from tend.billing.stripe_sync import Outcome, receive_event
from tend.config.settings import get_settings


def _error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"code": code, "message": message}, status=status)


@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest) -> JsonResponse:
    """Answer 200 once the event is durably stored and applied (or known already), 400 for an
    unverifiable delivery, 500 when applying it failed so that Stripe retries."""
    settings = get_settings()
    secrets = [s.get_secret_value() for s in settings.stripe_webhook_secrets]
    if not secrets:
        return _error(
            503,
            "not_configured",
            "Stripe webhooks are off: set TEND_STRIPE_WEBHOOK_SECRETS to the endpoint's "
            "signing secret (whsec_...).",
        )
    header = request.headers.get("Stripe-Signature")
    if not header:
        return _error(400, "signature_missing", "The Stripe-Signature header is missing.")
    payload = request.body.decode("utf-8", errors="replace")
    secret = _matching_secret(payload, header, secrets)
    if secret is None:
        return _error(
            400, "signature_invalid", "The signature matches none of the configured secrets."
        )
    try:
        stripe.WebhookSignature.verify_header(
            payload, header, secret, tolerance=settings.stripe_webhook_tolerance
        )
    except stripe.SignatureVerificationError:
        return _error(
            400,
            "timestamp_stale",
            f"The signature is older than {settings.stripe_webhook_tolerance} seconds.",
        )
    event = _parse_event(payload)
    if event is None:
        return _error(400, "payload_invalid", "The body is not a Stripe event.")
    outcome = receive_event(event)
    if outcome == Outcome.FAILED:
        return _error(
            500, "processing_failed", "The event is stored but could not be applied; retry."
        )
    return JsonResponse({"received": True, "outcome": outcome.value})


def _matching_secret(payload: str, header: str, secrets: list[str]) -> str | None:
    """The configured secret that signed the payload (several during a rotation), whatever
    the signature's age; the age is checked against the tolerance separately."""
    for secret in secrets:
        try:
            stripe.WebhookSignature.verify_header(payload, header, secret, tolerance=None)
        except stripe.SignatureVerificationError:
            continue
        return secret
    return None


def _parse_event(payload: str) -> dict[str, Any] | None:
    """The event, if the body is one: an id, a type, a creation time and a data object."""
    try:
        event = json.loads(payload)
        valid = (
            isinstance(event, dict)
            and isinstance(event.get("id"), str)
            and isinstance(event.get("type"), str)
            and isinstance(event.get("created"), int)
            and isinstance((event.get("data") or {}).get("object"), dict)
        )
    except (ValueError, AttributeError):
        return None
    return event if valid else None

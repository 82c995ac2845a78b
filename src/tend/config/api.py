"""The JSON API (`/api/`, docs at `/api/docs`, OpenAPI at `/api/openapi.json`).

Every error body is JSON with `code` and `message` (and `errors` for validation problems).
"""

from __future__ import annotations

from http import HTTPStatus

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from tend.billing.api import invoices_router, subscriptions_router
from tend.customers.api import accounts_router, contacts_router
from tend.health.api import router as health_router
from tend.metrics.api import router as metrics_router
from tend.support.api import tickets_router, touchpoints_router
from tend.surveys.api import responses_router
from tend.usage.api import router as events_router

api = NinjaAPI(
    title="Tend API",
    version="1",
    urls_namespace="api",
    docs_decorator=login_required,
    description="Customer success data: accounts, contacts, tickets, touchpoints, survey "
    "responses. Authenticate with `Authorization: Bearer <token>` (create one with "
    "`tend token create USER`) or a signed-in session.",
)
api.add_router("/accounts", accounts_router)
api.add_router("/contacts", contacts_router)
api.add_router("/subscriptions", subscriptions_router)
api.add_router("/invoices", invoices_router)
api.add_router("/tickets", tickets_router)
api.add_router("/touchpoints", touchpoints_router)
api.add_router("/survey-responses", responses_router)
api.add_router("/events", events_router)
api.add_router("/metrics", metrics_router)
api.add_router("/health", health_router)


def _code(status: int) -> str:
    return HTTPStatus(status).phrase.lower().replace(" ", "_")


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, error: HttpError) -> HttpResponse:
    body = {"code": _code(error.status_code), "message": str(error)}
    return api.create_response(request, body, status=error.status_code)


@api.exception_handler(AuthenticationError)
def _auth_error(request: HttpRequest, error: AuthenticationError) -> HttpResponse:
    body = {"code": "unauthorized", "message": "Sign in, or send a valid API token."}
    return api.create_response(request, body, status=401)


@api.exception_handler(ValidationError)
def _validation_error(request: HttpRequest, error: ValidationError) -> HttpResponse:
    body = {"code": "invalid", "message": "The request is not valid.", "errors": error.errors}
    return api.create_response(request, body, status=422)

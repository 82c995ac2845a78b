"""REST API for health: an account's score with its explanation and history, overrides,
scorecards with their backtests, and the lists the score drives."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from ninja import Router, Schema
from ninja.errors import HttpError

from tend.core.api_auth import API_AUTH, require_editor
from tend.customers.models import Account
from tend.health import actions, queries
from tend.health.models import Scorecard

router = Router(tags=["health"], auth=API_AUTH)
LISTS = ("advocates", "upsell", "at_risk", "collections", "renewals", "patterns")
MAX_LIST_ROWS = 1_000
"""The most rows one request of a list returns."""


class OverrideIn(Schema):
    reason: str
    expires_at: datetime
    score: float | None = None
    band: str = ""


class HistoryPoint(Schema):
    day: date
    score: float | None
    band: str
    coverage: float
    overridden: bool


class ScorecardOut(Schema):
    slug: str
    name: str
    version: int | None
    is_default: bool
    active: bool
    backtest: dict[str, Any]


def _account(external_id: str) -> Account:
    return get_object_or_404(Account, external_id=external_id)


@router.get("/accounts/{external_id}")
def account_health(request: HttpRequest, external_id: str) -> dict[str, Any]:
    """The latest score, band, coverage, change and per-measure explanation, with the churn
    model's probability and drivers that day (null without a trained model)."""
    account = _account(external_id)
    snapshot = queries.latest_snapshot(account)
    if snapshot is None:
        raise HttpError(404, "No score yet for this account; run `tend score`.")
    detail = queries.explain(snapshot)
    detail["account"] = external_id
    prediction = queries.churn_prediction(account, snapshot.day)
    detail["churn_probability"] = prediction.probability if prediction else None
    detail["churn_drivers"] = prediction.drivers if prediction else []
    return detail


@router.get("/accounts/{external_id}/history", response=list[HistoryPoint])
def account_history(
    request: HttpRequest, external_id: str, start: date | None = None, end: date | None = None
) -> list[HistoryPoint]:
    """Daily scores of the account, oldest first."""
    rows = queries.account_history(_account(external_id), first=start, last=end)
    return [
        HistoryPoint(
            day=row.day,
            score=row.score,
            band=row.band,
            coverage=row.coverage,
            overridden=row.overridden,
        )
        for row in rows
    ]


@router.post("/accounts/{external_id}/override")
def set_override(request: HttpRequest, external_id: str, body: OverrideIn) -> dict[str, Any]:
    """Set a score or band with a reason until an expiry date (editors only)."""
    user = require_editor(request)
    try:
        override = actions.set_override(
            _account(external_id),
            user,
            reason=body.reason,
            expires_at=body.expires_at,
            score=body.score,
            band=body.band,
        )
    except ValueError as error:
        raise HttpError(422, str(error)) from None
    return {"id": override.pk, "expires_at": override.expires_at, "reason": override.reason}


@router.delete("/accounts/{external_id}/override")
def clear_override(request: HttpRequest, external_id: str) -> dict[str, Any]:
    """End the override in force today (editors only)."""
    user = require_editor(request)
    override = queries.active_override(_account(external_id))
    if override is None:
        raise HttpError(404, "No override in force for this account.")
    actions.clear_override(override, user)
    return {"cleared": True}


@router.get("/scorecards", response=list[ScorecardOut])
def list_scorecards(request: HttpRequest) -> list[ScorecardOut]:
    """Scorecards with their latest version and its stored backtest."""
    result = []
    for scorecard in Scorecard.objects.order_by("priority", "name"):
        version = queries.latest_version(scorecard)
        result.append(
            ScorecardOut(
                slug=scorecard.slug,
                name=scorecard.name,
                version=version.number if version else None,
                is_default=scorecard.is_default,
                active=scorecard.active,
                backtest=(version.backtest or {}) if version else {},
            )
        )
    return result


@router.get("/scorecards/{slug}/yaml")
def export_scorecard(request: HttpRequest, slug: str) -> dict[str, str]:
    """The latest version of a scorecard as YAML."""
    scorecard = get_object_or_404(Scorecard, slug=slug)
    version = queries.latest_version(scorecard)
    if version is None:
        raise HttpError(404, "This scorecard has no version yet.")
    return {"yaml": queries.export_scorecard_yaml(version)}


@router.get("/lists/{name}")
def health_list(
    request: HttpRequest,
    response: HttpResponse,
    name: str,
    limit: int = 50,
    offset: int = 0,
    owner: str = "",
) -> list[dict[str, Any]]:
    """advocates, upsell, at_risk, collections, renewals or patterns, as last stored by the
    worker or `tend lists refresh`: rows `offset` to `offset + limit` in the list's order,
    optionally of one owner's accounts (a user id, or `none`). Headers `X-List-As-Of` and
    `X-List-Computed-At` say when it was computed; 404 until it has been."""
    from tend.health.list_queries import NOT_COMPUTED, latest_run, stored_rows

    if name not in LISTS:
        raise HttpError(404, f"No list {name!r}; use one of {', '.join(LISTS)}.")
    run = latest_run(name)
    if run is None:
        raise HttpError(404, NOT_COMPUTED)
    response["X-List-As-Of"] = run.as_of.isoformat()
    response["X-List-Computed-At"] = run.computed_at.isoformat()
    page = stored_rows(run, max(offset, 0), min(max(limit, 0), MAX_LIST_ROWS), owner)
    response["X-Total-Count"] = str(page.total)
    return page.rows

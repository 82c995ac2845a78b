"""REST API for product events: read them back (they are written through `/v1/*`, webhooks
and imports)."""

from datetime import datetime
from typing import Any

from django.db import models
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.errors import HttpError
from ninja.pagination import CursorPagination, paginate

from tend.core.api_auth import API_AUTH
from tend.usage.models import Event

router = Router(tags=["events"], auth=API_AUTH)


class EventOut(Schema):
    id: int
    source: str
    message_id: str
    type: str
    name: str
    user_id: str
    anonymous_id: str
    account: str | None = Field(None, alias="account.external_id")
    timestamp: datetime
    received_at: datetime
    properties: dict[str, Any]
    context: dict[str, Any]


class EventFilters(Schema):
    account: str | None = None
    user_id: str | None = None
    name: str | None = None
    type: str | None = None
    source: str | None = None
    since: datetime | None = Field(None, description="Events at or after this time.")
    until: datetime | None = Field(None, description="Events before this time.")


@router.get("/", response=list[EventOut], summary="List events")
@paginate(CursorPagination, ordering=("pk",))
def list_events(request: HttpRequest, filters: Query[EventFilters]) -> models.QuerySet[Event]:
    events = Event.objects.select_related("account").order_by("pk")
    wanted = filters.dict(exclude_none=True)
    if "account" in wanted:
        events = events.filter(account__external_id=wanted.pop("account"))
    if "since" in wanted:
        events = events.filter(timestamp__gte=wanted.pop("since"))
    if "until" in wanted:
        events = events.filter(timestamp__lt=wanted.pop("until"))
    return events.filter(**wanted)


@router.get("/{event_id}", response=EventOut, summary="Get one event")
def get_event(request: HttpRequest, event_id: int) -> Event:
    event = Event.objects.select_related("account").filter(pk=event_id).first()
    if event is None:
        raise HttpError(404, f"No event {event_id}.")
    return event

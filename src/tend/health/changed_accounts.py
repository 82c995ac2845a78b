"""Which accounts' health inputs changed since a marker: new events, and tickets, touchpoints,
invoices, subscriptions and survey answers created or edited.

The freshness loop re-scores only these accounts. The reads belong to their domains' `queries`
(usage, support, billing, surveys), which do not offer them yet; they are kept together here,
as plain indexed reads of ids and `updated_at`, until those domains do (see the health note).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Max, Model, QuerySet


@dataclass(frozen=True)
class ChangeMarker:
    """The newest event id and the latest edit of each other input kind."""

    event_id: int
    edits: tuple[datetime | None, ...]


def _edited_models() -> tuple[type[Model], ...]:
    from tend.billing.models import Invoice, Subscription
    from tend.support.models import Ticket, Touchpoint
    from tend.surveys.models import SurveyResponse

    return (Ticket, Touchpoint, Invoice, Subscription, SurveyResponse)


def change_marker() -> ChangeMarker:
    """The current marker: one MAX query per input table."""
    from tend.usage.queries import last_event_id

    edits = tuple(
        model._default_manager.aggregate(last=Max("updated_at"))["last"]
        for model in _edited_models()
    )
    return ChangeMarker(last_event_id(), edits)


def accounts_changed_since(before: ChangeMarker, now: ChangeMarker) -> set[str]:
    """External ids of the accounts with an event after `before.event_id` (up to
    `now.event_id`) or a row edited at or after `before`'s edit time of its kind."""
    from tend.usage.models import Event

    changed: set[str] = set()
    if now.event_id > before.event_id:
        events = Event.objects.filter(id__gt=before.event_id, id__lte=now.event_id)
        changed |= _external_ids(events)
    for model, then, latest in zip(_edited_models(), before.edits, now.edits, strict=True):
        if latest is None or latest == then:
            continue
        rows = model._default_manager.all()
        if then is not None:
            rows = rows.filter(updated_at__gte=then)
        changed |= _external_ids(rows)
    return changed


def _external_ids(rows: QuerySet[Model]) -> set[str]:
    found = rows.filter(account__isnull=False).values_list("account__external_id", flat=True)
    return set(found.distinct())

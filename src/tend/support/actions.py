"""Writes of tickets and touchpoints."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tend.core.actions import bulk_insert, upsert_by_external_id
from tend.support.models import Ticket, Touchpoint


def insert_tickets(tickets: Sequence[Ticket]) -> list[Ticket]:
    return bulk_insert(tickets)


def insert_touchpoints(touchpoints: Sequence[Touchpoint]) -> list[Touchpoint]:
    return bulk_insert(touchpoints)


def upsert_tickets(rows: Sequence[dict[str, Any]]) -> tuple[list[Ticket], list[Ticket]]:
    """Create or update tickets by external id (imports, API); returns (created, updated)."""
    return upsert_by_external_id(Ticket, rows)


def upsert_touchpoints(rows: Sequence[dict[str, Any]]) -> tuple[list[Touchpoint], list[Touchpoint]]:
    """Create or update touchpoints by external id (imports, API); returns (created, updated)."""
    return upsert_by_external_id(Touchpoint, rows)

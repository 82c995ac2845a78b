"""Writes of tickets and touchpoints."""

from __future__ import annotations

from collections.abc import Sequence

from tend.core.actions import bulk_insert
from tend.support.models import Ticket, Touchpoint


def insert_tickets(tickets: Sequence[Ticket]) -> list[Ticket]:
    return bulk_insert(tickets)


def insert_touchpoints(touchpoints: Sequence[Touchpoint]) -> list[Touchpoint]:
    return bulk_insert(touchpoints)

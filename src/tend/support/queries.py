"""Reads for support: open tickets and an account's recent tickets and touchpoints."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Max

from tend.customers.models import Account
from tend.support.models import Ticket, TicketStatus, Touchpoint

UNRESOLVED = (TicketStatus.OPEN, TicketStatus.PENDING)


def open_ticket_count() -> int:
    """Tickets still waiting on someone: open or pending."""
    return Ticket.objects.filter(status__in=UNRESOLVED).count()


def recent_tickets(account: Account, limit: int = 20) -> list[Ticket]:
    """The account's latest tickets, newest first, with who raised them."""
    return list(
        Ticket.objects.filter(account=account)
        .select_related("contact")
        .order_by("-opened_at", "-pk")[:limit]
    )


def recent_touchpoints(account: Account, limit: int = 20) -> list[Touchpoint]:
    """The account's latest interactions with the team, newest first."""
    return list(
        Touchpoint.objects.filter(account=account)
        .select_related("contact", "csm")
        .order_by("-occurred_at", "-pk")[:limit]
    )


def last_support_change() -> datetime | None:
    """When a ticket or touchpoint was last created or changed."""
    tickets = Ticket.objects.aggregate(last=Max("updated_at"))["last"]
    touchpoints = Touchpoint.objects.aggregate(last=Max("updated_at"))["last"]
    return max((t for t in (tickets, touchpoints) if t is not None), default=None)

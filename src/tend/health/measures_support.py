"""Support measures from tickets (kpis.md, "Support").

A ticket counts from the day it was opened. It is open at the end of D when it was opened by D
and not resolved by D: a ticket resolved after D was open at D. A ticket marked solved or closed
without a resolution time cannot be dated and never counts as open.
"""

from __future__ import annotations

import ibis

from tend.health.measures_frame import (
    MeasureFrame,
    MeasureRequest,
    Running,
    interval_changes,
    literal_day,
    trailing_changes,
    trailing_median,
)
from tend.metrics.support import hours_between

HIGH_PRIORITIES = ("high", "urgent")
RESOLVED_STATUSES = ("solved", "closed")


def known_tickets(frame: MeasureFrame) -> ibis.Table:
    """Tickets opened by the last day: `account, priority, opened_at, resolved_at, open_day,
    close_day` (the day it stopped being open; null: still open)."""

    def build() -> ibis.Table:
        tickets = frame.inputs.tickets
        tickets = tickets.filter(tickets.account.notnull(), tickets.opened_at.notnull())
        open_day = tickets.opened_at.date()
        undated = tickets.resolved_at.isnull() & tickets.status.isin(RESOLVED_STATUSES)
        # DuckDB's greatest() skips nulls, so an unresolved ticket needs its own branch.
        close_day = ibis.cases(
            (undated, open_day),
            (tickets.resolved_at.isnull(), ibis.null("date")),
            else_=ibis.greatest(tickets.resolved_at.date(), open_day),
        )
        dated = tickets.select(
            "account",
            "priority",
            "opened_at",
            "resolved_at",
            open_day=open_day,
            close_day=close_day,
        )
        return dated.filter(dated.open_day <= literal_day(frame.last_day))

    return frame.shared("tickets", build)


def tickets_opened(frame: MeasureFrame, request: MeasureRequest) -> Running:
    """Tickets opened in the trailing N days."""
    tickets = known_tickets(frame)
    opened = tickets.select("account", day=tickets.open_day, tickets=ibis.literal(1, "int64"))
    changes = trailing_changes(frame, opened, ["tickets"], request.days)
    return Running(changes, lambda t: t.tickets, sums=("tickets",))


def _open_tickets(tickets: ibis.Table) -> Running:
    changes = interval_changes(
        tickets, "open_day", "close_day", {"tickets": ibis.literal(1, "int64")}
    )
    return Running(changes, lambda t: t.tickets, sums=("tickets",))


def tickets_open(frame: MeasureFrame, request: MeasureRequest) -> Running:
    """Tickets open at the end of D (opened by D, not resolved by D)."""
    return _open_tickets(known_tickets(frame))


def tickets_high_open(frame: MeasureFrame, request: MeasureRequest) -> Running:
    """Tickets of high or urgent priority open at the end of D."""
    tickets = known_tickets(frame)
    return _open_tickets(tickets.filter(tickets.priority.isin(HIGH_PRIORITIES)))


def resolution_hours_median(frame: MeasureFrame, request: MeasureRequest) -> ibis.Table:
    """Median hours from opening to resolution of the tickets resolved in the trailing N days."""
    tickets = known_tickets(frame)
    resolved = tickets.filter(
        tickets.resolved_at.notnull(), tickets.resolved_at >= tickets.opened_at
    )
    hours = resolved.select(
        "account",
        day=resolved.resolved_at.date(),
        value=hours_between(resolved.resolved_at, resolved.opened_at),
    )
    return trailing_median(frame, hours, request.days)

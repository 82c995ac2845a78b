"""One timeline of what happened with an account: usage summaries, tickets, touchpoints, survey
answers, invoices, stage changes and notes, newest first. Built from rows the account page
has already loaded, so it costs no query of its own."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from tend.billing.queries import InvoiceRow
from tend.core.models import Note
from tend.customers.models import StageChange
from tend.support.models import Ticket, Touchpoint
from tend.surveys.models import SurveyResponse
from tend.usage.account_queries import UsageWeek

TIMELINE_ENTRIES = 60


@dataclass(frozen=True)
class TimelineEntry:
    """One thing that happened: when, of which kind (its label is shown, never colour alone),
    a one-line title and an optional detail."""

    at: datetime
    kind: str
    label: str
    title: str
    detail: str = ""


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def usage_entries(weeks: Iterable[UsageWeek]) -> list[TimelineEntry]:
    return [
        TimelineEntry(
            _day_start(week.week_start),
            "usage",
            "Usage",
            f"Week of {week.week_start:%-d %b}: {week.active_users} active user"
            f"{'' if week.active_users == 1 else 's'}, {week.sessions} sessions",
            f"{week.events} events",
        )
        for week in weeks
    ]


def ticket_entries(tickets: Iterable[Ticket]) -> list[TimelineEntry]:
    return [
        TimelineEntry(
            ticket.opened_at,
            "ticket",
            "Ticket",
            ticket.subject,
            f"{ticket.get_priority_display()} priority, {ticket.get_status_display().lower()}"
            + (", escalated" if ticket.escalated else ""),
        )
        for ticket in tickets
    ]


def touchpoint_entries(touchpoints: Iterable[Touchpoint]) -> list[TimelineEntry]:
    entries = []
    for touchpoint in touchpoints:
        people = [str(p) for p in (touchpoint.contact,) if p is not None]
        if touchpoint.csm is not None:
            people.append(touchpoint.csm.display_name)
        entries.append(
            TimelineEntry(
                touchpoint.occurred_at,
                "touchpoint",
                touchpoint.get_kind_display(),
                touchpoint.subject or touchpoint.get_kind_display(),
                " / ".join(people),
            )
        )
    return entries


def response_entries(responses: Iterable[SurveyResponse]) -> list[TimelineEntry]:
    return [
        TimelineEntry(
            response.answered_at,
            "survey",
            response.survey.kind.upper(),
            f"{response.survey.kind.upper()} {response.score}/{response.survey.scale_max}"
            f" from {response.contact or 'an anonymous respondent'}",
            f"“{response.comment}”" if response.comment else "",
        )
        for response in responses
    ]


def invoice_entries(invoices: Iterable[InvoiceRow]) -> list[TimelineEntry]:
    entries = []
    for row in invoices:
        invoice = row.invoice
        state = "overdue" if row.overdue else invoice.get_status_display().lower()
        late = f", paid {row.days_late} days late" if row.days_late and not row.overdue else ""
        entries.append(
            TimelineEntry(
                invoice.issued_at,
                "invoice",
                "Invoice",
                f"Invoice {invoice} issued: {invoice.amount_due} {invoice.currency}",
                f"{state}{late}",
            )
        )
    return entries


def stage_entries(changes: Iterable[StageChange]) -> list[TimelineEntry]:
    return [
        TimelineEntry(
            change.changed_at,
            "stage",
            "Stage",
            f"{change.get_from_stage_display() or '—'} → {change.get_to_stage_display()}",
            change.reason,
        )
        for change in changes
    ]


def note_entries(notes: Iterable[Note]) -> list[TimelineEntry]:
    return [
        TimelineEntry(
            note.created_at,
            "note",
            "Note",
            note.body if len(note.body) <= 120 else note.body[:119] + "…",
            note.author.display_name if note.author else "",
        )
        for note in notes
    ]


def build_timeline(
    *,
    weeks: Sequence[UsageWeek] = (),
    tickets: Sequence[Ticket] = (),
    touchpoints: Sequence[Touchpoint] = (),
    responses: Sequence[SurveyResponse] = (),
    invoices: Sequence[InvoiceRow] = (),
    stage_changes: Sequence[StageChange] = (),
    notes: Sequence[Note] = (),
    limit: int = TIMELINE_ENTRIES,
) -> list[TimelineEntry]:
    """Every entry, newest first, at most `limit`."""
    entries = [
        *usage_entries(weeks),
        *ticket_entries(tickets),
        *touchpoint_entries(touchpoints),
        *response_entries(responses),
        *invoice_entries(invoices),
        *stage_entries(stage_changes),
        *note_entries(notes),
    ]
    entries.sort(key=lambda entry: entry.at, reverse=True)
    return entries[:limit]

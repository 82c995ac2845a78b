"""Reads the reports, the team page and the overview need beyond the KPI snapshots: the scopes
one can pick, the latest verbatims, and each CSM's book counted in the database. Every read is
one query, whatever the number of accounts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from tend.core.models import Role, User
from tend.customers.models import Account
from tend.metrics.models import KpiSnapshot, ReportSnapshot
from tend.support.models import Ticket, TicketStatus, Touchpoint
from tend.surveys.models import SurveyResponse
from tend.web.report_filters import ReportFilters, ScopeChoices

VERBATIMS_SHOWN = 12
UNRESOLVED = (TicketStatus.OPEN, TicketStatus.PENDING)


def scope_choices() -> ScopeChoices:
    """Segments and CSM books that have snapshots, CSMs by name: two queries."""
    keys = (
        KpiSnapshot.objects.filter(scope_type__in=("segment", "csm"))
        .values_list("scope_type", "scope_key")
        .order_by("scope_type", "scope_key")
        .distinct()
    )
    segments: list[str] = []
    usernames: list[str] = []
    for scope_type, key in keys:
        (segments if scope_type == "segment" else usernames).append(key)
    names = {
        u.username: u.display_name
        for u in User.objects.filter(username__in=usernames).only(
            "username", "first_name", "last_name"
        )
    }
    csms = sorted(
        ((f"csm:{key}", names.get(key, key)) for key in usernames), key=lambda c: c[1].lower()
    )
    return ScopeChoices(
        segments=[(f"segment:{key}", key.replace("_", " ").capitalize()) for key in segments],
        csms=csms,
    )


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=timezone.get_current_timezone())


def _in_scope(filters: ReportFilters, account_path: str) -> Q:
    """Rows whose account is in the filters' scope (`account_path` leads to the account)."""
    if filters.scope_type == "segment":
        return Q(**{f"{account_path}__traits__segment": filters.scope_key})
    if filters.scope_type == "csm":
        return Q(**{f"{account_path}__owner__username": filters.scope_key})
    return Q()


def latest_verbatims(filters: ReportFilters, limit: int = VERBATIMS_SHOWN) -> list[SurveyResponse]:
    """Survey answers with a comment in the filters' periods and scope, newest first, with their
    survey, respondent and account."""
    since = _day_start(filters.first)
    until = _day_start(filters.last_day + timedelta(days=1))
    return list(
        SurveyResponse.objects.filter(answered_at__gte=since, answered_at__lt=until)
        .exclude(comment="")
        .filter(_in_scope(filters, "account"))
        .select_related("survey", "contact", "account")
        .order_by("-answered_at", "-pk")[:limit]
    )


@dataclass(frozen=True)
class BookCounts:
    """Live counts of one CSM's book (accounts owned by them)."""

    accounts: int = 0
    open_tickets: int = 0
    touchpoints_30d: int = 0


def team_members() -> QuerySet[User]:
    """Active CSMs and anyone who owns accounts (a manager with a book, or someone who left and
    still has one), with their account counts: one query."""
    return (
        User.objects.annotate(book_size=Count("owned_accounts"))
        .filter(Q(role=Role.CSM, is_active=True) | Q(book_size__gt=0))
        .order_by("first_name", "last_name", "username")
    )


def book_counts(now: datetime | None = None) -> dict[int | None, BookCounts]:
    """Accounts, open tickets and touchpoints in the last 30 days per owner id (None for
    unassigned accounts): three grouped queries."""
    now = now or timezone.now()
    accounts: dict[int | None, int] = dict(
        Account.objects.order_by()
        .values_list("owner_id")
        .annotate(n=Count("id"))
        .values_list("owner_id", "n")
    )
    # Grouped by status first: SQLite then reads the unresolved tickets through the status
    # index, rather than every account's tickets through the account index.
    tickets: dict[int | None, int] = {}
    unresolved = (
        Ticket.objects.filter(status__in=UNRESOLVED)
        .order_by()
        .values_list("status", "account__owner_id")
        .annotate(n=Count("id"))
    )
    for _status, owner, count in unresolved:
        tickets[owner] = tickets.get(owner, 0) + count
    touchpoints: dict[int | None, int] = dict(
        Touchpoint.objects.filter(occurred_at__gte=now - timedelta(days=30), occurred_at__lte=now)
        .order_by()
        .values_list("account__owner_id")
        .annotate(n=Count("id"))
        .values_list("account__owner_id", "n")
    )
    owners = set(accounts) | set(tickets) | set(touchpoints)
    return {
        owner: BookCounts(accounts.get(owner, 0), tickets.get(owner, 0), touchpoints.get(owner, 0))
        for owner in owners
    }


def book_snapshot_values(
    kpis: list[str], period: date, usernames: list[str] | None = None
) -> dict[tuple[str, str], float | None]:
    """`(kpi, username) -> value` of every CSM book (only those of `usernames` when given) for
    the month starting `period`, and `(kpi, "")` for the whole portfolio: one query. Naming
    the books lets it look each value up by the unique (scope, key, kpi, …) index instead of
    reading the month's values of every scope, accounts included."""
    books = KpiSnapshot.objects.filter(
        kpi__in=kpis, grain="month", period_start=period, dimension=""
    )
    if usernames is not None:
        books = books.filter(scope_type__in=("csm", "portfolio"), scope_key__in=[*usernames, "all"])
    rows = books.filter(
        Q(scope_type="csm") | Q(scope_type="portfolio", scope_key="all")
    ).values_list("kpi", "scope_type", "scope_key", "value")
    return {
        (kpi, key if scope_type == "csm" else ""): value for kpi, scope_type, key, value in rows
    }


def report_tables(names: list[str], grouping: str) -> dict[str, list[dict[str, Any]]]:
    """Rows of several stored cohort tables of one grouping, by name: one query."""
    found = ReportSnapshot.objects.filter(name__in=names, grouping=grouping).values_list(
        "name", "rows"
    )
    return {name: rows for name, rows in found}

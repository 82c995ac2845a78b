"""Reads of CSM tasks: a person's open tasks, an account's tasks, and open/overdue counts per
team member for the team page. Each is one query whatever the number of tasks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import Case, Count, F, IntegerField, Q, Value, When

from tend.core.models import User
from tend.customers.models import Account
from tend.playbooks.models import Task, TaskStatus

DUE_FIRST = F("due_on").asc(nulls_last=True)
OPEN_FIRST = When(status=TaskStatus.OPEN, then=Value(0))


@dataclass(frozen=True)
class TaskCounts:
    open: int
    overdue: int


def open_tasks_for(user: User, limit: int = 10) -> list[Task]:
    """The user's open tasks, overdue and soonest due first (undated last)."""
    return list(
        Task.objects.filter(assignee=user, status=TaskStatus.OPEN)
        .select_related("account")
        .order_by(DUE_FIRST, "pk")[:limit]
    )


def account_tasks(account: Account, limit: int = 50) -> list[Task]:
    """The account's tasks: open ones first by due date, then the latest closed ones."""
    return list(
        Task.objects.filter(account=account)
        .select_related("assignee")
        .annotate(closed=Case(OPEN_FIRST, default=Value(1), output_field=IntegerField()))
        .order_by("closed", DUE_FIRST, "-updated_at")[:limit]
    )


def task_counts_by_assignee(today: date) -> dict[int | None, TaskCounts]:
    """Open and overdue (due before `today`) tasks per assignee id; None for unassigned."""
    rows = (
        Task.objects.filter(status=TaskStatus.OPEN)
        .values("assignee_id")
        .annotate(open=Count("pk"), overdue=Count("pk", filter=Q(due_on__lt=today)))
    )
    return {row["assignee_id"]: TaskCounts(row["open"], row["overdue"]) for row in rows}

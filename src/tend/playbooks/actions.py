"""Writes of CSM tasks: create, complete, reopen, cancel. Each is one transaction with an audit
entry naming who did it."""

from __future__ import annotations

from datetime import date

from django.db import transaction
from django.utils import timezone

from tend.core.actions import audit
from tend.core.models import User
from tend.customers.models import Account
from tend.playbooks.models import Task, TaskPriority, TaskStatus

TITLE_MAX = Task._meta.get_field("title").max_length


class TaskError(ValueError):
    """A task that cannot be written as asked; `field` names the input at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def create_task(
    account: Account,
    title: str,
    *,
    created_by: User | None,
    assignee: User | None = None,
    due_on: date | None = None,
    priority: str = TaskPriority.NORMAL,
    details: str = "",
    source: str = "manual",
) -> Task:
    """A new open task on `account`; unassigned tasks go to the account's owner."""
    title = title.strip()
    if not title:
        raise TaskError("title", "a task needs a title")
    if TITLE_MAX is not None and len(title) > TITLE_MAX:
        raise TaskError("title", f"at most {TITLE_MAX} characters")
    if priority not in TaskPriority.values:
        raise TaskError("priority", f"one of {', '.join(TaskPriority.values)}")
    with transaction.atomic():
        task = Task.objects.create(
            account=account,
            title=title,
            details=details.strip(),
            assignee=assignee if assignee is not None else account.owner,
            due_on=due_on,
            priority=priority,
            source=source,
            created_by=created_by,
        )
        audit(
            created_by,
            "task.created",
            task,
            {"title": title, "account": account.external_id, "due_on": str(due_on or "")},
        )
    return task


def complete_task(task: Task, by: User | None) -> Task:
    """Mark an open task done (done tasks stay done)."""
    return _move(task, by, TaskStatus.DONE)


def reopen_task(task: Task, by: User | None) -> Task:
    """Put a done or cancelled task back on the list."""
    return _move(task, by, TaskStatus.OPEN)


def cancel_task(task: Task, by: User | None) -> Task:
    """Drop an open task without doing it."""
    return _move(task, by, TaskStatus.CANCELLED)


def _move(task: Task, by: User | None, status: TaskStatus) -> Task:
    with transaction.atomic():
        current = Task.objects.select_for_update().get(pk=task.pk)
        if current.status == status:
            return current
        before = current.status
        current.status = status
        current.completed_at = timezone.now() if status == TaskStatus.DONE else None
        current.save(update_fields=["status", "completed_at", "updated_at"])
        audit(by, f"task.{status.value}", current, {"status": [before, status.value]})
    return current

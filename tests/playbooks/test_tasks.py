"""CSM tasks: created on an account (to its owner unless assigned), moved through their states
with an audit entry each time, and counted open/overdue per team member."""

from __future__ import annotations

from datetime import date

import pytest

from tend.core.models import AuditEntry, Role
from tend.playbooks.actions import (
    TaskError,
    cancel_task,
    complete_task,
    create_task,
    reopen_task,
)
from tend.playbooks.models import TaskStatus
from tend.playbooks.queries import account_tasks, open_tasks_for, task_counts_by_assignee
from tests.factories import AccountFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_a_task_goes_to_the_account_owner_unless_assigned() -> None:
    owner = UserFactory(username="olive", role=Role.CSM)
    other = UserFactory(username="ozzie", role=Role.CSM)
    account = AccountFactory(owner=owner)

    default = create_task(account, "  Call the sponsor ", created_by=other)
    assigned = create_task(account, "Send QBR deck", created_by=owner, assignee=other)

    assert (default.assignee, default.title, default.status) == (owner, "Call the sponsor", "open")
    assert assigned.assignee == other
    entry = AuditEntry.objects.get(action="task.created", object_id=str(default.pk))
    assert entry.actor == other
    assert entry.changes["account"] == account.external_id


@pytest.mark.parametrize(
    ("title", "priority", "field"),
    [("   ", "normal", "title"), ("x" * 201, "normal", "title"), ("Call", "urgent!", "priority")],
)
def test_bad_input_names_the_field_and_writes_nothing(
    title: str, priority: str, field: str
) -> None:
    account = AccountFactory()
    with pytest.raises(TaskError) as raised:
        create_task(account, title, created_by=None, priority=priority)
    assert raised.value.field == field
    assert account.tasks.count() == 0
    assert not AuditEntry.objects.exists()


def test_complete_reopen_and_cancel_are_audited_and_idempotent() -> None:
    actor = UserFactory(username="mia", role=Role.MANAGER)
    task = create_task(AccountFactory(), "Renewal prep", created_by=actor)

    done = complete_task(task, actor)
    assert done.status == TaskStatus.DONE and done.completed_at is not None
    assert complete_task(done, actor).completed_at == done.completed_at  # already done: no change
    reopened = reopen_task(done, actor)
    assert reopened.status == TaskStatus.OPEN and reopened.completed_at is None
    assert cancel_task(reopened, actor).status == TaskStatus.CANCELLED

    actions = list(
        AuditEntry.objects.filter(object_id=str(task.pk))
        .order_by("pk")
        .values_list("action", flat=True)
    )
    assert actions == ["task.created", "task.done", "task.open", "task.cancelled"]


def test_open_tasks_and_counts_per_assignee() -> None:
    casey = UserFactory(username="casey", role=Role.CSM)
    robin = UserFactory(username="robin", role=Role.CSM)
    account = AccountFactory(owner=casey)
    today = date(2026, 11, 23)
    late = create_task(account, "Late", created_by=None, due_on=date(2026, 11, 20))
    create_task(account, "Undated", created_by=None)
    soon = create_task(account, "Soon", created_by=None, due_on=date(2026, 11, 25))
    finished = create_task(account, "Finished", created_by=None, due_on=date(2026, 11, 1))
    complete_task(finished, casey)
    create_task(account, "Robin's", created_by=None, assignee=robin, due_on=date(2026, 11, 22))
    create_task(AccountFactory(owner=None), "Nobody's", created_by=None, due_on=date(2026, 12, 1))

    assert [t.title for t in open_tasks_for(casey)] == [late.title, soon.title, "Undated"]
    counts = task_counts_by_assignee(today)
    assert (counts[casey.pk].open, counts[casey.pk].overdue) == (3, 1)
    assert (counts[robin.pk].open, counts[robin.pk].overdue) == (1, 1)
    assert (counts[None].open, counts[None].overdue) == (1, 0)
    assert [t.title for t in account_tasks(account)] == [
        "Late",
        "Robin's",
        "Soon",
        "Undated",
        "Finished",
    ]

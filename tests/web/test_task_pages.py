"""Tasks on the pages: a CSM adds one to an account in their book and closes it; the person a
task is for may close it even on another's account; other CSMs and viewers get 403; bad input
comes back with the field's error and writes nothing."""

from __future__ import annotations

from datetime import date

from django.test import Client
from django.urls import reverse

from tend.core.models import AuditEntry, Role, User
from tend.playbooks.actions import create_task
from tend.playbooks.models import Task, TaskStatus
from tests.factories import AccountFactory, UserFactory


def test_a_csm_adds_a_task_to_their_account(signed_in_client: Client, csm: User) -> None:
    account = AccountFactory(external_id="acme", owner=csm)

    response = signed_in_client.post(
        reverse("web:account-task-add", args=["acme"]),
        {"title": "Book the QBR", "due_on": "2026-12-01", "priority": "high"},
    )

    assert response.status_code == 302
    assert response["Location"] == "/accounts/acme/#tasks"
    task = Task.objects.get(account=account)
    assert (task.title, str(task.due_on), task.priority, task.assignee) == (
        "Book the QBR",
        "2026-12-01",
        "high",
        csm,
    )
    assert AuditEntry.objects.filter(action="task.created", actor=csm).count() == 1


def test_bad_input_is_refused_with_the_fields_error(signed_in_client: Client, csm: User) -> None:
    AccountFactory(external_id="acme", owner=csm)

    response = signed_in_client.post(
        reverse("web:account-task-add", args=["acme"]),
        {"title": "", "due_on": "31/31/2026", "priority": "normal"},
    )

    assert response.status_code == 400
    errors = response.context["form"].errors
    assert set(errors) == {"title", "due_on"}
    assert not Task.objects.exists()


def test_another_csms_account_is_refused(signed_in_client: Client) -> None:
    robin = UserFactory(username="robin", role=Role.CSM)
    AccountFactory(external_id="theirs", owner=robin)

    response = signed_in_client.post(
        reverse("web:account-task-add", args=["theirs"]), {"title": "Sneaky", "priority": "low"}
    )

    assert response.status_code == 403
    assert not Task.objects.exists()


def test_the_assignee_may_close_a_task_on_another_book(signed_in_client: Client, csm: User) -> None:
    robin = UserFactory(username="robin", role=Role.CSM)
    account = AccountFactory(external_id="theirs", owner=robin)
    mine = create_task(account, "Help Robin", created_by=robin, assignee=csm)
    robins = create_task(account, "Robin's own", created_by=robin)

    done = signed_in_client.post(reverse("web:task-done", args=[mine.pk]), {"next": "/"})
    refused = signed_in_client.post(reverse("web:task-done", args=[robins.pk]))
    reopened = signed_in_client.post(
        reverse("web:task-reopen", args=[mine.pk]), {"next": "https://evil.example/"}
    )

    assert (done.status_code, done["Location"]) == (302, "/")
    assert refused.status_code == 403
    assert reopened["Location"] == "/accounts/theirs/#tasks"  # never an off-site redirect
    mine.refresh_from_db()
    robins.refresh_from_db()
    assert (mine.status, robins.status) == (TaskStatus.OPEN, TaskStatus.OPEN)


def test_a_viewer_cannot_close_tasks(client: Client, db: None) -> None:
    viewer = UserFactory(username="vera", role=Role.VIEWER)
    task = create_task(AccountFactory(), "Read only", created_by=None, assignee=viewer)
    client.force_login(viewer)

    assert client.post(reverse("web:task-done", args=[task.pk])).status_code == 403


def test_the_account_page_offers_the_form_to_editors_only(
    signed_in_client: Client, csm: User
) -> None:
    robin = UserFactory(username="robin", role=Role.CSM)
    mine = AccountFactory(external_id="mine", owner=csm)
    AccountFactory(external_id="theirs", owner=robin)
    create_task(mine, "Overdue call", created_by=None, due_on=date(2020, 1, 1))

    own_page = signed_in_client.get(reverse("web:account", args=["mine"])).content.decode()
    other_page = signed_in_client.get(reverse("web:account", args=["theirs"])).content.decode()

    assert "Add a task" in own_page and 'aria-label="Mark “Overdue call” done"' in own_page
    assert "overdue</span>" in own_page
    assert "Add a task" not in other_page

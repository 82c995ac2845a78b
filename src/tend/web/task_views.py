"""CSM tasks on the pages: add one to an account, mark one done or reopen it, through
`playbooks.actions`. Whoever may change the account (its CSM, managers, admins) may add and
close its tasks; the person a task is assigned to may close it too. Viewers get 403."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from tend.core.models import User
from tend.customers import queries as customers
from tend.playbooks import actions
from tend.playbooks.models import Task
from tend.web.account_access import may_edit_account, require_account_editor
from tend.web.permissions import signed_in
from tend.web.task_forms import TaskForm


def _account_tasks_url(external_id: str) -> str:
    return reverse("web:account", args=[external_id]) + "#tasks"


@signed_in
@require_POST
def add_task(request: HttpRequest, external_id: str) -> HttpResponse:
    """Add a task to the account; 400 with the form's errors when the input is wrong."""
    account = customers.account_by_external_id(external_id)
    if account is None:
        raise Http404("No account with that id.")
    user = require_account_editor(request.user, account)
    form = TaskForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            actions.create_task(
                account,
                data["title"],
                created_by=user,
                assignee=data["assignee"],
                due_on=data["due_on"],
                priority=data["priority"],
                details=data["details"],
            )
        except actions.TaskError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            messages.success(request, "Task added.")
            return redirect(_account_tasks_url(account.external_id))
    context = {"account": account, "form": form}
    return render(request, "web/tasks/add.html", context, status=400)


def _task_for_change(request: HttpRequest, task_id: int) -> tuple[Task, User]:
    task = get_object_or_404(Task.objects.select_related("account"), pk=task_id)
    user = request.user
    if isinstance(user, User) and user.is_active and user.can_edit():
        if task.assignee_id == user.pk or may_edit_account(user, task.account):
            return task, user
        raise PermissionDenied("Only the person it is for, or whoever may change the account.")
    raise PermissionDenied("Your role may read tasks but not change them.")


def _back(request: HttpRequest, task: Task) -> HttpResponse:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(target)
    return redirect(_account_tasks_url(task.account.external_id))


@signed_in
@require_POST
def complete_task(request: HttpRequest, task_id: int) -> HttpResponse:
    task, user = _task_for_change(request, task_id)
    actions.complete_task(task, user)
    messages.success(request, f"Done: {task.title}")
    return _back(request, task)


@signed_in
@require_POST
def reopen_task(request: HttpRequest, task_id: int) -> HttpResponse:
    task, user = _task_for_change(request, task_id)
    actions.reopen_task(task, user)
    messages.success(request, f"Reopened: {task.title}")
    return _back(request, task)

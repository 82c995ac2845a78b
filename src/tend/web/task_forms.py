"""The task form of the account page: title, due date, priority and who does it."""

from __future__ import annotations

from django import forms

from tend.core.models import Role, User
from tend.playbooks.models import Task, TaskPriority


class TaskForm(forms.Form):
    """A new task on an account; left unassigned it goes to the account's owner."""

    title = forms.CharField(max_length=Task._meta.get_field("title").max_length or 200)
    due_on = forms.DateField(
        label="Due", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    priority = forms.ChoiceField(choices=TaskPriority.choices, initial=TaskPriority.NORMAL)
    assignee = forms.ModelChoiceField(
        label="For",
        queryset=User.objects.filter(is_active=True).exclude(role=Role.VIEWER),
        required=False,
        empty_label="The account's owner",
    )
    details = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)

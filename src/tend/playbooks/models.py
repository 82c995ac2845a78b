"""CSM tasks: a to-do on an account, assigned to a team member, with a due date. People create
them by hand; playbooks (a later capability) will create them from health signals."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from tend.core.models import TimestampedModel


class TaskStatus(models.TextChoices):
    OPEN = "open", "Open"
    DONE = "done", "Done"
    CANCELLED = "cancelled", "Cancelled"


class TaskPriority(models.TextChoices):
    LOW = "low", "Low"
    NORMAL = "normal", "Normal"
    HIGH = "high", "High"


class Task(TimestampedModel):
    """Something a CSM must do for an account, by a date."""

    account = models.ForeignKey("customers.Account", on_delete=models.CASCADE, related_name="tasks")
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="tasks",
    )
    title = models.CharField(max_length=200)
    details = models.TextField(blank=True)
    due_on = models.DateField(null=True, blank=True)
    priority = models.CharField(
        max_length=8, choices=TaskPriority.choices, default=TaskPriority.NORMAL
    )
    status = models.CharField(max_length=10, choices=TaskStatus.choices, default=TaskStatus.OPEN)
    source = models.CharField(
        max_length=60, default="manual", help_text="'manual', or the playbook that created it."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["status", "due_on", "pk"]
        indexes = [
            models.Index(fields=["assignee", "status", "due_on"]),
            models.Index(fields=["account", "status"]),
        ]

    def __str__(self) -> str:
        return self.title

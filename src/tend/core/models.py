"""Users and roles, notes on accounts, and the audit log."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models


class TimestampedModel(models.Model):
    """Base for tables whose rows are created and edited over time."""

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    MANAGER = "manager", "Manager"
    CSM = "csm", "Customer success manager"
    VIEWER = "viewer", "Viewer"


class User(AbstractUser):
    """A person on the customer success team; `role` decides what they may do."""

    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)
    title = models.CharField(max_length=120, blank=True)

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.username

    def can_edit(self) -> bool:
        """Admins, managers and CSMs change data; viewers only read."""
        return self.is_superuser or self.role != Role.VIEWER


class Note(TimestampedModel):
    """A free-text note a team member keeps on an account: people, not only numbers."""

    account = models.ForeignKey("customers.Account", on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL)
    body = models.TextField()
    pinned = models.BooleanField(default=False)

    class Meta:
        ordering = ["-pinned", "-created_at"]

    def __str__(self) -> str:
        return f"Note on {self.account_id} by {self.author_id}"


class AuditEntry(models.Model):
    """Who changed what and when; written by actions, never edited."""

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL)
    action = models.CharField(max_length=80)
    object_type = models.CharField(max_length=80)
    object_id = models.CharField(max_length=120)
    changes = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at"]
        indexes = [models.Index(fields=["object_type", "object_id"])]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"{self.action} {self.object_type}:{self.object_id}"


class ApiToken(models.Model):
    """A personal API token: acts as its user, with the user's role; only a digest is stored."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=120)
    prefix = models.CharField(max_length=12)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

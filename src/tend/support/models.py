"""Support tickets and touchpoints (emails, calls, meetings, chats) with customers."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from tend.core.models import TimestampedModel


class TicketPriority(models.TextChoices):
    LOW = "low", "Low"
    NORMAL = "normal", "Normal"
    HIGH = "high", "High"
    URGENT = "urgent", "Urgent"


class TicketStatus(models.TextChoices):
    OPEN = "open", "Open"
    PENDING = "pending", "Pending"
    SOLVED = "solved", "Solved"
    CLOSED = "closed", "Closed"


class Channel(models.TextChoices):
    EMAIL = "email", "Email"
    CHAT = "chat", "Chat"
    PHONE = "phone", "Phone"
    WEB = "web", "Web form"


class Ticket(TimestampedModel):
    """A support request; its topic, priority and resolution feed health and support KPIs."""

    external_id = models.CharField(max_length=120, unique=True)
    account = models.ForeignKey(
        "customers.Account", on_delete=models.CASCADE, related_name="tickets"
    )
    contact = models.ForeignKey(
        "customers.Contact", null=True, blank=True, on_delete=models.SET_NULL
    )
    subject = models.CharField(max_length=300)
    topic = models.CharField(max_length=60, blank=True, db_index=True)
    priority = models.CharField(
        max_length=8, choices=TicketPriority.choices, default=TicketPriority.NORMAL
    )
    channel = models.CharField(max_length=8, choices=Channel.choices, default=Channel.EMAIL)
    status = models.CharField(max_length=8, choices=TicketStatus.choices, db_index=True)
    opened_at = models.DateTimeField(db_index=True)
    first_response_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    agent_replies = models.PositiveIntegerField(default=0)
    reopened_count = models.PositiveIntegerField(default=0)
    escalated = models.BooleanField(default=False)
    csat = models.PositiveSmallIntegerField(null=True, blank=True, help_text="1-5, if asked.")

    class Meta:
        ordering = ["-opened_at"]

    def __str__(self) -> str:
        return self.subject


class TouchpointKind(models.TextChoices):
    EMAIL = "email", "Email"
    CALL = "call", "Call"
    MEETING = "meeting", "Meeting"
    CHAT = "chat", "Chat"
    WEBINAR = "webinar", "Webinar"


class Direction(models.TextChoices):
    INBOUND = "inbound", "From the customer"
    OUTBOUND = "outbound", "To the customer"


class Touchpoint(TimestampedModel):
    """One interaction between the team and a customer."""

    external_id = models.CharField(max_length=120, unique=True)
    account = models.ForeignKey(
        "customers.Account", on_delete=models.CASCADE, related_name="touchpoints"
    )
    contact = models.ForeignKey(
        "customers.Contact", null=True, blank=True, on_delete=models.SET_NULL
    )
    csm = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    kind = models.CharField(max_length=8, choices=TouchpointKind.choices)
    direction = models.CharField(max_length=8, choices=Direction.choices)
    occurred_at = models.DateTimeField(db_index=True)
    subject = models.CharField(max_length=300, blank=True)
    duration_minutes = models.PositiveIntegerField(null=True, blank=True)
    satisfaction = models.PositiveSmallIntegerField(null=True, blank=True, help_text="1-5.")

    class Meta:
        ordering = ["-occurred_at"]
        # Touchpoints per account over the last days (the team page) read from the index alone.
        indexes = [
            models.Index(fields=["occurred_at", "account"], name="touchpoint_recent_accounts")
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.subject}"

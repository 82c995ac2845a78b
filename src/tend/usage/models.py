"""Raw product-usage events, keyed on (source, message id) so retries are absorbed."""

from __future__ import annotations

from django.db import models


class EventType(models.TextChoices):
    TRACK = "track", "Track"
    IDENTIFY = "identify", "Identify"
    GROUP = "group", "Group"
    PAGE = "page", "Page"
    SCREEN = "screen", "Screen"
    ALIAS = "alias", "Alias"


class Event(models.Model):
    """One message from a source (Segment-spec): who did what, when, with which properties."""

    source = models.CharField(max_length=60)
    message_id = models.CharField(max_length=120)
    type = models.CharField(max_length=8, choices=EventType.choices)
    name = models.CharField(max_length=200, blank=True, help_text="Event or page/screen name.")
    user_id = models.CharField(max_length=120, blank=True)
    anonymous_id = models.CharField(max_length=120, blank=True)
    account = models.ForeignKey(
        "customers.Account",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="events",
    )
    timestamp = models.DateTimeField()
    received_at = models.DateTimeField()
    properties = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "message_id"], name="event_unique_message")
        ]
        indexes = [models.Index(fields=["account", "timestamp"], name="event_account_time")]

    def __str__(self) -> str:
        return f"{self.type} {self.name} {self.user_id}"

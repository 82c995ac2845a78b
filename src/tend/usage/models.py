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
    context = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "message_id"], name="event_unique_message")
        ]
        indexes = [
            models.Index(fields=["account", "timestamp"], name="event_account_time"),
            models.Index(
                fields=["anonymous_id"],
                name="event_anonymous_id",
                condition=~models.Q(anonymous_id=""),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.name} {self.user_id}"


class Source(models.Model):
    """A named origin of events (a website, an app, a backend, a webhook); owns write keys."""

    slug = models.SlugField(max_length=60, unique=True, help_text="Stored on each event.")
    name = models.CharField(max_length=120)
    kind = models.CharField(
        max_length=16,
        default="segment",
        help_text="segment (Segment/RudderStack spec), posthog or webhook.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class WriteKey(models.Model):
    """A secret a client sends to write into a source; only its SHA-256 digest is stored."""

    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="write_keys")
    prefix = models.CharField(max_length=12, help_text="First characters, to recognise the key.")
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.source_id})"


class RejectedMessage(models.Model):
    """A message refused at ingestion, kept with its reason for inspection; never silently lost."""

    source = models.ForeignKey(Source, null=True, blank=True, on_delete=models.SET_NULL)
    endpoint = models.CharField(max_length=40)
    message_id = models.CharField(max_length=120, blank=True)
    code = models.CharField(max_length=40)
    reason = models.TextField()
    payload = models.TextField(help_text="The message as received (JSON text, possibly cut).")
    received_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.code}: {self.message_id}"


class UsageRollup(models.Model):
    """Usage per account, user, day and event name: what health and KPIs read instead of raw
    events. Sessions and active minutes are attributed to the event name that opened them."""

    account = models.ForeignKey(
        "customers.Account", null=True, blank=True, on_delete=models.CASCADE
    )
    user_id = models.CharField(max_length=120, blank=True)
    day = models.DateField()
    event_name = models.CharField(max_length=200)
    events = models.PositiveIntegerField(default=0)
    sessions = models.PositiveIntegerField(default=0)
    active_minutes = models.FloatField(default=0)
    first_at = models.DateTimeField()
    last_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "user_id", "day", "event_name"], name="rollup_unique_key"
            )
        ]
        indexes = [models.Index(fields=["account", "day"], name="rollup_account_day")]

    def __str__(self) -> str:
        return f"{self.account_id} {self.user_id} {self.day} {self.event_name}"


class Watermark(models.Model):
    """How far an incremental job has read (the last event primary key it processed)."""

    name = models.CharField(max_length=60, unique=True)
    position = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.name} at {self.position}"


class InboxBatch(models.Model):
    """One acknowledged request's messages, waiting for the loader (PostgreSQL's inbox; SQLite
    keeps its inbox in its own file). Deleted in the transaction that loads it."""

    source_id = models.BigIntegerField()
    source_slug = models.CharField(max_length=60)
    key_id = models.BigIntegerField()
    endpoint = models.CharField(max_length=40)
    received_at = models.DateTimeField()
    message_count = models.IntegerField()
    payload = models.BinaryField(help_text="zlib-compressed JSON: messages and rejections.")

    def __str__(self) -> str:
        return f"inbox {self.pk}: {self.message_count} from {self.source_slug}"

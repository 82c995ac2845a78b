from django.contrib import admin

from tend.usage.models import (
    Event,
    InboxBatch,
    RejectedMessage,
    Source,
    UsageRollup,
    Watermark,
    WriteKey,
)


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ("timestamp", "type", "name", "user_id", "account", "source")
    list_filter = ("type", "source")
    search_fields = ("user_id", "message_id", "name")
    raw_id_fields = ("account",)
    show_full_result_count = False


@admin.register(Source)
class SourceAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "kind", "created_at")


@admin.register(WriteKey)
class WriteKeyAdmin(admin.ModelAdmin):
    list_display = ("prefix", "source", "created_at", "last_used_at", "revoked_at")
    readonly_fields = ("prefix", "digest")


@admin.register(RejectedMessage)
class RejectedMessageAdmin(admin.ModelAdmin):
    list_display = ("received_at", "source", "endpoint", "message_id", "code")
    list_filter = ("code", "endpoint")
    search_fields = ("message_id",)


@admin.register(UsageRollup)
class UsageRollupAdmin(admin.ModelAdmin):
    list_display = ("day", "account", "user_id", "event_name", "events", "sessions")
    raw_id_fields = ("account",)
    show_full_result_count = False


@admin.register(Watermark)
class WatermarkAdmin(admin.ModelAdmin):
    list_display = ("name", "position", "updated_at")


@admin.register(InboxBatch)
class InboxBatchAdmin(admin.ModelAdmin):
    """PostgreSQL's inbox, to look at; the loader empties it (SQLite's inbox is a file)."""

    list_display = ("id", "received_at", "source_slug", "endpoint", "message_count")
    exclude = ("payload",)

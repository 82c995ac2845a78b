from django.contrib import admin

from tend.usage.models import Event


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ("timestamp", "type", "name", "user_id", "account", "source")
    list_filter = ("type", "source")
    search_fields = ("user_id", "message_id", "name")
    raw_id_fields = ("account",)
    show_full_result_count = False

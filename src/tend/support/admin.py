from django.contrib import admin

from tend.support.models import Ticket, Touchpoint


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    list_display = ("subject", "account", "topic", "priority", "status", "opened_at")
    list_filter = ("status", "priority", "topic", "channel")
    search_fields = ("subject", "external_id", "account__name")
    raw_id_fields = ("account", "contact")


@admin.register(Touchpoint)
class TouchpointAdmin(admin.ModelAdmin):
    list_display = ("kind", "direction", "account", "csm", "occurred_at", "subject")
    list_filter = ("kind", "direction")
    raw_id_fields = ("account", "contact")

from django.contrib import admin

from tend.playbooks.models import Task


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    list_display = ("title", "account", "assignee", "due_on", "priority", "status")
    list_filter = ("status", "priority", "source")
    search_fields = ("title", "account__name", "account__external_id")
    raw_id_fields = ("account", "assignee", "created_by")

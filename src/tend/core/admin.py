from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from tend.core.models import ApiToken, AuditEntry, Note, User


@admin.register(User)
class TendUserAdmin(UserAdmin):
    list_display = ("username", "email", "first_name", "last_name", "role", "is_active")
    list_filter = ("role", "is_active", "is_superuser")
    fieldsets = (*(UserAdmin.fieldsets or ()), ("Tend", {"fields": ("role", "title")}))


@admin.register(Note)
class NoteAdmin(admin.ModelAdmin):
    list_display = ("account", "author", "created_at", "pinned")
    raw_id_fields = ("account",)


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ("at", "actor", "action", "object_type", "object_id")
    list_filter = ("action", "object_type")
    readonly_fields = ("at", "actor", "action", "object_type", "object_id", "changes")


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("name", "prefix", "user", "created_at", "last_used_at", "revoked_at")
    readonly_fields = ("prefix", "digest")

from django.contrib import admin

from tend.customers.models import (
    Account,
    Contact,
    ContactIdentity,
    SavedAccountView,
    Segment,
    StageChange,
)


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ("name", "external_id", "lifecycle_stage", "owner", "industry", "country")
    list_filter = ("lifecycle_stage", "industry", "acquisition_source")
    search_fields = ("name", "external_id", "domain")
    raw_id_fields = ("parent", "referred_by", "referred_by_contact")


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ("name", "email", "account", "lifecycle_group", "is_champion")
    list_filter = ("lifecycle_group", "is_champion", "is_decision_maker")
    search_fields = ("name", "email", "external_id")
    raw_id_fields = ("account",)


@admin.register(Segment)
class SegmentAdmin(admin.ModelAdmin):
    list_display = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}


@admin.register(StageChange)
class StageChangeAdmin(admin.ModelAdmin):
    list_display = ("account", "from_stage", "to_stage", "changed_at")
    list_filter = ("to_stage",)
    raw_id_fields = ("account",)


@admin.register(ContactIdentity)
class ContactIdentityAdmin(admin.ModelAdmin):
    list_display = ("anonymous_id", "contact", "created_at")
    raw_id_fields = ("contact",)


@admin.register(SavedAccountView)
class SavedAccountViewAdmin(admin.ModelAdmin):
    list_display = ("name", "user", "query", "updated_at")
    search_fields = ("name", "user__username")
    raw_id_fields = ("user",)

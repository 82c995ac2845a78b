from django.contrib import admin

from tend.billing.models import (
    ExchangeRate,
    Invoice,
    Plan,
    StripeEvent,
    Subscription,
    SubscriptionItem,
)


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = ("name", "external_id", "tier", "interval", "unit_amount", "currency")


class SubscriptionItemInline(admin.TabularInline):
    model = SubscriptionItem
    extra = 0


@admin.register(SubscriptionItem)
class SubscriptionItemAdmin(admin.ModelAdmin):
    list_display = ("external_id", "subscription", "plan", "quantity", "started_at", "ended_at")
    raw_id_fields = ("subscription",)


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    list_display = ("external_id", "account", "status", "started_at", "ended_at")
    list_filter = ("status",)
    search_fields = ("external_id", "account__name")
    raw_id_fields = ("account",)
    inlines = [SubscriptionItemInline]


@admin.register(Invoice)
class InvoiceAdmin(admin.ModelAdmin):
    list_display = ("number", "account", "status", "amount_due", "due_at", "paid_at")
    list_filter = ("status",)
    search_fields = ("number", "external_id", "account__name")
    raw_id_fields = ("account", "subscription")


@admin.register(StripeEvent)
class StripeEventAdmin(admin.ModelAdmin):
    list_display = ("created", "type", "event_id", "processed_at", "error")
    list_filter = ("type",)
    search_fields = ("event_id",)
    readonly_fields = (
        "event_id",
        "type",
        "created",
        "livemode",
        "payload",
        "received_at",
        "processed_at",
        "error",
    )


@admin.register(ExchangeRate)
class ExchangeRateAdmin(admin.ModelAdmin):
    list_display = ("currency", "to_currency", "valid_from", "rate")
    list_filter = ("currency", "to_currency")

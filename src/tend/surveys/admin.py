from django.contrib import admin

from tend.surveys.models import Survey, SurveyResponse


@admin.register(Survey)
class SurveyAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "scale_min", "scale_max", "active")


@admin.register(SurveyResponse)
class SurveyResponseAdmin(admin.ModelAdmin):
    list_display = ("survey", "account", "contact", "score", "answered_at", "channel")
    list_filter = ("survey", "channel")
    raw_id_fields = ("account", "contact")

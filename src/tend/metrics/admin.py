from django.contrib import admin

from tend.metrics.models import KpiSnapshot, MetricsRun, ReportSnapshot


@admin.register(KpiSnapshot)
class KpiSnapshotAdmin(admin.ModelAdmin):
    list_display = ("kpi", "grain", "period_start", "scope_type", "scope_key", "dimension", "value")
    list_filter = ("grain", "scope_type", "kpi")
    search_fields = ("kpi", "scope_key")


@admin.register(MetricsRun)
class MetricsRunAdmin(admin.ModelAdmin):
    list_display = ("started_at", "first_day", "last_day", "full", "engine", "rows")


@admin.register(ReportSnapshot)
class ReportSnapshotAdmin(admin.ModelAdmin):
    list_display = ("name", "grouping", "version", "computed_at")

from django.contrib import admin

from tend.health.models import (
    ChurnPrediction,
    HealthListRow,
    HealthListRun,
    HealthSignal,
    HealthSnapshot,
    Scorecard,
    ScorecardVersion,
    ScoreOverride,
)


@admin.register(Scorecard)
class ScorecardAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "priority", "is_default", "active", "updated_at")
    list_filter = ("active", "is_default")
    search_fields = ("name", "slug")


@admin.register(ScorecardVersion)
class ScorecardVersionAdmin(admin.ModelAdmin):
    list_display = ("scorecard", "number", "created_by", "created_at", "note")
    list_filter = ("scorecard",)
    raw_id_fields = ("created_by",)
    readonly_fields = ("config", "backtest")


@admin.register(HealthSnapshot)
class HealthSnapshotAdmin(admin.ModelAdmin):
    list_display = ("account", "day", "version", "score", "band", "coverage", "overridden")
    list_filter = ("band", "overridden")
    search_fields = ("account__name", "account__external_id")
    raw_id_fields = ("account", "version")
    date_hierarchy = "day"


@admin.register(ScoreOverride)
class ScoreOverrideAdmin(admin.ModelAdmin):
    list_display = ("account", "score", "band", "expires_at", "set_by", "created_at", "cleared_at")
    search_fields = ("account__name", "account__external_id", "reason")
    raw_id_fields = ("account", "set_by", "cleared_by")


@admin.register(HealthSignal)
class HealthSignalAdmin(admin.ModelAdmin):
    list_display = ("account", "day", "kind", "from_value", "to_value", "created_at")
    list_filter = ("kind",)
    search_fields = ("account__name", "account__external_id")
    raw_id_fields = ("account", "version")


@admin.register(ChurnPrediction)
class ChurnPredictionAdmin(admin.ModelAdmin):
    list_display = ("account", "day", "probability", "model")
    list_filter = ("day",)
    search_fields = ("account__name", "account__external_id")
    raw_id_fields = ("account",)


@admin.register(HealthListRun)
class HealthListRunAdmin(admin.ModelAdmin):
    list_display = ("name", "as_of", "computed_at", "row_count", "seconds")
    list_filter = ("name",)
    readonly_fields = ("scorecard_versions", "band_colours")


@admin.register(HealthListRow)
class HealthListRowAdmin(admin.ModelAdmin):
    list_display = ("run", "position", "account")
    list_filter = ("run__name",)
    raw_id_fields = ("run", "account")
    readonly_fields = ("payload",)

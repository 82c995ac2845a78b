"""KPI snapshots: every computed KPI value, dated, with the definitions' version that made it."""

from __future__ import annotations

from django.db import models


class KpiSnapshot(models.Model):
    """One KPI value for one period, scope and dimension (see metrics/grid.py for the terms).
    Pages and the API read these rows instead of recomputing."""

    kpi = models.CharField(max_length=60)
    grain = models.CharField(max_length=8)
    period_start = models.DateField()
    period_end = models.DateField(help_text="Exclusive.")
    scope_type = models.CharField(max_length=10)
    scope_key = models.CharField(max_length=120)
    dimension = models.CharField(max_length=120, blank=True)
    value = models.FloatField(null=True, blank=True)
    base = models.BigIntegerField(default=0, help_text="The count the value rests on.")
    version = models.CharField(max_length=20, help_text="Version of the KPI definitions.")
    computed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["scope_type", "scope_key", "kpi", "grain", "period_start", "dimension"],
                name="kpi_snapshot_unique",
            )
        ]
        indexes = [models.Index(fields=["kpi", "grain", "period_start"], name="kpi_by_period")]

    def __str__(self) -> str:
        return f"{self.kpi} {self.grain} {self.period_start} {self.scope_type}:{self.scope_key}"


class MetricsRun(models.Model):
    """One `tend metrics` run: which days it recomputed and how long it took."""

    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    first_day = models.DateField()
    last_day = models.DateField()
    full = models.BooleanField(default=False)
    engine = models.CharField(max_length=10)
    version = models.CharField(max_length=20)
    rows = models.BigIntegerField(default=0)
    seconds = models.FloatField(default=0)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"metrics {self.first_day}..{self.last_day} at {self.started_at:%Y-%m-%d %H:%M}"


class ReportSnapshot(models.Model):
    """A stored table that is not one value per period, like a cohort triangle or survival
    curve: its rows as JSON, replaced whole at each recompute."""

    name = models.CharField(max_length=60, help_text="e.g. logo_retention, sbg, clv.")
    grouping = models.CharField(max_length=20, help_text="What groups split it, e.g. segment.")
    rows = models.JSONField(default=list)
    version = models.CharField(max_length=20)
    computed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["name", "grouping"], name="report_snapshot_unique")
        ]

    def __str__(self) -> str:
        return f"{self.name} by {self.grouping}"

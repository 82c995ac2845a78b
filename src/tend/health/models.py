"""Scorecards and their versions, daily health snapshots, CSM overrides and health signals."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from tend.core.models import TimestampedModel


class Scorecard(TimestampedModel):
    """A named health model; its rules live in versions. `segments`, `lifecycle_stages`,
    `priority` and `is_default` mirror the latest version's config, for listing and selection."""

    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=120, unique=True)
    description = models.TextField(blank=True)
    segments = models.JSONField(default=list, blank=True)
    lifecycle_stages = models.JSONField(default=list, blank=True)
    priority = models.IntegerField(default=100, help_text="Lower is checked first.")
    is_default = models.BooleanField(default=False)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["priority", "name"]

    def __str__(self) -> str:
        return self.name


class ScorecardVersion(models.Model):
    """One saved configuration of a scorecard (a validated `ScorecardConfig` as JSON); every
    snapshot names the version that produced it."""

    scorecard = models.ForeignKey(Scorecard, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    config = models.JSONField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    note = models.TextField(blank=True)
    backtest = models.JSONField(default=dict, blank=True, help_text="Filled by the backtest.")

    class Meta:
        ordering = ["scorecard", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["scorecard", "number"], name="scorecard_version_unique")
        ]

    def __str__(self) -> str:
        return f"{self.scorecard} v{self.number}"


class HealthSnapshot(models.Model):
    """An account's health on one day under one scorecard version, explaining itself.

    `measures` maps each measure to `[raw, normalised, weight, contribution, missing 0/1]` (raw
    null when missing; weight and contribution 0 when excluded; the contributions add up to the
    computed score); `groups` maps each group to its score; `top_movers` lists
    `[measure, change of its contribution over 7 days]`, largest first."""

    account = models.ForeignKey(
        "customers.Account",
        on_delete=models.CASCADE,
        related_name="health_snapshots",
        db_index=False,  # the unique index below starts with the account
    )
    version = models.ForeignKey(
        ScorecardVersion, on_delete=models.CASCADE, related_name="snapshots", db_index=False
    )
    day = models.DateField()
    score = models.FloatField(null=True, blank=True, help_text="Shown: after any override.")
    computed_score = models.FloatField(null=True, blank=True)
    band = models.CharField(max_length=40, blank=True)
    computed_band = models.CharField(max_length=40, blank=True)
    coverage = models.FloatField(default=0.0, help_text="Share of the weight with data, 0-1.")
    groups = models.JSONField(default=dict)
    measures = models.JSONField(default=dict)
    change_7d = models.FloatField(null=True, blank=True)
    change_30d = models.FloatField(null=True, blank=True)
    top_movers = models.JSONField(null=True, blank=True)
    overridden = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "version", "day"], name="health_snapshot_unique"
            )
        ]
        # The unique index (account, version, day) serves an account's history and its latest
        # snapshot; (day, version, …) serves a day's list and the replacement of whole days, and
        # covers the pages' reads of a day's bands and scores (health mix per owner or stage,
        # the accounts table's health columns) without touching the wide rows. No more: every
        # index slows the bulk store of a backfill.
        indexes = [
            models.Index(
                fields=["day", "version", "account", "band", "score"],
                name="health_snapshot_day_scores",
            ),
            # A day's lowest scores without sorting the day (the home page's at-risk panel),
            # and its band counts from the index alone.
            models.Index(
                fields=["day", "version", "score", "band"], name="health_snapshot_day_low"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account_id} {self.day}: {self.score}"


class ChurnPrediction(models.Model):
    """The churn model's calibrated probability that an account churns within its horizon, as
    of one day, with the measures that pushed it most: `drivers` lists `{"measure",
    "contribution" (log-odds, positive raises the risk), "value"}`, largest first. Stored
    beside the day's health snapshots whenever a trained churn model exists."""

    account = models.ForeignKey(
        "customers.Account",
        on_delete=models.CASCADE,
        related_name="churn_predictions",
        db_index=False,  # the unique index below starts with the account
    )
    day = models.DateField()
    probability = models.FloatField()
    drivers = models.JSONField(default=list)
    model = models.CharField(
        max_length=60, blank=True, help_text="Which trained model: its split day and horizon."
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "day"], name="churn_prediction_unique")
        ]
        indexes = [models.Index(fields=["day"], name="churn_prediction_day")]

    def __str__(self) -> str:
        return f"{self.account_id} {self.day}: {self.probability:.3f}"


class ScoreOverride(models.Model):
    """A CSM's judgement over the computed score: a score or a band, with a reason, applied to
    the days from `created_at` to `expires_at` (inclusive, by date) unless cleared earlier."""

    account = models.ForeignKey(
        "customers.Account", on_delete=models.CASCADE, related_name="score_overrides"
    )
    score = models.FloatField(null=True, blank=True)
    band = models.CharField(max_length=40, blank=True)
    reason = models.TextField()
    expires_at = models.DateTimeField()
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    cleared_at = models.DateTimeField(null=True, blank=True)
    cleared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["account", "-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(score__isnull=False) & models.Q(band=""))
                | (models.Q(score__isnull=True) & ~models.Q(band="")),
                name="score_override_score_or_band",
            )
        ]

    def __str__(self) -> str:
        return f"{self.account_id}: {self.score if self.score is not None else self.band}"


class SignalKind(models.TextChoices):
    BAND_CHANGE = "band_change", "Band change"
    SCORE_DROP = "score_drop", "Score drop"
    CHURN_PROBABILITY_JUMP = "churn_probability_jump", "Churn probability jump"


class HealthSignal(models.Model):
    """Something a playbook may act on, recorded once per account, day and kind."""

    account = models.ForeignKey(
        "customers.Account", on_delete=models.CASCADE, related_name="health_signals"
    )
    day = models.DateField()
    kind = models.CharField(max_length=30, choices=SignalKind.choices)
    from_value = models.CharField(max_length=60, blank=True)
    to_value = models.CharField(max_length=60, blank=True)
    version = models.ForeignKey(
        ScorecardVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-day", "account"]
        constraints = [
            models.UniqueConstraint(fields=["account", "day", "kind"], name="health_signal_once")
        ]
        indexes = [models.Index(fields=["kind", "day"], name="health_signal_kind_day")]

    def __str__(self) -> str:
        return f"{self.kind} {self.account_id} {self.day}: {self.from_value} -> {self.to_value}"


class HealthListRun(models.Model):
    """One stored computation of a list the score drives (advocates, upsell, at_risk,
    collections, renewals, patterns): pages, the API and the CLI read the latest run of each
    name instead of computing on request. Written whole in one transaction by
    `list_actions.refresh_lists`; the run before stays until the next one, so a reader that
    picked it keeps reading complete rows."""

    name = models.CharField(max_length=30)
    as_of = models.DateTimeField(help_text="The moment the list describes.")
    computed_at = models.DateTimeField(help_text="When the computation finished.")
    seconds = models.FloatField(default=0.0, help_text="How long the computation took.")
    row_count = models.PositiveIntegerField(default=0)
    scorecard_versions = models.JSONField(
        default=list, blank=True, help_text="The active scorecard versions' ids when computed."
    )
    band_colours = models.JSONField(
        default=dict, blank=True, help_text="Band name to colour, of the scorecards in use."
    )

    class Meta:
        indexes = [models.Index(fields=["name", "-computed_at"], name="health_list_run_latest")]

    def __str__(self) -> str:
        return f"{self.name} as of {self.as_of:%Y-%m-%d %H:%M}"


class HealthListRow(models.Model):
    """One row of a stored list, in the list's order (`position`, from 0). `payload` holds the
    row as computed (JSON: instants and days as ISO text); `account` links it for filters by
    owner or segment (null for the patterns list and for accounts deleted since)."""

    run = models.ForeignKey(
        HealthListRun, on_delete=models.CASCADE, related_name="rows", db_index=False
    )
    position = models.PositiveIntegerField()
    account = models.ForeignKey(
        "customers.Account",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    payload = models.JSONField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["run", "position"], name="health_list_row_position")
        ]

    def __str__(self) -> str:
        return f"{self.run_id} #{self.position}"

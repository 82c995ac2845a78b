"""NPS, CSAT and CES surveys and the answers to them."""

from __future__ import annotations

from django.db import models

from tend.core.models import TimestampedModel


class SurveyKind(models.TextChoices):
    NPS = "nps", "Net Promoter Score"
    CSAT = "csat", "Customer satisfaction"
    CES = "ces", "Customer effort score"


class Survey(TimestampedModel):
    """A question asked on a stated scale; answers on different scales are never averaged."""

    external_id = models.CharField(max_length=120, unique=True)
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=4, choices=SurveyKind.choices)
    question = models.CharField(max_length=300)
    scale_min = models.SmallIntegerField()
    scale_max = models.SmallIntegerField()
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["kind", "name"]

    def __str__(self) -> str:
        return self.name


class ResponseChannel(models.TextChoices):
    EMAIL = "email", "Email link"
    IN_APP = "in_app", "In-app widget"
    API = "api", "API"


class SurveyResponse(TimestampedModel):
    """One answer, with the verbatim comment that keeps the person next to the number."""

    external_id = models.CharField(max_length=120, unique=True)
    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="responses")
    contact = models.ForeignKey(
        "customers.Contact", null=True, blank=True, on_delete=models.SET_NULL
    )
    account = models.ForeignKey(
        "customers.Account",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="survey_responses",
    )
    score = models.SmallIntegerField()
    comment = models.TextField(blank=True)
    answered_at = models.DateTimeField(db_index=True)
    channel = models.CharField(
        max_length=8, choices=ResponseChannel.choices, default=ResponseChannel.EMAIL
    )

    class Meta:
        ordering = ["-answered_at"]

    def __str__(self) -> str:
        return f"{self.survey_id}: {self.score}"

"""Writes of surveys and their responses."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tend.core.actions import bulk_insert, upsert_by_external_id
from tend.surveys.models import Survey, SurveyKind, SurveyResponse


def insert_surveys(surveys: Sequence[Survey]) -> list[Survey]:
    return bulk_insert(surveys)


def insert_responses(responses: Sequence[SurveyResponse]) -> list[SurveyResponse]:
    return bulk_insert(responses)


def upsert_responses(
    rows: Sequence[dict[str, Any]],
) -> tuple[list[SurveyResponse], list[SurveyResponse]]:
    """Create or update responses by external id (imports, API); returns (created, updated)."""
    return upsert_by_external_id(SurveyResponse, rows)


STANDARD_SURVEYS = {
    SurveyKind.NPS: ("Relationship NPS", "How likely are you to recommend us?", 0, 10),
    SurveyKind.CSAT: ("Support CSAT", "How satisfied were you with the help you got?", 1, 5),
    SurveyKind.CES: ("Customer effort", "How easy was it to get done?", 1, 7),
}


def ensure_standard_survey(kind: str) -> Survey:
    """The survey whose external id is the kind (nps, csat, ces), created on first use."""
    name, question, low, high = STANDARD_SURVEYS[SurveyKind(kind)]
    survey, _ = Survey.objects.get_or_create(
        external_id=kind,
        defaults={
            "name": name,
            "kind": kind,
            "question": question,
            "scale_min": low,
            "scale_max": high,
        },
    )
    return survey

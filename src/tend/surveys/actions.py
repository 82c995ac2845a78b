"""Writes of surveys and their responses."""

from __future__ import annotations

from collections.abc import Sequence

from tend.core.actions import bulk_insert
from tend.surveys.models import Survey, SurveyResponse


def insert_surveys(surveys: Sequence[Survey]) -> list[Survey]:
    return bulk_insert(surveys)


def insert_responses(responses: Sequence[SurveyResponse]) -> list[SurveyResponse]:
    return bulk_insert(responses)

"""Reads for surveys: an account's recent answers with their verbatims."""

from __future__ import annotations

from tend.customers.models import Account
from tend.surveys.models import SurveyResponse


def recent_responses(account: Account, limit: int = 20) -> list[SurveyResponse]:
    """The account's latest survey answers, newest first, with survey and respondent."""
    return list(
        SurveyResponse.objects.filter(account=account)
        .select_related("survey", "contact")
        .order_by("-answered_at", "-pk")[:limit]
    )

"""Reads for surveys: an account's recent answers with their verbatims."""

from __future__ import annotations

from datetime import datetime

import pyarrow as pa
from django.db.models import Max

from tend.customers.models import Account
from tend.surveys.models import SurveyResponse


def recent_responses(account: Account, limit: int = 20) -> list[SurveyResponse]:
    """The account's latest survey answers, newest first, with survey and respondent."""
    return list(
        SurveyResponse.objects.filter(account=account)
        .select_related("survey", "contact")
        .order_by("-answered_at", "-pk")[:limit]
    )


def comments_since(since: datetime) -> pa.Table:
    """Answers with a comment since `since`: `account, answered_at, score, comment` (the
    at-risk list's pain points)."""
    rows = (
        SurveyResponse.objects.filter(answered_at__gte=since, account__isnull=False)
        .exclude(comment="")
        .values_list("account__external_id", "answered_at", "score", "comment")
    )
    records = list(rows)
    columns = list(zip(*records, strict=True)) if records else [(), (), (), ()]
    return pa.table(
        {
            "account": pa.array(columns[0], pa.string()),
            "answered_at": pa.array(columns[1], pa.timestamp("us", tz="UTC")),
            "score": pa.array(columns[2], pa.int64()),
            "comment": pa.array(columns[3], pa.string()),
        }
    )


def last_answer_change() -> datetime | None:
    """When a survey answer was last created or changed."""
    return SurveyResponse.objects.aggregate(last=Max("updated_at"))["last"]

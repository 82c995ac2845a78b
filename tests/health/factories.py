"""Factories of the health domain's models (the shared ones live in tests/factories.py)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import factory
from factory.django import DjangoModelFactory

from tend.health.models import Scorecard, ScorecardVersion, ScoreOverride
from tests.factories import BASE_TIME, AccountFactory, UserFactory


def simple_config(name: str = "Simple", **overrides: Any) -> dict[str, Any]:
    """A one-measure scorecard: the score is the raw `events_30d` value, clamped to 0-100."""
    config: dict[str, Any] = {
        "name": name,
        "is_default": True,
        "groups": [
            {
                "name": "usage",
                "measures": [
                    {
                        "metric": "events_30d",
                        "direction": "higher_is_better",
                        "normalisation": {"kind": "points", "base": 0, "points_per_unit": 1},
                    }
                ],
            }
        ],
    }
    config.update(overrides)
    return config


class ScorecardFactory(DjangoModelFactory):
    class Meta:
        model = Scorecard

    name = factory.Sequence(lambda n: f"Scorecard {n}")
    slug = factory.Sequence(lambda n: f"scorecard-{n}")
    is_default = True


class ScorecardVersionFactory(DjangoModelFactory):
    class Meta:
        model = ScorecardVersion

    scorecard = factory.SubFactory(ScorecardFactory)
    number = 1
    config = factory.LazyAttribute(lambda v: simple_config(v.scorecard.name))


class ScoreOverrideFactory(DjangoModelFactory):
    class Meta:
        model = ScoreOverride

    account = factory.SubFactory(AccountFactory)
    score = 85.0
    band = ""
    reason = "Renewal signed; usage dip is a holiday."
    created_at = BASE_TIME
    expires_at = factory.LazyAttribute(lambda o: o.created_at + timedelta(days=14))
    set_by = factory.SubFactory(UserFactory)

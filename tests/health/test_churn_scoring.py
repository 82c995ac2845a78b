"""Churn probabilities stored with the health snapshots when a churn model exists, served by
the API with their drivers, and their jumps recorded as signals."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta

import numpy as np
import pyarrow as pa
import pytest
from django.test import Client

from tend.core.actions import create_api_token
from tend.core.models import User
from tend.customers.models import Account
from tend.health.actions import save_scorecard_version, store_churn_predictions
from tend.health.churn_model import PREDICTION_SCHEMA, train_churn_model
from tend.health.churn_scoring import churn_model_path
from tend.health.engine import score_days, today
from tend.health.models import ChurnPrediction, HealthSignal, SignalKind
from tend.usage.rollups import run_rollup
from tests.factories import AccountFactory, EventFactory
from tests.health.factories import simple_config

pytestmark = pytest.mark.django_db

FIRST_MONDAY = date(2024, 1, 1)


@pytest.fixture
def churn_model() -> Iterator[None]:
    """A model trained on synthetic history where churn falls with `events_30d`, saved where
    `tend scorecard learn` keeps it; removed afterwards."""
    rng = np.random.default_rng(3)
    accounts, days, events, churned = [], [], [], []
    for week in range(60):
        day = FIRST_MONDAY + timedelta(weeks=week)
        for n in range(150):
            count = float(rng.uniform(0, 60))
            accounts.append(f"s{n}")
            days.append(day)
            events.append(count)
            churned.append(bool(rng.random() < 1 / (1 + np.exp((count - 15) / 5))))
    values = pa.table(
        {
            "account": accounts,
            "day": pa.array(days, pa.date32()),
            "measure": ["events_30d"] * len(accounts),
            "value": pa.array(events, pa.float64()),
        }
    )
    labels = pa.table(
        {
            "account": accounts,
            "day": pa.array(days, pa.date32()),
            "paying": [True] * len(accounts),
            "churned": churned,
        }
    )
    model = train_churn_model(values, labels, FIRST_MONDAY + timedelta(weeks=45))
    path = churn_model_path()
    model.save(path)
    yield
    path.unlink()


def noon(day: date) -> datetime:
    return datetime.combine(day, time(12), UTC)


def test_scoring_stores_churn_probabilities_the_api_serves(
    churn_model: None, client: Client, csm: User
) -> None:
    last = today()
    for name in ("quiet", "busy"):
        AccountFactory(external_id=name, signed_up_at=noon(last - timedelta(days=90)))
    busy = Account.objects.get(external_id="busy")
    for n in range(50):
        at = noon(last - timedelta(days=n % 20))
        EventFactory(account=busy, user_id="u1", timestamp=at, received_at=at)
    run_rollup()
    save_scorecard_version(None, simple_config("Events"), None)

    score_days([last - timedelta(days=1), last])

    stored = {(p.account.external_id, p.day): p for p in ChurnPrediction.objects.all()}
    assert set(stored) == {(a, d) for a in ("quiet", "busy") for d in (last - timedelta(1), last)}
    assert stored[("quiet", last)].probability > stored[("busy", last)].probability
    assert stored[("busy", last)].drivers[0]["measure"] == "events_30d"
    assert stored[("busy", last)].drivers[0]["value"] == 50

    token = create_api_token(csm, "t")[1]
    detail = client.get("/api/health/accounts/quiet", HTTP_AUTHORIZATION=f"Bearer {token}").json()
    assert detail["churn_probability"] == stored[("quiet", last)].probability
    assert detail["churn_drivers"][0]["measure"] == "events_30d"


def test_without_a_model_nothing_is_predicted() -> None:
    assert not churn_model_path().exists()
    AccountFactory(external_id="acme")
    save_scorecard_version(None, simple_config("Events"), None)
    assert score_days([today()]).rows == 1
    assert not ChurnPrediction.objects.exists()


def predictions(rows: list[tuple[str, date, float]]) -> pa.Table:
    return pa.Table.from_pylist(
        [{"account": a, "day": d, "churn_probability": p, "drivers": []} for a, d, p in rows],
        schema=PREDICTION_SCHEMA,
    )


def test_a_rise_beyond_the_threshold_is_a_jump_signal_once() -> None:
    AccountFactory(external_id="a")
    AccountFactory(external_id="b")
    day = date(2026, 3, 2)
    before = day - timedelta(days=1)
    store_churn_predictions(predictions([("a", before, 0.1), ("b", before, 0.5)]), "m", 0.2)

    new = store_churn_predictions(predictions([("a", day, 0.35), ("b", day, 0.6)]), "m", 0.2)
    again = store_churn_predictions(predictions([("a", day, 0.35), ("b", day, 0.6)]), "m", 0.2)

    assert (new, again) == (1, 0)
    signal = HealthSignal.objects.get()
    assert (signal.kind, signal.account.external_id, signal.day) == (
        SignalKind.CHURN_PROBABILITY_JUMP,
        "a",
        day,
    )
    assert (signal.from_value, signal.to_value) == ("0.100", "0.350")
    assert ChurnPrediction.objects.count() == 4
    assert store_churn_predictions(predictions([("b", day, 0.95)]), "m", 0.2) == 1
    assert ChurnPrediction.objects.get(account__external_id="b", day=day).probability == 0.95

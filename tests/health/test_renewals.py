"""Renewal forecast on tiny hand-made inputs (no database). as_of 2025-06-01, next 60 days.

- a: monthly 100, period ends 06-15; churn probability 0.2 → renews with 0.8, 80 expected.
- b: yearly 1200 (MRR 100) from 2024-07-10, no period end → anniversary 2025-07-10; no
  probability for b → null.
- c: period ends 09-01, outside the window.
- d: monthly 50 set to cancel at its period end 06-20 → probability 0, nothing expected.
- e: trial until 06-10: pays nothing yet, not a renewal.
- f: ended in May.
"""

from __future__ import annotations

from datetime import date, datetime

import pyarrow as pa
import pytest

from tend.health.renewals import next_anniversary, renewal_forecast
from tend.metrics.inputs import Inputs
from tests.metrics.engine_support import at, inputs_from_rows, item

AS_OF = at(2025, 6, 1)


def subscription(name: str, account: str, **fields: object) -> dict[str, object]:
    return {"subscription": name, "account": account, "status": "active", "currency": "EUR",
            "started_at": at(2025, 1, 1), **fields}  # fmt: skip


def book() -> Inputs:
    return inputs_from_rows(
        accounts=[{"account": name} for name in "abcdef"],
        subscriptions=[
            subscription("sa", "a", current_period_end=at(2025, 6, 15)),
            subscription("sb", "b", currency="USD", started_at=at(2024, 7, 10)),
            subscription("sc", "c", current_period_end=at(2025, 9, 1)),
            subscription("sd", "d", current_period_end=at(2025, 6, 20), cancel_at=at(2025, 6, 20)),
            subscription("se", "e", status="trialing", trial_ends_at=at(2025, 6, 10),
                         current_period_end=at(2025, 6, 10)),
            subscription("sf", "f", status="canceled", ended_at=at(2025, 5, 1),
                         current_period_end=at(2025, 6, 1)),
        ],
        subscription_items=[
            item("ia", "sa", "100", at(2025, 1, 1)),
            item("ib", "sb", "1200", at(2024, 7, 10), interval="year"),
            item("ic", "sc", "70", at(2025, 1, 1)),
            item("id", "sd", "50", at(2025, 1, 1)),
            item("ie", "se", "30", at(2025, 1, 1)),
            item("if", "sf", "30", at(2025, 1, 1)),
        ],
    )  # fmt: skip


def test_renewals_due_with_their_forecast() -> None:
    churn = pa.table({"account": ["a", "c", "d"], "churn_probability": [0.2, 0.5, 0.1]})
    rows = renewal_forecast(book(), AS_OF, 60, churn).to_pylist()
    assert [(r["account"], r["renewal_date"]) for r in rows] == [
        ("a", date(2025, 6, 15)),
        ("d", date(2025, 6, 20)),
        ("b", date(2025, 7, 10)),
    ]
    a, d, b = rows
    assert (a["mrr_due"], a["currency"], a["cancel_scheduled"]) == (100.0, "EUR", False)
    assert a["probability_to_renew"] == pytest.approx(0.8)
    assert a["expected_renewing_mrr"] == pytest.approx(80.0)
    assert (d["mrr_due"], d["cancel_scheduled"], d["probability_to_renew"]) == (50.0, True, 0.0)
    assert d["expected_renewing_mrr"] == 0.0
    assert (b["mrr_due"], b["currency"], b["subscription"]) == (100.0, "USD", "sb")
    assert b["probability_to_renew"] is None and b["expected_renewing_mrr"] is None


def test_window_and_interval_filters() -> None:
    inputs = book()
    assert renewal_forecast(inputs, AS_OF, 14)["account"].to_pylist() == ["a"]
    yearly = renewal_forecast(inputs, AS_OF, 60, intervals=("year",))
    assert yearly["account"].to_pylist() == ["b"]
    assert renewal_forecast(inputs, AS_OF, 120)["account"].to_pylist() == ["a", "d", "b", "c"]


def test_next_anniversary() -> None:
    start = at(2020, 2, 29)
    assert next_anniversary(start, 1, at(2025, 1, 1)) == at(2025, 2, 28)
    assert next_anniversary(start, 1, at(2024, 2, 29)) == at(2025, 2, 28)
    assert next_anniversary(start, 2, at(2025, 1, 1)) == at(2026, 2, 28)
    assert next_anniversary(at(2024, 7, 10), 1, at(2024, 7, 10)) == at(2025, 7, 10)
    assert next_anniversary(at(2024, 7, 10), 1, datetime(2020, 1, 1, tzinfo=AS_OF.tzinfo)) == at(
        2025, 7, 10
    )

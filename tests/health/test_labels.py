"""Churn labels on a tiny hand-worked history (no database).

Horizon 3 days, as_of 2025-01-10 00:00.
- `a` pays 10/month from 01-01 until 01-05 00:00, and again from 01-07 00:00 (it comes back).
  01-01 and 01-02: paying, not paying at the horizon's end (01-05, 01-06): churned.
  01-03: paying; the horizon ends 01-07 00:00, when the new term counts: not churned.
  01-04: it stops at the end of the day (01-05 00:00): not paying, no label.
  01-06: paying again at its end (01-07 00:00); horizon end 01-10 00:00 = as_of: not churned.
  01-07..01-09: the horizon ends after as_of: censored.
- `b` pays from 01-01 throughout: never churned; censored from 01-07.
- `c` is on a trial until 01-20 (never paying in the data): not paying, never labelled.
- Days from 01-10 on began at or after as_of: no rows.
"""

from __future__ import annotations

from datetime import date, timedelta

import pyarrow as pa

from tend.health.labels import churn_labels, data_end, labelled_paying, one_day_per_week
from tend.metrics.inputs import Inputs
from tests.metrics.engine_support import at, inputs_from_rows, item


def history() -> Inputs:
    return inputs_from_rows(
        accounts=[{"account": name} for name in ("a", "b", "c")],
        subscriptions=[
            {"subscription": "a1", "account": "a", "status": "canceled", "currency": "EUR",
             "started_at": at(2025, 1, 1), "ended_at": at(2025, 1, 5)},
            {"subscription": "a2", "account": "a", "status": "active", "currency": "EUR",
             "started_at": at(2025, 1, 7)},
            {"subscription": "b1", "account": "b", "status": "active", "currency": "USD",
             "started_at": at(2025, 1, 1)},
            {"subscription": "c1", "account": "c", "status": "trialing", "currency": "USD",
             "started_at": at(2025, 1, 1), "trial_ends_at": at(2025, 1, 20)},
        ],
        subscription_items=[
            item("a1-i", "a1", "10", at(2025, 1, 1)),
            item("a2-i", "a2", "10", at(2025, 1, 7)),
            item("b1-i", "b1", "25", at(2025, 1, 1)),
            item("c1-i", "c1", "25", at(2025, 1, 1)),
        ],
    )  # fmt: skip


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def labels_by_key(table: pa.Table) -> dict[tuple[str, int], tuple[bool, bool | None]]:
    return {(r["account"], r["day"].day): (r["paying"], r["churned"]) for r in table.to_pylist()}


def test_hand_worked_history_with_a_return_and_censoring() -> None:
    labels = churn_labels(
        history(), days(date(2025, 1, 1), date(2025, 1, 12)), horizon_days=3, as_of=at(2025, 1, 10)
    )
    got = labels_by_key(labels)
    assert labels.schema.names == ["account", "day", "paying", "churned"]
    assert {key for key in got if key[0] == "a"} == {("a", d) for d in range(1, 10)}
    assert [got[("a", d)] for d in range(1, 10)] == [
        (True, True),
        (True, True),
        (True, False),
        (False, None),
        (False, None),
        (True, False),
        (True, None),
        (True, None),
        (True, None),
    ]
    assert [got[("b", d)] for d in (1, 6, 7)] == [(True, False), (True, False), (True, None)]
    assert all(got[("c", d)] == (False, None) for d in range(1, 10))


def test_labelled_paying_keeps_only_scorable_days() -> None:
    labels = churn_labels(
        history(), days(date(2025, 1, 1), date(2025, 1, 9)), horizon_days=3, as_of=at(2025, 1, 10)
    )
    kept = labelled_paying(labels)
    assert sorted(labels_by_key(kept)) == [
        ("a", 1), ("a", 2), ("a", 3), ("a", 6),
        ("b", 1), ("b", 2), ("b", 3), ("b", 4), ("b", 5), ("b", 6),
    ]  # fmt: skip


def test_default_as_of_is_the_last_recorded_instant() -> None:
    inputs = history()
    assert data_end(inputs) == at(2025, 1, 7)
    labels = churn_labels(inputs, days(date(2025, 1, 1), date(2025, 1, 8)), horizon_days=3)
    got = labels_by_key(labels)
    assert max(day for _, day in got) == 6  # day 01-07 begins at as_of
    assert got[("a", 3)] == (True, False)
    assert got[("a", 4)] == (False, None)  # not paying: nothing to lose
    assert got[("b", 3)] == (True, False)  # its horizon ends 01-07 00:00, at as_of
    assert got[("b", 4)] == (True, None)  # its horizon ends after as_of


def test_one_day_per_week_keeps_the_earliest_day_of_each_monday_week() -> None:
    # 2025-01-06 is a Monday.
    table = pa.table(
        {
            "account": ["a", "a", "a", "a", "b"],
            "day": pa.array(
                [date(2025, 1, 5), date(2025, 1, 7), date(2025, 1, 6), date(2025, 1, 13),
                 date(2025, 1, 8)],
                pa.date32(),
            ),
            "score": [1.0, 2.0, 3.0, 4.0, 5.0],
        }
    )  # fmt: skip
    sampled = one_day_per_week(table).to_pylist()
    assert [(r["account"], r["day"].day, r["score"]) for r in sampled] == [
        ("a", 5, 1.0),
        ("a", 6, 3.0),
        ("a", 13, 4.0),
        ("b", 8, 5.0),
    ]

"""Finance measures, hand-computed on tiny inputs (Ibis on DuckDB)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from tests.health.measure_support import account, computed, invoice, moment
from tests.metrics.engine_support import inputs_from_rows, item

D = date(2024, 3, 31)
MARCH_1 = date(2024, 3, 1)
MARCH_3 = date(2024, 3, 3)
NAMES = [
    "days_overdue_max",
    "overdue_amount",
    "late_payments_30d",
    "late_payments_31d",
    "late_payments_365d",
    "mrr",
    "mrr_change_31d",
    "mrr_change_1d",
    "tenure_days",
]


@pytest.fixture(scope="module")
def values() -> dict:
    """Account a has the invoices and the subscription the tests describe; c only a trial that
    has not ended by D; b nothing."""
    paid = {"status": "paid"}
    inputs = inputs_from_rows(
        accounts=[account("a"), account("b"), account("c")],
        invoices=[
            invoice(
                "i1",
                "a",
                "10",
                moment(2024, 1, 1),
                moment(2024, 1, 31),
                paid_at=moment(2024, 2, 10),
                **paid,
            ),
            invoice("i2", "a", "100", moment(2024, 2, 15), moment(2024, 3, 1)),
            invoice(
                "i3",
                "a",
                "50",
                moment(2024, 3, 1),
                moment(2024, 3, 15),
                paid_at=moment(2024, 4, 5),
                amount_paid=Decimal(50),
                **paid,
            ),
            invoice("i4", "a", "40", moment(2024, 3, 10), moment(2024, 3, 31)),
            invoice("i5", "a", "500", moment(2024, 1, 1), moment(2024, 1, 1), status="draft"),
            invoice("i6", "a", "60", moment(2024, 1, 1), moment(2024, 1, 15), **paid),
            invoice(
                "i7",
                "a",
                "5",
                moment(2024, 2, 1),
                moment(2024, 2, 10),
                paid_at=moment(2024, 2, 10, 15),
                **paid,
            ),
            invoice(
                "i8",
                "a",
                "20",
                moment(2024, 2, 1),
                moment(2024, 2, 29),
                paid_at=moment(2024, 3, 5),
                **paid,
            ),
            invoice(
                "i9", "a", "70", moment(2024, 1, 1), moment(2024, 1, 10), status="uncollectible"
            ),
            invoice("i10", "a", "80", moment(2024, 1, 1), moment(2024, 1, 10), status="void"),
        ],
        subscriptions=[
            {
                "subscription": "s1",
                "account": "a",
                "status": "active",
                "currency": "USD",
                "started_at": moment(2023, 12, 1),
            },
            {
                "subscription": "s2",
                "account": "c",
                "status": "trialing",
                "currency": "EUR",
                "started_at": moment(2024, 3, 20),
                "trial_ends_at": moment(2024, 4, 10),
            },
        ],
        subscription_items=[
            item("it0", "s1", "50", moment(2023, 12, 1), ended_at=moment(2024, 3, 1)),
            item("it1", "s1", "100", moment(2023, 12, 1)),
            item("it2", "s1", "20", moment(2024, 3, 31, 15)),
            item("it3", "s1", "1000", moment(2024, 4, 1)),
            item("it4", "s2", "30", moment(2024, 3, 20)),
        ],
    )
    return computed(inputs, [MARCH_1, MARCH_3, D], NAMES)


def test_days_overdue_max(values: dict) -> None:
    """Overdue at D (due before D, not paid by D): i2 due 03-01 (30 days) and i3 due 03-15,
    paid only on 04-05 (16 days) → 30; i4 is due on D itself, not overdue. On 03-03: i2 for 2
    days and i8 (due 02-29, paid 03-05) for 3 → 3. On 03-01: only i8, 1 day. The paid-on-the-
    due-day i7, the written-off i9 and the draft never count. Nothing overdue: 0."""
    assert values[("a", D, "days_overdue_max")] == 30
    assert values[("a", MARCH_3, "days_overdue_max")] == 3
    assert values[("a", MARCH_1, "days_overdue_max")] == 1
    assert values[("b", D, "days_overdue_max")] == 0


def test_overdue_amount(values: dict) -> None:
    """At D: i2 owes 100 and i3 its full 50 (paid after D) → 150. On 03-03: i2 100 + i8 20
    → 120. On 03-01: i8 → 20."""
    assert values[("a", D, "overdue_amount")] == 150
    assert values[("a", MARCH_3, "overdue_amount")] == 120
    assert values[("a", MARCH_1, "overdue_amount")] == 20
    assert values[("b", D, "overdue_amount")] == 0


def test_late_payments_counted_the_day_after_the_due_day(values: dict) -> None:
    """Late (paid after the due time, unpaid or written off), dated due day + 1: i1 02-01,
    i2 03-02, i3 03-16, i7 02-11 (paid 15:00 on its due day), i8 03-01, i9 01-11. i4 becomes
    late on 04-01 only; i6 (paid, no payment time) counts as on time.
    30 days at D (03-02..03-31): i2 (exactly D-29), i3 → 2; 31 days adds i8 (03-01, exactly
    D-30) → 3; 365 days: all six."""
    assert values[("a", D, "late_payments_30d")] == 2
    assert values[("a", D, "late_payments_31d")] == 3
    assert values[("a", D, "late_payments_365d")] == 6
    assert values[("b", D, "late_payments_365d")] == 0


def test_mrr_at_the_end_of_the_day(values: dict) -> None:
    """At D: it1 100 + it2 20 (starts 15:00 on D); it3 starts at midnight after D and c's trial
    only ends 04-10. On 03-01: it0 ended at 00:00 that day → 100. No subscription: 0."""
    assert values[("a", D, "mrr")] == 120
    assert values[("a", MARCH_1, "mrr")] == 100
    assert values[("c", D, "mrr")] == 0
    assert values[("b", D, "mrr")] == 0


def test_mrr_change_against_n_days_before(values: dict) -> None:
    """D-31 = 02-29, when MRR was 150 (it0 + it1): (120 - 150) / 150 = -0.2. On 03-01 against
    02-29: (100 - 150) / 150 = -1/3. MRR 0 before: null."""
    assert values[("a", D, "mrr_change_31d")] == pytest.approx(-0.2)
    assert values[("a", MARCH_1, "mrr_change_1d")] == pytest.approx(-1 / 3)
    assert values[("c", D, "mrr_change_31d")] is None
    assert values[("b", D, "mrr_change_31d")] is None


def test_tenure_days_since_first_paid(values: dict) -> None:
    """First paid 2023-12-01: at D, 31 + 31 + 29 + 30 = 121 days; on 03-01, 91. The trial of c
    has not paid by D, b never: null."""
    assert values[("a", D, "tenure_days")] == 121
    assert values[("a", MARCH_1, "tenure_days")] == 91
    assert values[("c", D, "tenure_days")] is None
    assert values[("b", D, "tenure_days")] is None

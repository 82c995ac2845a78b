"""Retention triangles on a small hand-made history (no database: Arrow inputs on DuckDB).

The history, months January to June 2024 (MRR is read at each month's end, i.e. at the first
instant of the next month):

- A (SMB, USD): 100/month from 10 Jan, still paying.                 paying Jan-Jun
- B (SMB, USD): 50/month from 5 Jan, cancelled 20 Feb; back on 2 Apr at 80/month
  (reactivated).                                                     paying Jan, Apr-Jun
- C (Enterprise, EUR): annual plan, 1200/year = 100/month from 15 Jan. paying Jan-Jun
- D (Enterprise, USD): 200/month from 3 Feb, ended 15 Mar.           paying Feb
- E (SMB, EUR): trial from 20 Jan to 10 Feb, then 40/month; upgraded to 60/month on
  15 Apr.                                                            paying Feb-Jun
- F (no segment, USD): 30/month from 3 May to 20 May: never paying at a month end, so in
  no cohort.

Start months: A, B, C → January (cohort of 3); D, E → February (cohort of 2). (D starts on
3 Feb: from 00:00 on 1 Feb it would already count at the end of January.)
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pytest

from tend.metrics.cohort_kpis import clv_simple, cohort_report
from tend.metrics.cohorts import (
    account_month_mrr,
    logo_retention_triangle,
    revenue_retention_triangle,
    start_months,
    survivor_counts,
)
from tend.metrics.inputs import Inputs, duckdb_inputs


def at(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, tzinfo=UTC)


JAN, FEB, LAST = date(2024, 1, 1), date(2024, 2, 1), date(2024, 6, 1)


def _history() -> Inputs:
    accounts = [
        ("A", "SMB"),
        ("B", "SMB"),
        ("C", "Enterprise"),
        ("D", "Enterprise"),
        ("E", "SMB"),
        ("F", None),
    ]
    subscriptions: list[dict[str, Any]] = [
        {"subscription": "a1", "account": "A", "currency": "USD", "started_at": at(2024, 1, 10)},
        {
            "subscription": "b1",
            "account": "B",
            "currency": "USD",
            "started_at": at(2024, 1, 5),
            "status": "canceled",
            "ended_at": at(2024, 2, 20),
        },
        {"subscription": "b2", "account": "B", "currency": "USD", "started_at": at(2024, 4, 2)},
        {"subscription": "c1", "account": "C", "currency": "EUR", "started_at": at(2024, 1, 15)},
        {
            "subscription": "d1",
            "account": "D",
            "currency": "USD",
            "started_at": at(2024, 2, 3),
            "status": "canceled",
            "ended_at": at(2024, 3, 15),
        },
        {
            "subscription": "e1",
            "account": "E",
            "currency": "EUR",
            "started_at": at(2024, 1, 20),
            "trial_ends_at": at(2024, 2, 10),
        },
        {
            "subscription": "f1",
            "account": "F",
            "currency": "USD",
            "started_at": at(2024, 5, 3),
            "status": "canceled",
            "ended_at": at(2024, 5, 20),
        },
    ]
    items = [
        ("a1", "100", "month", at(2024, 1, 10), None),
        ("b1", "50", "month", at(2024, 1, 5), None),
        ("b2", "80", "month", at(2024, 4, 2), None),
        ("c1", "1200", "year", at(2024, 1, 15), None),
        ("d1", "200", "month", at(2024, 2, 3), None),
        ("e1", "40", "month", at(2024, 1, 20), at(2024, 4, 15)),
        ("e1", "60", "month", at(2024, 4, 15), None),
        ("f1", "30", "month", at(2024, 5, 3), None),
    ]
    for sub in subscriptions:  # from_pylist takes its columns from the first row
        sub.setdefault("status", "active")
        sub.setdefault("ended_at", None)
        sub.setdefault("trial_ends_at", None)
    return duckdb_inputs(
        {
            "accounts": pa.table(
                {"account": [a for a, _ in accounts], "segment": [s for _, s in accounts]}
            ),
            "subscriptions": pa.Table.from_pylist(subscriptions),
            "subscription_items": pa.Table.from_pylist(
                [
                    {
                        "item": f"i{n}",
                        "subscription": sub,
                        "unit_amount": Decimal(amount),
                        "quantity": 1,
                        "interval": interval,
                        "interval_count": 1,
                        "discount_percent": Decimal(0),
                        "started_at": start,
                        "ended_at": end,
                    }
                    for n, (sub, amount, interval, start, end) in enumerate(items)
                ]
            ),
        }
    )


@pytest.fixture(scope="module")
def history() -> tuple[Inputs, Any]:
    inputs = _history()
    mrr = inputs.con.create_table("cohort_mrr", account_month_mrr(inputs, LAST), overwrite=True)
    return inputs, mrr


def _rows(inputs: Inputs, table: Any) -> list[dict[str, Any]]:
    return list(inputs.con.to_pyarrow(table).to_pylist())


def _curve(rows: list[dict[str, Any]], column: str, **match: Any) -> list[Any]:
    """`column` for k = 0, 1, … over the rows equal to `match` (checking k has no gaps)."""
    chosen = [r for r in rows if all(r[k] == v for k, v in match.items())]
    assert [r["months_since_start"] for r in chosen] == list(range(len(chosen)))
    return [r[column] for r in chosen]


def test_start_months(history: tuple[Inputs, Any]) -> None:
    """E's trial does not count (start Feb, not Jan); F never paid at a month end."""
    inputs, mrr = history
    starts = {r["account"]: r["cohort_month"] for r in _rows(inputs, start_months(mrr))}
    assert starts == {"A": JAN, "B": JAN, "C": JAN, "D": FEB, "E": FEB}


def test_logo_retention_triangle(history: tuple[Inputs, Any]) -> None:
    """January (A, B, C): paying at the ends of Jan..Jun: 3, 2 (B left), 2, 3 (B back), 3, 3.
    February (D, E): 2 at the end of Feb, then only E: 1, 1, 1, 1 (k = 1..4, to June).
    No later cohorts (F is in none)."""
    inputs, mrr = history
    rows = _rows(inputs, logo_retention_triangle(mrr))
    assert {r["cohort_month"] for r in rows} == {JAN, FEB}
    assert _curve(rows, "accounts", cohort_month=JAN) == [3, 2, 2, 3, 3, 3]
    assert _curve(rows, "cohort_size", cohort_month=JAN) == [3] * 6
    assert _curve(rows, "retention", cohort_month=JAN) == pytest.approx([1, 2 / 3, 2 / 3, 1, 1, 1])
    assert _curve(rows, "accounts", cohort_month=FEB) == [2, 1, 1, 1, 1]
    assert _curve(rows, "retention", cohort_month=FEB) == pytest.approx([1, 0.5, 0.5, 0.5, 0.5])


def test_logo_retention_by_segment(history: tuple[Inputs, Any]) -> None:
    """SMB January (A, B): 2, 1, 1, 2, 2, 2 of 2. Enterprise January (C, annual): 1 throughout.
    SMB February (E): 1 throughout. Enterprise February (D): 1, then 0 for k = 1..4."""
    inputs, mrr = history
    rows = _rows(inputs, logo_retention_triangle(mrr, inputs.accounts, by="segment"))
    assert _curve(rows, "retention", segment="SMB", cohort_month=JAN) == pytest.approx(
        [1, 0.5, 0.5, 1, 1, 1]
    )
    assert _curve(rows, "retention", segment="Enterprise", cohort_month=JAN) == [1.0] * 6
    assert _curve(rows, "retention", segment="SMB", cohort_month=FEB) == [1.0] * 5
    assert _curve(rows, "accounts", segment="Enterprise", cohort_month=FEB) == [1, 0, 0, 0, 0]
    assert _curve(rows, "retention", segment="Enterprise", cohort_month=FEB) == [1, 0, 0, 0, 0]


def test_revenue_retention_triangle_per_currency(history: tuple[Inputs, Any]) -> None:
    """January USD (A 100 + B 50 = 150): 150, 100, 100, 180 (B back at 80), 180, 180;
    retention 1, 2/3, 2/3, 1.2, 1.2, 1.2 (net: above 1).
    January EUR (C's annual plan: 1200/12 = 100 each month): retention 1 throughout.
    February USD (D 200): 200, then 0: 1, 0, 0, 0, 0.
    February EUR (E 40, upgraded to 60 on 15 Apr): 40, 40, 60, 60, 60: 1, 1, 1.5, 1.5, 1.5.
    Currencies are never added: January has two rows per k, one per currency."""
    inputs, mrr = history
    rows = _rows(inputs, revenue_retention_triangle(mrr))
    usd_jan = {"cohort_month": JAN, "currency": "USD"}
    assert _curve(rows, "mrr", **usd_jan) == [Decimal(v) for v in (150, 100, 100, 180, 180, 180)]
    assert _curve(rows, "cohort_mrr", **usd_jan) == [Decimal(150)] * 6
    assert _curve(rows, "retention", **usd_jan) == pytest.approx([1, 2 / 3, 2 / 3, 1.2, 1.2, 1.2])
    eur_jan = {"cohort_month": JAN, "currency": "EUR"}
    assert _curve(rows, "mrr", **eur_jan) == [Decimal(100)] * 6
    assert _curve(rows, "retention", **eur_jan) == [1.0] * 6
    usd_feb = {"cohort_month": FEB, "currency": "USD"}
    assert _curve(rows, "retention", **usd_feb) == [1.0, 0.0, 0.0, 0.0, 0.0]
    eur_feb = {"cohort_month": FEB, "currency": "EUR"}
    assert _curve(rows, "mrr", **eur_feb) == [Decimal(v) for v in (40, 40, 60, 60, 60)]
    assert _curve(rows, "retention", **eur_feb) == pytest.approx([1, 1, 1.5, 1.5, 1.5])
    assert len(rows) == 6 + 6 + 5 + 5


def test_revenue_retention_by_segment(history: tuple[Inputs, Any]) -> None:
    """SMB January USD (A 100 + B 50): 1, 2/3, 2/3, 1.2, 1.2, 1.2 (same as the portfolio: C,
    the other January account, is Enterprise and in EUR)."""
    inputs, mrr = history
    rows = _rows(inputs, revenue_retention_triangle(mrr, inputs.accounts, by="segment"))
    smb = {"segment": "SMB", "cohort_month": JAN, "currency": "USD"}
    assert _curve(rows, "retention", **smb) == pytest.approx([1, 2 / 3, 2 / 3, 1.2, 1.2, 1.2])
    enterprise = {"segment": "Enterprise", "cohort_month": JAN, "currency": "EUR"}
    assert _curve(rows, "retention", **enterprise) == [1.0] * 6
    assert not [
        r
        for r in rows
        if r["segment"] == "SMB" and r["currency"] == "EUR" and r["cohort_month"] == JAN
    ]


def test_survivor_counts_count_the_first_spell_only(history: tuple[Inputs, Any]) -> None:
    """January: B lapses at k = 1 and its return does not count: 3, 2, 2, 2, 2, 2.
    February: D lapses at k = 1: 2, 1, 1, 1, 1. (The sBG model's survivor curves.)"""
    inputs, mrr = history
    rows = _rows(inputs, survivor_counts(mrr))
    assert _curve(rows, "survivors", cohort_month=JAN) == [3, 2, 2, 2, 2, 2]
    assert _curve(rows, "survivors", cohort_month=FEB) == [2, 1, 1, 1, 1]
    grouped = _rows(inputs, survivor_counts(mrr, inputs.accounts, by="segment"))
    assert _curve(grouped, "survivors", segment="SMB", cohort_month=JAN) == [2, 1, 1, 1, 1, 1]


def test_grouping_needs_the_accounts_table(history: tuple[Inputs, Any]) -> None:
    _, mrr = history
    with pytest.raises(ValueError, match="accounts"):
        logo_retention_triangle(mrr, by="segment")


def test_cohort_report_stacks_portfolio_and_segments_and_values_customers() -> None:
    """Simple CLV at the end of June, monthly logo churn pooled over the trailing months:
    accounts paying at the start of Feb..Jun: 3 (A, B, C), 4 (+D, E), 3 (B and D gone),
    4 (B back), 4 = 18; churned: B in Feb, D in Mar = 2 → 1/9.
    USD ARPA in June: (A 100 + B 80) / 2 = 90 → CLV = 90 * 1 ÷ 1/9 = 810; EUR: (C 100 +
    E 60) / 2 = 80 → 720. SMB (A, B, E) paying at the start of Feb..Jun: 2 (A, B), 2 (A, E),
    2, 3, 3 = 12, churned 1 (B) → 1/12; SMB USD ARPA 90 → 1080. With five customers the sBG fit
    is degenerate (a, b → 0), so it is reported as not converged and the model CLV is null."""
    report = cohort_report(_history(), LAST)
    assert set(report) == {
        "logo_retention",
        "revenue_retention",
        "survivors",
        "sbg",
        "clv",
        "survival_curves",
        "survival_medians",
    }
    logo = report["logo_retention"].to_pylist()
    assert logo[0]["grouping"] == "portfolio" and logo[0]["group"] == "all"
    assert report["logo_retention"].column_names[:3] == ["grouping", "group", "cohort_month"]
    smb = [r for r in logo if r["group"] == "SMB" and r["cohort_month"] == JAN]
    assert [r["accounts"] for r in smb] == [2, 1, 1, 2, 2, 2]
    clv = {(r["group"], r["currency"]): r for r in report["clv"].to_pylist()}
    assert clv["all", "USD"]["logo_churn_rate"] == pytest.approx(1 / 9)
    assert clv["all", "USD"]["clv_simple"] == pytest.approx(810)
    assert clv["all", "EUR"]["clv_simple"] == pytest.approx(720)
    assert clv["SMB", "USD"]["logo_churn_rate"] == pytest.approx(1 / 12)
    assert clv["SMB", "USD"]["clv_simple"] == pytest.approx(90 * 12)
    assert clv["all", "USD"]["clv_model"] is None
    fits = report["sbg"].to_pylist()
    assert fits and not any(r["converged"] for r in fits)


def test_clv_simple() -> None:
    assert clv_simple(100.0, 0.8, 0.04) == pytest.approx(2000)
    assert clv_simple(100.0, 0.8, 0.0) is None

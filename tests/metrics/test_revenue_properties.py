"""Properties of the revenue pipeline on random subscription histories (no database needed)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tend.metrics.compute import revenue_inputs_report
from tend.metrics.inputs import SCHEMAS, duckdb_inputs
from tend.metrics.revenue import MONTHLY_FACTOR, add_months
from tests.metrics.support import MOVEMENTS, at

ORIGIN = at(2025, 11, 1)
FIRST, LAST = date(2026, 1, 1), date(2026, 6, 1)
SPAN_HOURS = 24 * 245  # Nov 2025 to early Jul 2026, so items start before and end after
DAYS = st.integers(1, 24 * 150).map(lambda h: timedelta(hours=h))
MONEY_COLUMNS = ("mrr_start", "mrr_end", *MOVEMENTS)

instants = st.integers(0, SPAN_HOURS).map(lambda h: ORIGIN + timedelta(hours=h))
items = st.fixed_dictionaries(
    {
        "offset": st.one_of(st.just(timedelta(0)), DAYS),
        "length": st.one_of(st.none(), DAYS),
        # Whole amounts and percents: the monthly amount then never ties at the 5th decimal.
        "unit_amount": st.integers(0, 5000).map(Decimal),
        "quantity": st.integers(1, 20),
        "interval": st.sampled_from(sorted(MONTHLY_FACTOR)),
        "interval_count": st.integers(1, 3),
        "discount_percent": st.sampled_from([Decimal(0), Decimal(10), Decimal(25), Decimal(100)]),
    }
)
subscriptions = st.fixed_dictionaries(
    {
        "account": st.sampled_from(["a1", "a2", "a3", "a4", "a5"]),
        "currency": st.sampled_from(["USD", "EUR"]),
        "started_at": instants,
        "trial_days": st.one_of(st.none(), st.none(), st.integers(1, 40)),
        "length": st.one_of(st.none(), DAYS, DAYS.map(lambda d: d * 2)),
        "items": st.lists(items, min_size=1, max_size=3),
    }
)


def _tables(histories: list[dict[str, Any]]) -> tuple[pa.Table, pa.Table]:
    """Arrow tables for the pipeline: items start at or after their subscription."""
    subs: list[dict[str, Any]] = []
    terms: list[dict[str, Any]] = []
    for sub_id, h in enumerate(histories, start=1):
        trial, length = h["trial_days"], h["length"]
        subs.append(
            {
                "subscription": f"s{sub_id}",
                "account": h["account"],
                "status": "active",
                "currency": h["currency"],
                "started_at": h["started_at"],
                "trial_ends_at": None if trial is None else h["started_at"] + timedelta(trial),
                "ended_at": None if length is None else h["started_at"] + length,
            }
        )
        for item in h["items"]:
            start = h["started_at"] + item["offset"]
            end = None if item["length"] is None else start + item["length"]
            terms.append(
                {
                    **{k: v for k, v in item.items() if k not in ("offset", "length")},
                    "item": f"i{len(terms) + 1}",
                    "subscription": f"s{sub_id}",
                    "started_at": start,
                    "ended_at": end,
                }
            )
    return (
        pa.Table.from_pylist(subs, schema=SCHEMAS["subscriptions"]),
        pa.Table.from_pylist(terms, schema=SCHEMAS["subscription_items"]),
    )


def _expected_mrr(subs: pa.Table, terms: pa.Table) -> dict[tuple[str, str, date], Decimal]:
    """MRR per account, currency and month end, computed item by item in plain Python."""
    by_id = {s["subscription"]: s for s in subs.to_pylist()}
    totals: dict[tuple[str, str, date], Decimal] = defaultdict(Decimal)
    for item in terms.to_pylist():
        sub = by_id[item["subscription"]]
        numerator, denominator = MONTHLY_FACTOR[item["interval"]]
        gross = item["unit_amount"] * item["quantity"] * (100 - item["discount_percent"])
        amount = gross * numerator / (100 * denominator * item["interval_count"])
        amount = amount.quantize(Decimal("0.0001"), ROUND_HALF_UP)
        start = max(item["started_at"], sub["trial_ends_at"] or sub["started_at"])
        ends = [e for e in (item["ended_at"], sub["ended_at"]) if e is not None]
        month = add_months(FIRST, -1)
        while month <= LAST:
            instant = datetime.combine(add_months(month, 1), datetime.min.time(), ORIGIN.tzinfo)
            if start <= instant and all(instant < e for e in ends):
                totals[(sub["account"], sub["currency"], month)] += amount
            month = add_months(month, 1)
    return totals


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(subscriptions, min_size=1, max_size=8))
def test_movements_reconcile_and_rates_stay_in_bounds(histories: list[dict[str, Any]]) -> None:
    """Every account-month and every portfolio month reconciles exactly; MRR matches a plain
    Python recomputation; NRR >= GRR; GRR, churn rates in [0, 1]."""
    subs, terms = _tables(histories)
    inputs = duckdb_inputs({"subscriptions": subs, "subscription_items": terms})
    report = revenue_inputs_report(inputs, FIRST, LAST)
    expected = _expected_mrr(subs, terms)

    totals: dict[tuple[str, date], dict[str, Decimal]] = defaultdict(
        lambda: dict.fromkeys(MONEY_COLUMNS, Decimal(0))
    )
    for row in report["movements"].to_pylist():
        key = (row["account"], row["currency"], row["month"])
        assert row["mrr_end"] == expected.get(key, 0), row
        previous = (row["account"], row["currency"], add_months(row["month"], -1))
        assert row["mrr_start"] == expected.get(previous, 0), row
        m = row
        assert m["mrr_end"] == (
            m["mrr_start"]
            + m["new"]
            + m["reactivation"]
            + m["expansion"]
            - m["contraction"]
            - m["churn"]
        ), row
        assert sum(1 for name in MOVEMENTS if m[name] != 0) <= 1, row
        assert all(m[name] >= 0 for name in MOVEMENTS), row
        for name in MONEY_COLUMNS:
            totals[(row["currency"], row["month"])][name] += row[name]

    portfolio = report["portfolio"].to_pylist()
    assert {(p["currency"], p["month"]) for p in portfolio} == set(totals)
    for p in portfolio:
        assert {name: p[name] for name in MONEY_COLUMNS} == totals[(p["currency"], p["month"])]
        assert p["mrr_end"] == (
            p["mrr_start"]
            + p["new"]
            + p["reactivation"]
            + p["expansion"]
            - p["contraction"]
            - p["churn"]
        )

    for r in report["retention"].to_pylist():
        if r["mrr_start"] == 0:
            assert r["net_revenue_retention"] is None and r["logo_churn_rate"] is None
            continue
        assert r["net_revenue_retention"] >= r["gross_revenue_retention"] - 1e-12
        assert 0 <= r["gross_revenue_retention"] <= 1
        assert 0 <= r["revenue_churn_rate"] <= 1
        assert 0 <= r["logo_churn_rate"] <= 1
        assert abs(r["gross_revenue_retention"] + r["revenue_churn_rate"] - 1) < 1e-9

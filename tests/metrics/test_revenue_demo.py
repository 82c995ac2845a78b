"""The revenue pipeline on a small demo company written to the app DB."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from tend.billing.queries import mrr_by_currency
from tend.demo.database import write_company
from tend.demo.generate import DemoConfig, generate_company
from tend.metrics.compute import revenue_report
from tests.metrics.support import MOVEMENTS

END = datetime(2026, 3, 31, tzinfo=UTC)


@pytest.mark.django_db
def test_demo_company_reconciles_every_month() -> None:
    """30 accounts over 12 months: each portfolio month reconciles, months chain, and the last
    month end's MRR matches the billing queries' MRR at that instant to the cent."""
    write_company(generate_company(DemoConfig(accounts=30, months=12, seed=11, end=END)))
    report = revenue_report(date(2025, 4, 1), date(2026, 3, 1))

    portfolio = report["portfolio"].to_pylist()
    assert portfolio and any(p["new"] for p in portfolio) and any(p["churn"] for p in portfolio)
    previous_end: dict[str, Decimal] = {}
    for p in portfolio:
        moved = p["new"] + p["reactivation"] + p["expansion"] - p["contraction"] - p["churn"]
        assert p["mrr_end"] == p["mrr_start"] + moved
        if p["currency"] in previous_end:
            assert p["mrr_start"] == previous_end[p["currency"]]
        previous_end[p["currency"]] = p["mrr_end"]

    per_account: dict[tuple[str, date, str], Decimal] = defaultdict(Decimal)
    for row in report["movements"].to_pylist():
        for name in MOVEMENTS:
            per_account[(row["currency"], row["month"], name)] += row[name]
    for p in portfolio:
        assert all(per_account[(p["currency"], p["month"], n)] == p[n] for n in MOVEMENTS)

    billing = {m.currency: m.amount for m in mrr_by_currency(at=datetime(2026, 4, 1, tzinfo=UTC))}
    last = {p["currency"]: p["mrr_end"] for p in portfolio if p["month"] == date(2026, 3, 1)}
    assert {c: a.quantize(Decimal("0.01")) for c, a in last.items() if a} == billing
    for r in report["retention"].to_pylist():
        if r["mrr_start"]:
            assert r["net_revenue_retention"] >= r["gross_revenue_retention"]

"""Revenue KPIs per period and scope, in the reporting currency, against hand-computed values."""

from __future__ import annotations

from datetime import date

import pytest

from tend.metrics.grid import RESULT_SCHEMA
from tend.metrics.revenue_kpis import revenue_results, trailing_retention
from tests.metrics.engine_support import at, grid_for, inputs_from_rows, item, results

JAN, FEB, MAR = date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)


def _company():  # type: ignore[no-untyped-def]
    """A (smb, USD): 100/month from Jan 5, upgraded to 150 on Feb 15.
    B (enterprise, EUR): 200/month from Jan 10, ended Mar 5.
    EUR→USD: 1.10 from 2025-12-01, 1.20 from 2026-03-01. A's users u1 and u2 active on Feb 20."""
    return inputs_from_rows(
        accounts=[
            {"account": "A", "segment": "smb"},
            {"account": "B", "segment": "enterprise"},
        ],
        subscriptions=[
            {
                "subscription": "sA",
                "account": "A",
                "status": "active",
                "currency": "USD",
                "started_at": at(2026, 1, 5),
            },
            {
                "subscription": "sB",
                "account": "B",
                "status": "canceled",
                "currency": "EUR",
                "started_at": at(2026, 1, 10),
                "ended_at": at(2026, 3, 5),
            },
        ],
        subscription_items=[
            item("a1", "sA", "100", at(2026, 1, 5), ended_at=at(2026, 2, 15)),
            item("a2", "sA", "150", at(2026, 2, 15)),
            item("b1", "sB", "200", at(2026, 1, 10)),
        ],
        exchange_rates=[
            {"currency": "EUR", "to_currency": "USD", "valid_from": date(2025, 12, 1), "rate": 1.1},
            {"currency": "EUR", "to_currency": "USD", "valid_from": date(2026, 3, 1), "rate": 1.2},
        ],
        usage_daily=[
            {"account": "A", "user": u, "day": date(2026, 2, 20), "event_name": "x", "events": 1}
            for u in ("u1", "u2")
        ],
    )


def test_monthly_revenue_kpis_in_the_reporting_currency() -> None:
    """Jan: new 100 + 200 EUR x 1.10 = 320 USD. Feb: A expands by 50; MRR 150 + 220 = 370;
    NRR = (320 + 50) / 320 = 1.15625. Mar (rate 1.20): start 150 + 240 = 390, B churns 240;
    NRR = (390 - 240) / 390 = 0.384615…, logo churn 1/2, MRR 150, ARPA 150."""
    inputs = _company()
    table = revenue_results(inputs, grid_for(inputs, JAN, date(2026, 3, 31), grains=["month"]))
    arrow = table.to_pyarrow()
    assert [(f.name, f.type) for f in arrow.schema] == [(f.name, f.type) for f in RESULT_SCHEMA]
    r = results(arrow)

    def value(kpi: str, month: date, scope: tuple[str, str] = ("portfolio", "all"), dim: str = ""):  # type: ignore[no-untyped-def]
        return r[(kpi, "month", month, *scope, dim)][0]

    assert value("mrr_new", JAN) == pytest.approx(320.0)
    assert r[("mrr_new", "month", JAN, "portfolio", "all", "")][1] == 2
    assert value("mrr", FEB) == pytest.approx(370.0)
    assert value("arr", FEB) == pytest.approx(4440.0)
    assert value("mrr_expansion", FEB) == pytest.approx(50.0)
    assert value("nrr", FEB) == pytest.approx(1.15625)
    assert value("grr", FEB) == pytest.approx(1.0)
    assert value("mrr_churn", MAR) == pytest.approx(240.0)
    assert value("nrr", MAR) == pytest.approx(150 / 390)
    assert value("logo_churn_rate", MAR) == pytest.approx(0.5)
    assert value("arpa", MAR) == pytest.approx(150.0)
    assert value("customer_growth", FEB) == pytest.approx(50 / 320)
    # The original currency, unconverted, and a segment scope.
    assert value("mrr", FEB, dim="EUR") == pytest.approx(200.0)
    assert value("mrr", FEB, ("segment", "smb")) == pytest.approx(150.0)
    # ARPU: A's 150 over its 2 users active in the 30 days before Mar 1.
    assert value("arpu", FEB, ("account", "A")) == pytest.approx(75.0)


def test_movements_reconcile_in_every_period_and_scope() -> None:
    """start + new + reactivation + expansion - contraction - churn = end, converted or not."""
    inputs = _company()
    grid = grid_for(inputs, JAN, date(2026, 3, 31), grains=["month", "quarter"])
    r = results(revenue_results(inputs, grid).to_pyarrow())
    checked = 0
    for kpi, grain, start, scope_type, scope_key, dim in r:
        if kpi != "mrr":
            continue
        key = (grain, start, scope_type, scope_key, dim)
        moved = sum(
            sign * r.get((f"mrr_{name}", *key), (0.0, 0))[0]
            for name, sign in [
                ("new", 1),
                ("reactivation", 1),
                ("expansion", 1),
                ("contraction", -1),
                ("churn", -1),
            ]
        )
        net = r[("net_new_mrr", *key)][0]
        assert moved == pytest.approx(net)
        checked += 1
    assert checked > 10


def test_a_quarter_compares_its_two_ends() -> None:
    """Q1: nothing paid on Jan 1; on Apr 1 only A pays 150: new 150; B came and went inside."""
    inputs = _company()
    grid = grid_for(inputs, JAN, date(2026, 3, 31), grains=["quarter"])
    r = results(revenue_results(inputs, grid).to_pyarrow())
    assert r[("mrr_new", "quarter", JAN, "portfolio", "all", "")] == (pytest.approx(150.0), 1)
    assert r[("mrr_churn", "quarter", JAN, "portfolio", "all", "")][0] == 0


def test_trailing_twelve_month_retention() -> None:
    """Paying on 2025-02-01: C 100 and D 50 (D ends 2025-06-01). On 2026-02-01 C pays 130.
    January 2026: NRR 12m = 130 / 150; GRR 12m = (min(100, 130) + min(50, 0)) / 150 = 100 / 150."""
    inputs = inputs_from_rows(
        accounts=[{"account": "C"}, {"account": "D"}],
        subscriptions=[
            {
                "subscription": "sC",
                "account": "C",
                "status": "active",
                "currency": "USD",
                "started_at": at(2025, 1, 5),
            },
            {
                "subscription": "sD",
                "account": "D",
                "status": "canceled",
                "currency": "USD",
                "started_at": at(2025, 1, 20),
                "ended_at": at(2025, 6, 1),
            },
        ],
        subscription_items=[
            item("c1", "sC", "100", at(2025, 1, 5), ended_at=at(2025, 9, 1)),
            item("c2", "sC", "130", at(2025, 9, 1)),
            item("d1", "sD", "50", at(2025, 1, 20)),
        ],
    )
    grid = grid_for(inputs, JAN, date(2026, 1, 31), grains=["month"], scope_types=["portfolio"])
    r = results(trailing_retention(inputs, grid).to_pyarrow())
    assert r[("nrr_12m", "month", JAN, "portfolio", "all", "")] == (pytest.approx(130 / 150), 2)
    assert r[("grr_12m", "month", JAN, "portfolio", "all", "")][0] == pytest.approx(100 / 150)

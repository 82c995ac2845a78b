"""Billing revenue KPIs (trial-to-paid, renewals, CLV, revenue to date, late payment, DSO) per
period and scope, against values worked out by hand in each test's docstring."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tend.metrics.billing_kpis import PIPELINES
from tend.metrics.grid import RESULT_SCHEMA
from tend.metrics.inputs import Inputs
from tests.metrics.billing_support import invoice, rate, run, subscription
from tests.metrics.engine_support import at, grid_for, inputs_from_rows, item

JAN, FEB, MAR, APR = date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1), date(2026, 4, 1)
LAST = date(2026, 3, 31)
ALL = ("portfolio", "all")


def _value(r: dict[Any, Any], kpi: str, start: date, scope=ALL, dim="", grain="month"):  # type: ignore[no-untyped-def]
    return r[(kpi, grain, start, *scope, dim)][0]


def _base(r: dict[Any, Any], kpi: str, start: date, scope=ALL, dim="", grain="month"):  # type: ignore[no-untyped-def]
    return r[(kpi, grain, start, *scope, dim)][1]


def test_every_pipeline_returns_the_result_schema() -> None:
    """Even on empty inputs, each pipeline's columns are RESULT_SCHEMA's, and every KPI name is
    declared once."""
    inputs = inputs_from_rows(accounts=[{"account": "A"}])
    grid = grid_for(inputs, JAN, LAST)
    expected = [(f.name, f.type) for f in RESULT_SCHEMA]
    for pipeline in PIPELINES:
        arrow = pipeline.compute(inputs, grid).to_pyarrow()
        assert [(f.name, f.type) for f in arrow.schema] == expected, pipeline.name
    names = [kpi.name for pipeline in PIPELINES for kpi in pipeline.kpis]
    assert len(names) == len(set(names)) == 10
    assert {kpi.family for pipeline in PIPELINES for kpi in pipeline.kpis} == {"revenue"}


# -- trial-to-paid -------------------------------------------------------------------------------


def _trials() -> Inputs:
    """T1 (smb): trial Jan 5-19, then 100/month from Jan 19: paid 14 days after the start.
    T2 (smb): trial from Jan 10 cancelled when it ended (Jan 24); subscribes again on Feb 19,
    40 days after the trial start: not paid within 30 days.
    T3 (enterprise): trial Mar 10-24, then 80/month: its window closes Apr 9."""
    return inputs_from_rows(
        accounts=[
            {"account": "T1", "segment": "smb"},
            {"account": "T2", "segment": "smb"},
            {"account": "T3", "segment": "enterprise"},
        ],
        subscriptions=[
            subscription("s1", "T1", at(2026, 1, 5), trial_ends_at=at(2026, 1, 19)),
            subscription(
                "s2",
                "T2",
                at(2026, 1, 10),
                status="canceled",
                trial_ends_at=at(2026, 1, 24),
                ended_at=at(2026, 1, 24),
            ),
            subscription("s2b", "T2", at(2026, 2, 19)),
            subscription("s3", "T3", at(2026, 3, 10), trial_ends_at=at(2026, 3, 24)),
        ],
        subscription_items=[
            item("i1", "s1", "100", at(2026, 1, 5)),
            item("i2", "s2", "100", at(2026, 1, 10)),
            item("i2b", "s2b", "50", at(2026, 2, 19)),
            item("i3", "s3", "80", at(2026, 3, 10)),
        ],
    )


def test_trial_to_paid_counts_payment_within_thirty_days_of_closed_cohorts() -> None:
    """as_of Apr 1. January cohort: T1 converts (day 14), T2 pays only on day 40: 1 / 2 = 50 %,
    base 2, in the portfolio and in segment smb; T1 alone 100 %, T2 0 %. February: no trial
    started (T2's second subscription has none): no row. March: T3's window (to Apr 9) is still
    open: no row. Q1 = the January cohort: 50 %."""
    inputs = _trials()
    grid = grid_for(inputs, JAN, LAST, grains=["month", "quarter"])
    r = run(PIPELINES, "billing_trials", inputs, grid)
    assert r[("trial_to_paid", "month", JAN, *ALL, "")] == (pytest.approx(50.0), 2)
    assert _value(r, "trial_to_paid", JAN, ("segment", "smb")) == pytest.approx(50.0)
    assert _value(r, "trial_to_paid", JAN, ("account", "T1")) == pytest.approx(100.0)
    assert _value(r, "trial_to_paid", JAN, ("account", "T2")) == pytest.approx(0.0)
    assert ("trial_to_paid", "month", FEB, *ALL, "") not in r
    assert ("trial_to_paid", "month", MAR, *ALL, "") not in r
    assert r[("trial_to_paid", "quarter", JAN, *ALL, "")] == (pytest.approx(50.0), 2)


def test_a_trial_cohort_counts_once_its_window_has_closed() -> None:
    """as_of Apr 10: T3's window (Mar 10 to Apr 9) has closed and it paid from Mar 24 (day 14):
    March = 1 / 1 = 100 %, also in segment enterprise; Q1 = 2 / 3 = 66.7 %."""
    inputs = _trials()
    grid = grid_for(inputs, JAN, LAST, grains=["month", "quarter"], as_of=at(2026, 4, 10))
    r = run(PIPELINES, "billing_trials", inputs, grid)
    assert r[("trial_to_paid", "month", MAR, *ALL, "")] == (pytest.approx(100.0), 1)
    assert _value(r, "trial_to_paid", MAR, ("segment", "enterprise")) == pytest.approx(100.0)
    assert r[("trial_to_paid", "quarter", JAN, *ALL, "")] == (pytest.approx(200 / 3), 3)


# -- renewals ------------------------------------------------------------------------------------


def _renewals() -> Inputs:
    """R1 (smb, USD): yearly 1200 (100/month) from 2025-01-15, upgraded at its renewal on
    2026-01-15 to yearly 1800 (150/month).
    R2 (enterprise, EUR): yearly 2400 (200/month) from 2025-01-20, cancelled at its renewal.
    R3 (smb, USD): yearly 1200 from 2025-03-01, raised mid-term on 2025-09-01 to 2400 (a new item
    row, 200/month); the renewal stays on the anchor, 2026-03-01, and nothing changes then.
    M (smb, USD): monthly 50 from 2025-01-10, never a renewal. EUR→USD 1.10."""
    return inputs_from_rows(
        accounts=[
            {"account": "R1", "segment": "smb"},
            {"account": "R2", "segment": "enterprise"},
            {"account": "R3", "segment": "smb"},
            {"account": "M", "segment": "smb"},
        ],
        subscriptions=[
            subscription("s1", "R1", at(2025, 1, 15)),
            subscription(
                "s2", "R2", at(2025, 1, 20), "EUR", status="canceled", ended_at=at(2026, 1, 20)
            ),
            subscription("s3", "R3", at(2025, 3, 1)),
            subscription("sm", "M", at(2025, 1, 10)),
        ],
        subscription_items=[
            item("r1", "s1", "1200", at(2025, 1, 15), interval="year", ended_at=at(2026, 1, 15)),
            item("r1b", "s1", "1800", at(2026, 1, 15), interval="year"),
            item("r2", "s2", "2400", at(2025, 1, 20), interval="year"),
            item("r3", "s3", "1200", at(2025, 3, 1), interval="year", ended_at=at(2025, 9, 1)),
            item("r3b", "s3", "2400", at(2025, 9, 1), interval="year"),
            item("m", "sm", "50", at(2025, 1, 10)),
        ],
        exchange_rates=[rate("EUR", date(2025, 12, 1), 1.1)],
    )


def test_renewal_rates_with_an_upgrade_and_a_cancellation() -> None:
    """January: R1 due 100, renewed 150 (kept 100); R2 due 200 EUR = 220 USD, renewed 0.
    Gross = (100 + 0) / 320 = 0.3125, net = 150 / 320 = 0.46875, base 2. USD alone (R1): gross
    1.0, net 1.5; EUR alone (R2): 0 and 0. February: nothing due, no row. March: R3 due 200,
    renewed 200: 1.0 and 1.0. Q1: due 320 + 200 = 520, renewed 350, kept 300: gross 300 / 520,
    net 350 / 520, base 3; segment smb (R1, R3; M is monthly): gross 300 / 300, net 350 / 300."""
    inputs = _renewals()
    grid = grid_for(inputs, JAN, LAST, grains=["month", "quarter"])
    r = run(PIPELINES, "billing_renewals", inputs, grid)
    assert r[("renewal_rate_gross", "month", JAN, *ALL, "")] == (pytest.approx(0.3125), 2)
    assert r[("renewal_rate_net", "month", JAN, *ALL, "")] == (pytest.approx(0.46875), 2)
    assert _value(r, "renewal_rate_gross", JAN, dim="USD") == pytest.approx(1.0)
    assert _value(r, "renewal_rate_net", JAN, dim="USD") == pytest.approx(1.5)
    assert _value(r, "renewal_rate_net", JAN, ("account", "R1")) == pytest.approx(1.5)
    assert _value(r, "renewal_rate_gross", JAN, dim="EUR") == 0
    assert _value(r, "renewal_rate_net", JAN, dim="EUR") == 0
    assert ("renewal_rate_net", "month", FEB, *ALL, "") not in r
    assert r[("renewal_rate_net", "month", MAR, *ALL, "")] == (pytest.approx(1.0), 1)
    assert _value(r, "renewal_rate_gross", MAR) == pytest.approx(1.0)
    quarter = {"grain": "quarter"}
    assert _value(r, "renewal_rate_gross", JAN, **quarter) == pytest.approx(300 / 520)
    assert _value(r, "renewal_rate_net", JAN, **quarter) == pytest.approx(350 / 520)
    assert _base(r, "renewal_rate_net", JAN, **quarter) == 3
    smb = ("segment", "smb")
    assert _value(r, "renewal_rate_gross", JAN, smb, **quarter) == pytest.approx(1.0)
    assert _value(r, "renewal_rate_net", JAN, smb, **quarter) == pytest.approx(350 / 300)
    assert not any(key[3:5] == ("account", "M") for key in r)


# -- CLV -----------------------------------------------------------------------------------------


def test_simple_clv_is_arpa_over_monthly_logo_churn() -> None:
    """A (smb) 100, B (enterprise) 200, C (smb) 300 a month from Jan 5; C ends Mar 10.
    March: 3 paying at the start, 1 churned: churn 1/3; MRR at the end 300 over 2 accounts:
    ARPA 150; CLV = 150 x 1.0 / (1/3) = 450, base 2. Segment smb: churn 1/2, ARPA 100: 200.
    Enterprise and February: nobody churned: null. No quarter rows (monthly churn only)."""
    inputs = inputs_from_rows(
        accounts=[
            {"account": "A", "segment": "smb"},
            {"account": "B", "segment": "enterprise"},
            {"account": "C", "segment": "smb"},
        ],
        subscriptions=[
            subscription("sA", "A", at(2026, 1, 5)),
            subscription("sB", "B", at(2026, 1, 5)),
            subscription("sC", "C", at(2026, 1, 5), status="canceled", ended_at=at(2026, 3, 10)),
        ],
        subscription_items=[
            item("a", "sA", "100", at(2026, 1, 5)),
            item("b", "sB", "200", at(2026, 1, 5)),
            item("c", "sC", "300", at(2026, 1, 5)),
        ],
    )
    grid = grid_for(inputs, JAN, LAST, grains=["month", "quarter"])
    r = run(PIPELINES, "billing_clv", inputs, grid)
    assert r[("clv_simple", "month", MAR, *ALL, "")] == (pytest.approx(450.0), 2)
    assert _value(r, "clv_simple", MAR, dim="USD") == pytest.approx(450.0)
    assert _value(r, "clv_simple", MAR, ("segment", "smb")) == pytest.approx(200.0)
    assert _value(r, "clv_simple", MAR, ("segment", "enterprise")) is None
    assert _value(r, "clv_simple", FEB) is None
    assert not any(key[1] == "quarter" for key in r)


# -- invoices ------------------------------------------------------------------------------------


def _invoices() -> Inputs:
    """P (smb, USD) and Q (enterprise, EUR); EUR→USD 1.10 from 2025-12-01, 1.20 from 2026-03-01.
    p1 100 issued Jan 1, due Jan 15, paid Jan 10 (on time).
    p2 due 100, paid 80 (a credit, refund-like), issued Feb 1, due Feb 15, paid Feb 20 (late).
    q1 200 EUR issued Jan 1, due Jan 31, paid Mar 5 (late).
    q2 300 EUR issued Feb 10, due Mar 10, 100 paid so far, still open (partly overdue).
    p3 500 void (never due); p4 60 uncollectible, issued Dec 1, due Dec 15, never paid."""
    return inputs_from_rows(
        accounts=[
            {"account": "P", "segment": "smb"},
            {"account": "Q", "segment": "enterprise"},
        ],
        invoices=[
            invoice("p1", "P", "100", at(2026, 1, 1), at(2026, 1, 15), at(2026, 1, 10)),
            invoice("p2", "P", "100", at(2026, 2, 1), at(2026, 2, 15), at(2026, 2, 20), "80"),
            invoice(
                "q1", "Q", "200", at(2026, 1, 1), at(2026, 1, 31), at(2026, 3, 5), None, None, "EUR"
            ),
            invoice("q2", "Q", "300", at(2026, 2, 10), at(2026, 3, 10), None, "100", None, "EUR"),
            invoice("p3", "P", "500", at(2026, 1, 5), at(2026, 1, 20), status="void"),
            invoice("p4", "P", "60", at(2025, 12, 1), at(2025, 12, 15), status="uncollectible"),
        ],
        exchange_rates=[rate("EUR", date(2025, 12, 1), 1.1), rate("EUR", date(2026, 3, 1), 1.2)],
    )


def _invoice_results(**options: Any) -> dict[Any, Any]:
    inputs = _invoices()
    grid = grid_for(inputs, JAN, LAST, grains=["month", "quarter"], **options)
    return run(PIPELINES, "billing_invoices", inputs, grid)


def test_revenue_to_date_sums_amounts_paid_converted_at_the_period_rate() -> None:
    """Jan: p1 100, base 1. Feb: + p2's 80 paid (not its 100 due) = 180, base 2. Mar: + q1
    200 EUR x 1.20 = 240: 420, base 3; per currency USD 180 and EUR 200; segment enterprise 240,
    smb 180. Q1 (state on Apr 1) = March. Void, open and uncollectible invoices add nothing."""
    r = _invoice_results()
    assert r[("revenue_to_date", "month", JAN, *ALL, "")] == (pytest.approx(100.0), 1)
    assert r[("revenue_to_date", "month", FEB, *ALL, "")] == (pytest.approx(180.0), 2)
    assert r[("revenue_to_date", "month", MAR, *ALL, "")] == (pytest.approx(420.0), 3)
    assert _value(r, "revenue_to_date", MAR, dim="USD") == pytest.approx(180.0)
    assert _value(r, "revenue_to_date", MAR, dim="EUR") == pytest.approx(200.0)
    assert _value(r, "revenue_to_date", MAR, ("segment", "enterprise")) == pytest.approx(240.0)
    assert _value(r, "revenue_to_date", MAR, ("segment", "smb")) == pytest.approx(180.0)
    assert ("revenue_to_date", "month", FEB, "segment", "enterprise", "") not in r
    assert _value(r, "revenue_to_date", JAN, grain="quarter") == pytest.approx(420.0)


def test_overdue_amount_counts_and_days_at_each_period_end() -> None:
    """Feb 1: q1 (200 EUR, due Jan 31) is open and 1 day overdue: 220 USD, 1 of 1 open, 1 day.
    Mar 1: q1 still unpaid, 29 days overdue; q2 owes 300 - 100 = 200 EUR, not yet due: amount
    220, 1 overdue of 2 open, mean 29 days. Apr 1: q1 paid Mar 5; q2's 200 EUR is 22 days
    overdue: 200 x 1.20 = 240 USD (EUR 200), 1 of 1, 22 days. P never owes anything at a period
    end (p4 is written off, p3 void): no smb row."""
    r = _invoice_results()
    assert r[("overdue_amount", "month", JAN, *ALL, "")] == (pytest.approx(220.0), 1)
    assert r[("overdue_invoices", "month", JAN, *ALL, "")] == (1.0, 1)
    assert _value(r, "days_overdue_mean", JAN) == pytest.approx(1.0)
    assert r[("overdue_amount", "month", FEB, *ALL, "")] == (pytest.approx(220.0), 1)
    assert r[("overdue_invoices", "month", FEB, *ALL, "")] == (1.0, 2)
    assert _value(r, "days_overdue_mean", FEB) == pytest.approx(29.0)
    assert r[("overdue_amount", "month", MAR, *ALL, "")] == (pytest.approx(240.0), 1)
    assert _value(r, "overdue_amount", MAR, dim="EUR") == pytest.approx(200.0)
    assert r[("overdue_invoices", "month", MAR, *ALL, "")] == (1.0, 1)
    assert r[("days_overdue_mean", "month", MAR, *ALL, "")] == (pytest.approx(22.0), 1)
    assert _value(r, "overdue_amount", MAR, ("segment", "enterprise")) == pytest.approx(240.0)
    assert not any(key[0].startswith("overdue") and key[4] == "smb" for key in r)


def test_a_running_period_is_measured_at_as_of() -> None:
    """as_of Mar 12: March is taken on Mar 12; q1 was paid on Mar 5, q2 is 2 days overdue."""
    r = _invoice_results(as_of=at(2026, 3, 12))
    assert _value(r, "days_overdue_mean", MAR) == pytest.approx(2.0)
    assert _value(r, "revenue_to_date", MAR) == pytest.approx(420.0)


def test_late_payments_in_the_last_twelve_months() -> None:
    """By Feb 1, due: p4 (unpaid, late), p1 (on time), q1 (due Jan 31, paid Mar 5: late): 2 of
    3. By Mar 1 + p2 (paid 5 days late): 3 of 4. By Apr 1 + q2 (unpaid): 4 of 5; smb (p1, p2,
    p4) 2 of 3; enterprise 2 of 2. The void p3 is never due."""
    r = _invoice_results()
    assert r[("late_payments_12m", "month", JAN, *ALL, "")] == (2.0, 3)
    assert r[("late_payments_12m", "month", FEB, *ALL, "")] == (3.0, 4)
    assert r[("late_payments_12m", "month", MAR, *ALL, "")] == (4.0, 5)
    assert r[("late_payments_12m", "month", MAR, "segment", "smb", "")] == (2.0, 3)
    assert r[("late_payments_12m", "month", MAR, "segment", "enterprise", "")] == (2.0, 2)


def test_days_sales_outstanding() -> None:
    """Jan: invoiced p1 100 + q1 220 = 320, owed on Feb 1 q1 220: 220 / 320 x 31 = 21.3125.
    Feb: invoiced p2 100 + q2 330 = 430; owed on Mar 1 q1 + q2 = 400 EUR = 440: 440 / 430 x 28;
    EUR alone 400 / 300 x 28. Mar: nothing invoiced, no row. Q1 at 1.20: invoiced 200 + 500 x
    1.2 = 800, owed on Apr 1 240: 240 / 800 x 90 = 27, base 4. smb in Jan: nothing owed: 0."""
    r = _invoice_results()
    assert r[("dso", "month", JAN, *ALL, "")] == (pytest.approx(21.3125), 2)
    assert _value(r, "dso", FEB) == pytest.approx(440 / 430 * 28)
    assert _value(r, "dso", FEB, dim="EUR") == pytest.approx(400 / 300 * 28)
    assert ("dso", "month", MAR, *ALL, "") not in r
    assert r[("dso", "quarter", JAN, *ALL, "")] == (pytest.approx(27.0), 4)
    assert _value(r, "dso", JAN, ("segment", "smb")) == 0


def test_changes_exactly_at_a_cutoff() -> None:
    """e1 (100, due Jan 20) is paid at Feb 1 00:00, January's cutoff: still open and 12 days
    overdue then, revenue only from February. e2 (50) was paid on Jan 5, before it was issued on
    Jan 15: revenue in January, never open. e3 (30, issued Feb 10) is due at Mar 1 00:00,
    February's cutoff: open but not yet overdue then, 31 days overdue on Apr 1. Late payments:
    by Mar 1 e1 (late) and e2 (on time) are due, e3 (due at the cutoff) is not; by Apr 1 e3,
    unpaid, is late too."""
    inputs = inputs_from_rows(
        accounts=[{"account": "E"}],
        invoices=[
            invoice("e1", "E", "100", at(2026, 1, 10), at(2026, 1, 20), at(2026, 2, 1)),
            invoice("e2", "E", "50", at(2026, 1, 15), at(2026, 1, 25), at(2026, 1, 5)),
            invoice("e3", "E", "30", at(2026, 2, 10), at(2026, 3, 1), None, None, "open"),
        ],
    )
    r = run(PIPELINES, "billing_invoices", inputs, grid_for(inputs, JAN, LAST, grains=["month"]))
    assert r[("revenue_to_date", "month", JAN, *ALL, "")] == (pytest.approx(50.0), 1)
    assert r[("revenue_to_date", "month", FEB, *ALL, "")] == (pytest.approx(150.0), 2)
    assert r[("overdue_amount", "month", JAN, *ALL, "")] == (pytest.approx(100.0), 1)
    assert r[("overdue_invoices", "month", JAN, *ALL, "")] == (1.0, 1)
    assert _value(r, "days_overdue_mean", JAN) == pytest.approx(12.0)
    assert r[("overdue_amount", "month", FEB, *ALL, "")] == (0.0, 0)
    assert r[("overdue_invoices", "month", FEB, *ALL, "")] == (0.0, 1)
    assert ("days_overdue_mean", "month", FEB, *ALL, "") not in r
    assert _value(r, "days_overdue_mean", MAR) == pytest.approx(31.0)
    assert r[("late_payments_12m", "month", FEB, *ALL, "")] == (1.0, 2)
    assert r[("late_payments_12m", "month", MAR, *ALL, "")] == (2.0, 3)


def test_day_and_week_grains() -> None:
    """State KPIs work per day; DSO does not (too lumpy). On Feb 10 (cutoff Feb 11) q1 is 11
    days overdue."""
    inputs = _invoices()
    grid = grid_for(inputs, date(2026, 2, 10), date(2026, 2, 10), grains=["day", "week"])
    r = run(PIPELINES, "billing_invoices", inputs, grid)
    assert _value(r, "days_overdue_mean", date(2026, 2, 10), grain="day") == pytest.approx(11.0)
    assert not any(key[0] == "dso" for key in r)


# -- properties ----------------------------------------------------------------------------------

ORIGIN = at(2025, 10, 1)
days = st.integers(0, 240).map(lambda d: ORIGIN + timedelta(days=d))
invoices = st.fixed_dictionaries(
    {
        "account": st.sampled_from(["a1", "a2", "a3"]),
        "issued": days,
        "due_in": st.integers(0, 45),
        "paid_in": st.one_of(st.none(), st.integers(0, 120)),
        "amount": st.integers(0, 1000),
        "paid_share": st.sampled_from([0, 50, 100]),
        "unpaid_status": st.sampled_from(["open", "void", "uncollectible", "draft"]),
    }
)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(invoices, min_size=1, max_size=10))
def test_invoice_kpis_stay_in_bounds(drawn: list[dict[str, Any]]) -> None:
    """Revenue to date never falls from one month to the next (one currency); overdue counts
    are within 0..open invoices, late payments within 0..invoices due; money and days >= 0;
    only overdue_amount may rest on no invoice (nothing overdue while some are open)."""
    rows = []
    for n, d in enumerate(drawn):
        paid = None if d["paid_in"] is None else d["issued"] + timedelta(days=d["paid_in"])
        rows.append(
            invoice(
                f"i{n}",
                d["account"],
                str(d["amount"]),
                d["issued"],
                d["issued"] + timedelta(days=d["due_in"]),
                paid,
                str(d["amount"] * d["paid_share"] // 100),
                None if paid else d["unpaid_status"],
            )
        )
    inputs = inputs_from_rows(accounts=[{"account": a} for a in ("a1", "a2", "a3")], invoices=rows)
    grid = grid_for(inputs, date(2025, 10, 1), date(2026, 5, 31), grains=["month"])
    r = run(PIPELINES, "billing_invoices", inputs, grid)
    for (kpi, *_), (value, base) in r.items():
        assert base >= 0 if kpi == "overdue_amount" else base > 0, kpi
        if value is None:
            assert kpi == "dso"  # invoices of amount 0 only: nothing to divide by
        elif kpi in ("overdue_invoices", "late_payments_12m"):
            assert 0 <= value <= base
        else:
            assert value >= -1e-9, kpi
    for scope in {key[3:5] for key in r}:
        to_date = sorted(
            (key[2], value)
            for key, (value, _) in r.items()
            if key[0] == "revenue_to_date" and key[3:5] == scope and key[5] == ""
        )
        amounts = [value for _, value in to_date]
        assert amounts == sorted(amounts)


renewal_terms = st.fixed_dictionaries(
    {
        "account": st.sampled_from(["a1", "a2"]),
        "start_day": st.integers(0, 400),
        "interval": st.sampled_from(["year", "quarter", "half_year", "month"]),
        "amount": st.integers(0, 5000),
        "changes": st.lists(
            st.tuples(st.integers(1, 500), st.integers(0, 5000)), min_size=0, max_size=3
        ),
        "ends_after": st.one_of(st.none(), st.integers(1, 900)),
    }
)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(renewal_terms, min_size=1, max_size=4))
def test_gross_renewal_never_exceeds_one_or_net(drawn: list[dict[str, Any]]) -> None:
    """Whatever the plan changes, 0 <= gross renewal rate <= min(1, net)."""
    subs, items = [], []
    origin = at(2024, 6, 1)
    for n, d in enumerate(drawn):
        start = origin + timedelta(days=d["start_day"])
        end = None if d["ends_after"] is None else start + timedelta(days=d["ends_after"])
        subs.append(
            subscription(
                f"s{n}", d["account"], start, ended_at=end, status="canceled" if end else "active"
            )
        )
        changes = sorted(
            {start + timedelta(days=day): amount for day, amount in d["changes"]}.items()
        )
        prices = [(start, d["amount"]), *changes]
        for k, (since, amount) in enumerate(prices):
            until = prices[k + 1][0] if k + 1 < len(prices) else None
            items.append(
                item(
                    f"i{n}_{k}", f"s{n}", str(amount), since, interval=d["interval"], ended_at=until
                )
            )
    inputs = inputs_from_rows(
        accounts=[{"account": "a1"}, {"account": "a2"}],
        subscriptions=subs,
        subscription_items=items,
    )
    grid = grid_for(inputs, date(2025, 1, 1), date(2026, 12, 31), grains=["month", "quarter"])
    r = run(PIPELINES, "billing_renewals", inputs, grid)
    for key, (gross, _) in r.items():
        if key[0] != "renewal_rate_gross":
            continue
        net = r[("renewal_rate_net", *key[1:])][0]
        assert 0 <= gross <= 1 + 1e-9
        assert gross <= net + 1e-9

"""Hand-computed MRR and movements from subscriptions in the app DB (kpis.md, "Revenue")."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from tend.billing.models import BillingInterval
from tend.metrics.compute import revenue_report
from tests.factories import SubscriptionItemFactory
from tests.metrics.support import at, movement, new_account, only, rows, subscribe

pytestmark = pytest.mark.django_db

JAN, FEB, MAR, APR = date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1), date(2026, 4, 1)


def test_monthly_plan_is_new_mrr_in_its_first_month() -> None:
    """30/month x 10 seats from 15 Jan: MRR 300 at the end of Jan, all of it new; Feb flat."""
    account = new_account()
    subscribe(account, "30.00", at(2026, 1, 15), quantity=10)
    report = revenue_report(JAN, FEB)
    only(movement(report, account, JAN), new="300")
    feb = movement(report, account, FEB)
    only(feb)
    assert feb["mrr_start"] == feb["mrr_end"] == Decimal("300")


def test_annual_plan_counts_a_twelfth_and_discount_is_taken_off() -> None:
    """1200/year -> 1200 / 12 = 100; 30 x 10 monthly with 20 % off -> 300 x 0.8 = 240."""
    annual, discounted = new_account(), new_account()
    subscribe(annual, "1200.00", at(2026, 1, 3), interval=BillingInterval.YEAR)
    _, item = subscribe(discounted, "30.00", at(2026, 1, 3), quantity=10)
    item.discount_percent = Decimal("20")
    item.save()
    report = revenue_report(JAN, JAN)
    only(movement(report, annual, JAN), new="100")
    only(movement(report, discounted, JAN), new="240")


def test_other_intervals_normalise_to_a_month() -> None:
    """Weekly 12 -> 12 x 52 / 12 = 52; daily 1.20 -> 1.2 x 365 / 12 = 36.5; 300 per 2 quarters
    -> 300 / 3 / 2 = 50; half-year 600 -> 100. Total 238.5."""
    account = new_account()
    subscribe(account, "12.00", at(2026, 1, 5), interval=BillingInterval.WEEK)
    subscribe(account, "1.20", at(2026, 1, 5), interval=BillingInterval.DAY)
    _, item = subscribe(account, "300.00", at(2026, 1, 5), interval=BillingInterval.QUARTER)
    item.interval_count = 2
    item.save()
    subscribe(account, "600.00", at(2026, 1, 5), interval=BillingInterval.HALF_YEAR)
    only(movement(revenue_report(JAN, JAN), account, JAN), new="238.5")


def test_trial_counts_zero_until_it_ends_mid_month() -> None:
    """Trial 10 Jan - 14 Feb at 300/month: 0 at the end of Jan, 300 new in Feb (not Jan)."""
    account = new_account()
    subscribe(account, "30.00", at(2026, 1, 10), quantity=10, trial_ends_at=at(2026, 2, 14))
    report = revenue_report(JAN, FEB)
    jan = movement(report, account, JAN)
    only(jan)
    assert jan["mrr_end"] == 0
    only(movement(report, account, FEB), new="300")


def test_trial_that_never_converts_and_trial_without_an_end_count_nothing() -> None:
    """Ended before its trial ended, or still trialing with no trial end: no MRR at all."""
    lost, trialing = new_account(), new_account()
    subscribe(
        lost, "30.00", at(2026, 1, 2), trial_ends_at=at(2026, 1, 16), ended_at=at(2026, 1, 16)
    )
    subscribe(trialing, "30.00", at(2026, 1, 2), status="trialing")
    report = revenue_report(JAN, FEB)
    assert all(r["mrr"] == 0 for r in report["mrr"].to_pylist())


def test_cancelled_subscription_without_ended_at_stops_at_its_cancellation() -> None:
    """Cancelled, no `ended_at`: ends at `cancel_at` (20 Feb) -> 300 churned in Feb; one with no
    cancellation date at all never counts (as on the billing pages)."""
    dated, undated = new_account(), new_account()
    subscribe(
        dated, "30.00", at(2026, 1, 5), quantity=10, status="canceled", cancel_at=at(2026, 2, 20)
    )
    subscribe(undated, "30.00", at(2026, 1, 5), quantity=10, status="canceled")
    report = revenue_report(JAN, FEB)
    only(movement(report, dated, JAN), new="300")
    only(movement(report, dated, FEB), churn="300")
    assert not rows(report["mrr"], account=undated.external_id)


def test_mid_month_upgrade_is_expansion_never_churn_plus_new() -> None:
    """10 seats (300) from 15 Jan; on 10 Feb the item becomes 15 seats (450).
    Feb: m0 = 300, m1 = 450 -> expansion 150, no churn, no new."""
    account = new_account()
    sub, first = subscribe(account, "30.00", at(2026, 1, 15), quantity=10)
    first.ended_at = at(2026, 2, 10)
    first.save()
    SubscriptionItemFactory(
        subscription=sub, plan=first.plan, quantity=15, started_at=at(2026, 2, 10)
    )
    report = revenue_report(JAN, FEB)
    only(movement(report, account, FEB), expansion="150")


def test_downgrade_is_contraction() -> None:
    """300 -> 6 seats x 30 = 180 on 20 Mar: contraction 300 - 180 = 120 in Mar."""
    account = new_account()
    sub, first = subscribe(account, "30.00", at(2026, 1, 15), quantity=10)
    first.ended_at = at(2026, 3, 20)
    first.save()
    SubscriptionItemFactory(
        subscription=sub, plan=first.plan, quantity=6, started_at=at(2026, 3, 20)
    )
    only(movement(revenue_report(FEB, MAR), account, MAR), contraction="120")


def test_churn_then_reactivation() -> None:
    """300 from 15 Jan; subscription ends 5 Mar -> churn 300 in Mar; a new one from 20 Apr at
    200 -> reactivation 200 in Apr (the account paid before), not new."""
    account = new_account()
    subscribe(account, "30.00", at(2026, 1, 15), quantity=10, ended_at=at(2026, 3, 5))
    subscribe(account, "200.00", at(2026, 4, 20))
    report = revenue_report(JAN, APR)
    only(movement(report, account, MAR), churn="300")
    only(movement(report, account, APR), reactivation="200")
    assert movement(report, account, APR)["mrr_end"] == Decimal("200")


def test_paid_before_the_report_started_is_still_a_reactivation() -> None:
    """Paid Jan only (ended 10 Feb), back on 2 Apr; a report of Apr alone sees reactivation."""
    account = new_account()
    subscribe(account, "50.00", at(2026, 1, 2), ended_at=at(2026, 2, 10))
    subscribe(account, "70.00", at(2026, 4, 2))
    only(movement(revenue_report(APR, APR), account, APR), reactivation="70")


def test_month_end_boundary_is_exclusive() -> None:
    """At instant t = 1 Feb 00:00 an item counts when start <= t < end: one ending exactly then
    does not count for Jan, one starting exactly then does."""
    ends, starts = new_account(), new_account()
    subscribe(ends, "40.00", at(2026, 1, 2), ended_at=at(2026, 2, 1))
    subscribe(starts, "60.00", at(2026, 2, 1))
    report = revenue_report(JAN, JAN)
    assert movement(report, ends, JAN)["mrr_end"] == 0
    only(movement(report, starts, JAN), new="60")


def test_two_currencies_are_kept_apart() -> None:
    """USD 300 and EUR 240 accounts: two portfolio rows for Jan, never a sum of 540."""
    usd, eur = new_account(), new_account()
    subscribe(usd, "30.00", at(2026, 1, 15), quantity=10)
    subscribe(eur, "24.00", at(2026, 1, 15), quantity=10, currency="EUR")
    portfolio = revenue_report(JAN, JAN)["portfolio"]
    (usd_row,) = rows(portfolio, currency="USD", month=JAN)
    (eur_row,) = rows(portfolio, currency="EUR", month=JAN)
    assert (usd_row["new"], usd_row["mrr_end"]) == (Decimal("300"), Decimal("300"))
    assert (eur_row["new"], eur_row["mrr_end"]) == (Decimal("240"), Decimal("240"))


def test_retention_on_a_small_portfolio() -> None:
    """Feb, USD. A 100 -> 150 (expansion 50), B 200 -> 150 (contraction 50), C 100 -> 0 (churn
    100), D 0 -> 300 (new), E 100 -> 100. MRR_start = 500, MRR_end = 700
    = 500 + 300 + 50 - 50 - 100. NRR = (500 + 50 - 50 - 100) / 500 = 0.8,
    GRR = (500 - 50 - 100) / 500 = 0.7, revenue churn = 150 / 500 = 0.3,
    logo churn = 1 (C) / 4 paying at start = 0.25, ARPA = 700 / 4 paying at end = 175."""
    a, b, c, d, e = (new_account() for _ in range(5))
    for account, before, after in ((a, 10, 15), (b, 20, 15)):
        sub, item = subscribe(account, "10.00", at(2026, 1, 5), quantity=before)
        item.ended_at = at(2026, 2, 12)
        item.save()
        SubscriptionItemFactory(
            subscription=sub,
            plan=item.plan,
            unit_amount=Decimal("10"),
            quantity=after,
            started_at=at(2026, 2, 12),
        )
    subscribe(c, "100.00", at(2026, 1, 5), ended_at=at(2026, 2, 20))
    subscribe(d, "300.00", at(2026, 2, 7))
    subscribe(e, "100.00", at(2026, 1, 5))
    (feb,) = rows(revenue_report(FEB, FEB)["retention"], currency="USD", month=FEB)
    assert (feb["mrr_start"], feb["mrr_end"]) == (Decimal("500"), Decimal("700"))
    assert feb["net_revenue_retention"] == pytest.approx(0.8)
    assert feb["gross_revenue_retention"] == pytest.approx(0.7)
    assert feb["revenue_churn_rate"] == pytest.approx(0.3)
    assert feb["logo_churn_rate"] == pytest.approx(0.25)
    assert feb["average_revenue_per_account"] == pytest.approx(175)

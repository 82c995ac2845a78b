"""The overview page: stage counts, paying accounts, MRR, open tickets and the chart data."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tend.billing.models import BillingInterval, SubscriptionStatus
from tend.billing.queries import Money
from tend.customers.models import LifecycleStage
from tend.support.models import TicketStatus
from tests.factories import (
    AccountFactory,
    PlanFactory,
    SubscriptionFactory,
    SubscriptionItemFactory,
    TicketFactory,
)
from tests.web.snapshot_data import revenue_rows, series, store


def test_home_shows_portfolio_numbers(signed_in_client: Client) -> None:
    item = SubscriptionItemFactory(started_at=timezone.now() - timedelta(days=10))
    AccountFactory(lifecycle_stage=LifecycleStage.TRIAL)
    AccountFactory(lifecycle_stage=LifecycleStage.AT_RISK)
    TicketFactory(account=item.subscription.account, status=TicketStatus.OPEN)
    TicketFactory(account=item.subscription.account, status=TicketStatus.PENDING)
    TicketFactory(account=item.subscription.account, status=TicketStatus.SOLVED)

    response = signed_in_client.get(reverse("web:home"))

    assert response.status_code == 200
    context = response.context
    assert context["account_total"] == 3
    assert context["paying_accounts"] == 1
    assert context["mrr_by_currency"] == [Money(Decimal("300.00"), "USD")]
    assert context["open_tickets"] == 2
    counts = {s.stage: s.count for s in context["stages"]}
    assert counts["adoption"] == counts["trial"] == counts["at_risk"] == 1
    assert counts["churned"] == 0
    html = response.content.decode()
    chart = html.split('id="stage-chart-data" type="application/json">')[1].split("</script>")[0]
    assert json.loads(chart)["counts"] == [s.count for s in context["stages"]]
    assert "web/home.js" in html
    assert "vendor/chartjs/chart.umd.min.js" in html
    assert ">$300</span>" in html


def test_home_shows_mrr_per_currency_without_adding_them_up(signed_in_client: Client) -> None:
    start = timezone.now() - timedelta(days=10)
    # USD: 10 x $30 a month + $1,200 a year = 300 + 100 = $400.
    usd = SubscriptionFactory(currency="USD", started_at=start)
    SubscriptionItemFactory(subscription=usd, quantity=10)
    yearly = PlanFactory(
        external_id="yearly", interval=BillingInterval.YEAR, unit_amount=Decimal(1200)
    )
    SubscriptionItemFactory(subscription=usd, plan=yearly, quantity=1)
    # EUR, two accounts: 3 x €49.50 a month, 10% off = €133.65; 1 x €30 = €30; total €163.65.
    eur = SubscriptionFactory(currency="EUR", started_at=start)
    SubscriptionItemFactory(
        subscription=eur, quantity=3, unit_amount=Decimal("49.50"), discount_percent=10
    )
    SubscriptionItemFactory(
        subscription__currency="EUR", subscription__started_at=start, quantity=1
    )
    # GBP: £3,000 a quarter, 4 seats = 12,000 / 3 = £4,000 a month.
    quarterly = PlanFactory(
        external_id="quarterly", interval=BillingInterval.QUARTER, unit_amount=Decimal(3000)
    )
    gbp = SubscriptionFactory(currency="GBP", started_at=start)
    SubscriptionItemFactory(subscription=gbp, plan=quarterly, quantity=4)
    # Trials count zero, so a currency with only trials is not shown.
    SubscriptionItemFactory(
        subscription__currency="CHF",
        subscription__status=SubscriptionStatus.TRIALING,
        subscription__started_at=start,
    )

    response = signed_in_client.get(reverse("web:home"))

    assert response.context["mrr_by_currency"] == [
        Money(Decimal("4000.00"), "GBP"),
        Money(Decimal("400.00"), "USD"),
        Money(Decimal("163.65"), "EUR"),
    ]
    assert response.context["paying_accounts"] == 4
    html = response.content.decode()
    mrr = html.split('data-testid="mrr">')[1].split("</span></div>")[0]
    figures = [part.split(">")[1] for part in mrr.split("</span>") if 'class="money"' in part]
    assert figures == ["£4,000", "$400", "€164"]
    assert "CHF" not in html
    assert "Not converted" in html


def test_home_shows_portfolio_kpi_cards_with_change_and_sparkline(
    signed_in_client: Client,
) -> None:
    rows = revenue_rows() + revenue_rows(("csm", "casey"), scale=0.25)
    rows += series("nps", [10, 20, 30, 40, 35, 45], base=50)
    store(rows)

    response = signed_in_client.get(reverse("web:home"))

    cards = {card.info.name: card for card in response.context["cards"]}
    assert list(cards) == ["mrr", "nrr", "grr", "logo_churn_rate", "nps"]
    assert cards["mrr"].text == "$12,000"
    assert cards["nrr"].text == "104.0 %"
    assert cards["grr"].text == "93.0 %"
    assert cards["logo_churn_rate"].text == "5.0 %"
    assert cards["nps"].text == "45.0"
    assert cards["mrr"].change is not None and cards["mrr"].change.text == "14.3 %"
    assert cards["grr"].change is not None and cards["grr"].change.verdict == "worse"
    html = response.content.decode()
    assert "▲" in html and "better" in html
    spark = json.loads(html.split('id="spark-mrr" type="application/json">')[1].split("<")[0])
    assert len(spark["labels"]) == 12  # the last 12 months
    assert spark["datasets"][0]["data"][-1] == 12000
    assert 'data-testid="mrr">' in html  # the live MRR per currency is still there

    casey = signed_in_client.get(
        reverse("web:home"), {"scope": "csm:casey"}, headers={"HX-Request": "true"}
    )
    fragment = casey.content.decode()
    assert "<html" not in fragment
    assert "$3,000" in fragment
    assert "No data yet" in fragment  # no NPS stored for casey's book


def test_home_without_snapshots_still_works(signed_in_client: Client) -> None:
    response = signed_in_client.get(reverse("web:home"))
    assert response.status_code == 200
    assert all(card.text == "—" for card in response.context["cards"])

"""The overview page: stage counts, paying accounts, MRR, open tickets and the chart data."""

from __future__ import annotations

import json
from datetime import timedelta

from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tend.customers.models import LifecycleStage
from tend.support.models import TicketStatus
from tests.factories import AccountFactory, SubscriptionItemFactory, TicketFactory


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
    assert str(context["mrr"]) == "300.00"
    assert context["open_tickets"] == 2
    counts = {s.stage: s.count for s in context["stages"]}
    assert counts["adoption"] == counts["trial"] == counts["at_risk"] == 1
    assert counts["churned"] == 0
    html = response.content.decode()
    chart = html.split('id="stage-chart-data" type="application/json">')[1].split("</script>")[0]
    assert json.loads(chart)["counts"] == [s.count for s in context["stages"]]
    assert "web/home.js" in html
    assert "vendor/chartjs/chart.umd.min.js" in html
    assert "$300.00" in html

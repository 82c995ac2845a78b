"""The account page's health: score, band (name beside the colour), trend, churn probability,
the explanation whose contributions add up to the score, what moved it over 7 and 30 days, the
history chart, usage charts, the timeline, tasks and parent/child accounts."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tend.core.models import Note, User
from tend.customers.models import Account, StageChange
from tend.health.models import ChurnPrediction
from tend.playbooks.models import Task
from tend.usage.models import UsageRollup
from tests.factories import (
    AccountFactory,
    ContactFactory,
    InvoiceFactory,
    SurveyResponseFactory,
    TicketFactory,
    TouchpointFactory,
)
from tests.web.health_data import scorecard, store_snapshot

DAY = date(2026, 11, 20)


@pytest.fixture
def account(csm: User) -> Account:
    """Scored on DAY - 30, DAY - 7 and DAY: 0.45 x 80 + 0.15 x 60 + 0.40 x 50 = 36 + 9 + 20 = 65."""
    account = AccountFactory(name="Globex", external_id="globex", owner=csm)
    version = scorecard()
    earlier = {"events_30d": 40, "features_used_30d": 60, "nps_latest": 75}  # 18 + 9 + 30 = 57
    week = {"events_30d": 60, "features_used_30d": 60, "nps_latest": 60}  # 27 + 9 + 24 = 60
    store_snapshot(account, version, DAY - timedelta(days=30), earlier)
    store_snapshot(account, version, DAY - timedelta(days=7), week)
    store_snapshot(
        account,
        version,
        DAY,
        {"events_30d": 80, "features_used_30d": 60, "nps_latest": 50},
        change_7d=5.0,
        change_30d=8.0,
    )
    return account


def page(client: Client, account: Account) -> object:
    response = client.get(reverse("web:account", args=[account.external_id]))
    assert response.status_code == 200
    return response


def test_header_shows_score_band_trend_and_no_churn_probability(
    signed_in_client: Client, account: Account
) -> None:
    response = page(signed_in_client, account)
    html = response.content.decode()  # type: ignore[attr-defined]
    health = html.split('data-testid="account-health">')[1].split("</span>\n")[0]
    assert health.startswith("65.0")
    assert 'class="badge health-yellow" data-band="at risk">at risk</span>' in health
    trend = html.split('data-testid="account-trend">')[1].split("</div>")[0]
    assert "↑</span> +5.0" in trend and "up" in trend and "30 days: +8.0" in trend
    churn = html.split('data-testid="account-churn">')[1].split("</span>")[0]
    assert churn == "—"


def test_header_shows_a_stored_churn_probability(
    signed_in_client: Client, account: Account
) -> None:
    ChurnPrediction.objects.create(account=account, day=DAY, probability=0.234)
    html = page(signed_in_client, account).content.decode()  # type: ignore[attr-defined]
    assert html.split('data-testid="account-churn">')[1].split("</span>")[0] == "23 %"


def test_explanation_contributions_add_up_to_the_score(
    signed_in_client: Client, account: Account
) -> None:
    response = page(signed_in_client, account)
    html = response.content.decode()  # type: ignore[attr-defined]
    section = html.split('id="explanation"')[1].split("</table>")[0]
    measures = [
        float(cell.split("</td>")[0])
        for cell in section.split('data-testid="measure-contribution">')[1:]
    ]
    groups = [
        float(cell.split("</td>")[0])
        for cell in section.split('data-testid="group-contribution">')[1:]
    ]
    total = float(section.split('data-testid="contribution-total">')[1].split("</td>")[0])
    assert measures == [36.0, 9.0, 20.0]
    assert groups == [45.0, 20.0]  # adoption, sentiment
    assert total == 65.0 == sum(measures) == sum(groups)
    assert response.context["explanation"]["score"] == 65.0  # type: ignore[attr-defined]
    for name in ("events_30d", "features_used_30d", "nps_latest", "Adoption", "Sentiment"):
        assert name in section, name


def test_what_moved_the_score_over_7_and_30_days(
    signed_in_client: Client, account: Account
) -> None:
    response = page(signed_in_client, account)
    movers = {
        days: [(m.measure, m.change) for m in moves]
        for days, moves in response.context["movers"].items()  # type: ignore[attr-defined]
    }
    # 7 days: events 27 -> 36 (+9), nps 24 -> 20 (-4), features unchanged (left out)
    assert movers[7] == [("events_30d", 9.0), ("nps_latest", -4.0)]
    # 30 days: events 18 -> 36 (+18), nps 30 -> 20 (-10)
    assert movers[30] == [("events_30d", 18.0), ("nps_latest", -10.0)]
    html = response.content.decode()  # type: ignore[attr-defined]
    assert "↑</span> +18.00</span> events_30d" in html.split('data-testid="movers-30"')[1]


def test_health_history_chart_holds_every_stored_day(
    signed_in_client: Client, account: Account
) -> None:
    html = page(signed_in_client, account).content.decode()  # type: ignore[attr-defined]
    spec = json.loads(
        html.split('<script id="health-history-data" type="application/json">')[1].split(
            "</script>"
        )[0]
    )
    assert spec["labels"] == ["2026-10-21", "2026-11-13", "2026-11-20"]
    assert spec["datasets"][0]["data"] == [57.0, 60.0, 65.0]
    assert 'data-chart="health-history-data"' in html


def test_usage_charts_come_from_the_rollups(signed_in_client: Client, account: Account) -> None:
    today = timezone.now().astimezone(UTC).date()
    moment = datetime.combine(today, datetime.min.time(), tzinfo=UTC)
    for user, feature, sessions in [("u1", "report", 2), ("u1", "export", 0), ("u2", "report", 1)]:
        UsageRollup.objects.create(
            account=account,
            user_id=user,
            day=today,
            event_name=feature,
            events=3,
            sessions=sessions,
            first_at=moment,
            last_at=moment,
        )
    response = page(signed_in_client, account)
    usage = response.context["usage_chart"].spec  # type: ignore[attr-defined]
    assert usage["labels"][-1] == today.isoformat() and len(usage["labels"]) == 90
    assert usage["datasets"][0]["data"][-1] == 2  # active users
    assert usage["datasets"][1]["data"][-1] == 3  # sessions
    adoption = response.context["adoption_chart"].rows  # type: ignore[attr-defined]
    assert adoption == [["report", 2, "100%"], ["export", 1, "50%"]]
    week = response.context["timeline"][0]  # type: ignore[attr-defined]
    assert (week.kind, week.title.split(": ")[1]) == ("usage", "2 active users, 3 sessions")


def test_one_timeline_newest_first(signed_in_client: Client, account: Account, csm: User) -> None:
    now = timezone.now()
    contact = ContactFactory(account=account, name="Ada Lovelace")
    TicketFactory(account=account, subject="SSO loops", opened_at=now - timedelta(days=1))
    TouchpointFactory(account=account, subject="QBR", occurred_at=now - timedelta(days=2))
    SurveyResponseFactory(
        contact=contact, score=4, comment="Too slow", answered_at=now - timedelta(days=3)
    )
    InvoiceFactory(account=account, number="INV-9", issued_at=now - timedelta(days=4))
    StageChange.objects.create(
        account=account, from_stage="onboarding", to_stage="adoption", changed_at=now - timedelta(5)
    )
    Note.objects.create(account=account, author=csm, body="Champion left.")
    timeline = page(signed_in_client, account).context["timeline"]  # type: ignore[attr-defined]
    assert [entry.kind for entry in timeline] == [
        "note",
        "ticket",
        "touchpoint",
        "survey",
        "invoice",
        "stage",
    ]
    assert timeline[3].detail == "“Too slow”" and "Ada Lovelace" in timeline[3].title
    assert timeline[5].title == "Onboarding → Adoption"


def test_tasks_and_parent_and_child_accounts(
    signed_in_client: Client, account: Account, csm: User
) -> None:
    parent = AccountFactory(name="Globex Holding")
    account.parent = parent
    account.save()
    AccountFactory(name="Globex Labs", parent=account)
    Task.objects.create(account=account, assignee=csm, title="Call the new champion")
    html = page(signed_in_client, account).content.decode()  # type: ignore[attr-defined]
    assert "Call the new champion" in html.split('id="tasks"')[1]
    assert "Globex Holding" in html.split('data-testid="account-parent"')[1].split("</dd>")[0]
    assert "Globex Labs" in html.split('data-testid="account-children"')[1].split("</dd>")[0]


def test_an_account_without_a_score(signed_in_client: Client, db: None) -> None:
    account = AccountFactory(external_id="new")
    response = page(signed_in_client, account)
    html = response.content.decode()  # type: ignore[attr-defined]
    assert "No health score yet" in html and "No score history yet." in html
    assert html.split('data-testid="account-health">')[1].startswith("—")

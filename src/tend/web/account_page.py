"""The pieces of the account page (account 360), each read by its domain's queries: a fixed
number of queries whatever the account holds or how many accounts there are."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.http import HttpRequest
from django.utils import timezone

from tend.billing import queries as billing
from tend.billing.models import SubscriptionStatus
from tend.customers import queries as customers
from tend.customers.models import Account
from tend.health import queries as health
from tend.health.account_queries import health_history, score_movers, version_bands
from tend.health.models import HealthSnapshot
from tend.playbooks.queries import account_tasks
from tend.support import queries as support
from tend.surveys import queries as surveys
from tend.usage import queries as usage
from tend.usage.account_queries import daily_usage, feature_adoption, weekly_usage
from tend.web.account_access import may_edit_account
from tend.web.account_charts import adoption_chart, health_history_chart, usage_chart
from tend.web.account_forms import OverrideForm
from tend.web.account_table import TREND_STEADY
from tend.web.account_timeline import build_timeline
from tend.web.task_forms import TaskForm

CONTACTS_SHOWN = 25
"""Contacts listed on the account page; the rest are counted ("and N more")."""
HISTORY_DAYS = 365
TASKS_SHOWN = 20
USAGE_DAYS = 90
RENEWING = (SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE)


def next_renewal(subscriptions: list[billing.SubscriptionRow], now: datetime) -> datetime | None:
    """The next end of a paying subscription's current period, unless set to cancel (the same
    rule as the accounts table's renewal column)."""
    ends = [
        row.subscription.current_period_end
        for row in subscriptions
        if row.subscription.status in RENEWING
        and row.subscription.current_period_end is not None
        and row.subscription.current_period_end > now
        and row.subscription.cancel_at is None
        and row.subscription.canceled_at is None
    ]
    return min(ends, default=None)


def trend(change: float | None) -> dict[str, Any] | None:
    """The 7-day change as a direction, an arrow and a signed number."""
    if change is None:
        return None
    direction = "up" if change >= TREND_STEADY else "down" if change <= -TREND_STEADY else "steady"
    arrow = {"up": "↑", "down": "↓", "steady": "→"}[direction]
    return {"direction": direction, "arrow": arrow, "change": change}


def health_context(account: Account, snapshot: HealthSnapshot | None) -> dict[str, Any]:
    """Score, band (with its colour), trend, explanation, movers and the history chart."""
    if snapshot is None:
        return {"snapshot": None}
    bands = version_bands(snapshot.version.config)
    colours = dict(bands)
    explanation = health.explain(snapshot)
    for group in explanation["groups"]:
        group["contribution"] = sum(row["contribution"] or 0.0 for row in group["measures"])
    total = sum(group["contribution"] for group in explanation["groups"])
    first = snapshot.day - timedelta(days=HISTORY_DAYS - 1)
    return {
        "snapshot": snapshot,
        "band_colour": colours.get(snapshot.band, ""),
        "computed_band_colour": colours.get(snapshot.computed_band, ""),
        "bands": [name for name, _ in bands],
        "trend": trend(snapshot.change_7d),
        "explanation": explanation,
        "contribution_total": total,
        "movers": score_movers(snapshot),
        "history_chart": health_history_chart(health_history(account, snapshot.version_id, first)),
    }


def account_page_context(request: HttpRequest, account: Account) -> dict[str, Any]:
    """Everything the account page shows."""
    now = timezone.now()
    mrr = billing.mrr_by_account_and_currency([account.pk], at=now).get(account.pk, [])
    subscriptions = billing.subscriptions_for_account(account, at=now)
    invoices = billing.invoices_for_account(account, at=now)
    tickets = support.recent_tickets(account)
    touchpoints = support.recent_touchpoints(account)
    responses = surveys.recent_responses(account)
    stage_changes = customers.stage_history(account)
    notes = customers.account_notes(account)
    days = daily_usage(account, days=USAGE_DAYS, at=now)
    snapshot = health.latest_snapshot(account)
    health_parts = health_context(account, snapshot)
    may_edit = may_edit_account(request.user, account)
    context = {
        "account": account,
        "children": customers.child_accounts(account),
        "mrr": mrr,
        "arr": [billing.Money(m.amount * 12, m.currency) for m in mrr],
        "renewal_at": next_renewal(subscriptions, now),
        "churn": health.churn_prediction(account, snapshot.day) if snapshot else None,
        "tasks": account_tasks(account, limit=TASKS_SHOWN),
        "today": timezone.localdate(now),
        "contacts": customers.account_contacts(account, limit=CONTACTS_SHOWN),
        "subscriptions": subscriptions,
        "invoices": invoices,
        "tickets": tickets,
        "touchpoints": touchpoints,
        "responses": responses,
        "stage_history": stage_changes,
        "notes": notes,
        "usage": usage.usage_summary(account, at=now),
        "usage_chart": usage_chart(days),
        "adoption_chart": adoption_chart(feature_adoption(account, at=now)),
        "timeline": build_timeline(
            weeks=weekly_usage(account, at=now),
            tickets=tickets,
            touchpoints=touchpoints,
            responses=responses,
            invoices=invoices,
            stage_changes=stage_changes,
            notes=notes,
        ),
        "override": health.active_override(account, now),
        "may_edit": may_edit,
        **health_parts,
    }
    if may_edit:
        context["override_form"] = OverrideForm(bands=health_parts.get("bands", []))
        context["task_form"] = TaskForm()
    return context

"""Invariants of the generated demo company, checked on the rows the generator produces."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import pairwise
from statistics import mean, median

import numpy as np
import pytest

from tend.demo.generate import DemoConfig, generate_company
from tend.demo.records import DemoCompany
from tend.demo.timeline import add_months
from tend.demo.usage_events import account_events

END = datetime(2026, 6, 30, tzinfo=UTC)
CONFIG = DemoConfig(accounts=400, months=24, seed=11, end=END, intensity=0.3)


@pytest.fixture(scope="module")
def company() -> DemoCompany:
    return generate_company(CONFIG)


def _fingerprint(company: DemoCompany) -> tuple[object, ...]:
    return (
        company.counts(),
        [a["name"] for a in company.accounts[:20]],
        [str(i["amount_due"]) for i in company.invoices[:50]],
        [t["opened_at"] for t in company.tickets[:50]],
    )


def test_same_seed_same_company_other_seed_other_company(company: DemoCompany) -> None:
    small = DemoConfig(accounts=60, months=18, seed=11, end=END)
    again = generate_company(small)
    assert _fingerprint(generate_company(small)) == _fingerprint(again)
    other = generate_company(DemoConfig(accounts=60, months=18, seed=12, end=END))
    assert _fingerprint(other) != _fingerprint(again)


def test_history_covers_the_months_asked_for(company: DemoCompany) -> None:
    assert company.start == datetime(2024, 7, 1, tzinfo=UTC)
    signups = [a["signed_up_at"] for a in company.accounts]
    assert min(signups) >= company.start
    assert max(signups) < END
    assert (max(signups) - min(signups)).days > 600


def test_the_company_has_every_kind_of_customer_story(company: DemoCompany) -> None:
    stages = {a["lifecycle_stage"] for a in company.accounts}
    assert {"trial_lost", "churned", "adoption", "onboarding"} <= stages
    sources = {a["acquisition_source"] for a in company.accounts}
    assert {"referral", "organic", "paid"} <= sources
    intervals = {i["interval"] for i in company.subscription_items}
    assert intervals == {"month", "year"}
    assert any(a["parent"] for a in company.accounts)
    assert any(
        s["from_stage"] == "churned" and s["to_stage"] == "won_back" for s in company.stage_changes
    )
    kinds = {r["survey"] for r in company.survey_responses}
    assert kinds == {"nps", "csat", "ces"}
    assert any(r["comment"] for r in company.survey_responses)
    assert len({t["topic"] for t in company.tickets}) >= 6
    late = [i for i in company.invoices if i["paid_at"] and i["paid_at"] > i["due_at"]]
    assert len(late) > 0.03 * len(company.invoices)


def test_invoices_match_the_item_active_when_they_were_issued(company: DemoCompany) -> None:
    """Each regular invoice bills exactly one period of the item active at its start."""
    items = defaultdict(list)
    for item in company.subscription_items:
        items[item["subscription"]].append(item)
    checked = 0
    for invoice in company.invoices:
        active = [
            item
            for item in items[invoice["subscription"]]
            if item["started_at"] <= invoice["period_start"]
            and (item["ended_at"] is None or item["ended_at"] > invoice["period_start"])
        ]
        assert len(active) == 1, invoice
        item = active[0]
        expected_months = 12 if item["interval"] == "year" else 1
        if add_months(invoice["period_start"], expected_months) != invoice["period_end"]:
            continue  # a prorated invoice for seats added mid-term
        expected = item["unit_amount"] * item["quantity"] * (1 - item["discount_percent"] / 100)
        assert invoice["amount_due"] == expected.quantize(Decimal("0.01"))
        checked += 1
    assert checked > 0.9 * len(company.invoices)


def test_items_of_a_subscription_never_overlap(company: DemoCompany) -> None:
    items = defaultdict(list)
    for item in company.subscription_items:
        items[item["subscription"]].append(item)
    for rows in items.values():
        rows.sort(key=lambda r: r["started_at"])
        for before, after in pairwise(rows):
            assert before["ended_at"] == after["started_at"]


def test_churned_accounts_have_no_active_subscription(company: DemoCompany) -> None:
    subscriptions = defaultdict(list)
    for sub in company.subscriptions:
        subscriptions[sub["account"]].append(sub)
    items_by_sub = defaultdict(list)
    for item in company.subscription_items:
        items_by_sub[item["subscription"]].append(item)
    churned = [a for a in company.accounts if a["lifecycle_stage"] in {"churned", "trial_lost"}]
    assert len(churned) > 20
    for account in churned:
        for sub in subscriptions[account["external_id"]]:
            assert sub["status"] == "canceled"
            assert sub["ended_at"] is not None and sub["ended_at"] <= END
            assert all(item["ended_at"] is not None for item in items_by_sub[sub["external_id"]])
    for account in company.accounts:
        if account["lifecycle_stage"] == "churned":
            assert account["churned_at"] is not None


def test_trials_that_never_converted_were_never_billed(company: DemoCompany) -> None:
    billed = {i["account"] for i in company.invoices}
    for account in company.accounts:
        if account["lifecycle_stage"] in {"trial", "trial_lost"}:
            assert account["external_id"] not in billed
            assert account["first_paid_at"] is None
        elif account["first_paid_at"] is not None:
            assert account["external_id"] in billed


def test_stage_history_is_a_chain_ending_in_the_current_stage(company: DemoCompany) -> None:
    history = defaultdict(list)
    for change in company.stage_changes:
        history[change["account"]].append(change)
    for account in company.accounts:
        changes = history[account["external_id"]]
        assert changes[0]["from_stage"] == ""
        for before, after in pairwise(changes):
            assert after["from_stage"] == before["to_stage"]
            assert after["changed_at"] >= before["changed_at"]
        assert changes[-1]["to_stage"] == account["lifecycle_stage"]


def test_referrals_come_from_accounts_paying_at_the_time(company: DemoCompany) -> None:
    accounts = {a["external_id"]: a for a in company.accounts}
    contacts = {c["external_id"]: c for c in company.contacts}
    referred = [a for a in company.accounts if a["acquisition_source"] == "referral"]
    assert referred
    for account in referred:
        referrer = accounts[account["referred_by"]]
        assert referrer["first_paid_at"] <= account["signed_up_at"]
        assert account["referred_by_contact"] in contacts
    for account in company.accounts:
        if account["acquisition_source"] == "champion":
            previous = contacts[account["referred_by_contact"]]
            champion = next(
                c
                for c in company.contacts
                if c["traits"].get("previous_contact_external_id") == previous["external_id"]
            )
            assert champion["name"] == previous["name"]


def test_every_event_belongs_to_a_known_user_of_its_account(company: DemoCompany) -> None:
    members = defaultdict(set)
    for contact in company.contacts:
        members[contact["account"]].add(contact["external_id"])
    known = {c["external_id"] for c in company.contacts}
    end_ms = int(END.timestamp() * 1000)
    total = 0
    for plan in company.usage_plans[:120]:
        events = account_events(plan, company.seed, end_ms, company.intensity)
        total += len(events)
        assert set(events.user_id.tolist()) <= known
        assert len(events) == 0 or int(events.timestamp_ms.max()) < end_ms
        assert np.all(np.diff(events.timestamp_ms) >= 0)
    assert total > 10_000


def _events_between(company: DemoCompany, index: int, start: datetime, stop: datetime) -> int:
    events = account_events(
        company.usage_plans[index], company.seed, int(END.timestamp() * 1000), company.intensity
    )
    lo, hi = int(start.timestamp() * 1000), int(stop.timestamp() * 1000)
    return int(((events.timestamp_ms >= lo) & (events.timestamp_ms < hi)).sum())


def _usage_trend(company: DemoCompany, index: int, until: datetime) -> float | None:
    """Events in the 60 days before `until` over the 60 days before those (None if too few)."""
    recent = _events_between(company, index, until - timedelta(days=60), until)
    earlier = _events_between(
        company, index, until - timedelta(days=120), until - timedelta(days=60)
    )
    return None if earlier < 20 else recent / earlier


def test_churners_usage_falls_before_they_leave(company: DemoCompany) -> None:
    churner_trends, stayer_trends = [], []
    for index, account in enumerate(company.accounts):
        if account["first_paid_at"] is None:
            continue
        if account["lifecycle_stage"] == "churned":
            trend = _usage_trend(company, index, account["churned_at"] - timedelta(days=1))
            if trend is not None:
                churner_trends.append(trend)
        elif account["churned_at"] is None and account["first_paid_at"] < END - timedelta(days=150):
            trend = _usage_trend(company, index, END)
            if trend is not None:
                stayer_trends.append(trend)
    assert len(churner_trends) >= 15 and len(stayer_trends) >= 30
    assert median(churner_trends) < median(stayer_trends) - 0.15


def test_churners_were_less_happy_and_paid_later(company: DemoCompany) -> None:
    churned = {a["external_id"] for a in company.accounts if a["lifecycle_stage"] == "churned"}
    paying = {a["external_id"] for a in company.accounts if a["first_paid_at"]} - churned
    nps = defaultdict(list)
    for response in company.survey_responses:
        if response["survey"] == "nps":
            nps[response["account"]].append(response["score"])
    churner_nps = [s for a in churned for s in nps[a]]
    stayer_nps = [s for a in paying for s in nps[a]]
    assert mean(churner_nps) < mean(stayer_nps)
    late_days: dict[str, list[float]] = defaultdict(list)
    for invoice in company.invoices:
        if invoice["paid_at"] is not None:
            late = (invoice["paid_at"] - invoice["due_at"]).total_seconds() / 86400
            late_days[invoice["account"]].append(max(0.0, late))
    churner_late = mean(mean(late_days[a]) for a in churned if late_days[a])
    stayer_late = mean(mean(late_days[a]) for a in paying if late_days[a])
    assert churner_late > stayer_late

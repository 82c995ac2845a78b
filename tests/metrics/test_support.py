"""Support pipelines on hand-made tickets (kpis.md, "Support").

2026-01-05, 01-12 and 01-19 are Mondays, so they start weeks. No database is needed.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tend.metrics.grid import Grid
from tend.metrics.inputs import Inputs
from tend.metrics.support import PIPELINES, compute_opened, compute_resolved
from tests.metrics.engine_support import Key, grid_for, inputs_from_rows, results

JAN, FEB, APR = date(2026, 1, 1), date(2026, 2, 1), date(2026, 4, 1)
JAN_END = date(2026, 1, 31)
PORTFOLIO = ("portfolio", "all", "")


def at(month: int, day: int, hour: int = 0, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


def ticket(name: str, opened_at: datetime, account: str = "a1", **fields: Any) -> dict[str, Any]:
    return {"ticket": name, "account": account, "opened_at": opened_at, **fields}


def resolved(
    name: str, resolved_at: datetime, replies: int | None, reopened: int
) -> dict[str, Any]:
    """A ticket opened a day before `resolved_at`."""
    return ticket(
        name,
        resolved_at - timedelta(days=1),
        resolved_at=resolved_at,
        agent_replies=replies,
        reopened_count=reopened,
    )


def run(inputs: Inputs, grid: Grid) -> dict[Key, tuple[float, int]]:
    """Every support KPI, keyed as in `results`."""
    found: dict[Key, tuple[float, int]] = {}
    for pipeline in PIPELINES:
        found.update(results(pipeline.compute(inputs, grid).to_pyarrow()))
    return found


def test_first_contact_resolution_leaves_reopened_and_multi_reply_tickets_out() -> None:
    """Resolved in January: t1 (1 reply), t2 (0 replies) are first-contact; t3 (1 reply, reopened
    once) and t4 (2 replies) are not; t7 has no reply count and is left out → 2 / 4 = 50 %.
    t5 is resolved in February (1 reply) → 100 %; t6 is never resolved."""
    inputs = inputs_from_rows(
        accounts=[{"account": "a1"}],
        tickets=[
            resolved("t1", at(1, 10), 1, 0),
            resolved("t2", at(1, 11), 0, 0),
            resolved("t3", at(1, 12), 1, 1),
            resolved("t4", at(1, 13), 2, 0),
            resolved("t5", at(2, 2), 1, 0),
            ticket("t6", at(1, 14), agent_replies=1, reopened_count=0),
            resolved("t7", at(1, 15), None, 0),
        ],
    )
    got = run(inputs, grid_for(inputs, JAN, date(2026, 2, 28), grains=["month"]))
    assert got[("first_contact_resolution", "month", JAN, *PORTFOLIO)] == (50.0, 4)
    assert got[("first_contact_resolution", "month", FEB, *PORTFOLIO)] == (100.0, 1)
    assert got[("first_contact_resolution", "month", JAN, "account", "a1", "")] == (50.0, 4)


def test_first_response_median_and_p90_of_a_known_list() -> None:
    """Ten tickets opened on 5 Jan answered after 1, 2, …, 10 hours: median (5 + 6) / 2 = 5.5,
    p90 at rank 0.9 x 9 = 8.1 → 9 + 0.1 x (10 - 9) = 9.1. t11 has no response; t12's response
    comes after as_of (1 Feb): both left out, but all 12 were opened."""
    tickets = [
        ticket(f"t{hours}", at(1, 5), first_response_at=at(1, 5, hours)) for hours in range(1, 11)
    ]
    tickets.append(ticket("t11", at(1, 6)))
    tickets.append(ticket("t12", at(1, 30), first_response_at=at(2, 2)))
    inputs = inputs_from_rows(accounts=[{"account": "a1"}], tickets=tickets)
    got = run(inputs, grid_for(inputs, JAN, JAN_END, grains=["month"]))
    median, base = got[("first_response_hours_median", "month", JAN, *PORTFOLIO)]
    p90, _ = got[("first_response_hours_p90", "month", JAN, *PORTFOLIO)]
    assert (median, base) == (5.5, 10)
    assert p90 == pytest.approx(9.1)
    assert got[("tickets_opened", "month", JAN, *PORTFOLIO)] == (12.0, 12)


def test_resolution_time_counts_tickets_resolved_in_the_period() -> None:
    """Resolved in January after 2 h (opened 31 Dec 22:00), 4 h, 10 h and 20 h: median
    (4 + 10) / 2 = 7; p90 at rank 0.9 x 3 = 2.7 → 10 + 0.7 x (20 - 10) = 17."""
    inputs = inputs_from_rows(
        accounts=[{"account": "a1"}],
        tickets=[
            ticket("r1", at(12, 31, 22, year=2025), resolved_at=at(1, 1)),
            ticket("r2", at(1, 3), resolved_at=at(1, 3, 4)),
            ticket("r3", at(1, 3), resolved_at=at(1, 3, 10)),
            ticket("r4", at(1, 3), resolved_at=at(1, 3, 20)),
        ],
    )
    got = run(inputs, grid_for(inputs, JAN, JAN_END, grains=["month"]))
    assert got[("resolution_hours_median", "month", JAN, *PORTFOLIO)] == (7.0, 4)
    p90, base = got[("resolution_hours_p90", "month", JAN, *PORTFOLIO)]
    assert (p90, base) == (pytest.approx(17.0), 4)
    assert ("first_contact_resolution", "month", JAN, *PORTFOLIO) not in got  # no reply counts


def volume_inputs() -> Inputs:
    """a1, a2 (no sign-up date) in SMB; a3 (signed up 20 Jan), a4 (churned 15 Dec) and a5
    (signed up 3 Feb, after as_of) in Enterprise. Tickets: k1 a1 billing/high escalated 6 Jan,
    k2 a1 bug/low 7 Jan, k3 a2 billing/urgent escalated 13 Jan, k4 a3 no topic/normal 21 Jan."""
    return inputs_from_rows(
        accounts=[
            {"account": "a1", "segment": "smb", "signed_up_at": at(12, 1, year=2025)},
            {"account": "a2", "segment": "smb"},
            {"account": "a3", "segment": "ent", "signed_up_at": at(1, 20)},
            {
                "account": "a4",
                "segment": "ent",
                "signed_up_at": at(6, 1, year=2025),
                "churned_at": at(12, 15, year=2025),
            },
            {"account": "a5", "segment": "ent", "signed_up_at": at(2, 3)},
        ],
        tickets=[
            ticket("k1", at(1, 6), "a1", topic="billing", priority="high", escalated=True),
            ticket("k2", at(1, 7), "a1", topic="bug", priority="low", escalated=False),
            ticket("k3", at(1, 13), "a2", topic="billing", priority="urgent", escalated=True),
            ticket("k4", at(1, 21), "a3", priority="normal"),
        ],
    )


def test_tickets_opened_by_topic_and_priority_per_account_and_escalated() -> None:
    """January: 4 tickets; billing 2, bug 1, (none) 1; one per priority. Accounts that existed:
    a1, a2, a3 (a4 churned before, a5 not known yet) → 4 / 3 per account, billing 2 / 3.
    SMB: 3 tickets / 2 accounts = 1.5, escalated 2 / 3; Enterprise: 1 / 1 (a3), escalated 0."""
    inputs = volume_inputs()
    got = run(inputs, grid_for(inputs, JAN, JAN_END, grains=["month"]))
    opened = {k[5]: v for k, v in got.items() if k[0] == "tickets_opened" and k[3] == "portfolio"}
    assert opened == {
        "": (4.0, 4),
        "topic:billing": (2.0, 2),
        "topic:bug": (1.0, 1),
        "topic:(none)": (1.0, 1),
        "priority:high": (1.0, 1),
        "priority:low": (1.0, 1),
        "priority:urgent": (1.0, 1),
        "priority:normal": (1.0, 1),
    }
    month = ("month", JAN)
    value, base = got[("tickets_per_account", *month, *PORTFOLIO)]
    assert (value, base) == (pytest.approx(4 / 3), 3)
    billing, _ = got[("tickets_per_account", *month, "portfolio", "all", "topic:billing")]
    assert billing == pytest.approx(2 / 3)
    assert got[("tickets_per_account", *month, "segment", "smb", "")] == (1.5, 2)
    assert got[("tickets_per_account", *month, "segment", "ent", "")] == (1.0, 1)
    assert got[("escalated_share", *month, *PORTFOLIO)] == (50.0, 4)
    smb_share, smb_base = got[("escalated_share", *month, "segment", "smb", "")]
    assert (smb_share, smb_base) == (pytest.approx(200 / 3), 3)
    assert got[("escalated_share", *month, "segment", "ent", "")] == (0.0, 1)
    assert got[("tickets_opened", *month, "account", "a2", "topic:billing")] == (1.0, 1)


def test_weekly_tickets_per_account_follow_the_accounts_of_each_week() -> None:
    """Week of 5 Jan: k1, k2 over a1, a2 → 1.0; week of 12 Jan: k3 over a1, a2 → 0.5; week of
    19 Jan: k4 over a1, a2, a3 (signed up 20 Jan) → 1 / 3; week of 26 Jan: no tickets, no row."""
    inputs = volume_inputs()
    got = run(inputs, grid_for(inputs, JAN, JAN_END, grains=["week"], scope_types=["portfolio"]))
    weekly = {k[2]: v for k, v in got.items() if k[0] == "tickets_per_account" and k[5] == ""}
    assert weekly[date(2026, 1, 5)] == (1.0, 2)
    assert weekly[date(2026, 1, 12)] == (0.5, 2)
    assert weekly[date(2026, 1, 19)] == (pytest.approx(1 / 3), 3)
    assert date(2026, 1, 26) not in weekly and date(2025, 12, 29) not in weekly


def test_quarterly_first_response_times() -> None:
    """Answered after 2 h (Jan), 4 h (Feb) and 8 h (Apr): Q1 median 3, p90 2 + 0.9 x 2 = 3.8;
    Q2 median and p90 8."""
    inputs = inputs_from_rows(
        accounts=[{"account": "a1"}],
        tickets=[
            ticket("t1", at(1, 10), first_response_at=at(1, 10, 2)),
            ticket("t2", at(2, 10), first_response_at=at(2, 10, 4)),
            ticket("t3", at(4, 10), first_response_at=at(4, 10, 8)),
        ],
    )
    grid = grid_for(inputs, JAN, date(2026, 6, 30), grains=["quarter"], scope_types=["portfolio"])
    got = run(inputs, grid)
    assert got[("first_response_hours_median", "quarter", JAN, *PORTFOLIO)] == (3.0, 2)
    p90, _ = got[("first_response_hours_p90", "quarter", JAN, *PORTFOLIO)]
    assert p90 == pytest.approx(3.8)
    assert got[("first_response_hours_median", "quarter", APR, *PORTFOLIO)] == (8.0, 1)
    assert got[("first_response_hours_p90", "quarter", APR, *PORTFOLIO)] == (8.0, 1)


def test_pipelines_declare_the_kpis_they_return() -> None:
    """Every KPI a pipeline returns is in its `kpis`, all in the support family."""
    inputs = inputs_from_rows(
        accounts=[{"account": "a1"}],
        tickets=[
            ticket(
                "t1",
                at(1, 5),
                first_response_at=at(1, 5, 1),
                resolved_at=at(1, 6),
                agent_replies=1,
                reopened_count=0,
            )
        ],
    )
    grid = grid_for(inputs, JAN, JAN_END, grains=["month"])
    for pipeline in PIPELINES:
        returned = set(pipeline.compute(inputs, grid).to_pyarrow()["kpi"].to_pylist())
        assert returned == {kpi.name for kpi in pipeline.kpis}
        assert {kpi.family for kpi in pipeline.kpis} == {"support"}


random_tickets = st.lists(
    st.fixed_dictionaries(
        {
            "account": st.sampled_from(["a1", "a2", "a3", "a4"]),
            "opened_hour": st.integers(0, 24 * 58),
            "response_hours": st.one_of(st.none(), st.integers(0, 72)),
            "resolution_hours": st.one_of(st.none(), st.integers(0, 24 * 20)),
            "topic": st.sampled_from(["billing", "bug", None]),
            "priority": st.sampled_from(["low", "high"]),
            "escalated": st.booleans(),
            "agent_replies": st.integers(0, 3),
            "reopened_count": st.integers(0, 1),
        }
    ),
    max_size=25,
)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_tickets)
def test_portfolio_counts_are_the_sum_over_accounts(drawn: list[dict[str, Any]]) -> None:
    """Per week and month the portfolio's tickets (total and per topic) equal the sum over
    accounts and the topics add up to the total; shares stay within 0..100; p90 >= median."""
    tickets = []
    for index, row in enumerate(drawn):
        opened = at(1, 1) + timedelta(hours=row["opened_hour"])
        response, resolution = row.pop("response_hours"), row.pop("resolution_hours")
        tickets.append(
            {
                **row,
                "ticket": f"t{index}",
                "opened_at": opened,
                "first_response_at": None
                if response is None
                else opened + timedelta(hours=response),
                "resolved_at": None if resolution is None else opened + timedelta(hours=resolution),
            }
        )
    accounts = [{"account": f"a{n}", "segment": "smb" if n < 3 else "ent"} for n in range(1, 5)]
    inputs = inputs_from_rows(accounts=accounts, tickets=tickets)
    grid = grid_for(inputs, JAN, date(2026, 2, 28), grains=["week", "month"])
    rows = [
        *compute_opened(inputs, grid).to_pyarrow().to_pylist(),
        *compute_resolved(inputs, grid).to_pyarrow().to_pylist(),
    ]
    portfolio: Counter[tuple[Any, ...]] = Counter()
    by_accounts: Counter[tuple[Any, ...]] = Counter()
    topics: Counter[tuple[Any, ...]] = Counter()
    values = {(r["kpi"], r["grain"], r["period_start"], r["scope_key"]): r["value"] for r in rows}
    for r in rows:
        if r["kpi"] == "tickets_opened":
            key = (r["grain"], r["period_start"], r["dimension"])
            if r["scope_type"] == "portfolio":
                portfolio[key] += r["value"]
                if r["dimension"].startswith("topic:"):
                    topics[(r["grain"], r["period_start"], "")] += r["value"]
            elif r["scope_type"] == "account":
                by_accounts[key] += r["value"]
        if r["kpi"] in ("escalated_share", "first_contact_resolution"):
            assert 0 <= r["value"] <= 100
    assert portfolio == by_accounts
    assert topics == Counter({k: v for k, v in portfolio.items() if k[2] == ""})
    opened_in_grid = sum(1 for t in tickets if t["opened_at"] < at(3, 1))
    monthly = sum(v for k, v in portfolio.items() if k[0] == "month" and k[2] == "")
    assert monthly == opened_in_grid
    for r in rows:
        if r["kpi"].endswith("_p90"):
            key = (r["kpi"].replace("_p90", "_median"), r["grain"], r["period_start"])
            assert values[(*key, r["scope_key"])] <= r["value"] + 1e-9

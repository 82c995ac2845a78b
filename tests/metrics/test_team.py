"""Touchpoint engagement, advocacy and team pipelines on hand-made data (kpis.md, "Engagement
with us" and "Team and advocacy").

2026-01-05 and 01-12 are Mondays, so they start weeks. No database is needed.
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
from tend.metrics.team import (
    PIPELINES,
    compute_advocacy,
    compute_book_of_business,
    compute_touchpoint_engagement,
)
from tests.metrics.engine_support import Key, grid_for, inputs_from_rows, results

JAN, FEB, MAR = date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)
JAN_END, MAR_END = date(2026, 1, 31), date(2026, 3, 31)
PORTFOLIO = ("portfolio", "all", "")


def at(month: int, day: int, hour: int = 0, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


def touchpoint(
    name: str, account: str, occurred_at: datetime, kind: str = "email", **fields: Any
) -> dict[str, Any]:
    return {
        "touchpoint": name,
        "account": account,
        "kind": kind,
        "occurred_at": occurred_at,
        **fields,
    }


def run(inputs: Inputs, grid: Grid) -> dict[Key, tuple[float, int]]:
    """Every team KPI, keyed as in `results`."""
    found: dict[Key, tuple[float, int]] = {}
    for pipeline in PIPELINES:
        found.update(results(pipeline.compute(inputs, grid).to_pyarrow()))
    return found


def only(got: dict[Key, tuple[float, int]], kpi: str, scope_type: str) -> dict[Any, Any]:
    """(grain, period_start, scope_key, dimension) → (value, base) of one KPI and scope type."""
    return {
        (k[1], k[2], k[4], k[5]): v for k, v in got.items() if k[0] == kpi and k[3] == scope_type
    }


def test_touchpoints_by_kind_and_satisfaction_where_asked() -> None:
    """a1: email 6 Jan (4), call 7 Jan (not asked), meeting 14 Jan (5), email 15 Jan (0: not a
    1-5 answer); a2: chat 8 Jan (2). January: 5 touchpoints (email 2, call, meeting, chat 1);
    satisfaction (4 + 5 + 2) / 3, a1's (4 + 5) / 2 = 4.5. Week of 5 Jan: 3 touchpoints,
    (4 + 2) / 2 = 3; week of 12 Jan: 2 touchpoints, 5 from one answer."""
    inputs = inputs_from_rows(
        accounts=[{"account": "a1"}, {"account": "a2"}],
        touchpoints=[
            touchpoint("p1", "a1", at(1, 6), satisfaction=4),
            touchpoint("p2", "a1", at(1, 7), "call"),
            touchpoint("p3", "a1", at(1, 14), "meeting", satisfaction=5),
            touchpoint("p4", "a1", at(1, 15), satisfaction=0),
            touchpoint("p5", "a2", at(1, 8), "chat", satisfaction=2),
        ],
    )
    got = run(inputs, grid_for(inputs, JAN, JAN_END, grains=["week", "month"]))
    counts = {k[3]: v for k, v in only(got, "touchpoints", "portfolio").items() if k[0] == "month"}
    assert counts == {
        "": (5.0, 5),
        "kind:email": (2.0, 2),
        "kind:call": (1.0, 1),
        "kind:meeting": (1.0, 1),
        "kind:chat": (1.0, 1),
    }
    satisfaction = got[("touchpoint_satisfaction", "month", JAN, *PORTFOLIO)]
    assert satisfaction == (pytest.approx(11 / 3), 3)
    assert got[("touchpoint_satisfaction", "month", JAN, "account", "a1", "")] == (4.5, 2)
    week_5, week_12 = date(2026, 1, 5), date(2026, 1, 12)
    assert got[("touchpoints", "week", week_5, *PORTFOLIO)] == (3.0, 3)
    assert got[("touchpoint_satisfaction", "week", week_5, *PORTFOLIO)] == (3.0, 2)
    assert got[("touchpoints", "week", week_12, *PORTFOLIO)] == (2.0, 2)
    assert got[("touchpoint_satisfaction", "week", week_12, *PORTFOLIO)] == (5.0, 1)


def test_days_since_last_touchpoint_at_period_end_and_at_as_of() -> None:
    """as_of 15 Feb. a1 touched 10 and 28 Jan, a2 on 20 Dec, a3 on 10 Feb (and 20 Feb, not
    known yet), a4 on 5 Jan but churned 25 Jan, a5 never. End of Jan (1 Feb): a1 4 days, a2 43;
    casey (a1, a2, a4, a5) median 23.5 over 2 accounts; dana (a3) no row. February is not over:
    taken on 15 Feb: a1 18, a2 57, a3 5 → casey 37.5, dana 5, portfolio median 18 over 3.
    March starts after as_of: no row."""
    inputs = inputs_from_rows(
        accounts=[
            {"account": "a1", "csm": "casey"},
            {"account": "a2", "csm": "casey"},
            {"account": "a3", "csm": "dana"},
            {"account": "a4", "csm": "casey", "churned_at": at(1, 25)},
            {"account": "a5", "csm": "casey"},
        ],
        touchpoints=[
            touchpoint("p1", "a1", at(1, 10)),
            touchpoint("p2", "a1", at(1, 28, 15)),
            touchpoint("p3", "a2", at(12, 20, year=2025)),
            touchpoint("p4", "a3", at(2, 10)),
            touchpoint("p5", "a3", at(2, 20)),
            touchpoint("p6", "a4", at(1, 5)),
        ],
    )
    grid = grid_for(inputs, JAN, MAR_END, grains=["month"], as_of=at(2, 15))
    everything = run(inputs, grid)
    assert only(everything, "days_since_last_touchpoint", "account") == {
        ("month", JAN, "a1", ""): (4.0, 1),
        ("month", JAN, "a2", ""): (43.0, 1),
        ("month", FEB, "a1", ""): (18.0, 1),
        ("month", FEB, "a2", ""): (57.0, 1),
        ("month", FEB, "a3", ""): (5.0, 1),
    }
    assert only(everything, "days_since_last_touchpoint", "csm") == {
        ("month", JAN, "casey", ""): (23.5, 2),
        ("month", FEB, "casey", ""): (37.5, 2),
        ("month", FEB, "dana", ""): (5.0, 1),
    }
    portfolio = only(everything, "days_since_last_touchpoint", "portfolio")
    assert portfolio[("month", FEB, "all", "")] == (18.0, 3)


def test_referral_share_and_a_period_without_signups() -> None:
    """Signed up: a1 (10 Jan, referred), a2 (12 Jan, not), a3 (15 Jan, unknown: not referred),
    a4 (3 Mar, referred). January 1 / 3; February has no sign-ups and no row; March 100 %.
    SMB (a1, a2) 50 % in January; Enterprise (a3) 0 %."""
    inputs = inputs_from_rows(
        accounts=[
            {"account": "a1", "segment": "smb", "signed_up_at": at(1, 10), "referred": True},
            {"account": "a2", "segment": "smb", "signed_up_at": at(1, 12), "referred": False},
            {"account": "a3", "segment": "ent", "signed_up_at": at(1, 15)},
            {"account": "a4", "segment": "ent", "signed_up_at": at(3, 3), "referred": True},
        ]
    )
    grid = grid_for(inputs, JAN, MAR_END, grains=["month"], scope_types=["portfolio", "segment"])
    shares = {k[2:6]: v for k, v in run(inputs, grid).items() if k[0] == "referral_share"}
    assert shares[(JAN, "portfolio", "all", "")] == (pytest.approx(100 / 3), 3)
    assert (FEB, "portfolio", "all", "") not in shares
    assert shares[(MAR, "portfolio", "all", "")] == (100.0, 1)
    assert shares[(JAN, "segment", "smb", "")] == (50.0, 2)
    assert shares[(JAN, "segment", "ent", "")] == (0.0, 1)
    assert len(shares) == 5


def test_champion_moves_count_at_the_new_account() -> None:
    """c1 moved from a1 to a2 (seen 15 Jan) → January, a2 and its CSM dana; c4 from a former
    customer a9 to a1 (2 Feb) → February, casey. Not moves: c2 (no previous account), c3
    (previous account is its own), c5 (seen after as_of, 1 Mar)."""
    inputs = inputs_from_rows(
        accounts=[{"account": "a1", "csm": "casey"}, {"account": "a2", "csm": "dana"}],
        contacts=[
            {
                "contact": "c1",
                "account": "a2",
                "previous_account": "a1",
                "first_seen_at": at(1, 15),
            },
            {"contact": "c2", "account": "a1", "first_seen_at": at(1, 16)},
            {
                "contact": "c3",
                "account": "a1",
                "previous_account": "a1",
                "first_seen_at": at(1, 17),
            },
            {"contact": "c4", "account": "a1", "previous_account": "a9", "first_seen_at": at(2, 2)},
            {"contact": "c5", "account": "a1", "previous_account": "a2", "first_seen_at": at(3, 2)},
        ],
    )
    grid = grid_for(inputs, JAN, MAR_END, grains=["month"], as_of=at(3, 1))
    moves = {k[2:5]: v for k, v in run(inputs, grid).items() if k[0] == "champion_moves"}
    assert moves == {
        (JAN, "portfolio", "all"): (1.0, 1),
        (JAN, "csm", "dana"): (1.0, 1),
        (JAN, "account", "a2"): (1.0, 1),
        (FEB, "portfolio", "all"): (1.0, 1),
        (FEB, "csm", "casey"): (1.0, 1),
        (FEB, "account", "a1"): (1.0, 1),
    }


def test_team_responsiveness_is_the_median_time_to_the_next_outbound_touchpoint() -> None:
    """a1 (casey): inbound 5 Jan 9:00; an outbound at the same instant is no reply, the next at
    11:00 is (2 h). Inbound 6 Jan 10:00 and 12:00, outbound 16:00 → 6 h and 4 h. a2 (dana):
    inbound 7 Jan 8:00, a1's outbound at 9:00 does not answer it, a2's on 8 Jan 8:00 does
    (24 h); inbound 31 Jan 23:00 answered 1 Feb 1:00 (2 h, in January); inbound 10 Feb never
    answered. The touchpoints' own csm (sam) is ignored: the account's CSM counts.
    casey median(2, 4, 6) = 4; dana median(2, 24) = 13; portfolio median(2, 2, 4, 6, 24) = 4."""
    rows = [
        ("i1", "a1", "inbound", at(1, 5, 9)),
        ("o1", "a1", "outbound", at(1, 5, 9)),
        ("o2", "a1", "outbound", at(1, 5, 11)),
        ("i2", "a1", "inbound", at(1, 6, 10)),
        ("i3", "a1", "inbound", at(1, 6, 12)),
        ("o3", "a1", "outbound", at(1, 6, 16)),
        ("i4", "a2", "inbound", at(1, 7, 8)),
        ("o5", "a1", "outbound", at(1, 7, 9)),
        ("o4", "a2", "outbound", at(1, 8, 8)),
        ("i6", "a2", "inbound", at(1, 31, 23)),
        ("o6", "a2", "outbound", at(2, 1, 1)),
        ("i5", "a2", "inbound", at(2, 10)),
    ]
    inputs = inputs_from_rows(
        accounts=[{"account": "a1", "csm": "casey"}, {"account": "a2", "csm": "dana"}],
        touchpoints=[
            touchpoint(name, account, when, direction=direction, csm="sam")
            for name, account, direction, when in rows
        ],
    )
    grid = grid_for(
        inputs, JAN, date(2026, 2, 28), grains=["month"], scope_types=["portfolio", "csm"]
    )
    got = {k[2:5]: v for k, v in run(inputs, grid).items() if k[0] == "team_responsiveness_hours"}
    assert got == {
        (JAN, "csm", "casey"): (4.0, 3),
        (JAN, "csm", "dana"): (13.0, 2),
        (JAN, "portfolio", "all"): (4.0, 5),
    }


def test_book_accounts_at_period_end() -> None:
    """as_of 15 Feb. a1 (casey, since Dec), a2 (casey, churned exactly at 1 Feb 00:00), a3
    (dana, 31 Jan 23:00), a4 (casey, no sign-up date), a5 (dana, signed up 20 Feb: not known),
    a6 (casey, churned 15 Jan). End of Jan: casey a1, a2, a4 = 3, dana 1, portfolio 4. February
    (on 15 Feb): casey a1, a4 = 2, dana 1, portfolio 3. March starts after as_of: no row."""
    inputs = inputs_from_rows(
        accounts=[
            {"account": "a1", "csm": "casey", "signed_up_at": at(12, 1, year=2025)},
            {"account": "a2", "csm": "casey", "signed_up_at": at(1, 10), "churned_at": at(2, 1)},
            {"account": "a3", "csm": "dana", "signed_up_at": at(1, 31, 23)},
            {"account": "a4", "csm": "casey"},
            {"account": "a5", "csm": "dana", "signed_up_at": at(2, 20)},
            {
                "account": "a6",
                "csm": "casey",
                "signed_up_at": at(12, 1, year=2025),
                "churned_at": at(1, 15),
            },
        ]
    )
    grid = grid_for(
        inputs, JAN, MAR_END, grains=["month"], scope_types=["portfolio", "csm"], as_of=at(2, 15)
    )
    book = {k[2:5]: v for k, v in run(inputs, grid).items() if k[0] == "book_accounts"}
    assert book == {
        (JAN, "csm", "casey"): (3.0, 3),
        (JAN, "csm", "dana"): (1.0, 1),
        (JAN, "portfolio", "all"): (4.0, 4),
        (FEB, "csm", "casey"): (2.0, 2),
        (FEB, "csm", "dana"): (1.0, 1),
        (FEB, "portfolio", "all"): (3.0, 3),
    }


def test_pipelines_declare_the_kpis_they_return() -> None:
    """Every KPI a pipeline returns is in its `kpis`, all in the team family."""
    inputs = inputs_from_rows(
        accounts=[{"account": "a1", "signed_up_at": at(1, 2), "referred": True}],
        contacts=[
            {"contact": "c1", "account": "a1", "previous_account": "a0", "first_seen_at": at(1, 3)}
        ],
        touchpoints=[
            touchpoint("p1", "a1", at(1, 4), direction="inbound", satisfaction=5),
            touchpoint("p2", "a1", at(1, 5), direction="outbound"),
        ],
    )
    grid = grid_for(inputs, JAN, JAN_END, grains=["month"])
    for pipeline in PIPELINES:
        returned = set(pipeline.compute(inputs, grid).to_pyarrow()["kpi"].to_pylist())
        assert returned == {kpi.name for kpi in pipeline.kpis}
        assert {kpi.family for kpi in pipeline.kpis} == {"team"}


random_accounts = st.lists(
    st.fixed_dictionaries(
        {
            "csm": st.sampled_from(["casey", "dana", None]),
            "referred": st.sampled_from([True, False, None]),
            "signup_day": st.one_of(st.none(), st.integers(-30, 58)),
            "churn_after_days": st.one_of(st.none(), st.integers(1, 60)),
            "touch_days": st.lists(st.integers(-20, 58), max_size=4),
        }
    ),
    min_size=1,
    max_size=6,
)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_accounts)
def test_portfolio_is_the_sum_over_accounts_and_shares_stay_in_range(
    drawn: list[dict[str, Any]],
) -> None:
    """Per week and month: the portfolio's touchpoints and book equal the sums over accounts;
    kinds add up to the total; referral share within 0..100; days since the last touchpoint >= 1
    (touchpoints are taken before the period end) and its base is at most the book."""
    origin = at(1, 1)
    accounts, touchpoints = [], []
    for index, row in enumerate(drawn):
        signup = None if row["signup_day"] is None else origin + timedelta(days=row["signup_day"])
        churn = None
        if signup is not None and row["churn_after_days"] is not None:
            churn = signup + timedelta(days=row["churn_after_days"])
        account = f"a{index}"
        accounts.append(
            {
                "account": account,
                "csm": row["csm"],
                "referred": row["referred"],
                "signed_up_at": signup,
                "churned_at": churn,
            }
        )
        for number, day in enumerate(row["touch_days"]):
            kind = "call" if number % 2 else "email"
            when = origin + timedelta(days=day, hours=number)
            touchpoints.append(touchpoint(f"{account}-{number}", account, when, kind))
    inputs = inputs_from_rows(accounts=accounts, touchpoints=touchpoints)
    grid = grid_for(inputs, JAN, date(2026, 2, 28), grains=["week", "month"])
    rows = [
        *compute_touchpoint_engagement(inputs, grid).to_pyarrow().to_pylist(),
        *compute_advocacy(inputs, grid).to_pyarrow().to_pylist(),
        *compute_book_of_business(inputs, grid).to_pyarrow().to_pylist(),
    ]
    portfolio: Counter[tuple[Any, ...]] = Counter()
    by_account: Counter[tuple[Any, ...]] = Counter()
    kinds: Counter[tuple[Any, ...]] = Counter()
    book = {
        (r["grain"], r["period_start"], r["scope_type"], r["scope_key"]): r["base"]
        for r in rows
        if r["kpi"] == "book_accounts"
    }
    for r in rows:
        key = (r["kpi"], r["grain"], r["period_start"], r["dimension"])
        if r["kpi"] in ("touchpoints", "book_accounts"):
            if r["scope_type"] == "portfolio":
                portfolio[key] += r["value"]
                if r["dimension"].startswith("kind:"):
                    kinds[(r["kpi"], r["grain"], r["period_start"], "")] += r["value"]
            elif r["scope_type"] == "account":
                by_account[key] += r["value"]
        if r["kpi"] == "referral_share":
            assert 0 <= r["value"] <= 100
        if r["kpi"] == "days_since_last_touchpoint":
            assert r["value"] >= 1
            scope = (r["grain"], r["period_start"], r["scope_type"], r["scope_key"])
            assert r["base"] <= book[scope]
    assert portfolio == by_account
    touch_totals = {k: v for k, v in portfolio.items() if k[0] == "touchpoints" and k[3] == ""}
    assert kinds == Counter(touch_totals)

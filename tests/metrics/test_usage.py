"""Activity KPIs (DAU, WAU, MAU, stickiness, frequency, breadth, outcome events) and user churn on
a small hand-made calendar (kpis.md, "Usage and engagement"). No database is needed.

The calendar (2025; Jan 1 is a Wednesday, Jan 27 and Feb 3 are Mondays):
- a1 (smb, lina, 10 seats): u1 on Jan 1, 2, 10, 31; u2 on Jan 2 and Feb 3; u3 on Jan 31.
- a2 (smb, tom, seats unknown): v1 on Jan 15 and Feb 14.
- a3 (enterprise, tom, 5 seats, signed up Feb 15): w1 on Feb 20.
- a4 (smb, lina, 100 seats, churned 2024-12-01): never used the product.
The trailing 30 days ending Jan 31 are Jan 2..31; ending Feb 28: Jan 30..Feb 28.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tend.metrics.grid import Grid
from tend.metrics.inputs import Inputs
from tend.metrics.usage import PIPELINES, compute_activity, compute_user_churn
from tests.metrics.engine_support import Key, at, grid_for, inputs_from_rows, results

JAN, FEB = date(2025, 1, 1), date(2025, 2, 1)
FEB_END = date(2025, 2, 28)
ACCOUNTS = [
    {"account": "a1", "segment": "smb", "csm": "lina", "seats": 10, "signed_up_at": at(2025, 1, 1)},
    {"account": "a2", "segment": "smb", "csm": "tom", "signed_up_at": at(2025, 1, 1)},
    {
        "account": "a3",
        "segment": "enterprise",
        "csm": "tom",
        "seats": 5,
        "signed_up_at": at(2025, 2, 15),
    },
    {
        "account": "a4",
        "segment": "smb",
        "csm": "lina",
        "seats": 100,
        "signed_up_at": at(2024, 1, 1),
        "churned_at": at(2024, 12, 1),
    },
]
ACTIVE_DAYS = {
    ("a1", "u1"): [date(2025, 1, 1), date(2025, 1, 2), date(2025, 1, 10), date(2025, 1, 31)],
    ("a1", "u2"): [date(2025, 1, 2), date(2025, 2, 3)],
    ("a1", "u3"): [date(2025, 1, 31)],
    ("a2", "v1"): [date(2025, 1, 15), date(2025, 2, 14)],
    ("a3", "w1"): [date(2025, 2, 20)],
}


def usage_rows(active_days: dict[tuple[str, str], list[date]]) -> list[dict[str, Any]]:
    """One rollup row per active user-day (a login), plus a second event name on some days
    so that user-days, not rows, are what gets counted."""
    rows = []
    for (account, user), days in active_days.items():
        for day in days:
            rows.append(usage(account, user, day, "Logged In", 1))
            if day.day % 2 == 0:
                rows.append(usage(account, user, day, "Dashboard Viewed", 3))
    return rows


def usage(account: str, user: str, day: date, name: str, events: int) -> dict[str, Any]:
    return {
        "account": account,
        "user": user,
        "day": day,
        "event_name": name,
        "events": events,
        "sessions": 1 if name == "Logged In" else 0,
        "active_minutes": 2.0,
    }


OUTCOMES = [
    usage("a1", "u1", date(2025, 1, 10), "Report Shared", 2),
    usage("a1", "u3", date(2025, 1, 31), "Automation Run", 1),
]


def calendar_inputs() -> Inputs:
    return inputs_from_rows(accounts=ACCOUNTS, usage_daily=usage_rows(ACTIVE_DAYS) + OUTCOMES)


def row(
    found: dict[Key, tuple[float, int]],
    kpi: str,
    grain: str,
    start: date,
    scope: str = "portfolio",
    key: str = "all",
) -> tuple[float, int] | None:
    """One result's (value, base), None when there is no row."""
    return found.get((kpi, grain, start, scope, key, ""))


def run(inputs: Inputs, grid: Grid) -> dict[Key, tuple[float, int]]:
    """Every usage KPI of this module's pipelines, keyed as in `results`."""
    found: dict[Key, tuple[float, int]] = {}
    for compute in (compute_activity, compute_user_churn):
        found.update(results(compute(inputs, grid).to_pyarrow()))
    return found


@pytest.fixture(scope="module")
def calendar() -> dict[Key, tuple[float, int]]:
    """Every activity KPI and user churn on the calendar by day, week and month."""
    inputs = calendar_inputs()
    grid = grid_for(
        inputs,
        JAN,
        FEB_END,
        grains=["day", "week", "month"],
        scope_types=["portfolio", "segment", "account"],
    )
    return run(inputs, grid)


def test_dau_wau_mau_on_single_days(calendar: dict[Key, tuple[float, int]]) -> None:
    """Jan 2: u1, u2 active → DAU 2; Dec 27..Jan 2 → WAU 2. Jan 31: u1, u3 → DAU 2; Jan 25..31 →
    WAU 2 (u1, u3); Jan 2..31 → MAU 4 (u1, u2, u3, v1; Jan 1 is outside). Jan 20: nobody
    active → DAU 0, but users were seen, so the row exists; Jan 14..20 → WAU 1 (v1)."""
    found = calendar
    jan_2, jan_20, jan_31 = date(2025, 1, 2), date(2025, 1, 20), date(2025, 1, 31)
    assert (row(found, "dau", "day", jan_2), row(found, "wau", "day", jan_2)) == ((2, 2), (2, 2))
    assert (row(found, "dau", "day", jan_31), row(found, "wau", "day", jan_31)) == ((2, 2), (2, 2))
    assert row(found, "mau", "day", jan_31) == (4, 4)
    assert (row(found, "dau", "day", jan_20), row(found, "wau", "day", jan_20)) == ((0, 0), (1, 1))


def test_monthly_means_and_stickiness(calendar: dict[Key, tuple[float, int]]) -> None:
    """January: 7 user-days (u1 4, u2 1, u3 1, v1 1) over 31 days → DAU 7/31; MAU 4 (Jan 2..31).
    Jan 2..31 hold 6 user-days (u1's Jan 1 is out) → mean DAU 6/30 = 0.2, stickiness 0.2 / 4 =
    0.05, active days per user 6 / 4 = 1.5. February (Jan 30..Feb 28): u1, u2, u3, v1, w1 once
    each → MAU 5, stickiness (5/30) / 5 = 1/30, 1 active day per user; DAU = 3 user-days / 28."""
    found = calendar

    def jan(kpi: str) -> tuple[float, int] | None:
        return row(found, kpi, "month", JAN)

    def feb(kpi: str) -> tuple[float, int] | None:
        return row(found, kpi, "month", FEB)

    assert jan("dau") == (pytest.approx(7 / 31), 7)
    assert (jan("wau"), jan("mau")) == ((2, 2), (4, 4))
    assert jan("stickiness") == (pytest.approx(0.05), 4)
    assert jan("active_days_per_user") == (pytest.approx(1.5), 4)
    assert feb("mau") == (5, 5)
    assert feb("stickiness") == (pytest.approx(1 / 30), 5)
    assert feb("active_days_per_user") == (pytest.approx(1.0), 5)
    assert feb("dau") == (pytest.approx(3 / 28), 3)


def test_segment_and_account_scopes_add_up(calendar: dict[Key, tuple[float, int]]) -> None:
    """January MAU: a1 3 (u1, u2, u3) + a2 1 (v1) = smb 4; a3 has no user seen by Jan 31 → no
    row for it or for enterprise. February: enterprise (a3) MAU 1, smb 4."""
    found = calendar

    def mau(month: date, scope: str, key: str) -> tuple[float, int] | None:
        return row(found, "mau", "month", month, scope, key)

    assert mau(JAN, "account", "a1") == (3, 3)
    assert mau(JAN, "account", "a2") == (1, 1)
    assert mau(JAN, "segment", "smb") == (4, 4)
    assert mau(JAN, "account", "a3") is None and mau(JAN, "segment", "enterprise") is None
    assert mau(FEB, "segment", "enterprise") == (1, 1)
    assert mau(FEB, "segment", "smb") == (4, 4)


def test_breadth_with_and_without_seats(calendar: dict[Key, tuple[float, int]]) -> None:
    """January: live accounts a1 (10 seats, MAU 3) and a2 (no seats: 1 user seen, MAU 1); a3
    signs up in February, a4 churned before Jan 2 → (3 + 1) / (10 + 1) = 4/11. February: a1
    MAU 3 (u1, u3 on Jan 31, u2), a2 1, a3 1 of 5 seats → 5 / 16. a2 alone: 1 / 1."""
    found = calendar
    assert found[("breadth", "month", JAN, "portfolio", "all", "")] == (pytest.approx(4 / 11), 11)
    assert found[("breadth", "month", FEB, "portfolio", "all", "")] == (pytest.approx(5 / 16), 16)
    assert found[("breadth", "month", JAN, "account", "a2", "")] == (1.0, 1)
    assert found[("breadth", "month", FEB, "account", "a3", "")] == (0.2, 5)
    assert ("breadth", "month", JAN, "account", "a4", "") not in found


def test_user_churn_across_two_months(calendar: dict[Key, tuple[float, int]]) -> None:
    """January's active users u1, u2, u3, v1; February's u2, v1, w1 → u1 and u3 left: 2 / 4 = 50 %.
    a1: 2 of 3; a2: 0 of 1. January has no previous activity → no row."""
    found = calendar
    assert found[("user_churn", "month", FEB, "portfolio", "all", "")] == (50.0, 4)
    assert found[("user_churn", "month", FEB, "segment", "smb", "")] == (50.0, 4)
    assert found[("user_churn", "month", FEB, "account", "a1", "")] == (pytest.approx(200 / 3), 3)
    assert found[("user_churn", "month", FEB, "account", "a2", "")] == (0.0, 1)
    assert ("user_churn", "month", JAN, "portfolio", "all", "") not in found


def test_weekly_grain(calendar: dict[Key, tuple[float, int]]) -> None:
    """Week Jan 27..Feb 2: u1, u3 on Jan 31 → mean DAU 2/7; WAU on Feb 2 (Jan 27..Feb 2) 2; MAU
    (Jan 4..Feb 2) u1, u3, v1 = 3. Week Feb 3..9: only u2 → user churn 2 of 2 = 100 %.
    Week Jan 13..19 (v1) after Jan 6..12 (u1) → 100 %. as_of Feb 5 noon leaves week Feb 3..9
    open: its trailing windows end on Feb 5 and it has no user churn yet."""
    found = calendar
    last_january_week, first_february_week = date(2025, 1, 27), date(2025, 2, 3)
    assert row(found, "dau", "week", last_january_week) == (pytest.approx(2 / 7), 2)
    assert row(found, "wau", "week", last_january_week) == (2, 2)
    assert row(found, "mau", "week", last_january_week) == (3, 3)
    assert row(found, "user_churn", "week", first_february_week) == (100.0, 2)
    assert row(found, "user_churn", "week", date(2025, 1, 13)) == (100.0, 1)

    inputs = calendar_inputs()
    early = grid_for(
        inputs,
        JAN,
        FEB_END,
        grains=["week"],
        scope_types=["portfolio"],
        as_of=at(2025, 2, 5) + timedelta(hours=12),
    )
    found = run(inputs, early)
    assert row(found, "dau", "week", first_february_week) == (pytest.approx(1 / 3), 1)  # Feb 3..5
    assert row(found, "mau", "week", first_february_week) == (4, 4)  # Jan 7..Feb 5: u1-u3, v1
    assert row(found, "user_churn", "week", first_february_week) is None
    assert row(found, "dau", "week", date(2025, 2, 10)) is None


def test_outcome_events_count_configured_names(calendar: dict[Key, tuple[float, int]]) -> None:
    """a1 shares a report on Jan 10 (2 events) and runs an automation on Jan 31 (1); logins and
    dashboard views do not count → January: 3 outcome events over 2 active accounts (a1, a2);
    February: none over 3 (a1, a2, a3)."""
    assert row(calendar, "outcome_events", "month", JAN) == (3.0, 2)
    assert row(calendar, "outcome_events", "month", FEB) == (0.0, 3)
    assert row(calendar, "outcome_events", "month", JAN, "account", "a1") == (3.0, 1)


def test_every_kpi_is_declared_once_in_the_usage_family() -> None:
    names = [kpi.name for pipeline in PIPELINES for kpi in pipeline.kpis]
    assert len(names) == len(set(names)) == 15
    assert {kpi.family for pipeline in PIPELINES for kpi in pipeline.kpis} == {"usage"}


ACTIVITY = st.dictionaries(
    keys=st.tuples(st.sampled_from(["a1", "a2", "a3"]), st.sampled_from(["x", "y", "z"])),
    values=st.lists(st.integers(0, 45), min_size=1, max_size=8),
    min_size=1,
    max_size=6,
)


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ACTIVITY)
def test_activity_properties(offsets: dict[tuple[str, str], list[int]]) -> None:
    """On any calendar, each day: DAU <= WAU <= MAU, stickiness within 0..1, portfolio MAU =
    the sum of the accounts' MAUs, and MAU = the distinct users active in the 30 days."""
    start = date(2025, 3, 1)
    active = {key: [start + timedelta(days=n) for n in days] for key, days in offsets.items()}
    inputs = inputs_from_rows(accounts=ACCOUNTS[:3], usage_daily=usage_rows(active))
    last = start + timedelta(days=45)
    grid = grid_for(inputs, start, last, grains=["day"], scope_types=["portfolio", "account"])
    found = results(compute_activity(inputs, grid).to_pyarrow())
    account_mau: dict[date, float] = defaultdict(float)
    for (kpi, _, day, scope, _, _), (value, _) in found.items():
        if kpi == "mau" and scope == "account":
            account_mau[day] += value
    for offset in range(46):
        day = start + timedelta(days=offset)
        dau, wau, mau, stickiness = (
            (row(found, kpi, "day", day) or (0, 0))[0]
            for kpi in ("dau", "wau", "mau", "stickiness")
        )
        expected_mau = {
            key for key, days in active.items() if any(0 <= (day - d).days < 30 for d in days)
        }
        assert dau <= wau <= mau == len(expected_mau)
        assert 0 <= stickiness <= 1
        assert mau == account_mau.get(day, 0)


def test_a_late_grid_reads_only_recent_days_and_agrees() -> None:
    """A grid starting in February 2025 folds usage from more than 100 days before into one
    running total (usage_grid.per_cell); every usage KPI of February is the same as in a grid
    from June 2024. a2's x1 and a1's u9 were active in mid-2024 only: users seen (breadth of a2,
    without seats) and the rows' existence still count them."""
    old = {("a1", "u9"): [date(2024, 6, 3), date(2024, 6, 4)], ("a2", "x1"): [date(2024, 7, 1)]}
    inputs = inputs_from_rows(
        accounts=ACCOUNTS, usage_daily=usage_rows({**ACTIVE_DAYS, **old}) + OUTCOMES
    )
    options: dict[str, Any] = {
        "grains": ["day", "week", "month"],
        "scope_types": ["portfolio", "segment", "account"],
    }
    late = run(inputs, grid_for(inputs, FEB, FEB_END, **options))
    early = run(inputs, grid_for(inputs, date(2024, 6, 1), FEB_END, **options))
    assert {key for key in early if key[2] >= FEB} <= late.keys() <= early.keys()
    for key, (value, base) in late.items():
        assert (pytest.approx(value), base) == early[key], key
    assert late[("breadth", "month", FEB, "account", "a2", "")] == (pytest.approx(1 / 2), 2)

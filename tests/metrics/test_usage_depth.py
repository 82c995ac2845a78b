"""Depth, feature and product performance KPIs on hand-made rollups (kpis.md, "Usage and
engagement"). No database is needed.

Accounts: a1 and a2 (smb), a3 (enterprise). The trailing 30 days ending Jan 31, 2025 are
Jan 2..31; ending Feb 28: Jan 30..Feb 28.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from tend.metrics.usage_depth import compute_depth, compute_features, compute_performance
from tests.metrics.engine_support import Key, grid_for, inputs_from_rows, results

JAN, FEB = date(2025, 1, 1), date(2025, 2, 1)
ACCOUNTS = [
    {"account": "a1", "segment": "smb"},
    {"account": "a2", "segment": "smb"},
    {"account": "a3", "segment": "enterprise"},
]
SCOPES = ["portfolio", "segment", "account"]


def usage(
    account: str,
    user: str,
    day: date,
    name: str,
    events: int = 1,
    sessions: int = 0,
    minutes: float = 0.0,
) -> dict[str, Any]:
    return {
        "account": account,
        "user": user,
        "day": day,
        "event_name": name,
        "events": events,
        "sessions": sessions,
        "active_minutes": minutes,
    }


def row(
    found: dict[Key, tuple[float, int]],
    kpi: str,
    month: date,
    scope: str = "portfolio",
    key: str = "all",
    dimension: str = "",
) -> tuple[float, int] | None:
    """One monthly result's (value, base), None when there is no row."""
    return found.get((kpi, "month", month, scope, key, dimension))


def test_median_session_length_and_events_per_session() -> None:
    """User-days in January: a1/u1 Jan 10: 4 events, 1 session of 4.0 min (split over two names);
    a1/u2 Jan 20: 6 events, 2 sessions, 10 min → two sessions of 5.0; a2/v1 Jan 15: 2 events,
    1 session of 1.0. Portfolio sessions by length: 1.0 once, 4.0 once, 5.0 twice → the 2nd of 4 is
    4.0 (lower median); events per session 12 / 4 = 3. a1: 4.0 once, 5.0 twice → 5.0; 10 / 3."""
    inputs = inputs_from_rows(
        accounts=ACCOUNTS,
        usage_daily=[
            usage("a1", "u1", date(2025, 1, 10), "Logged In", 3, 1, 4.0),
            usage("a1", "u1", date(2025, 1, 10), "Report Shared", 1),
            usage("a1", "u2", date(2025, 1, 20), "Logged In", 6, 2, 10.0),
            usage("a2", "v1", date(2025, 1, 15), "Logged In", 2, 1, 1.0),
        ],
    )
    grid = grid_for(inputs, JAN, date(2025, 1, 31), grains=["day", "month"], scope_types=SCOPES)
    found = results(compute_depth(inputs, grid).to_pyarrow())
    assert row(found, "session_minutes_median", JAN) == (4.0, 4)
    assert row(found, "events_per_session", JAN) == (3.0, 4)
    assert row(found, "session_minutes_median", JAN, "account", "a1") == (5.0, 3)
    assert row(found, "events_per_session", JAN, "account", "a1") == (pytest.approx(10 / 3), 3)
    assert found[("session_minutes_median", "day", date(2025, 1, 15), "portfolio", "all", "")] == (
        1.0,
        1,
    )
    assert ("events_per_session", "day", date(2025, 1, 11), "portfolio", "all", "") not in found


FEATURE_USE = [
    usage("a3", "w1", date(2024, 12, 1), "Alert Created"),  # tracked since December
    usage("a1", "u1", date(2025, 1, 10), "Dashboard Viewed"),
    usage("a1", "u1", date(2025, 1, 10), "Report Shared"),
    usage("a1", "u2", date(2025, 1, 20), "Export Downloaded"),
    usage("a2", "v1", date(2025, 1, 15), "Dashboard Viewed"),
    usage("a3", "w1", date(2025, 2, 5), "Query Run"),  # tracked from February
]


@pytest.fixture(scope="module")
def features() -> dict[Key, tuple[float, int]]:
    inputs = inputs_from_rows(accounts=ACCOUNTS, usage_daily=FEATURE_USE)
    grid = grid_for(inputs, JAN, date(2025, 2, 28), grains=["month"], scope_types=SCOPES)
    return results(compute_features(inputs, grid).to_pyarrow())


def test_feature_adoption_among_active_accounts(features: dict[Key, tuple[float, int]]) -> None:
    """January (Jan 2..31): active accounts a1, a2. Dashboard Viewed: both → 100 %; Report Shared
    and Export Downloaded: a1 → 50 %; Alert Created: nobody → no row. February (Jan 30..Feb 28):
    only a3 is active, with Query Run → 100 %."""

    def adoption(
        month: date, name: str, scope: str = "portfolio", key: str = "all"
    ) -> tuple[float, int] | None:
        return row(features, "feature_adoption", month, scope, key, name)

    assert adoption(JAN, "Dashboard Viewed") == (100.0, 2)
    assert adoption(JAN, "Report Shared") == (50.0, 2)
    assert adoption(JAN, "Export Downloaded") == (50.0, 2)
    assert adoption(JAN, "Alert Created") is None
    assert adoption(JAN, "Dashboard Viewed", "segment", "smb") == (100.0, 2)
    assert adoption(JAN, "Dashboard Viewed", "account", "a1") == (100.0, 1)
    assert adoption(FEB, "Query Run") == (100.0, 1)
    assert adoption(FEB, "Dashboard Viewed") is None


def test_unused_features_and_share_used(features: dict[Key, tuple[float, int]]) -> None:
    """Tracked by Jan 31: Alert Created, Dashboard Viewed, Report Shared, Export Downloaded = 4;
    used in January: 3 → 1 unused. Share used: a1 3/4, a2 1/4 → lower median 1/4. February:
    5 tracked (Query Run too), a3 used 1 → 4 unused, share 1/5. Enterprise in January has no
    active account → no rows."""
    assert row(features, "unused_features", JAN) == (1.0, 2)
    assert row(features, "features_used_share", JAN) == (0.25, 2)
    assert row(features, "features_used_share", JAN, "account", "a1") == (0.75, 1)
    assert row(features, "unused_features", FEB) == (4.0, 1)
    assert row(features, "features_used_share", FEB) == (0.2, 1)
    assert row(features, "unused_features", JAN, "segment", "enterprise") is None
    assert row(features, "unused_features", FEB, "segment", "enterprise") == (4.0, 1)


def test_error_rate_and_p95_load_time() -> None:
    """a1: Jan 10 100 events, 2 errors, 10 loads at p95 500 ms; Jan 11 50 events, 3 errors, 30
    loads at p95 1000 ms. a2: Jan 15 50 events, no error, no page load. January: 5 / 200 =
    2.5 % errors; p95 ≈ (500·10 + 1000·30) / 40 = 875 ms. Jan 15: 0 % and no load time."""
    performance = [
        {
            "account": "a1",
            "day": date(2025, 1, 10),
            "events": 100,
            "errors": 2,
            "page_loads": 10,
            "load_time_p95_ms": 500.0,
        },
        {
            "account": "a1",
            "day": date(2025, 1, 11),
            "events": 50,
            "errors": 3,
            "page_loads": 30,
            "load_time_p95_ms": 1000.0,
        },
        {
            "account": "a2",
            "day": date(2025, 1, 15),
            "events": 50,
            "errors": 0,
            "page_loads": 0,
            "load_time_p95_ms": None,
        },
    ]
    inputs = inputs_from_rows(accounts=ACCOUNTS, performance_daily=performance)
    grid = grid_for(inputs, JAN, date(2025, 1, 31), grains=["day", "month"], scope_types=SCOPES)
    found = results(compute_performance(inputs, grid).to_pyarrow())
    assert found[("error_rate", "month", JAN, "portfolio", "all", "")] == (2.5, 200)
    assert found[("load_time_p95_ms", "month", JAN, "portfolio", "all", "")] == (875.0, 40)
    assert found[("load_time_p95_ms", "day", date(2025, 1, 10), "account", "a1", "")] == (500, 10)
    assert found[("error_rate", "day", date(2025, 1, 15), "account", "a2", "")] == (0.0, 50)
    assert ("load_time_p95_ms", "day", date(2025, 1, 15), "account", "a2", "") not in found

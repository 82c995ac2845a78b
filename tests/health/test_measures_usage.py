"""Usage measures, hand-computed on tiny inputs (no database: Ibis on DuckDB)."""

from __future__ import annotations

from datetime import date

import pytest

from tests.health.measure_support import account, computed, usage
from tests.metrics.engine_support import inputs_from_rows

D = date(2024, 3, 31)
BEFORE = date(2024, 3, 30)
NAMES = [
    "active_users_7d",
    "active_users_1d",
    "active_days_per_user_7d",
    "seat_utilisation_7d",
    "features_used_7d",
    "events_7d",
    "session_minutes_median_7d",
]


@pytest.fixture(scope="module")
def values() -> dict:
    """Account a (4 seats): u1 on 03-24 (exactly D-7: outside D's 7-day window, inside the
    day before's), 03-25 and 03-31; u2 on 03-30 with two event names. Account b: no usage, no
    seats."""
    inputs = inputs_from_rows(
        accounts=[account("a", seats=4), account("b")],
        usage_daily=[
            usage("a", "u1", date(2024, 3, 24), "old", events=5, sessions=1, active_minutes=4.0),
            usage("a", "u1", date(2024, 3, 25), "view", events=2, sessions=1, active_minutes=10.0),
            usage("a", "u2", BEFORE, "view", events=3, sessions=2, active_minutes=30.0),
            usage("a", "u2", BEFORE, "export", events=1),
            usage("a", "u1", D, "share", events=1, sessions=1, active_minutes=40.0),
            usage("a", "u1", date(2024, 4, 1), "later", events=100),
        ],
    )
    return computed(inputs, [BEFORE, D], NAMES)


def test_active_users_count_distinct_users_in_the_trailing_window(values: dict) -> None:
    """At D the 7-day window is 03-25..03-31: u1 (03-25, 03-31) and u2 (03-30) → 2; u1's
    03-24 is exactly D-7 and out. Over 1 day only u1 is active on D → 1; on 03-30 only u2.
    The day before D (window 03-24..03-30): u1 and u2 → 2. Usage on 04-01 never counts."""
    assert values[("a", D, "active_users_7d")] == 2
    assert values[("a", D, "active_users_1d")] == 1
    assert values[("a", BEFORE, "active_users_1d")] == 1
    assert values[("a", BEFORE, "active_users_7d")] == 2
    assert values[("b", D, "active_users_7d")] == 0


def test_active_days_per_user_and_seat_utilisation(values: dict) -> None:
    """At D: user-days u1 03-25, u2 03-30, u1 03-31 = 3 over 2 users → 1.5; 2 users ÷ 4 seats
    = 0.5. The day before: u1 03-24, 03-25 and u2 03-30 → 1.5 too. Account b has nobody
    active (days per user: null) and no seats (utilisation: null)."""
    assert values[("a", D, "active_days_per_user_7d")] == 1.5
    assert values[("a", BEFORE, "active_days_per_user_7d")] == 1.5
    assert values[("a", D, "seat_utilisation_7d")] == 0.5
    assert values[("b", D, "active_days_per_user_7d")] is None
    assert values[("b", D, "seat_utilisation_7d")] is None


def test_features_and_events_in_the_trailing_window(values: dict) -> None:
    """At D: names view (03-25, 03-30), export (03-30), share (03-31) = 3 ('old' on 03-24 is
    out); events 2 + 3 + 1 + 1 = 7. The day before (03-24..03-30): old, view, export = 3 and
    5 + 2 + 3 + 1 = 11 events."""
    assert values[("a", D, "features_used_7d")] == 3
    assert values[("a", D, "events_7d")] == 7
    assert values[("a", BEFORE, "features_used_7d")] == 3
    assert values[("a", BEFORE, "events_7d")] == 11
    assert values[("b", D, "events_7d")] == 0
    assert values[("b", D, "features_used_7d")] == 0


def test_session_minutes_median_over_user_days(values: dict) -> None:
    """Each user-day counts at its mean session length: 03-24 u1 4/1 = 4, 03-25 u1 10/1 = 10,
    03-30 u2 30/2 = 15 (export has no session but the user-day sums them), 03-31 u1 40/1 = 40.
    At D: median(10, 15, 40) = 15; the day before: median(4, 10, 15) = 10. No sessions: null."""
    assert values[("a", D, "session_minutes_median_7d")] == 15
    assert values[("a", BEFORE, "session_minutes_median_7d")] == 10
    assert values[("b", D, "session_minutes_median_7d")] is None

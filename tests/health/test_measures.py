"""The health measures catalog: names, the rows returned, missing values and trait measures.

Per-family values are in test_measures_usage.py, test_measures_support.py (support, voice,
engagement) and test_measures_finance.py; "as of" properties in test_measures_asof.py.
"""

from __future__ import annotations

from datetime import date

import pytest

from tend.health.measures import (
    MEASURE_CATALOG,
    RESULT_SCHEMA,
    default_measure_names,
    measure_values,
    parse_measure,
)
from tend.metrics.inputs import Inputs
from tests.health.measure_support import account, computed, moment, usage
from tests.metrics.engine_support import inputs_from_rows

D = date(2024, 3, 31)


@pytest.fixture(scope="module")
def one_account() -> Inputs:
    return inputs_from_rows(accounts=[account("a")])


def test_catalog_describes_every_measure() -> None:
    """Every measure of the brief is in the catalog with a unit, a direction and a
    definition; windowed ones have a default window."""
    expected = {
        "active_users", "active_days_per_user", "seat_utilisation", "session_minutes_median",
        "features_used", "events", "tickets_opened", "tickets_high_open", "tickets_open",
        "resolution_hours_median", "nps_latest", "csat", "detractors",
        "days_since_last_touch", "touchpoints", "days_overdue_max", "overdue_amount",
        "late_payments", "mrr", "mrr_change", "tenure_days", "trait",
    }  # fmt: skip
    assert set(MEASURE_CATALOG) == expected
    for spec in MEASURE_CATALOG.values():
        assert spec.definition and spec.unit
    assert MEASURE_CATALOG["active_users"].windowed
    assert not MEASURE_CATALOG["tickets_open"].windowed
    assert MEASURE_CATALOG["tickets_open"].higher_is_better is False
    assert "trait" not in " ".join(default_measure_names())


def test_names_carry_their_window() -> None:
    """`_<N>d` sets any positive window; a bare windowed name takes the default window."""
    assert parse_measure("active_users_7d").window == 7
    assert parse_measure("late_payments_1000d").window == 1000
    assert parse_measure("active_users").window == MEASURE_CATALOG["active_users"].default_window
    assert parse_measure("mrr").window is None
    assert parse_measure("trait:employees").argument == "employees"


@pytest.mark.parametrize(
    "name", ["active_users_0d", "tickets_open_30d", "nps", "trait:", "trait", "mrr_change_x"]
)
def test_unknown_names_raise_naming_the_measure_and_the_known_ones(
    name: str, one_account: Inputs
) -> None:
    """A zero window, a window on a measure without one, or a name not in the catalog."""
    with pytest.raises(ValueError, match="unknown measure") as raised:
        measure_values(one_account, [D], ["mrr", name])
    message = str(raised.value)
    assert repr(name) in message
    assert "active_users_<N>d" in message
    assert "trait:<name>" in message


def test_rows_per_existing_account_day_and_measure() -> None:
    """a signed up 03-01: rows on 03-30 and 03-31; late signs up on 03-31 at 18:00: a row on
    03-31 only (signed up on or before the day); undated has no sign-up date: always there.
    Empty requests give the schema with no rows."""
    inputs = inputs_from_rows(
        accounts=[
            account("a", moment(2024, 3, 1)),
            account("late", moment(2024, 3, 31, 18)),
            account("undated", None),
        ]
    )
    days = [date(2024, 3, 30), D]
    values = computed(inputs, days, ["events_30d", "mrr"])
    assert set(values) == {
        (name, day, measure)
        for name, day in [("a", days[0]), ("a", D), ("late", D), ("undated", days[0]),
                          ("undated", D)]
        for measure in ["events_30d", "mrr"]
    }  # fmt: skip
    assert measure_values(inputs, [], ["mrr"]).schema.equals(RESULT_SCHEMA)
    assert measure_values(inputs, days, []).num_rows == 0


def test_missing_values_are_null_and_counts_are_zero() -> None:
    """An account with no data at all: counts and amounts 0; ratios, medians, scores,
    recency and tenure null (no data, not a bad value)."""
    inputs = inputs_from_rows(accounts=[account("empty")])
    values = computed(inputs, [D], default_measure_names())
    nulls = {
        "active_days_per_user_30d", "seat_utilisation_30d", "session_minutes_median_30d",
        "resolution_hours_median_90d", "nps_latest", "csat_90d", "days_since_last_touch",
        "mrr_change_90d", "tenure_days",
    }  # fmt: skip
    for name in default_measure_names():
        expected = None if name in nulls else 0
        assert values[("empty", D, name)] == expected, name


def test_trait_measures_read_numbers_from_the_account_traits() -> None:
    """Traits {"employees": 250, "score": "7.5", "plan": "pro", "sso": true}: 250, 7.5, null
    (not numeric), 1 (true); a trait the account lacks and an account without traits: null.
    Traits have no history, so the value is the same on every day, even before it was set."""
    inputs = inputs_from_rows(
        accounts=[
            account("a", traits='{"employees": 250, "score": "7.5", "plan": "pro", "sso": true}'),
            account("b"),
        ],
        usage_daily=[usage("a", "u1", D)],
    )
    days = [date(2023, 6, 1), D]
    names = ["trait:employees", "trait:score", "trait:plan", "trait:sso", "trait:missing"]
    values = computed(inputs, days, names)
    for day in days:
        assert values[("a", day, "trait:employees")] == 250
        assert values[("a", day, "trait:score")] == 7.5
        assert values[("a", day, "trait:plan")] is None
        assert values[("a", day, "trait:sso")] == 1
        assert values[("a", day, "trait:missing")] is None
        assert values[("b", day, "trait:employees")] is None

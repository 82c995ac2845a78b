"""Kaplan-Meier survival of paying accounts: a hand-computed curve and lifetimes from inputs."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest

from tend.metrics.inputs import Inputs, duckdb_inputs
from tend.metrics.survival import DAYS_PER_MONTH, account_lifetimes, kaplan_meier, survival_curves

AS_OF = datetime(2024, 7, 1, tzinfo=UTC)


def at(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, tzinfo=UTC)


def test_kaplan_meier_on_five_accounts() -> None:
    """Lifetimes 1, 2+, 3, 4, 5+ months (+: censored, still paying).

    S(0) = 1; t = 1: 5 at risk, 1 churns → 4/5 = 0.8; t = 2: a censoring, S stays 0.8;
    t = 3: 3 at risk, 1 churns → 0.8 * 2/3 = 0.5333; t = 4: 2 at risk → 0.5333 * 1/2 = 0.2667;
    t = 5: censored, 1 at risk, S stays 0.2667. Median: the first t with S ≤ 0.5, 4 months.
    95 % interval at t = 1 (exponential Greenwood): V = Σ d/(n(n-d)) / ln(S)² = (1/20)/ln(0.8)²,
    bounds exp(-exp(ln(-ln 0.8) ± 1.96 √V)) = 0.2038 and 0.9692."""
    lifetimes = pd.DataFrame(
        {"months": [1.0, 2.0, 3.0, 4.0, 5.0], "churned": [True, False, True, True, False]}
    )
    result = kaplan_meier(lifetimes)
    curve = result.curves
    assert list(curve["group"].unique()) == ["all"]
    assert list(curve["months"]) == [0, 1, 2, 3, 4, 5]
    assert list(curve["survival"]) == pytest.approx([1, 0.8, 0.8, 8 / 15, 4 / 15, 4 / 15])
    assert list(curve["at_risk"]) == [5, 5, 4, 3, 2, 1]
    variance = (1 / 20) / math.log(0.8) ** 2
    centre, spread = math.log(-math.log(0.8)), 1.959964 * math.sqrt(variance)
    at_one = curve[curve["months"] == 1].iloc[0]
    assert at_one["ci_lower"] == pytest.approx(math.exp(-math.exp(centre + spread)), abs=1e-4)
    assert at_one["ci_upper"] == pytest.approx(math.exp(-math.exp(centre - spread)), abs=1e-4)
    assert (curve["ci_lower"] <= curve["survival"]).all()
    assert (curve["survival"] <= curve["ci_upper"]).all()
    (median,) = result.medians.to_dict("records")
    assert median == {
        "grouping": "portfolio",
        "group": "all",
        "accounts": 5,
        "churned": 3,
        "median_months": 4.0,
    }


def test_kaplan_meier_per_group_and_unreached_median() -> None:
    """Group x: 1, 2 churn → S = 1/2, 0; median 1. Group y: 3+ censored → S = 1 throughout,
    the median is never reached (null)."""
    lifetimes = pd.DataFrame(
        {"months": [1.0, 2.0, 3.0], "churned": [True, True, False], "segment": ["x", "x", "y"]}
    )
    result = kaplan_meier(lifetimes, by="segment")
    x = result.curves[result.curves["group"] == "x"]
    assert list(x["survival"]) == pytest.approx([1, 0.5, 0])
    medians = result.medians.set_index("group")["median_months"]
    assert medians["x"] == 1.0
    assert math.isnan(medians["y"])
    assert set(result.curves["grouping"]) == {"segment"}


def _inputs() -> Inputs:
    """As of 1 July 2024:

    - A (SMB, monthly): paying from 1 Jan, still paying → censored at 182 days.
    - B (SMB, monthly): 1 Jan to 1 Mar, back from 1 Apr, still paying. Lifetime: censored at
      182 days; first spell: churned after 60 days (Jan + Feb of a leap year).
    - C (Enterprise, annual): 1 Jul 2023 to 1 Jul 2024, ending exactly at the as-of instant, so
      not paying then: churned after 366 days.
    - D (no segment, monthly): trial 1 to 15 Mar, paid until 15 May: churned after 61 days.
    - E (SMB, monthly): starts 1 Aug 2024, after the as-of date: not in the curves.
    """
    subscriptions = [
        ("a", "A", at(2024, 1, 1), None, None),
        ("b1", "B", at(2024, 1, 1), None, at(2024, 3, 1)),
        ("b2", "B", at(2024, 4, 1), None, None),
        ("c", "C", at(2023, 7, 1), None, at(2024, 7, 1)),
        ("d", "D", at(2024, 3, 1), at(2024, 3, 15), at(2024, 5, 15)),
        ("e", "E", at(2024, 8, 1), None, None),
    ]
    rows: list[dict[str, Any]] = [
        {
            "subscription": sub,
            "account": account,
            "status": "active" if ended is None else "canceled",
            "currency": "USD",
            "started_at": start,
            "trial_ends_at": trial,
            "ended_at": ended,
        }
        for sub, account, start, trial, ended in subscriptions
    ]
    items = [
        {
            "item": f"i{sub}",
            "subscription": sub,
            "unit_amount": Decimal(1200 if sub == "c" else 100),
            "quantity": 1,
            "interval": "year" if sub == "c" else "month",
            "interval_count": 1,
            "discount_percent": Decimal(0),
            "started_at": start,
            "ended_at": None,
        }
        for sub, _, start, _, _ in subscriptions
    ]
    accounts = pa.table(
        {
            "account": ["A", "B", "C", "D", "E"],
            "segment": ["SMB", "SMB", "Enterprise", None, "SMB"],
        }
    )
    return duckdb_inputs(
        {
            "accounts": accounts,
            "subscriptions": pa.Table.from_pylist(rows),
            "subscription_items": pa.Table.from_pylist(items),
        }
    )


def test_account_lifetimes_count_reactivation_as_one_lifetime() -> None:
    lifetimes = account_lifetimes(_inputs(), AS_OF).set_index("account")
    assert list(lifetimes.index) == ["A", "B", "C", "D"]
    assert list(lifetimes["churned"]) == [False, False, True, True]
    expected_days = [182, 182, 366, 61]
    assert list(lifetimes["months"]) == pytest.approx([d / DAYS_PER_MONTH for d in expected_days])
    assert list(lifetimes["plan"]) == ["month", "month", "year", "month"]
    assert list(lifetimes["segment"]) == ["SMB", "SMB", "Enterprise", ""]
    assert lifetimes.loc["D", "first_paid_at"] == pd.Timestamp(at(2024, 3, 15))
    assert lifetimes.loc["C", "ended_at"] == pd.Timestamp(AS_OF)
    assert pd.isna(lifetimes.loc["B", "ended_at"])


def test_account_lifetimes_first_spell_ends_at_the_first_lapse() -> None:
    lifetimes = account_lifetimes(_inputs(), AS_OF, "first_spell").set_index("account")
    assert bool(lifetimes.loc["B", "churned"])
    assert lifetimes.loc["B", "months"] == pytest.approx(60 / DAYS_PER_MONTH)
    assert lifetimes.loc["B", "ended_at"] == pd.Timestamp(at(2024, 3, 1))


def test_survival_curves_per_segment_and_plan() -> None:
    """Portfolio (A+, B+ at 5.98 months, C at 12.02, D at 2.00): D churns first with 4 at
    risk → 3/4; C churns with 1 at risk (A and B censored before) → 0; median 12.02 months.
    Plan "year" is C alone (S drops to 0 at 12.02); segment SMB never churns (null median)."""
    result = survival_curves(_inputs(), AS_OF)
    assert set(result.medians["grouping"]) == {"portfolio", "segment", "plan"}
    portfolio = result.curves[result.curves["grouping"] == "portfolio"]
    assert list(portfolio["survival"]) == pytest.approx([1, 0.75, 0.75, 0])
    assert list(portfolio["at_risk"]) == [4, 4, 3, 1]
    medians = result.medians.set_index(["grouping", "group"])["median_months"]
    assert medians["portfolio", "all"] == pytest.approx(366 / DAYS_PER_MONTH)
    assert medians["plan", "year"] == pytest.approx(366 / DAYS_PER_MONTH)
    assert math.isnan(medians["segment", "SMB"])
    counts = result.medians.set_index(["grouping", "group"])["accounts"]
    assert counts["plan", "month"] == 3
    assert counts["segment", ""] == 1

"""Kaplan-Meier survival of paying accounts, per segment and per plan (lifelines).

An account's lifetime runs from its first paid instant (the first moment an item with a
positive monthly amount counts: trials excluded) to its churn, in months of 365.25 / 12 days.
Conventions:

- **Churn** is the account's last paid instant when no item counts after it (the MRR drops to
  0 and stays 0 until the as-of instant). Accounts paying at the as-of instant are censored
  there; items that only start after it are ignored.
- **Reactivation** (`reactivation="lifetime"`, the default): a lapse followed by a return is
  not a churn; the lifetime runs from the first paid instant to the final stop, the gap
  included — the lifetime that CLV values. `reactivation="first_spell"` ends the lifetime
  at the first lapse instead (a return is then a new customer the curve does not follow).
- **Plan**: the inputs carry no plan id, so an account's plan is the billing interval of its
  first paid item ("month", "year", "3 month", …): monthly and annual customers churn on
  different clocks.
- Confidence intervals are lifelines' (exponential Greenwood, 95 % by default); a median is
  null when the curve never falls to 0.5.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import ibis
import pandas as pd
from lifelines import KaplanMeierFitter

from tend.metrics.grid import PORTFOLIO_KEY
from tend.metrics.inputs import Inputs
from tend.metrics.revenue import item_monthly_amounts

DAYS_PER_MONTH = 365.25 / 12
Reactivation = Literal["lifetime", "first_spell"]
LIFETIME_COLUMNS = ["account", "segment", "plan", "first_paid_at", "ended_at", "months", "churned"]
CURVE_COLUMNS = ["grouping", "group", "months", "survival", "at_risk", "ci_lower", "ci_upper"]
MEDIAN_COLUMNS = ["grouping", "group", "accounts", "churned", "median_months"]


@dataclass(frozen=True)
class SurvivalCurves:
    """Kaplan-Meier curves (CURVE_COLUMNS: one row per group and time the curve is evaluated
    at; `at_risk` is the accounts at risk just before it) and each group's median lifetime
    (MEDIAN_COLUMNS). `grouping` is 'portfolio', 'segment' or 'plan' (any lifetime column)."""

    curves: pd.DataFrame
    medians: pd.DataFrame


def paid_terms(inputs: Inputs, as_of: datetime) -> pd.DataFrame:
    """`account, segment, plan, counts_from, counts_until` of each paid item term that started
    before `as_of` (counts_until null: still counting)."""
    amounts = item_monthly_amounts(inputs.subscription_items, inputs.subscriptions)
    items = inputs.subscription_items
    plans = items.select(
        "item",
        plan=ibis.ifelse(
            items.interval_count.coalesce(1) == 1,
            items.interval,
            items.interval_count.cast("string") + " " + items.interval,
        ),
    )
    paid = amounts.filter((amounts.monthly_amount > 0) & (amounts.counts_from < as_of))
    terms = paid.join(plans, "item")
    accounts = inputs.accounts.select("account", segment=inputs.accounts.segment)
    terms = terms.left_join(accounts, "account")
    frame = inputs.con.to_pyarrow(
        terms.select(
            terms.account,
            segment=terms.segment.coalesce(ibis.literal("")),
            plan=terms.plan.coalesce(ibis.literal("")),
            counts_from=terms.counts_from,
            counts_until=terms.counts_until,
        )
    ).to_pandas()
    return frame.sort_values(["account", "counts_from"], kind="stable").reset_index(drop=True)


def _first_spell_end(terms: pd.DataFrame) -> pd.Timestamp | None:
    """The end of the first uninterrupted paid spell of one account's terms (sorted by start);
    None when it is still running. Terms that touch or overlap form one spell."""
    end: pd.Timestamp | None = None
    for start, until in zip(terms.counts_from, terms.counts_until, strict=True):
        if end is not None and start > end:
            return end
        if pd.isna(until):
            return None
        end = until if end is None else max(end, until)
    return end


def account_lifetimes(
    inputs: Inputs, as_of: datetime, reactivation: Reactivation = "lifetime"
) -> pd.DataFrame:
    """One row per account that ever paid before `as_of` (LIFETIME_COLUMNS): `ended_at` is its
    churn instant (NaT when censored at `as_of`), `months` the lifetime or time to censoring."""
    if reactivation not in ("lifetime", "first_spell"):
        raise ValueError(f"reactivation is 'lifetime' or 'first_spell', not {reactivation!r}")
    cutoff = pd.Timestamp(as_of)
    if cutoff.tzinfo is None:
        raise ValueError("as_of must be an aware UTC datetime")
    rows = []
    for account, terms in paid_terms(inputs, as_of).groupby("account", sort=True):
        first = terms.iloc[0]
        if reactivation == "first_spell":
            end = _first_spell_end(terms)
        else:
            end = None if terms.counts_until.isna().any() else terms.counts_until.max()
        churned = end is not None and end <= cutoff
        stop = end if churned else cutoff
        rows.append(
            {
                "account": account,
                "segment": first.segment,
                "plan": first.plan,
                "first_paid_at": first.counts_from,
                "ended_at": end if churned else pd.NaT,
                "months": (stop - first.counts_from) / pd.Timedelta(days=DAYS_PER_MONTH),
                "churned": churned,
            }
        )
    frame = pd.DataFrame(rows, columns=LIFETIME_COLUMNS)
    frame["ended_at"] = pd.to_datetime(frame["ended_at"], utc=True)
    return frame.astype({"months": "float64", "churned": "bool"})


def _curve(lifetimes: pd.DataFrame, confidence: float) -> tuple[pd.DataFrame, float | None]:
    """One group's Kaplan-Meier curve (months, survival, at_risk, ci_lower, ci_upper), median."""
    fitter = KaplanMeierFitter(alpha=1 - confidence)
    fitter.fit(lifetimes["months"], event_observed=lifetimes["churned"], label="km")
    bounds = fitter.confidence_interval_survival_function_
    curve = pd.DataFrame(
        {
            "months": fitter.survival_function_.index.to_numpy(dtype="float64"),
            "survival": fitter.survival_function_["km"].to_numpy(),
            "at_risk": fitter.event_table["at_risk"].to_numpy(dtype="int64"),
            "ci_lower": bounds.iloc[:, 0].to_numpy(),
            "ci_upper": bounds.iloc[:, 1].to_numpy(),
        }
    )
    median = float(fitter.median_survival_time_)
    return curve, (median if median != float("inf") else None)


def kaplan_meier(
    lifetimes: pd.DataFrame, by: str | None = None, confidence: float = 0.95
) -> SurvivalCurves:
    """Kaplan-Meier curves of `lifetimes` (columns `months`, `churned`, and `by`): one per
    value of the column `by`, or one for the portfolio when `by` is None."""
    grouping = "portfolio" if by is None else by
    keys = pd.Series(PORTFOLIO_KEY, index=lifetimes.index) if by is None else lifetimes[by]
    curves, medians = [], []
    for group, part in lifetimes.groupby(keys, sort=True):
        curve, median = _curve(part, confidence)
        curves.append(curve.assign(grouping=grouping, group=str(group)))
        medians.append(
            {
                "grouping": grouping,
                "group": str(group),
                "accounts": len(part),
                "churned": int(part["churned"].sum()),
                "median_months": median,
            }
        )
    if not curves:
        return SurvivalCurves(
            curves=pd.DataFrame(columns=CURVE_COLUMNS), medians=pd.DataFrame(columns=MEDIAN_COLUMNS)
        )
    return SurvivalCurves(
        curves=pd.concat(curves, ignore_index=True)[CURVE_COLUMNS],
        medians=pd.DataFrame(medians, columns=MEDIAN_COLUMNS).astype({"median_months": "float64"}),
    )


def survival_curves(
    inputs: Inputs,
    as_of: datetime,
    by: Sequence[str] = ("segment", "plan"),
    reactivation: Reactivation = "lifetime",
    confidence: float = 0.95,
) -> SurvivalCurves:
    """Kaplan-Meier curves of paying accounts for the portfolio and per each grouping in `by`,
    stacked (told apart by `grouping`)."""
    lifetimes = account_lifetimes(inputs, as_of, reactivation)
    parts = [kaplan_meier(lifetimes, None, confidence)]
    parts += [kaplan_meier(lifetimes, column, confidence) for column in by]
    return SurvivalCurves(
        curves=pd.concat([p.curves for p in parts], ignore_index=True),
        medians=pd.concat([p.medians for p in parts], ignore_index=True),
    )

"""Cohort tables and both CLVs of kpis.md for a portfolio and its groups (e.g. segments), in
one report for `tend kpi cohorts` and `/api/metrics/cohorts`.

Every table has `grouping` ('portfolio' or the grouping column, e.g. 'segment') and `group`
('all' for the portfolio) first. The sBG model is fitted per group on the survivor curves of
all its monthly cohorts pooled (first spell only, as the model has no reactivation).

- **CLV (simple)** = ARPA * gross margin ÷ monthly logo churn rate. ARPA is per currency, at the
  end of the last month; the churn rate is pooled over the trailing `churn_months` months
  (accounts that stopped paying ÷ accounts paying at the start, summed over the months),
  because one month's rate is too noisy to divide by. Null when no account churned.
- **CLV (model)** = ARPA * gross margin * expected paid months of a new customer under the
  group's sBG fit (current month included), capped at `horizon` months (E[T] is infinite when
  a ≤ 1) and discounted monthly at `discount_rate`. Null when the fit did not converge.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

import ibis
import ibis.expr.types as ir
import pandas as pd
import pyarrow as pa

from tend.metrics.cohorts import (
    account_month_mrr,
    logo_retention_triangle,
    month_index,
    revenue_retention_triangle,
    survivor_counts,
)
from tend.metrics.grid import PORTFOLIO_KEY
from tend.metrics.inputs import Inputs
from tend.metrics.revenue import add_months
from tend.metrics.sbg import (
    DEFAULT_HORIZON_PERIODS,
    HOMOGENEOUS_TOTAL,
    SbgFit,
    fit_sbg_pooled,
    model_clv,
)
from tend.metrics.survival import survival_curves

PROJECTED_MONTHS = 24


@dataclass(frozen=True)
class CohortSettings:
    """How the report values customers."""

    gross_margin: float = 1.0
    """Share of revenue kept after the cost of serving it (kpis.md: default 100 %)."""
    churn_months: int = 12
    """Trailing months the simple CLV's monthly logo churn rate is pooled over."""
    horizon: int | None = DEFAULT_HORIZON_PERIODS
    """Months the model CLV counts at most (None: all, infinite when a ≤ 1 and undiscounted)."""
    discount_rate: float = 0.0
    """Monthly discount rate of the model CLV."""


def clv_simple(arpa: float, gross_margin: float, monthly_logo_churn_rate: float) -> float | None:
    """ARPA * gross margin ÷ monthly logo churn rate; None when the rate is 0 (no churn seen)."""
    if monthly_logo_churn_rate <= 0:
        return None
    return arpa * gross_margin / monthly_logo_churn_rate


def _grouped(table: ir.Table, by: str | None) -> ir.Table:
    """`table` (a triangle grouped by `by`, or ungrouped) with `grouping, group` first."""
    if by is None:
        labelled = table.mutate(
            grouping=ibis.literal("portfolio"), group=ibis.literal(PORTFOLIO_KEY)
        )
    else:
        labelled = table.mutate(grouping=ibis.literal(by), group=table[by]).drop(by)
    return labelled.relocate("grouping", "group")


def _both(
    con: ibis.BaseBackend, build: Callable[..., ir.Table], mrr: ir.Table, inputs: Inputs, by: str
) -> pa.Table:
    """The portfolio's and the groups' versions of a triangle, stacked, as Arrow."""
    portfolio = _grouped(build(mrr), None)
    groups = _grouped(build(mrr, inputs.accounts, by), by)
    stacked = ibis.union(portfolio, groups)
    keys = ["grouping", "group", "cohort_month", "currency", "months_since_start"]
    return con.to_pyarrow(stacked.order_by([k for k in keys if k in stacked.columns]))


def _account_groups(inputs: Inputs, by: str) -> ir.Table:
    """`account, grouping, group` for the portfolio and for each value of `by` ('' if none)."""
    accounts = inputs.accounts
    portfolio = accounts.select(
        "account", grouping=ibis.literal("portfolio"), group=ibis.literal(PORTFOLIO_KEY)
    )
    grouped = accounts.select(
        "account",
        grouping=ibis.literal(by),
        group=accounts[by].cast("string").coalesce(ibis.literal("")),
    )
    return ibis.union(portfolio, grouped)


def arpa_and_churn(
    mrr: ir.Table, inputs: Inputs, by: str, last_month: date, churn_months: int
) -> tuple[ir.Table, ir.Table]:
    """ARPA per group and currency at the end of `last_month` (`grouping, group, currency, mrr,
    paying_accounts, arpa`) and the pooled monthly logo churn rate per group over the trailing
    `churn_months` (`grouping, group, paying_at_start, churned, logo_churn_rate`)."""
    groups = _account_groups(inputs, by)
    at_end = mrr.filter((mrr["month"] == last_month) & (mrr.mrr > 0)).join(groups, "account")
    arpa = at_end.group_by(["grouping", "group", "currency"]).aggregate(
        mrr=at_end.mrr.sum(), paying_accounts=at_end.account.nunique()
    )
    arpa = arpa.mutate(arpa=arpa.mrr.cast("float64") / arpa.paying_accounts)
    paying = mrr.group_by(["account", "month"]).aggregate(paying=(mrr.mrr > 0).any())
    window = ibis.window(group_by=paying.account, order_by=paying["month"])
    paying = paying.mutate(
        before=paying.paying.lag().over(window), month_number=month_index(paying["month"])
    )
    first = month_index(ibis.literal(add_months(last_month, 1 - churn_months)))
    recent = paying.filter((paying.month_number >= first) & (paying["month"] <= last_month))
    recent = recent.filter(recent.before.coalesce(False)).join(groups, "account")
    churn = recent.group_by(["grouping", "group"]).aggregate(
        paying_at_start=recent.account.count(), churned=(~recent.paying).sum()
    )
    churn = churn.mutate(logo_churn_rate=churn.churned.cast("float64") / churn.paying_at_start)
    return arpa, churn


def fit_groups(survivors: pd.DataFrame) -> dict[tuple[str, str], SbgFit]:
    """One pooled sBG fit per (grouping, group) of a survivor table (`survivor_counts` rows
    with `grouping, group`); groups with no cohort seen for a month are left out."""
    fits = {}
    for key, part in survivors.groupby(["grouping", "group"], sort=True):
        cohorts = [
            list(rows.sort_values("months_since_start")["survivors"])
            for _, rows in part.groupby("cohort_month")
        ]
        if max(len(c) for c in cohorts) >= 2:
            fits[(str(key[0]), str(key[1]))] = fit_sbg_pooled(cohorts)
    return fits


SBG_COLUMNS = [
    "grouping",
    "group",
    "alpha",
    "beta",
    "log_likelihood",
    "converged",
    "customers",
    "months",
    "retention_rate",
    "survival",
]
CLV_COLUMNS = [
    "grouping",
    "group",
    "currency",
    "paying_accounts",
    "arpa",
    "logo_churn_rate",
    "clv_simple",
    "clv_model",
]


def _fit_rows(fits: dict[tuple[str, str], SbgFit]) -> pd.DataFrame:
    """Each fit with its projected retention rate and survival for months 1..PROJECTED_MONTHS."""
    rows = []
    for (grouping, group), fit in fits.items():
        rates = fit.retention_rates(PROJECTED_MONTHS)
        survival = fit.survival(PROJECTED_MONTHS)
        for month in range(1, PROJECTED_MONTHS + 1):
            rows.append(
                {
                    "grouping": grouping,
                    "group": group,
                    "alpha": fit.alpha,
                    "beta": fit.beta,
                    "log_likelihood": fit.log_likelihood,
                    "converged": fit.converged,
                    "customers": fit.customers,
                    "months": month,
                    "retention_rate": float(rates[month - 1]),
                    "survival": float(survival[month]),
                }
            )
    return pd.DataFrame(rows, columns=SBG_COLUMNS)


def _clv_rows(
    arpa: pd.DataFrame,
    churn: pd.DataFrame,
    fits: dict[tuple[str, str], SbgFit],
    settings: CohortSettings,
) -> pd.DataFrame:
    """Simple and model CLV per group and currency (CLV_COLUMNS)."""
    rates = {(r.grouping, r.group): r.logo_churn_rate for r in churn.itertuples()}
    rows = []
    for r in arpa.itertuples():
        key = (str(r.grouping), str(r.group))
        rate = rates.get(key)
        fit = fits.get(key)
        simple = None if rate is None else clv_simple(r.arpa, settings.gross_margin, rate)
        model = None
        # A fit whose alpha and beta grow without bound is the geometric limit (no heterogeneity):
        # its retention is constant and its expected lifetime still well defined.
        if fit is not None and (fit.converged or fit.alpha + fit.beta > HOMOGENEOUS_TOTAL):
            model = model_clv(
                r.arpa,
                settings.gross_margin,
                fit,
                discount_rate=settings.discount_rate,
                horizon=settings.horizon,
            )
        rows.append(
            {
                "grouping": key[0],
                "group": key[1],
                "currency": r.currency,
                "paying_accounts": int(r.paying_accounts),
                "arpa": float(r.arpa),
                "logo_churn_rate": rate,
                "clv_simple": simple,
                "clv_model": model,
            }
        )
    return pd.DataFrame(rows, columns=CLV_COLUMNS).sort_values(
        ["grouping", "group", "currency"], ignore_index=True
    )


def cohort_report(
    inputs: Inputs,
    last_month: date,
    *,
    by: str = "segment",
    settings: CohortSettings | None = None,
    as_of: datetime | None = None,
) -> dict[str, pa.Table]:
    """Cohort tables for months up to `last_month`, for the portfolio and per `by`:

    `logo_retention`, `revenue_retention`, `survivors` (triangles), `sbg` (the fit and its
    projected retention and survival for months 1..24), `clv` (per group and currency),
    `survival_curves` and `survival_medians` (Kaplan-Meier per `by` and per plan, as of
    `as_of`, by default the end of `last_month`)."""
    settings = settings or CohortSettings()
    last = last_month.replace(day=1)
    con = inputs.con
    mrr = con.create_table("cohort_mrr", account_month_mrr(inputs, last), overwrite=True)
    survivors = _both(con, survivor_counts, mrr, inputs, by)
    fits = fit_groups(survivors.to_pandas())
    arpa, churn = arpa_and_churn(mrr, inputs, by, last, settings.churn_months)
    known = as_of or datetime.combine(add_months(last, 1), time.min, UTC)
    curves = survival_curves(inputs, known, by=(by, "plan"))
    return {
        "logo_retention": _both(con, logo_retention_triangle, mrr, inputs, by),
        "revenue_retention": _both(con, revenue_retention_triangle, mrr, inputs, by),
        "survivors": survivors,
        "sbg": pa.Table.from_pandas(_fit_rows(fits), preserve_index=False),
        "clv": pa.Table.from_pandas(
            _clv_rows(con.to_pandas(arpa), con.to_pandas(churn), fits, settings),
            preserve_index=False,
        ),
        "survival_curves": pa.Table.from_pandas(curves.curves, preserve_index=False),
        "survival_medians": pa.Table.from_pandas(curves.medians, preserve_index=False),
    }

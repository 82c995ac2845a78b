"""Revenue KPIs of kpis.md for any month or quarter and any scope, in the reporting currency.

MRR is taken at each period's boundaries (m0 at its first instant, m1 at the first instant of the
next period), per account and currency; movements follow kpis.md per account and are summed into
scopes, so per-account movements add up to the portfolio's by construction. Amounts are converted
with the rate valid on the period's last day (see currency.py); each money KPI is also reported
per original currency (dimension = the currency code, unconverted). Day and week grains are left
out: MRR movements are monthly by definition (a quarter compares its two ends).
"""

from __future__ import annotations

import ibis

from tend.metrics.currency import converted, period_rates
from tend.metrics.grid import Grid, as_result, ratio
from tend.metrics.inputs import Inputs
from tend.metrics.kpi import Kpi, KpiPipeline, Unit
from tend.metrics.revenue import first_paid, item_monthly_amounts
from tend.metrics.usage_grid import per_cell, per_scope, values_at_period_ends
from tend.metrics.usage_rollups import usage_rollups
from tend.metrics.usage_windows import days_after

REVENUE_GRAINS = ("month", "quarter")
MOVEMENTS = ("new", "reactivation", "expansion", "contraction", "churn")
MONEY_COLUMNS = ("mrr_start", "mrr_end", *MOVEMENTS)


def _instant(day: ibis.Value) -> ibis.Value:
    """A date as the UTC instant of its midnight."""
    return day.cast("timestamp").cast(ibis.dtype("timestamp('UTC')"))


def _mrr_at(amounts: ibis.Table, periods: ibis.Table, boundary: str, name: str) -> ibis.Table:
    """MRR per account, currency and period at the period's `boundary` (a date column)."""
    at = _instant(periods[boundary])
    live = amounts.join(
        periods,
        [amounts.counts_from <= at, amounts.counts_until.isnull() | (amounts.counts_until > at)],
    )
    return live.group_by(["account", "currency", "grain", "period_start"]).aggregate(
        **{name: live.monthly_amount.sum()}
    )


def account_movements(inputs: Inputs, periods: ibis.Table) -> ibis.Table:
    """Per account, currency and period: mrr_start, mrr_end and the five movements (native
    currency, exact decimals), for every account-currency that ever had an item term."""
    amounts = item_monthly_amounts(inputs.subscription_items, inputs.subscriptions)
    keys = amounts.select("account", "currency").distinct()
    grid = keys.cross_join(periods)
    start = _mrr_at(amounts, periods, "period_start", "m0")
    end = _mrr_at(amounts, periods, "period_end", "m1")
    joined = grid.left_join(start, ["account", "currency", "grain", "period_start"])
    joined = joined.drop(*[c for c in joined.columns if c.endswith("_right")])
    joined = joined.left_join(end, ["account", "currency", "grain", "period_start"])
    joined = joined.drop(*[c for c in joined.columns if c.endswith("_right")])
    joined = joined.left_join(first_paid(amounts), "account").drop("account_right")
    zero = ibis.literal(0).cast(joined.m0.type())
    m0, m1 = joined.m0.coalesce(zero), joined.m1.coalesce(zero)
    returning = joined.first_paid_at.notnull() & (
        joined.first_paid_at < _instant(joined.period_start)
    )
    starts = (m0 == 0) & (m1 > 0)
    return joined.select(
        "account",
        "currency",
        "grain",
        "period_start",
        "period_end",
        mrr_start=m0,
        mrr_end=m1,
        new=ibis.ifelse(starts & ~returning, m1, zero),
        reactivation=ibis.ifelse(starts & returning, m1, zero),
        expansion=ibis.ifelse((m0 > 0) & (m1 > m0), m1 - m0, zero),
        contraction=ibis.ifelse((m1 > 0) & (m1 < m0), m0 - m1, zero),
        churn=ibis.ifelse((m0 > 0) & (m1 == 0), m0, zero),
    ).filter(lambda t: (t.mrr_start != 0) | (t.mrr_end != 0))


def _by_scope(movements: ibis.Table, scopes: ibis.Table, dimension: ibis.Value) -> ibis.Table:
    """Movements summed per period, scope and `dimension`, with account counts."""
    m = movements.join(scopes, "account")
    paying_start, paying_end = m.mrr_start > 0, m.mrr_end > 0
    keys = ["grain", "period_start", "period_end", "scope_type", "scope_key"]
    return (
        m.mutate(dimension=dimension)
        .group_by([*keys, "dimension"])
        .aggregate(
            **{column: m[column].sum().cast("float64") for column in MONEY_COLUMNS},
            paying_at_start=paying_start.sum(),
            paying_at_end=paying_end.sum(),
            churned_accounts=(paying_start & ~paying_end).sum(),
            **{f"{name}_accounts": (m[name] > 0).sum() for name in MOVEMENTS},
        )
    )


def _active_users(inputs: Inputs, periods: ibis.Table, grid: Grid) -> ibis.Table:
    """Distinct users active in the 30 days before each period's end, per scope (for ARPU):
    the 30-day coverage of the usage rollups read on each period's last day."""
    rollups = usage_rollups(inputs)
    cells = per_cell(rollups.account_days, grid, ["day"], ["monthly_users"], rollups.account_codes)
    ends = periods.mutate(last_day=days_after(periods.period_end, -1))
    at_ends = values_at_period_ends(cells, ["cell"], ["monthly_users"], ends)
    scoped = per_scope(at_ends, grid, ["grain", "period_start"], ["monthly_users"])
    return scoped.select(
        "grain", "period_start", "scope_type", "scope_key", active_users=scoped.monthly_users
    )


def _results(totals: ibis.Table, users: ibis.Table | None) -> list[ibis.Table]:
    """One result table per revenue KPI from the per-scope totals."""
    t = totals
    retained = t.mrr_start + t.expansion - t.contraction - t.churn
    net_new = t.new + t.reactivation + t.expansion - t.contraction - t.churn
    out = [
        as_result(t, "mrr", t.mrr_end, t.paying_at_end, t.dimension),
        as_result(t, "arr", t.mrr_end * 12, t.paying_at_end, t.dimension),
        as_result(t, "net_new_mrr", net_new, t.paying_at_end, t.dimension),
        as_result(t, "paying_accounts", t.paying_at_end, t.paying_at_end, t.dimension),
        as_result(t, "nrr", ratio(retained, t.mrr_start), t.paying_at_start, t.dimension),
        as_result(
            t,
            "grr",
            ratio(t.mrr_start - t.contraction - t.churn, t.mrr_start),
            t.paying_at_start,
            t.dimension,
        ),
        as_result(
            t,
            "revenue_churn_rate",
            ratio(t.contraction + t.churn, t.mrr_start),
            t.paying_at_start,
            t.dimension,
        ),
        as_result(
            t,
            "logo_churn_rate",
            ratio(t.churned_accounts, t.paying_at_start),
            t.paying_at_start,
            t.dimension,
        ),
        as_result(t, "arpa", ratio(t.mrr_end, t.paying_at_end), t.paying_at_end, t.dimension),
        as_result(
            t, "customer_growth", ratio(t.expansion, t.mrr_start), t.expansion_accounts, t.dimension
        ),
    ]
    for name in MOVEMENTS:
        out.append(as_result(t, f"mrr_{name}", t[name], t[f"{name}_accounts"], t.dimension))
    if users is not None:
        keys = ["grain", "period_start", "scope_type", "scope_key"]
        with_users = t.filter(t.dimension == "").left_join(users, keys)
        with_users = with_users.drop(*[c for c in with_users.columns if c.endswith("_right")])
        active = with_users.active_users.coalesce(0)
        out.append(as_result(with_users, "arpu", ratio(with_users.mrr_end, active), active, None))
    return out


def revenue_results(inputs: Inputs, grid: Grid) -> ibis.Table:
    """Every revenue KPI for the grid's month and quarter periods and its scopes."""
    periods = grid.periods.filter(grid.periods.grain.isin(REVENUE_GRAINS))
    movements = account_movements(inputs, periods)
    movements = inputs.con.create_table("revenue_account_movements", movements, overwrite=True)
    rates = period_rates(inputs.exchange_rates, periods, grid.reporting_currency)
    in_reporting = converted(movements, rates, grid.reporting_currency, list(MONEY_COLUMNS))
    totals = ibis.union(
        _by_scope(in_reporting, grid.scopes, ibis.literal("")),
        _by_scope(movements, grid.scopes, movements.currency),
    )
    totals = inputs.con.create_table("revenue_totals", totals, overwrite=True)
    users = _active_users(inputs, periods, grid)
    return ibis.union(*_results(totals, users))


def trailing_retention(inputs: Inputs, grid: Grid) -> ibis.Table:
    """Trailing-12-month NRR and GRR on the accounts paying 12 months before each month's end:
    NRR = their MRR now ÷ their MRR then; GRR caps each account's MRR now at its MRR then."""
    months = grid.periods.filter(grid.periods.grain == "month")
    then = months.mutate(boundary=months.period_end - ibis.interval(months=12))
    amounts = item_monthly_amounts(inputs.subscription_items, inputs.subscriptions)
    m0 = _mrr_at(amounts, then, "boundary", "m0")
    m1 = _mrr_at(amounts, months, "period_end", "m1")
    keys = ["account", "currency", "grain", "period_start"]
    pairs = m0.filter(m0.m0 > 0).left_join(m1, keys)
    pairs = pairs.drop(*[c for c in pairs.columns if c.endswith("_right")])
    pairs = pairs.mutate(m1=pairs.m1.coalesce(0)).join(
        months.select("grain", "period_start", "period_end"), ["grain", "period_start"]
    )
    rates = period_rates(inputs.exchange_rates, months, grid.reporting_currency)
    pairs = converted(pairs, rates, grid.reporting_currency, ["m0", "m1"])
    scoped = pairs.join(grid.scopes, "account")
    totals = scoped.group_by(
        ["grain", "period_start", "period_end", "scope_type", "scope_key"]
    ).aggregate(
        m0=scoped.m0.sum(),
        m1=scoped.m1.sum(),
        kept=ibis.least(scoped.m0, scoped.m1).sum(),
        accounts=scoped.account.nunique(),
    )
    return ibis.union(
        as_result(totals, "nrr_12m", ratio(totals.m1, totals.m0), totals.accounts, None),
        as_result(totals, "grr_12m", ratio(totals.kept, totals.m0), totals.accounts, None),
    )


def _kpi(name: str, title: str, unit: Unit, definition: str, better: bool | None = True) -> Kpi:
    return Kpi(name, title, "revenue", unit, definition, better)


REVENUE_KPIS = (
    _kpi("mrr", "MRR", "money", "Normalised monthly amounts of items active at period end."),
    _kpi("arr", "ARR", "money", "12 x MRR."),
    _kpi(
        "net_new_mrr",
        "Net new MRR",
        "money",
        "new + reactivation + expansion - contraction - churn.",
    ),
    _kpi("paying_accounts", "Paying accounts", "count", "Accounts with MRR > 0 at period end."),
    _kpi("mrr_new", "New MRR", "money", "MRR of accounts paying for the first time."),
    _kpi("mrr_reactivation", "Reactivation MRR", "money", "MRR of returning accounts."),
    _kpi("mrr_expansion", "Expansion MRR", "money", "Increases of paying accounts."),
    _kpi(
        "mrr_contraction", "Contraction MRR", "money", "Decreases of still-paying accounts.", False
    ),
    _kpi("mrr_churn", "Churned MRR", "money", "MRR of accounts that stopped paying.", False),
    _kpi(
        "nrr",
        "Net revenue retention",
        "ratio",
        "(start + expansion - contraction - churn) ÷ start, accounts paying at the start.",
    ),
    _kpi("grr", "Gross revenue retention", "ratio", "(start - contraction - churn) ÷ start."),
    _kpi(
        "revenue_churn_rate", "Revenue churn rate", "ratio", "(contraction + churn) ÷ start.", False
    ),
    _kpi(
        "logo_churn_rate",
        "Logo churn rate",
        "ratio",
        "Accounts paying at the start and not at the end ÷ accounts paying at the start.",
        False,
    ),
    _kpi("arpa", "ARPA", "money", "MRR ÷ paying accounts."),
    _kpi("arpu", "ARPU", "money", "MRR ÷ users active in the last 30 days of the period."),
    _kpi(
        "customer_growth",
        "Customer growth",
        "ratio",
        "Expansion MRR ÷ MRR at the start; base = accounts that expanded.",
    ),
)
TRAILING_KPIS = (
    _kpi(
        "nrr_12m",
        "NRR, trailing 12 months",
        "ratio",
        "MRR now of the accounts paying 12 months ago ÷ their MRR then.",
    ),
    _kpi(
        "grr_12m",
        "GRR, trailing 12 months",
        "ratio",
        "As NRR 12m with each account's MRR now capped at its MRR then.",
    ),
)
PIPELINES = (
    KpiPipeline("revenue", REVENUE_KPIS, revenue_results),
    KpiPipeline("revenue_trailing", TRAILING_KPIS, trailing_retention),
)

"""Usage and engagement KPIs as pure Ibis pipelines (kpis.md, "Usage and engagement").

An active user on a day has a row in `usage_daily` that day (it only holds qualifying events).
Users are (account, user) pairs, so distinct-user counts are computed per account and summed into
wider scopes exactly. Trailing windows (WAU, MAU, stickiness, frequency, breadth) end on the
period's last known day: its last day, or the day before as_of's first unknown day while it is
open. Rows exist for a (period, scope) once a user of the scope has been seen by the period's
last day; before that there is nothing to measure. Depth, features and product performance are
in usage_depth.

The work that does not depend on periods or scopes is done once per inputs (usage_rollups:
per account and day, counts and changes of the trailing measures); each grid then sums those rows
per scope cell and reads the measures at its period ends (usage_grid).
"""

from __future__ import annotations

import ibis

from tend.metrics import usage_depth
from tend.metrics.grid import Grid, as_result, ratio
from tend.metrics.inputs import Inputs
from tend.metrics.kpi import KpiPipeline
from tend.metrics.usage_depth import usage_kpi
from tend.metrics.usage_grid import per_cell, per_scope, values_at_period_ends
from tend.metrics.usage_rollups import (
    GRAIN_UNITS,
    OUTCOME_EVENTS,
    next_period_start,
    period_start,
    usage_rollups,
)
from tend.metrics.usage_windows import (
    MONTH_DAYS,
    PERIOD_KEYS,
    assign_periods,
    period_windows,
)

STEP_MEASURES = ("weekly_users", "monthly_users", "monthly_user_days")
ACTIVE_ACCOUNT_COLUMNS = tuple(f"active_accounts_{grain}" for grain in GRAIN_UNITS)
__all__ = ["OUTCOME_EVENTS", "PIPELINES", "compute_activity", "compute_user_churn"]


def compute_activity(inputs: Inputs, grid: Grid) -> ibis.Table:
    """DAU, WAU, MAU, stickiness, active days per user, outcome events and breadth."""
    windows = period_windows(grid)
    rollups = usage_rollups(inputs)
    measures = [*STEP_MEASURES, "users_seen", "active_users", "outcome_events"]
    cells = per_cell(
        rollups.account_days,
        grid,
        ["day"],
        [*measures, *ACTIVE_ACCOUNT_COLUMNS],
        rollups.account_codes,
    )
    trailing = values_at_period_ends(cells, ["cell"], [*STEP_MEASURES, "users_seen"], windows)
    trailing = trailing.filter(trailing.users_seen > 0)

    active = cells.filter(cells.active_users > 0)
    dated = assign_periods(active, windows)
    accounts_entering = ibis.cases(
        *[(dated.grain == grain, dated[f"active_accounts_{grain}"]) for grain in GRAIN_UNITS]
    )
    in_period = dated.group_by(["cell", *PERIOD_KEYS]).aggregate(
        user_days=dated.active_users.sum(),
        outcome_events=dated.outcome_events.sum(),
        active_accounts=accounts_entering.sum(),
    )
    joined = trailing.left_join(in_period, ["cell", *PERIOD_KEYS])
    per_cell_period = joined.select(
        "cell",
        *PERIOD_KEYS,
        *STEP_MEASURES,
        user_days=joined.user_days.coalesce(0),
        outcome_events=joined.outcome_events.coalesce(0),
        active_accounts=joined.active_accounts.coalesce(0),
    )
    t = per_scope(
        per_cell_period,
        grid,
        PERIOD_KEYS,
        [*STEP_MEASURES, "user_days", "outcome_events", "active_accounts"],
    )
    elapsed = windows.select(*PERIOD_KEYS, "elapsed_days")
    t = t.join(elapsed, list(PERIOD_KEYS))
    parts = [
        as_result(t, "dau", ratio(t.user_days, t.elapsed_days), t.user_days, None),
        as_result(t, "wau", t.weekly_users, t.weekly_users, None),
        as_result(t, "mau", t.monthly_users, t.monthly_users, None),
        as_result(
            t,
            "stickiness",
            ratio(t.monthly_user_days / MONTH_DAYS, t.monthly_users),
            t.monthly_users,
            None,
        ),
        as_result(
            t,
            "active_days_per_user",
            ratio(t.monthly_user_days, t.monthly_users),
            t.monthly_users,
            None,
        ),
        as_result(t, "outcome_events", t.outcome_events, t.active_accounts, None),
    ]
    results = ibis.union(*parts, breadth(inputs, grid, windows))
    return results.filter(results.value.notnull())


def breadth(inputs: Inputs, grid: Grid, windows: ibis.Table) -> ibis.Table:
    """Users active in the trailing 30 days ÷ licensed seats, over the accounts live in that
    window (signed up by its last day, not churned before its first); an account without a seat
    count counts the users seen by then instead (usage_rollups.build_live_account_days)."""
    rollups = usage_rollups(inputs)
    cells = per_cell(
        rollups.live_account_days,
        grid,
        ["day"],
        ["live_users", "live_seats"],
        rollups.account_codes,
    )
    at_ends = values_at_period_ends(cells, ["cell"], ["live_users", "live_seats"], windows)
    t = per_scope(at_ends, grid, PERIOD_KEYS, ["live_users", "live_seats"])
    return as_result(t, "breadth", ratio(t.live_users, t.live_seats), t.live_seats, None)


def compute_user_churn(inputs: Inputs, grid: Grid) -> ibis.Table:
    """Users active in the previous period of the same grain and not in this one, in percent of
    the previous period's active users; only for periods complete by as_of. Each user's last
    active day in a period says whether they came back in the next one (usage_rollups)."""
    windows = period_windows(grid)
    complete = windows.filter(windows.complete).select(*PERIOD_KEYS)
    rollups = usage_rollups(inputs)
    account_days = rollups.account_days
    grains = list(GRAIN_UNITS)
    columns = [f"{kind}_{grain}" for grain in grains for kind in ("last", "churned")]
    cells = per_cell(
        account_days.filter(account_days.active_users > 0),
        grid,
        ["day"],
        columns,
        rollups.account_codes,
    )
    parts = []
    for grain in grains:
        leaving = cells.filter(cells[f"last_{grain}"] > 0)
        parts.append(
            leaving.select(
                "cell",
                grain=ibis.literal(grain),
                period_start=next_period_start(grain, period_start(grain, leaving.day)),
                previous_users=leaving[f"last_{grain}"].cast("int64"),
                churned_users=leaving[f"churned_{grain}"].cast("int64"),
            )
        )
    union = ibis.union(*parts)
    per_target = union.join(complete, ["grain", "period_start"])
    per_cell_period = per_target.group_by(["cell", *PERIOD_KEYS]).aggregate(
        previous_users=per_target.previous_users.sum(),
        churned_users=per_target.churned_users.sum(),
    )
    t = per_scope(per_cell_period, grid, PERIOD_KEYS, ["previous_users", "churned_users"])
    value = ratio(t.churned_users * 100, t.previous_users)
    return as_result(t, "user_churn", value, t.previous_users, None)


ACTIVITY_KPIS = (
    usage_kpi(
        "dau",
        "Daily active users",
        "count",
        "Distinct users active on the day; for longer periods the mean over its known days "
        "(base: user-days).",
    ),
    usage_kpi(
        "wau",
        "Weekly active users",
        "count",
        "Distinct users active in the 7 days ending on the period's last known day.",
    ),
    usage_kpi(
        "mau",
        "Monthly active users",
        "count",
        "Distinct users active in the 30 days ending on the period's last known day.",
    ),
    usage_kpi(
        "stickiness",
        "Stickiness (DAU/MAU)",
        "ratio",
        "Mean DAU over the trailing 30 days ÷ MAU (base: MAU).",
    ),
    usage_kpi(
        "active_days_per_user",
        "Active days per user",
        "days",
        "Active days per user active in the trailing 30 days (base: MAU).",
    ),
    usage_kpi(
        "outcome_events",
        "Outcome events",
        "count",
        f"Events that deliver value ({', '.join(OUTCOME_EVENTS)}) in the period "
        "(base: accounts active in it).",
    ),
    usage_kpi(
        "breadth",
        "Breadth of use",
        "ratio",
        "Users active in the trailing 30 days ÷ licensed seats of the accounts live then "
        "(users seen so far where seats are unknown; base: seats).",
    ),
)
USER_CHURN = usage_kpi(
    "user_churn",
    "User churn",
    "percent",
    "Users active in the previous period of the same grain and not in this one ÷ users active "
    "in the previous period; complete periods only (base: previous period's users).",
    better=False,
)

PIPELINES: tuple[KpiPipeline, ...] = (
    KpiPipeline("usage_activity", ACTIVITY_KPIS, compute_activity),
    KpiPipeline("usage_user_churn", (USER_CHURN,), compute_user_churn),
    *usage_depth.PIPELINES,
)

"""Usage and engagement KPIs as pure Ibis pipelines (kpis.md, "Usage and engagement").

An active user on a day has a row in `usage_daily` that day (it only holds qualifying events).
Users are (account, user) pairs, so distinct-user counts are computed per account and summed into
wider scopes exactly. Trailing windows (WAU, MAU, stickiness, frequency, breadth) end on the
period's last known day: its last day, or the day before as_of's first unknown day while it is
open. Rows exist for a (period, scope) once a user of the scope has been seen by the period's
last day; before that there is nothing to measure. Depth, features and product performance are
in usage_depth.
"""

from __future__ import annotations

import ibis

from tend.metrics import usage_depth
from tend.metrics.grid import Grid, as_result, ratio
from tend.metrics.inputs import Inputs
from tend.metrics.kpi import KpiPipeline
from tend.metrics.usage_depth import usage_kpi
from tend.metrics.usage_windows import (
    MONTH_DAYS,
    PERIOD_KEYS,
    SCOPE_KEYS,
    WEEK_DAYS,
    assign_periods,
    coverage_changes,
    days_after,
    in_scopes,
    period_start_of,
    period_windows,
    step_function,
    steps_at_period_ends,
)

OUTCOME_EVENTS: tuple[str, ...] = ("Report Shared", "Automation Run")
"""Events that mean the customer got value from the product (customer ROI): a report shared
with others, an automation run for them. The demo's names (tend.demo.catalog.OUTCOME_EVENTS)."""
STEP_MEASURES = ("weekly_users", "monthly_users", "monthly_user_days", "users_seen")


def active_user_days(inputs: Inputs) -> ibis.Table:
    """Distinct (account, user, day): the days each user was active."""
    return inputs.usage_daily.select("account", "user", "day").distinct()


def daily_activity(inputs: Inputs, user_days: ibis.Table) -> ibis.Table:
    """Per account and day: active users (DAU) and outcome events."""
    daily = user_days.group_by(["account", "day"]).aggregate(active_users=user_days.count())
    usage = inputs.usage_daily
    outcomes = usage.filter(usage.event_name.isin(OUTCOME_EVENTS))
    outcomes = outcomes.group_by(["account", "day"]).aggregate(outcome_events=outcomes.events.sum())
    joined = daily.left_join(outcomes, ["account", "day"])
    return joined.select(
        account=joined.account,
        day=joined.day,
        active_users=joined.active_users,
        outcome_events=joined.outcome_events.coalesce(0),
    )


def trailing_activity(user_days: ibis.Table, daily: ibis.Table, windows: ibis.Table) -> ibis.Table:
    """Per account and period, on its last day: users active in the trailing 7 and 30 days,
    user-days in the trailing 30 days and users seen so far (one step function per account)."""
    zero = ibis.literal(0, type="int64")

    def changes(table: ibis.Table, measure: str, change: ibis.Value) -> ibis.Table:
        values = {name: change if name == measure else zero for name in STEP_MEASURES}
        return table.select("account", "day", **values)

    weekly = coverage_changes(user_days, ["account", "user"], WEEK_DAYS)
    monthly = coverage_changes(user_days, ["account", "user"], MONTH_DAYS)
    leaving = daily.mutate(day=days_after(daily.day, MONTH_DAYS))
    first_days = user_days.group_by(["account", "user"]).aggregate(day=user_days.day.min())
    all_changes = ibis.union(
        changes(weekly, "weekly_users", weekly.change),
        changes(monthly, "monthly_users", monthly.change),
        changes(daily, "monthly_user_days", daily.active_users.cast("int64")),
        changes(leaving, "monthly_user_days", -leaving.active_users.cast("int64")),
        changes(first_days, "users_seen", ibis.literal(1, type="int64")),
    )
    steps = step_function(all_changes, ["account"], STEP_MEASURES)
    return steps_at_period_ends(steps, windows)


def compute_activity(inputs: Inputs, grid: Grid) -> ibis.Table:
    """DAU, WAU, MAU, stickiness, active days per user, outcome events and breadth."""
    windows = period_windows(grid)
    user_days = active_user_days(inputs)
    daily = daily_activity(inputs, user_days)
    trailing = trailing_activity(user_days, daily, windows)
    dated = assign_periods(daily, windows)
    in_period = dated.group_by(["account", *PERIOD_KEYS]).aggregate(
        user_days=dated.active_users.sum(),
        outcome_events=dated.outcome_events.sum(),
    )
    joined = trailing.left_join(in_period, ["account", *PERIOD_KEYS])
    per_account = joined.select(
        "account",
        *PERIOD_KEYS,
        *STEP_MEASURES,
        user_days=joined.user_days.coalesce(0),
        outcome_events=joined.outcome_events.coalesce(0),
        active=ibis.ifelse(joined.user_days.coalesce(0) > 0, 1, 0),
    )
    elapsed = windows.select(*PERIOD_KEYS, "elapsed_days")
    scoped = in_scopes(per_account, grid).join(elapsed, list(PERIOD_KEYS))
    t = scoped.group_by([*PERIOD_KEYS, *SCOPE_KEYS, "elapsed_days"]).aggregate(
        user_days=scoped.user_days.sum(),
        weekly_users=scoped.weekly_users.sum(),
        monthly_users=scoped.monthly_users.sum(),
        monthly_user_days=scoped.monthly_user_days.sum(),
        outcome_events=scoped.outcome_events.sum(),
        active_accounts=scoped.active.sum(),
    )
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
    results = ibis.union(*parts, breadth(inputs, grid, windows, trailing))
    return results.filter(results.value.notnull())


def breadth(inputs: Inputs, grid: Grid, windows: ibis.Table, trailing: ibis.Table) -> ibis.Table:
    """Users active in the trailing 30 days ÷ licensed seats, over the accounts live in that
    window (signed up by its last day, not churned before its first); an account without a seat
    count counts the users seen by then instead."""
    accounts = inputs.accounts.select(
        "account",
        seats=inputs.accounts.seats,
        signup_day=inputs.accounts.signed_up_at.date(),
        churn_day=inputs.accounts.churned_at.date(),
    )
    periods = windows.select(*PERIOD_KEYS, "last_day")
    live = accounts.join(
        periods,
        [
            accounts.signup_day.isnull() | (accounts.signup_day <= periods.last_day),
            accounts.churn_day.isnull()
            | (accounts.churn_day > days_after(periods.last_day, -MONTH_DAYS)),
        ],
    )
    measures = trailing.select("account", *PERIOD_KEYS, "monthly_users", "users_seen")
    joined = live.left_join(measures, ["account", *PERIOD_KEYS])
    users_seen = joined.users_seen.coalesce(0)
    per_account = joined.select(
        account=joined.account,
        grain=joined.grain,
        period_start=joined.period_start,
        period_end=joined.period_end,
        monthly_users=joined.monthly_users.coalesce(0),
        seats=ibis.ifelse(joined.seats.coalesce(0) > 0, joined.seats, users_seen),
    )
    scoped = in_scopes(per_account, grid)
    t = scoped.group_by([*PERIOD_KEYS, *SCOPE_KEYS]).aggregate(
        monthly_users=scoped.monthly_users.sum(), seats=scoped.seats.sum()
    )
    return as_result(t, "breadth", ratio(t.monthly_users, t.seats), t.seats, None)


def compute_user_churn(inputs: Inputs, grid: Grid) -> ibis.Table:
    """Users active in the previous period of the same grain and not in this one, in percent of
    the previous period's active users; only for periods complete by as_of."""
    windows = period_windows(grid)
    user_days = active_user_days(inputs)
    grains = windows.select("grain").distinct()
    expanded = user_days.cross_join(grains)
    active = expanded.select(
        "account", "user", "grain", period_start=period_start_of(expanded.grain, expanded.day)
    ).distinct()
    complete = windows.filter(windows.complete)
    complete = complete.select(
        *PERIOD_KEYS,
        previous_start=period_start_of(complete.grain, days_after(complete.period_start, -1)),
    )
    before = active.rename(previous_start="period_start")
    previous = before.join(complete, ["grain", "previous_start"])
    stayed = active.mutate(stayed=ibis.literal(1))
    joined = previous.left_join(stayed, ["account", "user", "grain", "period_start"])
    per_account = joined.group_by(
        [joined.account, joined.grain, joined.period_start, joined.period_end]
    ).aggregate(
        previous_users=joined.count(),
        churned_users=joined.stayed.isnull().cast("int64").sum(),
    )
    scoped = in_scopes(per_account, grid)
    t = scoped.group_by([*PERIOD_KEYS, *SCOPE_KEYS]).aggregate(
        previous_users=scoped.previous_users.sum(), churned_users=scoped.churned_users.sum()
    )
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

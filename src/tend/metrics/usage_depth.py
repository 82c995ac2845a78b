"""Depth of use, feature use and product performance as pure Ibis pipelines (kpis.md, "Usage and
engagement": depth, feature adoption, unused features, product performance).

Sessions and active minutes come from the rollups per user-day (usage_daily): a user-day's
sessions all get its mean length, so the median session length is the median of user-day means
weighted by their sessions, with lengths rounded to 0.1 minute. Medians are lower medians (the
smallest value with at least half the weight at or below it), computed from counts per value so
that wide scopes never sort raw rows. Features are event names; "tracked" features are the names
seen anywhere in the portfolio by the period's last known day.

Per-account work is done once per inputs (usage_rollups); each grid sums it per scope cell and
reads trailing measures at its period ends (usage_grid).
"""

from __future__ import annotations

from collections.abc import Sequence

import ibis

from tend.metrics.grid import Grid, as_result, ratio
from tend.metrics.inputs import Inputs
from tend.metrics.kpi import Kpi, KpiPipeline, Unit
from tend.metrics.usage_grid import per_cell, per_scope, values_at_period_ends
from tend.metrics.usage_rollups import usage_rollups
from tend.metrics.usage_windows import PERIOD_KEYS, SCOPE_KEYS, assign_periods, period_windows

GROUP_KEYS = [*PERIOD_KEYS, *SCOPE_KEYS]


def weighted_lower_median(
    table: ibis.Table, keys: Sequence[str], value: str, weight: str
) -> ibis.Table:
    """Per `keys`: the lower median of `value` weighted by `weight` (`median`) and the total
    weight (`total`). `table` must hold one row per (keys, value)."""
    group = [table[key] for key in keys]
    cumulative = ibis.cumulative_window(group_by=group, order_by=table[value])
    whole = ibis.window(group_by=group)
    ranked = table.mutate(
        cumulative=table[weight].sum().over(cumulative), total=table[weight].sum().over(whole)
    )
    reached = ranked.filter(ranked.cumulative * 2 >= ranked.total)
    return reached.group_by(list(keys)).aggregate(
        median=reached[value].min(), total=reached.total.max()
    )


def compute_depth(inputs: Inputs, grid: Grid) -> ibis.Table:
    """Median session length (minutes) and events per session of the sessions in each period."""
    windows = period_windows(grid)
    rollups = usage_rollups(inputs)
    daily = per_cell(
        rollups.session_lengths,
        grid,
        ["day", "length"],
        ["events", "sessions"],
        rollups.account_codes,
    )
    dated = assign_periods(daily, windows)
    per_cell_period = dated.group_by(["cell", *PERIOD_KEYS, "length"]).aggregate(
        events=dated.events.sum(), sessions=dated.sessions.sum()
    )
    by_length = per_scope(per_cell_period, grid, [*PERIOD_KEYS, "length"], ["events", "sessions"])
    totals = by_length.group_by(GROUP_KEYS).aggregate(
        events=by_length.events.sum(), sessions=by_length.sessions.sum()
    )
    medians = weighted_lower_median(by_length, GROUP_KEYS, "length", "sessions")
    return ibis.union(
        as_result(medians, "session_minutes_median", medians.median, medians.total, None),
        as_result(
            totals,
            "events_per_session",
            ratio(totals.events, totals.sessions),
            totals.sessions,
            None,
        ),
    )


def tracked_features(inputs: Inputs, windows: ibis.Table) -> ibis.Table:
    """Per period: event names seen anywhere in the portfolio by its last known day."""
    first_seen = usage_rollups(inputs).name_first_days
    periods = windows.select(*PERIOD_KEYS, "last_day")
    seen = first_seen.join(periods, first_seen.first_day <= periods.last_day)
    return seen.group_by(list(PERIOD_KEYS)).aggregate(tracked=seen.count())


def compute_features(inputs: Inputs, grid: Grid) -> ibis.Table:
    """Share of tracked features used per account (median over active accounts), adoption of
    each feature (share of active accounts using it) and unused features, all over the trailing
    30 days. An active account used any event in those days."""
    windows = period_windows(grid)
    rollups = usage_rollups(inputs)
    tracked = tracked_features(inputs, windows)

    counts = per_cell(
        rollups.feature_count_changes, grid, ["features", "day"], ["change"], rollups.account_codes
    )
    counts = per_scope(counts, grid, ["features", "day"], ["change"])
    by_count = values_at_period_ends(counts, [*SCOPE_KEYS, "features"], ["change"], windows)
    by_count = by_count.filter(by_count.change > 0)
    by_count = by_count.select(*GROUP_KEYS, "features", accounts=by_count.change)
    medians = weighted_lower_median(by_count, GROUP_KEYS, "features", "accounts")
    medians = medians.join(tracked, list(PERIOD_KEYS))
    share = as_result(
        medians, "features_used_share", ratio(medians.median, medians.tracked), medians.total, None
    )

    features = per_cell(
        rollups.feature_changes, grid, ["event_name", "day"], ["change"], rollups.account_codes
    )
    features = per_scope(features, grid, ["event_name", "day"], ["change"])
    adopters = values_at_period_ends(features, [*SCOPE_KEYS, "event_name"], ["change"], windows)
    adopters = adopters.filter(adopters.change > 0)
    adopters = rollups.with_names(
        adopters.select(*GROUP_KEYS, "event_name", adopters=adopters.change)
    )
    active = medians.select(*GROUP_KEYS, "tracked", active_accounts=medians.total)
    adoption = adopters.join(active, GROUP_KEYS)
    adoption_result = as_result(
        adoption,
        "feature_adoption",
        ratio(adoption.adopters * 100, adoption.active_accounts),
        adoption.active_accounts,
        adoption.event_name,
    )

    used = adopters.group_by(GROUP_KEYS).aggregate(used=adopters.count())
    unused = active.left_join(used, GROUP_KEYS)
    unused_result = as_result(
        unused,
        "unused_features",
        unused.tracked - unused.used.coalesce(0),
        unused.active_accounts,
        None,
    )
    return ibis.union(share, adoption_result, unused_result)


def compute_performance(inputs: Inputs, grid: Grid) -> ibis.Table:
    """Error rate and p95 page load time per period. Beyond one account-day the p95 is the mean
    of the daily p95s weighted by their page loads (percentiles do not add up exactly)."""
    windows = period_windows(grid)
    daily = inputs.performance_daily
    timed = daily.load_time_p95_ms.notnull() & (daily.page_loads > 0)
    facts = daily.select(
        "account",
        "day",
        events=daily.events,
        errors=daily.errors,
        timed_loads=ibis.ifelse(timed, daily.page_loads, 0),
        weighted_p95=ibis.ifelse(timed, daily.load_time_p95_ms * daily.page_loads, 0.0),
    )
    measures = ["events", "errors", "timed_loads", "weighted_p95"]
    cells = per_cell(facts, grid, ["day"], measures)
    dated = assign_periods(cells, windows)
    per_cell_period = dated.group_by(["cell", *PERIOD_KEYS]).aggregate(
        **{measure: dated[measure].sum() for measure in measures}
    )
    t = per_scope(per_cell_period, grid, PERIOD_KEYS, measures)
    results = ibis.union(
        as_result(t, "error_rate", ratio(t.errors * 100, t.events), t.events, None),
        as_result(t, "load_time_p95_ms", ratio(t.weighted_p95, t.timed_loads), t.timed_loads, None),
    )
    return results.filter(results.value.notnull())


def usage_kpi(
    name: str, title: str, unit: Unit, definition: str, better: bool | None = True
) -> Kpi:
    """A usage-family KPI."""
    return Kpi(name, title, "usage", unit, definition, better)


DEPTH_KPIS = (
    usage_kpi(
        "session_minutes_median",
        "Median session length",
        "minutes",
        "Median length of the period's sessions; each user-day's sessions count at its mean "
        "length (active minutes ÷ sessions, to 0.1 min); lower median (base: sessions).",
    ),
    usage_kpi(
        "events_per_session",
        "Events per session",
        "ratio",
        "Qualifying events ÷ sessions in the period (base: sessions).",
    ),
)
FEATURE_KPIS = (
    usage_kpi(
        "features_used_share",
        "Features used",
        "ratio",
        "Distinct features (event names) an account used in the trailing 30 days ÷ features "
        "tracked; lower median over the scope's active accounts (base: active accounts).",
    ),
    usage_kpi(
        "feature_adoption",
        "Feature adoption",
        "percent",
        "Per feature: accounts that used it in the trailing 30 days ÷ accounts active then "
        "(base: active accounts). Features no account used have no row.",
    ),
    usage_kpi(
        "unused_features",
        "Unused features",
        "count",
        "Tracked features no account in the scope used in the trailing 30 days, for scopes "
        "with an active account (base: active accounts).",
        better=False,
    ),
)
PERFORMANCE_KPIS = (
    usage_kpi(
        "error_rate",
        "Error rate",
        "percent",
        "Events with an error code ÷ qualifying events in the period (base: events).",
        better=False,
    ),
    usage_kpi(
        "load_time_p95_ms",
        "Page load time (p95)",
        "ms",
        "95th percentile page load time: exact per account-day, otherwise the page-load-weighted "
        "mean of the daily p95s (base: timed page loads).",
        better=False,
    ),
)

PIPELINES: tuple[KpiPipeline, ...] = (
    KpiPipeline("usage_depth", DEPTH_KPIS, compute_depth),
    KpiPipeline("usage_features", FEATURE_KPIS, compute_features),
    KpiPipeline("usage_performance", PERFORMANCE_KPIS, compute_performance),
)

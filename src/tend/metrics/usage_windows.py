"""Building blocks the usage KPIs share: which days a period covers, facts assigned to periods, and
trailing-window measures evaluated at period ends without joining every day to every window.

A trailing window of L days that ends on day e holds days e-L+1..e. Counting distinct things in
such windows for every period end would join each day to ~L windows; instead each thing's active
days become *coverage changes* (+1 on the day its coverage starts, -1 L days after its last day in
a run), a running sum turns them into a step function, and each period end reads the step it
falls in (one range join). Everything is standard Ibis, so it runs on DuckDB and PySpark alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

import ibis

from tend.metrics.grid import Grid

GRAIN_UNITS: dict[str, str] = {"day": "D", "week": "W", "month": "M", "quarter": "Q"}
"""Ibis truncation unit of each grain (weeks start on Monday, as in grid.period_start)."""
WEEK_DAYS = 7
MONTH_DAYS = 30
SCOPE_KEYS: tuple[str, ...] = ("scope_type", "scope_key")
PERIOD_KEYS: tuple[str, ...] = ("grain", "period_start", "period_end")


def known_until(as_of: datetime) -> date:
    """The first day whose data is not complete at `as_of` (exclusive end of known days)."""
    moment = as_of.astimezone(UTC) if as_of.tzinfo else as_of
    day = moment.date()
    return day if moment.time() == datetime.min.time() else day + timedelta(days=1)


def days_after(day: ibis.DateValue, days: int) -> ibis.DateValue:
    """`day` shifted by `days` (negative: before), as a date on every backend."""
    return (day + ibis.interval(days=days)).cast("date")


def period_windows(grid: Grid) -> ibis.Table:
    """The grid's periods that have begun by as_of, with the days they cover so far.

    `window_end` = min(period_end, first unknown day) (exclusive), `last_day` = the day before it:
    the day trailing windows end on. `elapsed_days` counts period_start..last_day;
    `complete` is true when the whole period is known.
    """
    until = ibis.literal(known_until(grid.as_of), type="date")
    periods = grid.periods.filter(grid.periods.period_start < until)
    window_end = ibis.least(periods.period_end, until)
    return periods.mutate(
        window_end=window_end,
        last_day=days_after(window_end, -1),
        elapsed_days=window_end.delta(periods.period_start, unit="day"),
        complete=periods.period_end <= until,
    )


def period_start_of(grain: ibis.StringValue, day: ibis.DateValue) -> ibis.DateValue:
    """The first day of the `grain` period holding `day` (grain is a column: one of GRAINS)."""
    starts = [
        (grain == name, day.truncate(unit).cast("date")) for name, unit in GRAIN_UNITS.items()
    ]
    return ibis.cases(*starts)


def assign_periods(facts: ibis.Table, windows: ibis.Table) -> ibis.Table:
    """Each fact row (with a `day`) once per grain, joined to the period holding it, if that
    period is in `windows` and the day is known. An equi-join on the period start (each fact's
    start per grain comes from truncation), so no fact is compared with every period."""
    grains = windows.select("grain").distinct()
    expanded = facts.cross_join(grains)
    expanded = expanded.mutate(period_start=period_start_of(expanded.grain, expanded.day))
    periods = windows.select(*PERIOD_KEYS, "last_day", "elapsed_days", "complete")
    joined = expanded.join(periods, ["grain", "period_start"])
    return joined.filter(joined.day <= joined.last_day)


def coverage_changes(days: ibis.Table, keys: Sequence[str], length: int) -> ibis.Table:
    """For distinct (`keys`, `day`) rows: +1 where a thing's coverage by a trailing window of
    `length` days starts and -1 where it stops (`keys`, `day`, `change`).

    An active day d covers d..d+length-1; consecutive active days closer than `length` + 1 days
    apart keep the coverage going, so each run of coverage yields exactly one +1 and one -1.
    """
    marked = with_neighbours(days, keys)
    return ibis.union(*coverage_parts(marked, keys, length, "change"))


def with_neighbours(days: ibis.Table, keys: Sequence[str]) -> ibis.Table:
    """`days` with each row's previous and next day of the same keys (null at the ends)."""
    window = ibis.window(group_by=[days[key] for key in keys], order_by=days.day)
    return days.mutate(
        previous_day=days.day.lag().over(window), next_day=days.day.lead().over(window)
    )


def coverage_parts(
    marked: ibis.Table, keys: Sequence[str], length: int, measure: str
) -> tuple[ibis.Table, ibis.Table]:
    """From `with_neighbours` rows: the starts (+1 on the day) and stops (-1 `length` days
    after the run's last day) of coverage runs, as (`keys`, `day`, `measure`)."""
    starts = marked.filter(
        marked.previous_day.isnull() | (marked.day.delta(marked.previous_day, unit="day") > length)
    ).select(*keys, day=marked.day, **{measure: ibis.literal(1, type="int64")})
    stops = marked.filter(
        marked.next_day.isnull() | (marked.next_day.delta(marked.day, unit="day") > length)
    ).select(*keys, day=days_after(marked.day, length), **{measure: ibis.literal(-1, type="int64")})
    return starts, stops


def step_function(changes: ibis.Table, keys: Sequence[str], measures: Sequence[str]) -> ibis.Table:
    """Running totals of `measures` (changes per day) per `keys`, as steps: each row holds the
    totals valid from `day` until `next_day` (exclusive; null: for ever)."""
    daily = changes.group_by([*keys, "day"]).aggregate(
        **{measure: changes[measure].sum() for measure in measures}
    )
    running = ibis.cumulative_window(group_by=[daily[key] for key in keys], order_by=daily.day)
    following = ibis.window(group_by=[daily[key] for key in keys], order_by=daily.day)
    return daily.select(
        *keys,
        day=daily.day,
        next_day=daily.day.lead().over(following),
        **{measure: daily[measure].sum().over(running) for measure in measures},
    )


def steps_at_period_ends(steps: ibis.Table, windows: ibis.Table) -> ibis.Table:
    """The step in force on each period's `last_day`: the steps' keys and measures per period."""
    periods = windows.select(*PERIOD_KEYS, "last_day")
    joined = steps.join(
        periods,
        [
            steps.day <= periods.last_day,
            steps.next_day.isnull() | (periods.last_day < steps.next_day),
        ],
    )
    return joined.drop("day", "next_day")


def in_scopes(table: ibis.Table, grid: Grid) -> ibis.Table:
    """Per-account rows repeated for every scope their account belongs to."""
    return table.join(grid.scopes, "account")

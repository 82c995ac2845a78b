"""Where health measures are evaluated, and the set-based building blocks they share.

A measure is evaluated for every account at the end of each requested day D (UTC), using only
facts dated D or earlier ("as of" D). A trailing window of N days at D holds the days
D-N+1..D: a fact dated exactly D-N is out, one dated D-N+1 is in.

Most measures are step functions of time: a count, a sum or a set that changes on the days
facts happen. They are written as *changes* (+x on the day something starts counting, -x on the
day it stops), summed per account and requested day, and turned into values by running sums
over each account's changes, each valid until its next change (see running_values). A
trailing-window sum is the change +x on the fact's day and -x N days later; a distinct count
over a trailing window comes from coverage runs (see tend.metrics.usage_windows). So no fact is
joined to every day it counts in. Medians are the exception: a range window over the facts and
one probe row per account-day.

Everything is standard Ibis (no SQL text), so it runs on DuckDB and PySpark alike.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from tend.metrics.inputs import Inputs
from tend.metrics.usage_windows import days_after

EPOCH = date(1970, 1, 1)
TABLE_PREFIX = "health_measure_"


@dataclass(frozen=True)
class MeasureRequest:
    """One requested measure: the name as asked, its catalog base name, its window in days
    (None for measures without one) and its argument (the trait name of `trait:<name>`)."""

    name: str
    base: str
    window: int | None = None
    argument: str | None = None

    @property
    def days(self) -> int:
        """The window in days (an error for a measure without one)."""
        if self.window is None:
            raise ValueError(f"measure {self.name!r} has no window")
        return self.window


@dataclass
class MeasureFrame:
    """The requested days and the tables every measure is evaluated on.

    `grid` holds the account-days measures are reported for: every account of the inputs that
    had signed up by the requested day (or has no sign-up date), with the day's `position` in
    `days` and the account's `seats`; `existing` is its `account, day`.
    `calendar` maps every date from the first to the last requested day to the `position` of
    the first requested day on or after it, so that a change lands on the first requested day
    it affects.
    """

    inputs: Inputs
    days: tuple[date, ...]
    grid: ibis.Table
    existing: ibis.Table
    calendar: ibis.Table
    longest_windows: dict[str, int] = field(default_factory=dict)
    shared_tables: dict[str, ibis.Table] = field(default_factory=dict)

    @property
    def first_day(self) -> date:
        return self.days[0]

    @property
    def last_day(self) -> date:
        return self.days[-1]

    def in_windows(self, table: ibis.Table, family: str) -> ibis.Table:
        """Rows of `table` whose `day` falls in a requested day's longest trailing window among
        the requested measures of `family` (shared tables hold no more than these)."""
        earliest = self.first_day - timedelta(days=self.longest_windows.get(family, 1) - 1)
        return table.filter(
            table.day >= literal_day(earliest), table.day <= literal_day(self.last_day)
        )

    def shared(self, name: str, build: Callable[[], ibis.Table]) -> ibis.Table:
        """An intermediate table built once per frame and materialised on the backend."""
        if name not in self.shared_tables:
            self.shared_tables[name] = self.inputs.con.create_table(
                TABLE_PREFIX + name, build(), overwrite=True
            )
        return self.shared_tables[name]


def calendar_rows(days: Sequence[date]) -> pa.Table:
    """`day, position` for every date from days[0] to days[-1]: the position in `days` (sorted
    and distinct) of the first requested day on or after it."""
    dates, positions = [], []
    current = days[0]
    for position, requested in enumerate(days):
        while current <= requested:
            dates.append(current)
            positions.append(position)
            current += timedelta(days=1)
    return pa.table(
        {"day": pa.array(dates, pa.date32()), "position": pa.array(positions, pa.int64())}
    )


def make_frame(
    inputs: Inputs, days: Sequence[date], longest_windows: dict[str, int] | None = None
) -> MeasureFrame:
    """The frame of `days` (any order, repeats ignored; at least one) over `inputs`' accounts,
    for trailing windows of at most `longest_windows[family]` days (default 1)."""
    ordered = tuple(sorted(set(days)))
    if not ordered:
        raise ValueError("no days to evaluate measures on")
    con = inputs.con
    day_table = ibis.memtable(
        pa.table(
            {
                "day": pa.array(ordered, pa.date32()),
                "position": pa.array(range(len(ordered)), pa.int64()),
            }
        )
    )
    accounts = inputs.accounts.filter(inputs.accounts.account.notnull())
    accounts = accounts.select("account", "seats", signup_day=accounts.signed_up_at.date())
    everything = accounts.cross_join(day_table)
    signed_up = everything.signup_day.isnull() | (everything.signup_day <= everything.day)
    grid = con.create_table(
        TABLE_PREFIX + "grid",
        everything.filter(signed_up).select("account", "day", "position", "seats"),
        overwrite=True,
    )
    existing = grid.select("account", "day")
    calendar = con.create_table(TABLE_PREFIX + "calendar", calendar_rows(ordered), overwrite=True)
    return MeasureFrame(inputs, ordered, grid, existing, calendar, dict(longest_windows or {}))


def day_number(day: ir.DateValue) -> ir.IntegerValue:
    """Days since 1970-01-01: dates as integers, for differences and range windows."""
    return day.delta(ibis.date(EPOCH), unit="day")


def days_between(later: ir.DateValue, earlier: ir.DateValue) -> ir.IntegerValue:
    """Whole days from `earlier` to `later`."""
    return later.delta(earlier, unit="day")


def literal_day(day: date) -> ir.DateValue:
    return ibis.literal(day, type="date")


@dataclass(frozen=True)
class Running:
    """A measure made of running values: `changes` (`account, day, *columns`) are summed (the
    `sums` columns, starting at 0) or maxed (`maxima`, starting at null) per account over every
    day up to each requested day; `finish` turns a table of `account, day, seats` and those
    columns into the measure's value. All running measures of a request share one pass."""

    changes: ibis.Table
    finish: Callable[[ibis.Table], ir.Value]
    sums: tuple[str, ...] = ()
    maxima: tuple[str, ...] = ()

    @property
    def columns(self) -> tuple[str, ...]:
        return (*self.sums, *self.maxima)


def _landed(frame: MeasureFrame, running: Running, prefix: str) -> ibis.Table:
    """`account, position` and the prefixed columns of `running`'s changes, aggregated per
    account and the requested day they land on (`position` in the frame's days: the first day
    on or after them; earlier ones on the first requested day; later ones dropped)."""
    changes = running.changes
    known = changes.filter(changes.day <= literal_day(frame.last_day), changes.account.notnull())
    landed = known.mutate(day=ibis.greatest(known.day, literal_day(frame.first_day)))
    landed = landed.join(frame.calendar, "day")
    return landed.group_by(["account", "position"]).aggregate(
        **{prefix + column: landed[column].sum() for column in running.sums},
        **{prefix + column: landed[column].max() for column in running.maxima},
    )


def distinct_parts(parts: dict[str, Running]) -> dict[str, str]:
    """Each prefix → the prefix of the first part with the same changes and columns (measures
    that share their running values, like active users and seat utilisation)."""
    canonical: dict[str, str] = {}
    for prefix, running in parts.items():
        canonical[prefix] = next(
            (
                earlier
                for earlier in dict.fromkeys(canonical.values())
                if parts[earlier].sums == running.sums
                and parts[earlier].maxima == running.maxima
                and parts[earlier].changes.equals(running.changes)
            ),
            prefix,
        )
    return canonical


def running_values(frame: MeasureFrame, parts: dict[str, Running]) -> ibis.Table:
    """`account, day, seats` and the columns (named `<prefix><column>`) of the distinct parts
    (see distinct_parts) for the account-days that exist, materialised on the backend.

    All changes land on requested days and are summed per account and day; running sums (or
    maxima) over those sparse rows give steps, each valid from its day until the account's
    next step; each step is unnested into the requested days it covers (positions), and the
    existing account-days take the step covering them (none yet: 0, or null for a maximum).
    """
    distinct = {prefix: parts[prefix] for prefix in dict.fromkeys(distinct_parts(parts).values())}
    landed = [_landed(frame, running, prefix) for prefix, running in distinct.items()]
    reducers = {
        prefix + column: reduce
        for prefix, running in distinct.items()
        for reduce, columns in (("sum", running.sums), ("max", running.maxima))
        for column in columns
    }
    types = {name: table[name].type() for table in landed for name in table.columns[2:]}
    filled = [
        table.select(
            "account",
            "position",
            **{
                name: table[name]
                if name in table.columns
                else (ibis.literal(0) if reducers[name] == "sum" else ibis.null()).cast(kind)
                for name, kind in types.items()
            },
        )
        for table in landed
    ]
    changes = filled[0] if len(filled) == 1 else ibis.union(*filled)
    per_day = changes.group_by(["account", "position"]).aggregate(
        **{
            name: changes[name].sum() if reduce == "sum" else changes[name].max()
            for name, reduce in reducers.items()
        }
    )
    running = ibis.cumulative_window(group_by=per_day.account, order_by=per_day.position)
    following = ibis.window(group_by=per_day.account, order_by=per_day.position)
    steps = per_day.select(
        step_account=per_day.account,
        start=per_day.position,
        stop=per_day.position.lead().over(following).coalesce(len(frame.days)),
        **{
            name: (per_day[name].sum() if reduce == "sum" else per_day[name].max()).over(running)
            for name, reduce in reducers.items()
        },
    )
    covered = steps.mutate(step_position=ibis.range(steps.start, steps.stop).unnest())
    grid = frame.grid
    joined = grid.left_join(
        covered,
        [grid.account == covered.step_account, grid.position == covered.step_position],
    )
    values = joined.select(
        "account",
        "day",
        "seats",
        **{
            name: joined[name].coalesce(0) if reduce == "sum" else joined[name]
            for name, reduce in reducers.items()
        },
    )
    return frame.inputs.con.create_table(TABLE_PREFIX + "running", values, overwrite=True)


def trailing_changes(
    frame: MeasureFrame, facts: ibis.Table, columns: Sequence[str], window: int
) -> ibis.Table:
    """Changes making trailing `window`-day sums of `facts`' (`account, day, *columns`)
    columns: +x on the fact's day, -x `window` days later (facts too old for any requested
    day's window are left out)."""
    earliest = literal_day(frame.first_day - timedelta(days=window - 1))
    recent = facts.filter(facts.day >= earliest)
    starts = recent.select("account", "day", *columns)
    stops = recent.select(
        "account",
        day=days_after(recent.day, window),
        **{column: -recent[column] for column in columns},
    )
    return ibis.union(starts, stops)


def interval_changes(
    intervals: ibis.Table, start: str, stop: str, columns: dict[str, ir.Value]
) -> ibis.Table:
    """Changes for things that count from `start` (a date column) until `stop` (exclusive;
    null: still counting): +value on the start day, -value on the stop day."""
    starts = intervals.select("account", day=intervals[start], **columns)
    ended = intervals.filter(intervals[stop].notnull())
    stops = ended.select(
        "account",
        day=ended[stop],
        **{name: -value for name, value in columns.items()},
    )
    return ibis.union(starts, stops)


def zero_filled(
    changes: ibis.Table, columns: Sequence[str], all_columns: Sequence[str]
) -> ibis.Table:
    """`changes` with every column of `all_columns` it lacks set to 0 (to union change sets)."""
    return changes.select(
        "account",
        "day",
        **{
            column: changes[column] if column in columns else ibis.literal(0, type="int64")
            for column in all_columns
        },
    )


def trailing_median(frame: MeasureFrame, facts: ibis.Table, window: int) -> ibis.Table:
    """`account, day, value`: the median (interpolated) of `facts`' `value` over each requested
    day's trailing `window` days, for every grid row (null without facts).

    A range window over the facts plus one probe row per account-day: the probe's frame holds
    exactly the facts of the days D-N+1..D, so each value is one windowed median.
    """
    earliest = literal_day(frame.first_day - timedelta(days=window - 1))
    kept = facts.filter(
        facts.day >= earliest,
        facts.day <= literal_day(frame.last_day),
        facts.value.notnull(),
    )
    rows = ibis.union(
        kept.select("account", "day", value=kept.value.cast("float64"), probe=ibis.literal(False)),
        frame.grid.select("account", "day", value=ibis.null("float64"), probe=ibis.literal(True)),
    )
    rows = rows.mutate(day_number=day_number(rows.day))
    trailing = ibis.range_window(
        preceding=window - 1, following=0, group_by=rows.account, order_by=rows.day_number
    )
    medians = rows.mutate(median=rows.value.median().over(trailing))
    probes = medians.filter(medians.probe)
    return probes.select("account", "day", value=probes.median)


def ratio(numerator: ir.NumericValue, denominator: ir.NumericValue) -> ir.FloatingValue:
    """numerator / denominator as float64; null when the denominator is 0 or null."""
    return ibis.ifelse(
        denominator.coalesce(0) == 0,
        ibis.null("float64"),
        numerator.cast("float64") / denominator.cast("float64"),
    )

"""The per-grid half of the usage KPIs: scope cells, and measures read at period ends.

Usage facts are additive over accounts (users are (account, user) pairs), so they are summed per
*scope cell* first: a cell is a set of accounts that belong to exactly the same scopes (in the
portfolio, segment and CSM scopes: one per pair of segment and CSM; in the account scope: one per
account). Rows per account and day shrink to rows per cell and day before periods or scopes are
joined; each cell's rows are then added into every scope it belongs to.

Trailing-window measures are step functions of the day (usage_rollups gives their changes); their
values at each period's last known day come from a running sum over the change days and the
period ends together, so no range join compares every step with every period.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import date, timedelta

import ibis
import pyarrow as pa

from tend.metrics.grid import Grid
from tend.metrics.usage_windows import PERIOD_KEYS, SCOPE_KEYS

CELLS_KEY = "scope_cells"
SINGLE_ACCOUNT_CELLS_KEY = "single_account_cells"


def scope_cells(grid: Grid) -> tuple[ibis.Table, ibis.Table]:
    """(`account`, `cell`) and (`cell`, `scope_type`, `scope_key`) for the grid's scopes, made
    once per grid (from its few thousand scope rows, in Python)."""
    cached = grid.derived.get(CELLS_KEY)
    if cached is not None:
        return cached
    scopes = grid.scopes.to_pyarrow().to_pylist()
    memberships: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for row in scopes:
        memberships[row["account"]].append((row["scope_type"], row["scope_key"]))
    cell_of: dict[tuple[tuple[str, str], ...], int] = {}
    accounts, cells = [], []
    for account, member_of in memberships.items():
        key = tuple(sorted(member_of))
        accounts.append(account)
        cells.append(cell_of.setdefault(key, len(cell_of)))
    cell_rows: dict[str, list[object]] = {"cell": [], "scope_type": [], "scope_key": []}
    for key, cell in cell_of.items():
        for scope_type, scope_key in key:
            cell_rows["cell"].append(cell)
            cell_rows["scope_type"].append(scope_type)
            cell_rows["scope_key"].append(scope_key)
    con = grid.periods.get_backend()
    token = uuid.uuid4().hex[:8]
    account_cells = con.create_table(
        f"_cells_{token}",
        pa.table({"account": pa.array(accounts, pa.string()), "cell": pa.array(cells, pa.int64())}),
        overwrite=True,
    )
    cell_scopes = con.create_table(
        f"_cell_scopes_{token}",
        pa.table(
            {
                "cell": pa.array(cell_rows["cell"], pa.int64()),
                "scope_type": pa.array(cell_rows["scope_type"], pa.string()),
                "scope_key": pa.array(cell_rows["scope_key"], pa.string()),
            }
        ),
        overwrite=True,
    )
    grid.derived[CELLS_KEY] = (account_cells, cell_scopes)
    grid.derived[SINGLE_ACCOUNT_CELLS_KEY] = len(cell_of) == len(accounts)
    return account_cells, cell_scopes


def stored(table: ibis.Table, label: str) -> ibis.Table:
    """`table` computed once and kept on its backend under a fresh name: later expressions
    read it instead of recomputing it wherever they refer to it, and stay small to compile."""
    return table.get_backend().create_table(f"_{label}_{uuid.uuid4().hex[:8]}", table)


HORIZON_KEY = "horizon"
HORIZON_DAYS = 100
"""Days before a grid's first period whose facts may still count in it (the previous quarter
of user churn, the trailing 30-day windows)."""


def horizon(grid: Grid) -> date:
    """The first day whose rows the grid's periods need one by one (see per_cell)."""
    cached = grid.derived.get(HORIZON_KEY)
    if cached is None:
        first = grid.periods.period_start.min().to_pyarrow().as_py()
        cached = grid.derived[HORIZON_KEY] = first - timedelta(days=HORIZON_DAYS)
    return cached


def per_cell(
    table: ibis.Table,
    grid: Grid,
    keys: Sequence[str],
    measures: Sequence[str],
    account_codes: ibis.Table | None = None,
) -> ibis.Table:
    """`table`'s per-account rows summed per cell and `keys` (accounts outside the grid's
    scopes drop out; with one account per cell, the rows are only relabelled, not summed). With
    `account_codes` (code, account), `table` keys accounts by code.

    Rows before the grid's `horizon` are summed onto the day before it: that day precedes every
    period, so facts of it count in none, while running totals (changes of trailing measures)
    start from the right value. An incremental grid thus reads a few months, not all history."""
    since = horizon(grid)
    before = ibis.literal(since - timedelta(days=1), type="date")
    table = table.mutate(day=ibis.ifelse(table.day < since, before, table.day))
    account_cells, _ = scope_cells(grid)
    if account_codes is not None:
        coded = account_cells.join(account_codes, "account")
        account_cells = coded.select(account=coded.code, cell=coded.cell)
    joined = table.join(account_cells, "account")
    if grid.derived[SINGLE_ACCOUNT_CELLS_KEY]:
        # One account per cell (the account scope): nothing to add up; every reader of these
        # rows groups them anyway (rows before the horizon may repeat a day).
        return joined.select("cell", *keys, *measures)
    summed = joined.group_by(["cell", *keys]).aggregate(
        **{measure: joined[measure].sum() for measure in measures}
    )
    return stored(summed, "per_cell")


def per_scope(
    table: ibis.Table, grid: Grid, keys: Sequence[str], measures: Sequence[str]
) -> ibis.Table:
    """Per-cell rows summed into every scope of their cell, per `keys`."""
    _, cell_scopes = scope_cells(grid)
    joined = table.join(cell_scopes, "cell")
    summed = joined.group_by([*SCOPE_KEYS, *keys]).aggregate(
        **{measure: joined[measure].sum() for measure in measures}
    )
    return stored(summed, "per_scope")


def values_at_period_ends(
    changes: ibis.Table, keys: Sequence[str], measures: Sequence[str], windows: ibis.Table
) -> ibis.Table:
    """Running totals of `measures` (changes per `keys` and `day`) on each period's `last_day`,
    for the keys with a change by then: (`keys`, grain, period_start, period_end, measures).

    The period ends become rows of zero change per key from its first change on; one running
    sum over both then gives each end its value."""
    zero = ibis.literal(0, type="int64")
    ends = windows.select(day=windows.last_day).distinct()
    firsts = changes.group_by(list(keys)).aggregate(first_day=changes.day.min())
    points = firsts.cross_join(ends)
    points = points.filter(points.day >= points.first_day)
    parts = [
        changes.select(
            *keys, day=changes.day, point=zero, **{m: changes[m].cast("int64") for m in measures}
        ),
        points.select(
            *keys,
            day=points.day,
            point=ibis.literal(1, type="int64"),
            **dict.fromkeys(measures, zero),
        ),
    ]
    union = ibis.union(*parts)
    daily = union.group_by([*keys, "day"]).aggregate(
        point=union.point.max(), **{m: union[m].sum() for m in measures}
    )
    running = ibis.cumulative_window(group_by=[daily[key] for key in keys], order_by=daily.day)
    totals = daily.select(
        *keys, "day", "point", **{m: daily[m].sum().over(running) for m in measures}
    )
    totals = totals.filter(totals.point > 0)
    periods = windows.select(*PERIOD_KEYS, "last_day")
    joined = totals.join(periods, totals.day == periods.last_day)
    return stored(joined.select(*keys, *PERIOD_KEYS, *measures), "at_period_ends")

"""Revenue KPIs from invoices (kpis.md, "Revenue to date" and "Late payment"): revenue to date,
overdue amount and invoices, mean days overdue, late payments in 12 months, and DSO.

Each is a state at a period's cutoff: its end, or `grid.as_of` for a period still running (only
what is known then counts). Conventions, as the inputs carry one status and one `paid_at`:
- draft and void invoices never count (a void invoice was never due);
- an invoice is paid at `paid_at`; before that it owes `amount_due`, and an invoice without
  `paid_at` owes `amount_due - amount_paid` (undated partial payments count from the start);
- uncollectible invoices are written off: never in receivables (the write-off is not dated), but
  still late payments; they count as invoiced in DSO, where the sales did happen.
Money is converted with the rate valid on the period's last day and also reported per currency.

How: every state is a step function of the cutoff. An invoice changes it at an instant (paid at
`paid_at`; open after `issued_at`, overdue after the later of `issued_at` and `due_at`, until
`paid_at`; due at `due_at`) and counts at every cutoff after that instant. The changes are
summed per scope cell (usage_grid.scope_cells: accounts with the same scopes), currency and
instant; one running sum over the changes and the cutoffs then gives each cutoff its state, so
no range join pairs each invoice with every later period of every grain. Late payments in 12
months are the running count at the cutoff less the one 12 months before it. Money is summed in
exact ten-thousandths (inputs carry decimal(18, 4)): what is owed is exactly 0 once paid.
"""

from __future__ import annotations

from datetime import UTC, datetime

import ibis

from tend.metrics.currency import converted, period_rates
from tend.metrics.engine import MICROSECONDS_PER_SECOND, seconds_between
from tend.metrics.grid import Grid, as_result, ratio
from tend.metrics.inputs import Inputs
from tend.metrics.kpi import Kpi, KpiPipeline, Unit
from tend.metrics.usage_grid import scope_cells, stored

GROUP_KEYS = ["grain", "period_start", "period_end", "scope_type", "scope_key"]
CELL_KEYS = ["cell", "currency"]
FACT_KEYS = [*CELL_KEYS, "grain", "period_start", "period_end"]
DSO_GRAINS = ("month", "quarter")  # a day's or a week's invoicing is too lumpy for DSO
LATE_WINDOW_MONTHS = 12
SECONDS_PER_DAY = 86_400
INSTANT = ibis.dtype("timestamp('UTC')")
DAWN = datetime(1900, 1, 1, tzinfo=UTC)
"""Before every change: the lower bound of the first instant's interval (states_at)."""
MONEY_UNITS = 10_000
"""Money is summed as int64 ten-thousandths, exactly (MONEY is decimal(18, 4))."""
# Per cell, currency and period: what each KPI sums. Money is float64 in the row's currency.
FACTS: dict[str, str] = {
    "paid_to_date": "float64",
    "paid_invoices": "int64",
    "receivable": "float64",
    "open_invoices": "int64",
    "overdue": "float64",
    "overdue_invoices": "int64",
    "overdue_days": "float64",
    "due_in_window": "int64",
    "late_in_window": "int64",
    "invoiced": "float64",
    "issued": "int64",
}
MONEY_FACTS = ["paid_to_date", "receivable", "overdue", "invoiced"]
# What the invoices change at an instant (int64; money in MONEY_UNITS, `overdue_due` is the sum
# of the overdue invoices' due instants, in microseconds after grid.as_of).
CHANGES = (
    "paid_amount",
    "paid_count",
    "open_amount",
    "open_count",
    "overdue_amount",
    "overdue_count",
    "overdue_due",
    "due_count",
    "late_count",
)


def days_between(later: ibis.Value, earlier: ibis.Value) -> ibis.Value:
    """Days (with fractions) from `earlier` to `later`."""
    return seconds_between(later, earlier) / SECONDS_PER_DAY


def midnight(day: ibis.Value) -> ibis.Value:
    """A date as the UTC instant of its midnight."""
    return day.cast("timestamp").cast(ibis.dtype("timestamp('UTC')"))


def periods_with_cutoff(grid: Grid) -> ibis.Table:
    """The grid's periods that began before `as_of`, with `cutoff`: the instant their state is
    taken at (the period's end, or `as_of` when it comes first), `opened` (its start) and
    `window_start` (12 months before the cutoff, where late payments start counting)."""
    periods = grid.periods
    as_of = ibis.literal(grid.as_of)
    cutoff = ibis.least(midnight(periods.period_end), as_of)
    periods = periods.mutate(cutoff=cutoff, opened=midnight(periods.period_start)).filter(
        lambda t: t.opened < as_of
    )
    return periods.mutate(window_start=periods.cutoff - ibis.interval(months=LATE_WINDOW_MONTHS))


def units(amount: ibis.Value) -> ibis.Value:
    """A MONEY amount in MONEY_UNITS (int64); a missing one is 0."""
    return (amount * MONEY_UNITS).cast("int64").coalesce(0)


def counted_invoices(inputs: Inputs) -> ibis.Table:
    """Issued invoices that can be owed: not draft, not void; money in MONEY_UNITS."""
    invoices = inputs.invoices
    kept = invoices.filter(invoices.issued_at.notnull() & ~invoices.status.isin(["draft", "void"]))
    return kept.mutate(amount_due=units(kept.amount_due), amount_paid=units(kept.amount_paid))


def _changes(rows: ibis.Table, at: ibis.Value, **values: ibis.Value) -> ibis.Table:
    """`rows` as (account, currency, at, CHANGES): `values`, the others zero."""
    columns = {name: values.get(name, ibis.literal(0)).cast("int64") for name in CHANGES}
    return rows.select("account", "currency", at=at.cast(INSTANT), **columns)


def invoice_changes(invoices: ibis.Table, as_of: ibis.Value) -> ibis.Table:
    """(account, currency, at, CHANGES): what each counted invoice changes, and when. A change
    at `at` counts at every cutoff after it."""
    paid = invoices.filter((invoices.status == "paid") & invoices.paid_at.notnull())

    owed = ibis.ifelse(
        invoices.paid_at.isnull(), invoices.amount_due - invoices.amount_paid, invoices.amount_due
    )
    owing = invoices.mutate(owed=owed).filter(
        lambda t: (t.status != "uncollectible") & (t.owed > 0)
    )
    # Open while issued_at < cutoff <= paid_at (an invoice paid before it was issued never is).
    owing = owing.filter(owing.paid_at.isnull() | (owing.paid_at > owing.issued_at))
    settled = owing.filter(owing.paid_at.notnull())
    overdue = owing.filter(owing.due_at.notnull())
    overdue = overdue.mutate(overdue_from=ibis.greatest(overdue.issued_at, overdue.due_at))
    overdue = overdue.filter(overdue.paid_at.isnull() | (overdue.paid_at > overdue.overdue_from))
    overdue = overdue.mutate(due_micros=overdue.due_at.delta(as_of, unit="microsecond"))
    overdue_settled = overdue.filter(overdue.paid_at.notnull())

    due = invoices.filter(invoices.due_at.notnull())
    # A 'paid' invoice without a paid_at cannot be dated: it counts as paid on time.
    unpaid_now = due.paid_at.isnull() & (due.status != "paid")
    late = unpaid_now | (due.paid_at > due.due_at).coalesce(False)

    return ibis.union(
        _changes(paid, paid.paid_at, paid_amount=paid.amount_paid, paid_count=ibis.literal(1)),
        _changes(owing, owing.issued_at, open_amount=owing.owed, open_count=ibis.literal(1)),
        _changes(settled, settled.paid_at, open_amount=-settled.owed, open_count=ibis.literal(-1)),
        _changes(
            overdue,
            overdue.overdue_from,
            overdue_amount=overdue.owed,
            overdue_count=ibis.literal(1),
            overdue_due=overdue.due_micros,
        ),
        _changes(
            overdue_settled,
            overdue_settled.paid_at,
            overdue_amount=-overdue_settled.owed,
            overdue_count=ibis.literal(-1),
            overdue_due=-overdue_settled.due_micros,
        ),
        _changes(due, due.due_at, due_count=ibis.literal(1), late_count=late.cast("int64")),
    )


def states_at(changes: ibis.Table, instants: ibis.Table) -> ibis.Table:
    """(cell, currency, at, CHANGES): the sum of the changes made before each instant of
    `instants` (one column, `at`), for each cell and currency from its first change on.

    Each change goes to the first instant after it (the instants bound intervals: a change at
    t belongs to the instant whose predecessor is at or before t), then one running sum over
    the instants, with a row of no change for every instant from the first, gives each its
    state: the running sum reads one row per cell, currency and instant, not one per change."""
    zero = ibis.literal(0, type="int64")
    kind = instants.at.type()
    ordered = instants.mutate(previous=instants.at.lag().over(ibis.window(order_by=instants.at)))
    ordered = ordered.mutate(previous=ordered.previous.coalesce(ibis.literal(DAWN).cast(kind)))
    c = changes.select(
        *CELL_KEYS, changed_at=changes.at.cast(kind), **{name: changes[name] for name in CHANGES}
    )
    bucketed = c.join(ordered, [ordered.previous <= c.changed_at, c.changed_at < ordered.at])
    bucketed = bucketed.select(*CELL_KEYS, "at", *CHANGES)
    firsts = bucketed.group_by(CELL_KEYS).aggregate(first_at=bucketed.at.min())
    points = firsts.cross_join(instants)
    points = points.filter(points.at >= points.first_at)
    union = ibis.union(bucketed, points.select(*CELL_KEYS, "at", **dict.fromkeys(CHANGES, zero)))
    summed = union.group_by([*CELL_KEYS, "at"]).aggregate(
        **{name: union[name].sum() for name in CHANGES}
    )
    running = ibis.cumulative_window(group_by=[summed.cell, summed.currency], order_by=summed.at)
    return summed.select(
        *CELL_KEYS, "at", **{name: summed[name].sum().over(running) for name in CHANGES}
    )


def _money(amount: ibis.Value) -> ibis.Value:
    """MONEY_UNITS as float64 money."""
    return amount.cast("float64") / MONEY_UNITS


def invoice_facts(inputs: Inputs, grid: Grid, periods: ibis.Table) -> ibis.Table:
    """FACTS summed per scope cell, currency and period (native currency)."""
    account_cells, _ = scope_cells(grid)
    as_of = ibis.literal(grid.as_of)
    invoices = counted_invoices(inputs)

    changes = invoice_changes(invoices, as_of).join(account_cells, "account")
    summed = changes.group_by([*CELL_KEYS, "at"]).aggregate(
        **{name: changes[name].sum() for name in CHANGES}
    )
    changes = stored(summed, "invoice_changes")  # compiling one expression of it all is slow
    instants = ibis.union(
        periods.select(at=periods.cutoff.cast(INSTANT)),
        periods.select(at=periods.window_start.cast(INSTANT)),
    ).distinct()
    states = stored(states_at(changes, instants), "invoice_states")

    at_cutoff = states.join(periods, states.at == periods.cutoff)
    earlier = states.select(
        *CELL_KEYS,
        window_start=states.at,
        due_before=states.due_count,
        late_before=states.late_count,
    )
    keys = [*CELL_KEYS, "window_start"]
    s = at_cutoff.left_join(earlier, keys)
    s = s.drop(*[f"{key}_right" for key in keys if f"{key}_right" in s.columns])
    overdue_micros = s.overdue_count * s.cutoff.delta(as_of, unit="microsecond") - s.overdue_due
    state_facts = _facts(
        s,
        paid_to_date=s.paid_amount,
        paid_invoices=s.paid_count,
        receivable=s.open_amount,
        open_invoices=s.open_count,
        overdue=s.overdue_amount,
        overdue_invoices=s.overdue_count,
        overdue_days=overdue_micros.cast("float64") / MICROSECONDS_PER_SECOND / SECONDS_PER_DAY,
        due_in_window=s.due_count - s.due_before.coalesce(0),
        late_in_window=s.late_count - s.late_before.coalesce(0),
    )

    monthly = periods.filter(periods.grain.isin(DSO_GRAINS))
    celled = invoices.join(account_cells, "account")
    issued = celled.join(
        monthly, [celled.issued_at >= monthly.opened, celled.issued_at < monthly.cutoff]
    )
    issued_facts = _facts(issued, invoiced=issued.amount_due, issued=ibis.literal(1))

    facts = ibis.union(state_facts, issued_facts)
    summed = facts.group_by(FACT_KEYS).aggregate(**{name: facts[name].sum() for name in FACTS})
    return summed.mutate(**{name: _money(summed[name]) for name in MONEY_FACTS})


def _facts(rows: ibis.Table, **values: ibis.Value) -> ibis.Table:
    """`rows` as FACT_KEYS and FACTS columns: `values`, the others zero; money in MONEY_UNITS."""
    columns = {
        name: (values[name] if name in values else ibis.literal(0)).cast(
            "int64" if name in MONEY_FACTS else kind
        )
        for name, kind in FACTS.items()
    }
    return rows.select(*FACT_KEYS, **columns)


def _by_scope(facts: ibis.Table, cell_scopes: ibis.Table, dimension: ibis.Value) -> ibis.Table:
    """FACTS summed per period, scope and `dimension`."""
    f = facts.mutate(dimension=dimension).join(cell_scopes, "cell")
    return f.group_by([*GROUP_KEYS, "dimension"]).aggregate(
        **{name: f[name].sum().cast(kind) for name, kind in FACTS.items()}
    )


def invoice_results(inputs: Inputs, grid: Grid) -> ibis.Table:
    """Every invoice KPI for the grid's periods and scopes (DSO for months and quarters only).

    Rows exist where there is something to count: revenue to date with a paid invoice, overdue
    amount and count with an open one (zero when none is overdue), mean days overdue with an
    overdue one, late payments with one due in the window, DSO with one issued in the period.
    """
    periods = periods_with_cutoff(grid)
    _, cell_scopes = scope_cells(grid)
    facts = inputs.con.create_table(
        "billing_invoice_facts", invoice_facts(inputs, grid, periods), overwrite=True
    )
    rates = period_rates(inputs.exchange_rates, grid.periods, grid.reporting_currency)
    in_reporting = converted(facts, rates, grid.reporting_currency, MONEY_FACTS)
    totals = ibis.union(
        _by_scope(in_reporting, cell_scopes, ibis.literal("")),
        _by_scope(facts, cell_scopes, facts.currency),
    )
    totals = inputs.con.create_table("billing_invoice_totals", totals, overwrite=True)
    t = totals.join(
        periods.select("grain", "period_start", "cutoff", "opened"), ["grain", "period_start"]
    )
    total = t.filter(t.dimension == "")

    paid = t.filter(t.paid_invoices > 0)
    receivables = t.filter(t.open_invoices > 0)
    overdue = total.filter(total.overdue_invoices > 0)
    due = total.filter(total.due_in_window > 0)
    issued = t.filter(t.grain.isin(DSO_GRAINS) & (t.issued > 0))
    period_days = days_between(issued.cutoff, issued.opened)
    return ibis.union(
        as_result(paid, "revenue_to_date", paid.paid_to_date, paid.paid_invoices, paid.dimension),
        as_result(
            receivables,
            "overdue_amount",
            receivables.overdue,
            receivables.overdue_invoices,
            receivables.dimension,
        ),
        as_result(
            receivables.filter(receivables.dimension == ""),
            "overdue_invoices",
            receivables.overdue_invoices,
            receivables.open_invoices,
            None,
        ),
        as_result(
            overdue,
            "days_overdue_mean",
            ratio(overdue.overdue_days, overdue.overdue_invoices),
            overdue.overdue_invoices,
            None,
        ),
        as_result(due, "late_payments_12m", due.late_in_window, due.due_in_window, None),
        as_result(
            issued,
            "dso",
            ratio(issued.receivable, issued.invoiced) * period_days,
            issued.issued,
            issued.dimension,
        ),
    )


def _kpi(name: str, title: str, unit: Unit, definition: str, better: bool | None = True) -> Kpi:
    return Kpi(name, title, "revenue", unit, definition, better)


INVOICE_KPIS = (
    _kpi(
        "revenue_to_date",
        "Revenue to date",
        "money",
        "Sum of amount_paid of paid invoices paid before the period end.",
    ),
    _kpi(
        "overdue_amount",
        "Overdue amount",
        "money",
        "Amount still owed at the period end on invoices past their due date.",
        False,
    ),
    _kpi(
        "overdue_invoices",
        "Overdue invoices",
        "count",
        "Invoices unpaid and past their due date at the period end; base = open invoices.",
        False,
    ),
    _kpi(
        "days_overdue_mean",
        "Mean days overdue",
        "days",
        "Mean days since the due date of the invoices overdue at the period end.",
        False,
    ),
    _kpi(
        "late_payments_12m",
        "Late payments, 12 months",
        "count",
        "Invoices due in the 12 months before the period end paid after their due date or still"
        " unpaid; base = invoices due then.",
        False,
    ),
    _kpi(
        "dso",
        "Days sales outstanding",
        "days",
        "Receivables at the period end / amount invoiced in the period x days in the period.",
        False,
    ),
)
INVOICE_PIPELINE = KpiPipeline("billing_invoices", INVOICE_KPIS, invoice_results)

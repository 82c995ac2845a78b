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
"""

from __future__ import annotations

import ibis

from tend.metrics.currency import converted, period_rates
from tend.metrics.engine import seconds_between
from tend.metrics.grid import Grid, as_result, ratio
from tend.metrics.inputs import Inputs
from tend.metrics.kpi import Kpi, KpiPipeline, Unit

GROUP_KEYS = ["grain", "period_start", "period_end", "scope_type", "scope_key"]
FACT_KEYS = ["account", "currency", "grain", "period_start", "period_end"]
DSO_GRAINS = ("month", "quarter")  # a day's or a week's invoicing is too lumpy for DSO
LATE_WINDOW_MONTHS = 12
SECONDS_PER_DAY = 86_400
# Per account, currency and period: what each KPI sums. Money is float64 in the row's currency.
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


def days_between(later: ibis.Value, earlier: ibis.Value) -> ibis.Value:
    """Days (with fractions) from `earlier` to `later`."""
    return seconds_between(later, earlier) / SECONDS_PER_DAY


def midnight(day: ibis.Value) -> ibis.Value:
    """A date as the UTC instant of its midnight."""
    return day.cast("timestamp").cast(ibis.dtype("timestamp('UTC')"))


def periods_with_cutoff(grid: Grid) -> ibis.Table:
    """The grid's periods that began before `as_of`, with `cutoff`: the instant their state is
    taken at (the period's end, or `as_of` when it comes first) and `opened` (its start)."""
    periods = grid.periods
    as_of = ibis.literal(grid.as_of)
    cutoff = ibis.least(midnight(periods.period_end), as_of)
    return periods.mutate(cutoff=cutoff, opened=midnight(periods.period_start)).filter(
        lambda t: t.opened < as_of
    )


def counted_invoices(inputs: Inputs) -> ibis.Table:
    """Issued invoices that can be owed: not draft, not void; money as float64."""
    invoices = inputs.invoices
    kept = invoices.filter(invoices.issued_at.notnull() & ~invoices.status.isin(["draft", "void"]))
    return kept.mutate(
        amount_due=kept.amount_due.cast("float64").coalesce(0.0),
        amount_paid=kept.amount_paid.cast("float64").coalesce(0.0),
    )


def _facts(rows: ibis.Table, **values: ibis.Value) -> ibis.Table:
    """`rows` (invoices joined to periods) as FACTS columns: `values`, the others zero."""
    columns = {
        name: (values[name] if name in values else ibis.literal(0)).cast(kind)
        for name, kind in FACTS.items()
    }
    return rows.select(*FACT_KEYS, **columns)


def invoice_facts(inputs: Inputs, periods: ibis.Table) -> ibis.Table:
    """FACTS summed per account, currency and period (native currency)."""
    invoices = counted_invoices(inputs)

    paid = invoices.filter((invoices.status == "paid") & invoices.paid_at.notnull())
    paid = paid.join(periods, paid.paid_at < periods.cutoff)
    paid_facts = _facts(paid, paid_to_date=paid.amount_paid, paid_invoices=ibis.literal(1))

    unpaid = invoices.filter(invoices.status != "uncollectible")
    unpaid = unpaid.join(
        periods,
        [
            unpaid.issued_at < periods.cutoff,
            unpaid.paid_at.isnull() | (unpaid.paid_at >= periods.cutoff),
        ],
    )
    owed = ibis.ifelse(
        unpaid.paid_at.isnull(), unpaid.amount_due - unpaid.amount_paid, unpaid.amount_due
    )
    unpaid = unpaid.mutate(owed=owed).filter(lambda t: t.owed > 0)
    past_due = unpaid.due_at.notnull() & (unpaid.due_at < unpaid.cutoff)
    open_facts = _facts(
        unpaid,
        receivable=unpaid.owed,
        open_invoices=ibis.literal(1),
        overdue=ibis.ifelse(past_due, unpaid.owed, 0.0),
        overdue_invoices=past_due.cast("int64"),
        overdue_days=ibis.ifelse(past_due, days_between(unpaid.cutoff, unpaid.due_at), 0.0),
    )

    due = invoices.filter(invoices.due_at.notnull())
    due = due.join(
        periods,
        [
            due.due_at < periods.cutoff,
            due.due_at >= periods.cutoff - ibis.interval(months=LATE_WINDOW_MONTHS),
        ],
    )
    # A 'paid' invoice without a paid_at cannot be dated: it counts as paid on time.
    unpaid_now = due.paid_at.isnull() & (due.status != "paid")
    late = unpaid_now | (due.paid_at > due.due_at).coalesce(False)
    late_facts = _facts(due, due_in_window=ibis.literal(1), late_in_window=late.cast("int64"))

    monthly = periods.filter(periods.grain.isin(DSO_GRAINS))
    issued = invoices.join(
        monthly,
        [invoices.issued_at >= monthly.opened, invoices.issued_at < monthly.cutoff],
    )
    issued_facts = _facts(issued, invoiced=issued.amount_due, issued=ibis.literal(1))

    facts = ibis.union(paid_facts, open_facts, late_facts, issued_facts)
    return facts.group_by(FACT_KEYS).aggregate(**{name: facts[name].sum() for name in FACTS})


def _by_scope(facts: ibis.Table, scopes: ibis.Table, dimension: ibis.Value) -> ibis.Table:
    """FACTS summed per period, scope and `dimension`."""
    f = facts.mutate(dimension=dimension).join(scopes, "account")
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
    facts = inputs.con.create_table(
        "billing_invoice_facts", invoice_facts(inputs, periods), overwrite=True
    )
    rates = period_rates(inputs.exchange_rates, grid.periods, grid.reporting_currency)
    in_reporting = converted(facts, rates, grid.reporting_currency, MONEY_FACTS)
    totals = ibis.union(
        _by_scope(in_reporting, grid.scopes, ibis.literal("")),
        _by_scope(facts, grid.scopes, facts.currency),
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

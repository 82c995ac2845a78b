"""Revenue KPIs from subscriptions beyond MRR (kpis.md, "Revenue"): trial-to-paid conversion,
renewal rates and simple CLV; `PIPELINES` also carries the invoice KPIs of billing_invoices.py.

Money is converted to the reporting currency with the rate valid on the period's last day and is
also reported per original currency, unconverted (dimension = the currency code), as in
revenue_kpis.py. MRR means the normalised monthly amounts of revenue.py's item terms.
"""

from __future__ import annotations

import ibis

from tend.metrics.billing_invoices import GROUP_KEYS, INVOICE_PIPELINE
from tend.metrics.currency import converted, period_rates
from tend.metrics.grid import Grid, as_result, ratio
from tend.metrics.inputs import Inputs
from tend.metrics.kpi import Kpi, KpiPipeline, Unit
from tend.metrics.revenue import item_monthly_amounts
from tend.metrics.revenue_kpis import account_movements

TRIAL_WINDOW_DAYS = 30
GROSS_MARGIN = 1.0  # kpis.md: configurable, default 100 %
# Months per billing interval; day and week intervals are never renewals.
TERM_MONTHS: dict[str, int] = {"month": 1, "quarter": 3, "half_year": 6, "year": 12}
MAX_RENEWALS = 1200  # anniversaries looked at per subscription: a century of 2-month terms


def month_index(value: ibis.Value) -> ibis.Value:
    """Months since year 0 of a date or instant, to count whole months between two values."""
    return value.year() * 12 + value.month() - 1


def in_periods(facts: ibis.Table, periods: ibis.Table, day: str) -> ibis.Table:
    """Each fact once per period whose days hold its date column `day`."""
    return facts.join(
        periods, [periods.period_start <= facts[day], facts[day] < periods.period_end]
    )


# -- trial-to-paid -------------------------------------------------------------------------------


def trial_to_paid(inputs: Inputs, grid: Grid) -> ibis.Table:
    """Percent of the trials started in each period whose account had MRR > 0 at some instant
    from the trial start to TRIAL_WINDOW_DAYS after it (inclusive, so a 30-day trial that turns
    paid converts). A trial is a subscription with `trial_ends_at`; its cohort is the day of its
    `started_at`. Only trials whose window has closed by `grid.as_of` count, so a recent cohort
    is not diluted by trials that may still convert; base = those trials. An account already
    paying when its trial starts counts as converted (kpis.md measures the account)."""
    subs = inputs.subscriptions
    trials = subs.filter(subs.trial_ends_at.notnull() & subs.started_at.notnull()).select(
        "subscription",
        "account",
        trial_start=subs.started_at,
        trial_day=subs.started_at.date(),
        window_end=subs.started_at + ibis.interval(days=TRIAL_WINDOW_DAYS),
    )
    trials = trials.filter(trials.window_end <= ibis.literal(grid.as_of))
    amounts = item_monthly_amounts(inputs.subscription_items, inputs.subscriptions)
    paying = amounts.filter(amounts.monthly_amount > 0).select(
        "counts_from", "counts_until", payer=amounts.account
    )
    paid_in_window = trials.join(
        paying,
        [
            trials.account == paying.payer,
            paying.counts_from <= trials.window_end,
            paying.counts_until.isnull() | (paying.counts_until > trials.trial_start),
        ],
    )
    paid_trials = paid_in_window.select(paid_trial=paid_in_window.subscription).distinct()
    flagged = trials.left_join(paid_trials, trials.subscription == paid_trials.paid_trial)
    flagged = flagged.mutate(is_paid=flagged.paid_trial.notnull().cast("int64"))
    scoped = in_periods(flagged, grid.periods, "trial_day").join(grid.scopes, "account")
    cohorts = scoped.group_by(GROUP_KEYS).aggregate(
        trials=scoped.count(), paid=scoped.is_paid.sum()
    )
    share = ratio(cohorts.paid * 100, cohorts.trials)
    return as_result(cohorts, "trial_to_paid", share, cohorts.trials, None)


# -- renewals ------------------------------------------------------------------------------------


def multi_month_terms(inputs: Inputs, amounts: ibis.Table) -> ibis.Table:
    """Item terms billed every two months or more (yearly, half-yearly, quarterly, every n
    months): `amounts`' columns plus `term_months`."""
    items = inputs.subscription_items.select("item", "interval", "interval_count")
    terms = amounts.join(items, "item")
    per_interval = terms.interval.cases(*TERM_MONTHS.items(), else_=0)
    term_months = per_interval * ibis.greatest(terms.interval_count.coalesce(1), 1)
    with_length = terms.mutate(term_months=term_months).drop("interval", "interval_count")
    return with_length.filter(with_length.term_months >= 2)


def renewals_due(inputs: Inputs, periods: ibis.Table, as_of: ibis.Value) -> ibis.Table:
    """`account, currency, due_at`: each instant a multi-month term comes up for renewal.

    Renewals fall on the anniversaries of the subscription's billing anchor (its trial end, else
    its start) every `term_months`, not of an item row's own start: an item row is split at any
    mid-term change of price or quantity (billing.actions.sync_subscription_items), while the
    billing cycle keeps its anchor. A renewal is due when a term of that length was counting just
    before the instant (it may end exactly then: not renewed) and the instant is before `as_of`.
    """
    amounts = item_monthly_amounts(inputs.subscription_items, inputs.subscriptions)
    terms = multi_month_terms(inputs, amounts)
    subs = inputs.subscriptions
    anchors = subs.select("subscription", anchor=subs.trial_ends_at.coalesce(subs.started_at))
    cycles = terms.select("subscription", "account", "currency", "term_months").distinct()
    cycles = cycles.join(anchors, "subscription").filter(lambda t: t.anchor.notnull())
    bounds = periods.aggregate(
        first_day=periods.period_start.min(), last_day=periods.period_end.max()
    )
    cycles = cycles.cross_join(bounds)
    anchor_month = month_index(cycles.anchor)
    cycles = cycles.mutate(
        first_renewal=ibis.greatest(
            (month_index(cycles.first_day) - anchor_month - 1) // cycles.term_months, 1
        ),
        last_renewal=(month_index(cycles.last_day) - anchor_month) // cycles.term_months + 1,
    )
    numbers = ibis.memtable({"renewal": list(range(1, MAX_RENEWALS + 1))})
    candidates = cycles.join(
        numbers,
        [numbers.renewal >= cycles.first_renewal, numbers.renewal <= cycles.last_renewal],
    )
    due_at = candidates.anchor + (candidates.renewal * candidates.term_months).as_interval("M")
    candidates = candidates.select(
        "subscription", "term_months", "first_day", "last_day", due_at=due_at
    ).filter(
        lambda t: (
            (t.due_at < as_of) & (t.due_at.date() >= t.first_day) & (t.due_at.date() < t.last_day)
        )
    )
    live = candidates.join(
        terms,
        [
            candidates.subscription == terms.subscription,
            candidates.term_months == terms.term_months,
            terms.counts_from < candidates.due_at,
            terms.counts_until.isnull() | (terms.counts_until >= candidates.due_at),
        ],
    )
    return live.select(terms.account, terms.currency, candidates.due_at).distinct()


def renewal_mrr(inputs: Inputs, renewals: ibis.Table) -> ibis.Table:
    """Each renewal with the account's MRR in its currency just before the due instant
    (`mrr_due`) and at it (`mrr_renewed`); renewals with nothing due are dropped."""
    amounts = item_monthly_amounts(inputs.subscription_items, inputs.subscriptions)
    terms = amounts.select(
        "monthly_amount", "counts_from", "counts_until", payer="account", paid_in="currency"
    )
    around = renewals.join(
        terms,
        [
            renewals.account == terms.payer,
            renewals.currency == terms.paid_in,
            terms.counts_from <= renewals.due_at,
            terms.counts_until.isnull() | (terms.counts_until >= renewals.due_at),
        ],
    )
    zero = ibis.literal(0).cast(around.monthly_amount.type())
    before = around.counts_from < around.due_at
    after = around.counts_until.isnull() | (around.counts_until > around.due_at)
    sums = around.group_by(["account", "currency", "due_at"]).aggregate(
        mrr_due=ibis.ifelse(before, around.monthly_amount, zero).sum(),
        mrr_renewed=ibis.ifelse(after, around.monthly_amount, zero).sum(),
    )
    return sums.filter(sums.mrr_due > 0).mutate(
        mrr_kept=lambda t: ibis.least(t.mrr_due, t.mrr_renewed)
    )


def renewal_rates(inputs: Inputs, grid: Grid) -> ibis.Table:
    """Gross and net renewal rates of the renewals due in each period (see `renewals_due`).

    MRR due is the account's MRR in the renewal's currency just before the due instant; renewed
    MRR is its MRR at that instant, so an upgrade at renewal raises net (gross caps it at the MRR
    due). It is the account's whole MRR, so monthly items change it too, and two renewals of one
    account on different days each count its MRR. base = renewals due.
    """
    as_of = ibis.literal(grid.as_of)
    renewals = renewal_mrr(inputs, renewals_due(inputs, grid.periods, as_of))
    renewals = inputs.con.create_table("billing_renewals", renewals, overwrite=True)
    dated = in_periods(renewals.mutate(due_day=renewals.due_at.date()), grid.periods, "due_day")
    money = ["mrr_due", "mrr_renewed", "mrr_kept"]
    rates = period_rates(inputs.exchange_rates, grid.periods, grid.reporting_currency)
    in_reporting = converted(dated, rates, grid.reporting_currency, money)
    totals = ibis.union(
        _renewal_totals(in_reporting, grid.scopes, ibis.literal("")),
        _renewal_totals(dated, grid.scopes, dated.currency),
    )
    t = inputs.con.create_table("billing_renewal_totals", totals, overwrite=True)
    return ibis.union(
        as_result(t, "renewal_rate_gross", ratio(t.mrr_kept, t.mrr_due), t.renewals, t.dimension),
        as_result(t, "renewal_rate_net", ratio(t.mrr_renewed, t.mrr_due), t.renewals, t.dimension),
    )


def _renewal_totals(renewals: ibis.Table, scopes: ibis.Table, dimension: ibis.Value) -> ibis.Table:
    """Renewal MRR summed per period, scope and `dimension`, with the count of renewals."""
    r = renewals.mutate(dimension=dimension).join(scopes, "account")
    return r.group_by([*GROUP_KEYS, "dimension"]).aggregate(
        mrr_due=r.mrr_due.sum().cast("float64"),
        mrr_renewed=r.mrr_renewed.sum().cast("float64"),
        mrr_kept=r.mrr_kept.sum().cast("float64"),
        renewals=r.count(),
    )


# -- CLV -----------------------------------------------------------------------------------------


def clv_simple(inputs: Inputs, grid: Grid) -> ibis.Table:
    """Simple CLV per month: ARPA x GROSS_MARGIN / logo churn rate of the month, from the same
    per-account movements as revenue_kpis.py (ARPA = MRR at the end / accounts paying then;
    logo churn = accounts paying at the start and not at the end / accounts paying at the
    start; accounts counted per currency, as there). Null when nobody churned; month grain only,
    as the churn rate is monthly. base = accounts paying at the end."""
    months = grid.periods.filter(grid.periods.grain == "month")
    movements = account_movements(inputs, months)
    movements = inputs.con.create_table("billing_clv_movements", movements, overwrite=True)
    rates = period_rates(inputs.exchange_rates, months, grid.reporting_currency)
    in_reporting = converted(movements, rates, grid.reporting_currency, ["mrr_end"])
    totals = ibis.union(
        _paying_totals(in_reporting, grid.scopes, ibis.literal("")),
        _paying_totals(movements, grid.scopes, movements.currency),
    )
    arpa = ratio(totals.mrr_end, totals.paying_at_end)
    churn_rate = ratio(totals.churned, totals.paying_at_start)
    clv = ratio(arpa * GROSS_MARGIN, churn_rate)
    return as_result(totals, "clv_simple", clv, totals.paying_at_end, totals.dimension)


def _paying_totals(movements: ibis.Table, scopes: ibis.Table, dimension: ibis.Value) -> ibis.Table:
    """MRR at the end and paying / churned account counts per period, scope and `dimension`."""
    m = movements.mutate(dimension=dimension).join(scopes, "account")
    paying_start, paying_end = m.mrr_start > 0, m.mrr_end > 0
    return m.group_by([*GROUP_KEYS, "dimension"]).aggregate(
        mrr_end=m.mrr_end.sum().cast("float64"),
        paying_at_start=paying_start.sum(),
        paying_at_end=paying_end.sum(),
        churned=(paying_start & ~paying_end).sum(),
    )


# -- registry ------------------------------------------------------------------------------------


def _kpi(name: str, title: str, unit: Unit, definition: str, better: bool | None = True) -> Kpi:
    return Kpi(name, title, "revenue", unit, definition, better)


TRIAL_KPIS = (
    _kpi(
        "trial_to_paid",
        "Trial-to-paid conversion",
        "percent",
        f"Trials started in the period whose account paid within {TRIAL_WINDOW_DAYS} days of the"
        " start / trials started (cohorts whose window has closed).",
    ),
)
RENEWAL_KPIS = (
    _kpi(
        "renewal_rate_gross",
        "Gross renewal rate",
        "ratio",
        "MRR after renewals due in the period, capped at the MRR due / MRR due.",
    ),
    _kpi(
        "renewal_rate_net",
        "Net renewal rate",
        "ratio",
        "MRR after renewals due in the period / MRR due (upgrades at renewal count).",
    ),
)
CLV_KPIS = (
    _kpi(
        "clv_simple",
        "Customer lifetime value (simple)",
        "money",
        "ARPA x gross margin / monthly logo churn rate.",
    ),
)
PIPELINES: tuple[KpiPipeline, ...] = (
    KpiPipeline("billing_trials", TRIAL_KPIS, trial_to_paid),
    KpiPipeline("billing_renewals", RENEWAL_KPIS, renewal_rates),
    KpiPipeline("billing_clv", CLV_KPIS, clv_simple),
    INVOICE_PIPELINE,
)

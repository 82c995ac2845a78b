"""Support KPIs from tickets as pure Ibis pipelines (kpis.md, "Support").

Tickets opened in a period feed the volume KPIs and the first response time; tickets resolved in a
period feed first-contact resolution and the resolution time. Only what is known by `grid.as_of`
counts: a ticket opened before it, a response or a resolution before it. A (period, scope) with no
ticket to count has no row (no row means zero tickets, or no value for a time or a share).
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from tend.metrics.engine import seconds_between
from tend.metrics.grid import Grid, as_result, ratio
from tend.metrics.inputs import Inputs
from tend.metrics.kpi import Kpi, KpiPipeline, Unit

GROUP_KEYS = ["grain", "period_start", "period_end", "scope_type", "scope_key"]
SECONDS_PER_HOUR = 3600
NO_VALUE = "(none)"  # the dimension label of a ticket without a topic or a priority


def hours_between(later: ir.TimestampValue, earlier: ir.TimestampValue) -> ir.FloatingValue:
    """Hours from `earlier` to `later`, to the microsecond on every engine."""
    return seconds_between(later, earlier) / SECONDS_PER_HOUR


def in_periods_and_scopes(facts: ibis.Table, grid: Grid) -> ibis.Table:
    """Each fact once per period whose days hold its `day`, and once per scope of its account."""
    periods = grid.periods
    dated = facts.join(periods, [periods.period_start <= facts.day, facts.day < periods.period_end])
    return dated.join(grid.scopes, "account")


def accounts_in_periods(inputs: Inputs, grid: Grid) -> ibis.Table:
    """Accounts in each scope that existed during each period: signed up before its end (or no
    sign-up date) and not churned before its start; churns after as_of are not known yet."""
    as_of = ibis.literal(grid.as_of)
    accounts = inputs.accounts.filter(
        inputs.accounts.signed_up_at.isnull() | (inputs.accounts.signed_up_at < as_of)
    )
    known_churn = ibis.ifelse(accounts.churned_at < as_of, accounts.churned_at, ibis.null())
    accounts = accounts.select(
        "account", signup_day=accounts.signed_up_at.date(), churn_day=known_churn.date()
    )
    periods = grid.periods
    existing = accounts.join(
        periods,
        [
            accounts.signup_day.isnull() | (accounts.signup_day < periods.period_end),
            accounts.churn_day.isnull() | (accounts.churn_day >= periods.period_start),
        ],
    ).join(grid.scopes, "account")
    return existing.group_by(GROUP_KEYS).aggregate(accounts=existing.count())


def compute_opened(inputs: Inputs, grid: Grid) -> ibis.Table:
    """Tickets opened, tickets per account and escalated share (total, by topic, by priority)
    and first response time percentiles of the tickets opened in each period."""
    as_of = ibis.literal(grid.as_of)
    tickets = inputs.tickets.filter(inputs.tickets.opened_at < as_of)
    responded = (
        tickets.first_response_at.notnull()
        & (tickets.first_response_at < as_of)
        & (tickets.first_response_at >= tickets.opened_at)
    )
    tickets = tickets.mutate(
        day=tickets.opened_at.date(),
        escalated=tickets.escalated.coalesce(False),
        response_hours=ibis.ifelse(
            responded, hours_between(tickets.first_response_at, tickets.opened_at), ibis.null()
        ),
    )
    scoped = in_periods_and_scopes(tickets, grid)
    totals = scoped.group_by(GROUP_KEYS).aggregate(
        tickets=scoped.count(),
        escalated=scoped.escalated.sum(),
        responded=scoped.response_hours.count(),
        # Exact percentiles on DuckDB (quantile_cont) and Spark (percentile), both interpolated.
        response_median=scoped.response_hours.median(),
        response_p90=scoped.response_hours.quantile(0.9),
    )
    by_kind = ibis.union(
        scoped.mutate(dimension="topic:" + scoped.topic.coalesce(NO_VALUE)),
        scoped.mutate(dimension="priority:" + scoped.priority.coalesce(NO_VALUE)),
    )
    split = by_kind.group_by([*GROUP_KEYS, "dimension"]).aggregate(tickets=by_kind.count())
    counts = ibis.union(
        totals.select(*GROUP_KEYS, dimension=ibis.literal(""), tickets="tickets"), split
    )
    per_account = counts.join(accounts_in_periods(inputs, grid), GROUP_KEYS)
    per_account = per_account.filter(per_account.accounts > 0)
    answered = totals.filter(totals.responded > 0)
    return ibis.union(
        as_result(counts, "tickets_opened", counts.tickets, counts.tickets, counts.dimension),
        as_result(
            per_account,
            "tickets_per_account",
            ratio(per_account.tickets, per_account.accounts),
            per_account.accounts,
            per_account.dimension,
        ),
        as_result(
            totals,
            "escalated_share",
            100 * ratio(totals.escalated, totals.tickets),
            totals.tickets,
            None,
        ),
        as_result(
            answered,
            "first_response_hours_median",
            answered.response_median,
            answered.responded,
            None,
        ),
        as_result(
            answered, "first_response_hours_p90", answered.response_p90, answered.responded, None
        ),
    )


def compute_resolved(inputs: Inputs, grid: Grid) -> ibis.Table:
    """First-contact resolution and resolution time percentiles of the tickets resolved in each
    period. FCR leaves out tickets whose agent reply count is unknown."""
    as_of = ibis.literal(grid.as_of)
    tickets = inputs.tickets.filter(
        inputs.tickets.resolved_at.notnull(), inputs.tickets.resolved_at < as_of
    )
    timed = tickets.opened_at.notnull() & (tickets.opened_at <= tickets.resolved_at)
    first_contact = (tickets.agent_replies <= 1) & (tickets.reopened_count.coalesce(0) == 0)
    tickets = tickets.mutate(
        day=tickets.resolved_at.date(),
        resolved_first_contact=ibis.ifelse(
            tickets.agent_replies.isnull(), ibis.null(), first_contact
        ),
        resolution_hours=ibis.ifelse(
            timed, hours_between(tickets.resolved_at, tickets.opened_at), ibis.null()
        ),
    )
    scoped = in_periods_and_scopes(tickets, grid)
    totals = scoped.group_by(GROUP_KEYS).aggregate(
        with_replies=scoped.resolved_first_contact.count(),
        first_contact=scoped.resolved_first_contact.sum(),
        timed=scoped.resolution_hours.count(),
        # Exact percentiles on DuckDB (quantile_cont) and Spark (percentile), both interpolated.
        resolution_median=scoped.resolution_hours.median(),
        resolution_p90=scoped.resolution_hours.quantile(0.9),
    )
    fcr = totals.filter(totals.with_replies > 0)
    timed_rows = totals.filter(totals.timed > 0)
    return ibis.union(
        as_result(
            fcr,
            "first_contact_resolution",
            100 * ratio(fcr.first_contact, fcr.with_replies),
            fcr.with_replies,
            None,
        ),
        as_result(
            timed_rows,
            "resolution_hours_median",
            timed_rows.resolution_median,
            timed_rows.timed,
            None,
        ),
        as_result(
            timed_rows, "resolution_hours_p90", timed_rows.resolution_p90, timed_rows.timed, None
        ),
    )


def support_kpi(
    name: str, title: str, unit: Unit, definition: str, higher_is_better: bool | None
) -> Kpi:
    """A KPI of the support family."""
    return Kpi(name, title, "support", unit, definition, higher_is_better)


OPENED_KPIS = (
    support_kpi(
        "tickets_opened",
        "Tickets opened",
        "count",
        "Tickets opened in the period; also split by 'topic:<topic>' and 'priority:<priority>'",
        None,
    ),
    support_kpi(
        "tickets_per_account",
        "Tickets per account",
        "ratio",
        "Tickets opened in the period / accounts of the scope that existed in it "
        "(signed up before its end, not churned before its start); split as tickets_opened",
        False,
    ),
    support_kpi(
        "escalated_share",
        "Escalated tickets",
        "percent",
        "Escalated tickets / tickets opened in the period x 100",
        False,
    ),
    support_kpi(
        "first_response_hours_median",
        "First response time (median)",
        "hours",
        "Median hours from opening to the first response, tickets opened in the period "
        "that have one",
        False,
    ),
    support_kpi(
        "first_response_hours_p90",
        "First response time (p90)",
        "hours",
        "90th percentile of hours from opening to the first response, tickets opened in the "
        "period that have one",
        False,
    ),
)

RESOLVED_KPIS = (
    support_kpi(
        "first_contact_resolution",
        "First-contact resolution",
        "percent",
        "Tickets resolved in the period with at most one agent reply and never reopened / "
        "tickets resolved in the period x 100",
        True,
    ),
    support_kpi(
        "resolution_hours_median",
        "Resolution time (median)",
        "hours",
        "Median hours from opening to resolution of the tickets resolved in the period",
        False,
    ),
    support_kpi(
        "resolution_hours_p90",
        "Resolution time (p90)",
        "hours",
        "90th percentile of hours from opening to resolution, tickets resolved in the period",
        False,
    ),
)

PIPELINES: tuple[KpiPipeline, ...] = (
    KpiPipeline(name="support_opened", kpis=OPENED_KPIS, compute=compute_opened),
    KpiPipeline(name="support_resolved", kpis=RESOLVED_KPIS, compute=compute_resolved),
)

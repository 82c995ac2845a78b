"""Engagement with us, advocacy and the team's own KPIs as pure Ibis pipelines (kpis.md, "Usage
and engagement: Engagement with us" and "Team and advocacy").

Only what is known by `grid.as_of` counts: touchpoints, sign-ups, churns and contacts before it.
KPIs "at the end of a period" are taken at the period end, or at the end of as_of's day for the
period not over yet (a touchpoint on that day is 1 day old), and have no row for a period that
starts after as_of. A (period, scope) without anything to count has no row.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import ibis

from tend.metrics.grid import Grid, as_result, ratio
from tend.metrics.inputs import Inputs
from tend.metrics.kpi import Kpi, KpiPipeline, Unit
from tend.metrics.support import GROUP_KEYS, NO_VALUE, hours_between, in_periods_and_scopes


def known_until_day(as_of: datetime) -> date:
    """The exclusive end day of what is known: as_of's day, or the next one if as_of is past
    midnight (UTC)."""
    instant = as_of.astimezone(UTC)
    day = instant.date()
    return day if instant.time() == time(0) else day + timedelta(days=1)


def known_touchpoints(inputs: Inputs, grid: Grid) -> ibis.Table:
    """Touchpoints that occurred before as_of, with the `day` they occurred on."""
    touchpoints = inputs.touchpoints
    known = touchpoints.filter(touchpoints.occurred_at < ibis.literal(grid.as_of))
    return known.mutate(day=known.occurred_at.date())


def known_accounts(inputs: Inputs, grid: Grid) -> ibis.Table:
    """`account, signup_day, churn_day` of the accounts signed up before as_of (or without a
    sign-up date); a churn after as_of is not known yet (null)."""
    as_of = ibis.literal(grid.as_of)
    accounts = inputs.accounts
    accounts = accounts.filter(accounts.signed_up_at.isnull() | (accounts.signed_up_at < as_of))
    known_churn = ibis.ifelse(accounts.churned_at < as_of, accounts.churned_at, ibis.null())
    return accounts.select(
        "account", signup_day=accounts.signed_up_at.date(), churn_day=known_churn.date()
    )


def period_ends(grid: Grid) -> ibis.Table:
    """The periods that start before as_of, with `reference_day`: the day their end-of-period
    state is taken at (their end, or as_of's for the period not over yet)."""
    known_until = known_until_day(grid.as_of)
    periods = grid.periods.filter(grid.periods.period_start < known_until)
    return periods.mutate(reference_day=ibis.least(periods.period_end, ibis.literal(known_until)))


def compute_touchpoint_engagement(inputs: Inputs, grid: Grid) -> ibis.Table:
    """Touchpoints (total and by kind), mean satisfaction where asked, and days since the last
    touchpoint (median over the scope's accounts)."""
    scoped = in_periods_and_scopes(known_touchpoints(inputs, grid), grid)
    rated = scoped.satisfaction.between(1, 5)
    totals = scoped.group_by(GROUP_KEYS).aggregate(
        touchpoints=scoped.count(),
        rated=rated.sum(),
        satisfaction=scoped.satisfaction.mean(where=rated),
    )
    kinds = scoped.mutate(dimension="kind:" + scoped.kind.coalesce(NO_VALUE))
    by_kind = kinds.group_by([*GROUP_KEYS, "dimension"]).aggregate(touchpoints=kinds.count())
    counts = ibis.union(
        totals.select(*GROUP_KEYS, dimension=ibis.literal(""), touchpoints="touchpoints"), by_kind
    )
    rated_totals = totals.filter(totals.rated > 0)
    recency = days_since_last_touchpoint(inputs, grid)
    return ibis.union(
        as_result(counts, "touchpoints", counts.touchpoints, counts.touchpoints, counts.dimension),
        as_result(
            rated_totals,
            "touchpoint_satisfaction",
            rated_totals.satisfaction,
            rated_totals.rated,
            None,
        ),
        as_result(recency, "days_since_last_touchpoint", recency.days, recency.accounts, None),
    )


def days_since_last_touchpoint(inputs: Inputs, grid: Grid) -> ibis.Table:
    """Per period and scope: median over accounts of reference_day - day of the account's last
    touchpoint before it (`days`), and the number of `accounts`: those in the book then (see
    compute_book_of_business) that had a touchpoint."""
    touch_days = known_touchpoints(inputs, grid).select("account", "day").distinct()
    following = ibis.window(group_by=touch_days.account, order_by=touch_days.day)
    touch_days = touch_days.mutate(next_day=touch_days.day.lead().over(following))
    periods = period_ends(grid)
    # The last touch day before a reference day is the one whose next touch day is not before it.
    latest = touch_days.join(
        periods,
        [
            touch_days.day < periods.reference_day,
            touch_days.next_day.isnull() | (touch_days.next_day >= periods.reference_day),
        ],
    )
    accounts = known_accounts(inputs, grid)
    live = latest.join(accounts, "account")
    live = live.filter(
        live.signup_day.isnull() | (live.signup_day < live.reference_day),
        live.churn_day.isnull() | (live.churn_day >= live.reference_day),
    )
    live = live.mutate(days=live.reference_day.delta(live.day, unit="day"))
    scoped = live.join(grid.scopes, "account")
    # Exact median on DuckDB (quantile_cont) and Spark (percentile), both interpolated.
    return scoped.group_by(GROUP_KEYS).aggregate(days=scoped.days.median(), accounts=scoped.count())


def compute_advocacy(inputs: Inputs, grid: Grid) -> ibis.Table:
    """Referral share of the accounts signed up in each period, and champions who moved to a
    new account, counted in the period they first appeared there and in the new account's
    scopes."""
    as_of = ibis.literal(grid.as_of)
    accounts = inputs.accounts
    signups = accounts.filter(accounts.signed_up_at < as_of)
    signups = signups.select(
        "account", day=signups.signed_up_at.date(), referred=signups.referred.coalesce(False)
    )
    scoped_signups = in_periods_and_scopes(signups, grid)
    referrals = scoped_signups.group_by(GROUP_KEYS).aggregate(
        signups=scoped_signups.count(), referred=scoped_signups.referred.sum()
    )
    contacts = inputs.contacts
    moved = contacts.filter(
        contacts.previous_account.notnull(),
        contacts.previous_account != contacts.account,
        contacts.first_seen_at < as_of,
    )
    moved = moved.select("account", "contact", day=moved.first_seen_at.date())
    scoped_moves = in_periods_and_scopes(moved, grid)
    moves = scoped_moves.group_by(GROUP_KEYS).aggregate(contacts=scoped_moves.count())
    return ibis.union(
        as_result(
            referrals,
            "referral_share",
            100 * ratio(referrals.referred, referrals.signups),
            referrals.signups,
            None,
        ),
        as_result(moves, "champion_moves", moves.contacts, moves.contacts, None),
    )


def compute_team_responsiveness(inputs: Inputs, grid: Grid) -> ibis.Table:
    """Median hours from each inbound touchpoint to the next outbound one on the same account
    (strictly later), by the inbound one's period; unanswered ones by as_of are left out."""
    touchpoints = known_touchpoints(inputs, grid)
    touchpoints = touchpoints.filter(touchpoints.direction.isin(["inbound", "outbound"]))
    outbound = touchpoints.direction == "outbound"
    # At the same instant outbound rows sort first, so they fall outside an inbound row's frame.
    onwards = ibis.window(
        group_by=touchpoints.account,
        order_by=[touchpoints.occurred_at, ibis.ifelse(outbound, 0, 1)],
        rows=(0, None),
    )
    replied = touchpoints.mutate(
        reply_at=ibis.ifelse(outbound, touchpoints.occurred_at, ibis.null()).min().over(onwards)
    )
    inbound = replied.filter(replied.direction == "inbound", replied.reply_at.notnull())
    inbound = inbound.mutate(reply_hours=hours_between(inbound.reply_at, inbound.occurred_at))
    scoped = in_periods_and_scopes(inbound, grid)
    # Exact median on DuckDB (quantile_cont) and Spark (percentile), both interpolated.
    replies = scoped.group_by(GROUP_KEYS).aggregate(
        hours=scoped.reply_hours.median(), messages=scoped.count()
    )
    return as_result(replies, "team_responsiveness_hours", replies.hours, replies.messages, None)


def compute_book_of_business(inputs: Inputs, grid: Grid) -> ibis.Table:
    """Accounts in each scope at the end of each period: signed up by then (or without a
    sign-up date) and not churned before it."""
    accounts = known_accounts(inputs, grid)
    periods = period_ends(grid)
    book = accounts.join(
        periods,
        [
            accounts.signup_day.isnull() | (accounts.signup_day < periods.reference_day),
            accounts.churn_day.isnull() | (accounts.churn_day >= periods.reference_day),
        ],
    ).join(grid.scopes, "account")
    counts = book.group_by(GROUP_KEYS).aggregate(accounts=book.count())
    return as_result(counts, "book_accounts", counts.accounts, counts.accounts, None)


def team_kpi(
    name: str, title: str, unit: Unit, definition: str, higher_is_better: bool | None = True
) -> Kpi:
    """A KPI of the team family."""
    return Kpi(name, title, "team", unit, definition, higher_is_better)


ENGAGEMENT_KPIS = (
    team_kpi(
        "touchpoints",
        "Touchpoints",
        "count",
        "Touchpoints (emails, calls, meetings, chats …) in the period; also by 'kind:<kind>'",
    ),
    team_kpi(
        "touchpoint_satisfaction",
        "Touchpoint satisfaction",
        "score",
        "Mean 1-5 satisfaction of the touchpoints in the period where it was asked",
    ),
    team_kpi(
        "days_since_last_touchpoint",
        "Days since the last touchpoint",
        "days",
        "Period end - day of the account's last touchpoint before it; median over the "
        "scope's accounts in the book then that had one",
        False,
    ),
)

ADVOCACY_KPIS = (
    team_kpi(
        "referral_share",
        "Referral share",
        "percent",
        "Accounts signed up in the period from a referral or a returning champion / "
        "accounts signed up in the period x 100",
    ),
    team_kpi(
        "champion_moves",
        "Champion moves",
        "count",
        "Contacts first seen in the period at an account other than their previous one, "
        "counted at the new account",
    ),
)

RESPONSIVENESS_KPIS = (
    team_kpi(
        "team_responsiveness_hours",
        "Team responsiveness",
        "hours",
        "Median hours from an inbound touchpoint in the period to the next outbound one on "
        "the same account",
        False,
    ),
)

BOOK_KPIS = (
    team_kpi(
        "book_accounts",
        "Accounts in the book",
        "count",
        "Accounts signed up by the period end and not churned before it",
        None,
    ),
)

PIPELINES: tuple[KpiPipeline, ...] = (
    KpiPipeline("team_touchpoints", ENGAGEMENT_KPIS, compute_touchpoint_engagement),
    KpiPipeline("team_advocacy", ADVOCACY_KPIS, compute_advocacy),
    KpiPipeline("team_responsiveness", RESPONSIVENESS_KPIS, compute_team_responsiveness),
    KpiPipeline("team_book", BOOK_KPIS, compute_book_of_business),
)

"""Usage rolled up once per set of inputs, before any period or scope is known, so that every usage
KPI of every grid reads small pre-aggregated tables instead of `usage_daily`.

`usage_daily` has a row per (account, user, day, event name): on the demo company it is nearly as
long as the raw events. The rollups here are built from it once (and kept on the backend as
tables, see `usage_rollups`), then shared by every usage pipeline and every grid:

- `user_days` (account, user, day): events, sessions, active minutes (and, when a reader made
  it, the user's previous and next active days);
- `name_days` (account, event_name, day): events;
- `account_days` (account, day): what happens to each account on each day, as counts and as
  *changes* of trailing-window measures (kpis.md: WAU, MAU, stickiness; usage_windows explains
  coverage changes): users active, outcome events, +1/-1 where a user's 7- and 30-day coverage
  starts and stops, user-days entering and leaving the 30-day window, users seen for the first
  time, active accounts entering a new period of each grain, and for user churn per grain the
  users whose last active day in their period this is (`last_<grain>`) and those of them not
  active in the next period (`churned_<grain>`);
- `live_account_days` (account, day): changes of the breadth measures over the days an account is
  live (signed up, not churned for 30 days): its users active in 30 days and its seats (or the
  users seen so far where seats are unknown);
- `session_lengths` (account, day, length): sessions and events per user-day mean length;
- `feature_changes` (account, event_name, day): +1/-1 where a feature's 30-day use starts/stops;
- `feature_count_changes` (account, day, features): +1/-1 where an account starts/stops counting
  among the accounts using that many features in the trailing 30 days;
- `name_first_days` (event_name): the first day the name was seen anywhere.

Everything is standard Ibis, so it runs on DuckDB and PySpark alike.
"""

from __future__ import annotations

import uuid
from datetime import date
from functools import cached_property

import ibis

from tend.metrics.inputs import Inputs
from tend.metrics.usage_windows import (
    GRAIN_UNITS,
    MONTH_DAYS,
    WEEK_DAYS,
    coverage_changes,
    coverage_parts,
    days_after,
    with_neighbours,
)

GRAINS_AFTER: dict[str, int] = {"day": 1, "week": 7, "month": 31, "quarter": 92}
"""Days after a period's start that always land in the next period of the grain."""
OUTCOME_EVENTS: tuple[str, ...] = ("Report Shared", "Automation Run")
"""Events that mean the customer got value from the product (customer ROI): a report shared
with others, an automation run for them. The demo's names (tend.demo.catalog.OUTCOME_EVENTS)."""
SESSION_LENGTH_DIGITS = 1
ALWAYS = date(1900, 1, 1)
"""The day changes are dated on when they hold since for ever (an account without sign-up)."""
ACCOUNT_DAY_MEASURES: tuple[str, ...] = (
    "active_users",
    "outcome_events",
    "weekly_users",
    "monthly_users",
    "monthly_user_days",
    "users_seen",
    *(f"active_accounts_{grain}" for grain in GRAIN_UNITS),
    *(f"last_{grain}" for grain in GRAIN_UNITS),
    *(f"churned_{grain}" for grain in GRAIN_UNITS),
)
ROLLUPS_KEY = "usage_rollups"
ROLLUPS: tuple[str, ...] = (
    "user_days",
    "name_days",
    "account_days",
    "live_account_days",
    "session_lengths",
    "feature_changes",
    "feature_count_changes",
    "name_first_days",
)
"""Every rollup, in an order where each one's inputs come first."""


def period_start(grain: str, day: ibis.DateValue) -> ibis.DateValue:
    """The first day of the `grain` period holding `day`."""
    return day.truncate(GRAIN_UNITS[grain]).cast("date")


EPOCH = date(1970, 1, 1)
"""A Thursday: Monday-based weeks are numbered from the Monday three days before it."""


def period_number(grain: str, day: ibis.DateValue) -> ibis.IntegerValue:
    """The `grain` period holding `day` as a number that grows by one from each period to the
    next (cheaper to compare than truncated dates)."""
    if grain == "day":
        return day.delta(ibis.literal(EPOCH, type="date"), unit="day")
    if grain == "week":
        return (day.delta(ibis.literal(EPOCH, type="date"), unit="day") + 3).floordiv(7)
    months = day.year() * 12 + day.month() - 1
    return months if grain == "month" else months.floordiv(3)


def next_period_start(grain: str, start: ibis.DateValue) -> ibis.DateValue:
    """The first day of the period after the `grain` period starting on `start`."""
    return period_start(grain, days_after(start, GRAINS_AFTER[grain]))


def usage_rollups(inputs: Inputs) -> UsageRollups:
    """The rollups of `inputs`, built on first use and kept with them."""
    rollups = inputs.derived.get(ROLLUPS_KEY)
    if not isinstance(rollups, UsageRollups):
        rollups = inputs.derived[ROLLUPS_KEY] = UsageRollups(inputs)
    return rollups


class UsageRollups:
    """The rollups of one set of inputs; each is computed (and stored as a table on the inputs'
    backend) the first time a pipeline asks for it."""

    def __init__(
        self,
        inputs: Inputs,
        user_days: ibis.Table | None = None,
        name_days: ibis.Table | None = None,
        account_codes: ibis.Table | None = None,
        name_codes: ibis.Table | None = None,
    ) -> None:
        """Rollups built from `inputs.usage_daily`, or from `user_days` and `name_days` made by
        a reader that had them at hand. Such a reader may key accounts and event names by
        integer codes: `account_codes` (code, account) and `name_codes` (code, event_name) then
        map them back, and every rollup keeps the codes (see `per_cell`, `with_names`)."""
        self.inputs = inputs
        self.token = uuid.uuid4().hex[:8]
        self.account_codes = account_codes
        self.name_codes = name_codes
        if user_days is not None:
            self.__dict__["user_days"] = user_days
        if name_days is not None:
            self.__dict__["name_days"] = name_days

    def with_names(self, table: ibis.Table) -> ibis.Table:
        """`table` with its `event_name` as text (it holds codes when the rollups do)."""
        if self.name_codes is None:
            return table
        codes = self.name_codes
        joined = table.join(codes, table.event_name == codes.code)
        return joined.select(
            *[joined[c] if c != "event_name" else codes.event_name for c in table.columns]
        )

    def keyed_accounts(self) -> ibis.Table:
        """The accounts input with `account` keyed as in the rollups."""
        accounts = self.inputs.accounts
        if self.account_codes is None:
            return accounts
        joined = accounts.join(self.account_codes, "account")
        return joined.mutate(account=joined.code).drop("code")

    def outcome_days(self) -> ibis.Table:
        """The `name_days` rows of outcome events (OUTCOME_EVENTS)."""
        names = self.name_days
        if self.name_codes is None:
            return names.filter(names.event_name.isin(OUTCOME_EVENTS))
        codes = self.name_codes.filter(self.name_codes.event_name.isin(OUTCOME_EVENTS))
        return names.semi_join(codes, names.event_name == codes.code)

    def _stored(self, name: str, table: ibis.Table) -> ibis.Table:
        return self.inputs.con.create_table(f"_usage_{name}_{self.token}", table, overwrite=True)

    @cached_property
    def user_days(self) -> ibis.Table:
        usage = self.inputs.usage_daily
        return self._stored(
            "user_days",
            usage.group_by(["account", "user", "day"]).aggregate(
                events=usage.events.sum(),
                sessions=usage.sessions.sum(),
                active_minutes=usage.active_minutes.sum(),
            ),
        )

    @cached_property
    def name_days(self) -> ibis.Table:
        usage = self.inputs.usage_daily
        return self._stored(
            "name_days",
            usage.group_by(["account", "event_name", "day"]).aggregate(events=usage.events.sum()),
        )

    @cached_property
    def account_days(self) -> ibis.Table:
        return self._stored("account_days", build_account_days(self.user_days, self.outcome_days()))

    @cached_property
    def live_account_days(self) -> ibis.Table:
        return self._stored(
            "live_account_days", build_live_account_days(self.keyed_accounts(), self.account_days)
        )

    @cached_property
    def session_lengths(self) -> ibis.Table:
        days = self.user_days.filter(self.user_days.sessions > 0)
        lengths = days.mutate(
            length=(days.active_minutes / days.sessions).round(SESSION_LENGTH_DIGITS)
        )
        return self._stored(
            "session_lengths",
            lengths.group_by(["account", "day", "length"]).aggregate(
                events=lengths.events.sum(), sessions=lengths.sessions.sum()
            ),
        )

    @cached_property
    def feature_changes(self) -> ibis.Table:
        names = self.name_days.select("account", "event_name", "day")
        changes = coverage_changes(names, ["account", "event_name"], MONTH_DAYS)
        return self._stored(
            "feature_changes",
            changes.group_by(["account", "event_name", "day"]).aggregate(
                change=changes.change.sum()
            ),
        )

    @cached_property
    def feature_count_changes(self) -> ibis.Table:
        return self._stored("feature_count_changes", count_changes(self.feature_changes))

    @cached_property
    def name_first_days(self) -> ibis.Table:
        names = self.name_days
        return self._stored(
            "name_first_days", names.group_by("event_name").aggregate(first_day=names.day.min())
        )


def _flag(condition: ibis.BooleanValue) -> ibis.IntegerValue:
    return ibis.ifelse(condition, 1, 0).cast("int64")


def build_account_days(user_days: ibis.Table, outcome_days: ibis.Table) -> ibis.Table:
    """Per (account, day): the counts and changes listed in the module docstring."""
    if {"previous_day", "next_day"} <= set(user_days.columns):  # a reader had them at hand
        marked = user_days.select("account", "user", "day", "previous_day", "next_day")
    else:
        marked = with_neighbours(user_days.select("account", "user", "day"), ["account", "user"])
    zero = ibis.literal(0, type="int64")
    previous, following = marked.previous_day, marked.next_day
    per_user = {
        "active_users": ibis.literal(1, type="int64"),
        "weekly_users": _flag(
            previous.isnull() | (marked.day.delta(previous, unit="day") > WEEK_DAYS)
        ),
        "monthly_users": _flag(
            previous.isnull() | (marked.day.delta(previous, unit="day") > MONTH_DAYS)
        ),
        "monthly_user_days": ibis.literal(1, type="int64"),
        "users_seen": _flag(previous.isnull()),
    }
    for grain in GRAIN_UNITS:
        number = period_number(grain, marked.day)
        following_number = period_number(grain, following)
        last = following.isnull() | (following_number != number)
        stays = following.notnull() & (following_number == number + 1)
        per_user[f"last_{grain}"] = _flag(last)
        per_user[f"churned_{grain}"] = _flag(last & ~stays)
    user_rows = marked.select("account", "day", **per_user)
    stop_rows = []
    for measure, length in (("weekly_users", WEEK_DAYS), ("monthly_users", MONTH_DAYS)):
        _, stops = coverage_parts(marked, ["account", "user"], length, measure)
        stop_rows.append(stops)
    active = user_rows.group_by(["account", "day"]).aggregate(
        **{name: user_rows[name].sum() for name in per_user}
    )
    leaving = active.select(
        "account",
        day=days_after(active.day, MONTH_DAYS),
        monthly_user_days=-active.active_users,
    )
    outcomes = outcome_days.select(
        "account", "day", outcome_events=outcome_days.events.cast("int64")
    )
    parts = [active, leaving, outcomes, *stop_rows]

    def filled(part: ibis.Table) -> ibis.Table:
        return part.select(
            "account",
            "day",
            **{
                name: part[name].cast("int64") if name in part.columns else zero
                for name in ACCOUNT_DAY_MEASURES
                if not name.startswith("active_accounts_")
            },
        )

    union = ibis.union(*[filled(part) for part in parts])
    summed = union.group_by(["account", "day"]).aggregate(
        **{name: union[name].sum() for name in union.columns if name not in ("account", "day")}
    )
    # An account is active in a period from its first active day in it (for counting accounts).
    active_days = summed.filter(summed.active_users > 0).select("account", "day")
    window = ibis.window(group_by=active_days.account, order_by=active_days.day)
    before = active_days.mutate(previous_day=active_days.day.lag().over(window))
    firsts = before.select(
        "account",
        "day",
        **{
            f"active_accounts_{grain}": _flag(
                before.previous_day.isnull()
                | (period_number(grain, before.previous_day) != period_number(grain, before.day))
            )
            for grain in GRAIN_UNITS
        },
    )
    joined = summed.left_join(firsts, ["account", "day"])
    return joined.select(
        "account",
        "day",
        **{
            name: joined[name].coalesce(0) if name.startswith("active_accounts_") else joined[name]
            for name in ACCOUNT_DAY_MEASURES
        },
    )


def build_live_account_days(accounts: ibis.Table, account_days: ibis.Table) -> ibis.Table:
    """Changes of `live_users` (users active in the trailing 30 days) and `live_seats` (seats, or
    users seen so far where seats are unknown) counted only while the account is live: from its
    sign-up day until 30 days after its churn day (kpis.md, breadth)."""
    live = accounts.select(
        "account",
        has_seats=accounts.seats.coalesce(0) > 0,
        seats=accounts.seats.coalesce(0).cast("int64"),
        start=accounts.signed_up_at.date().coalesce(ibis.literal(ALWAYS, type="date")),
        stop=days_after(accounts.churned_at.date(), MONTH_DAYS),
    )
    live = live.filter(live.stop.isnull() | (live.start < live.stop))  # never live: left out
    changes = account_days.select(
        "account",
        "day",
        live_users=account_days.monthly_users,
        seen=account_days.users_seen,
    ).join(live, "account")
    changes = changes.filter(changes.stop.isnull() | (changes.day < changes.stop))
    moved = changes.select(
        "account",
        day=ibis.greatest(changes.day, changes.start),
        live_users=changes.live_users.cast("int64"),
        live_seats=ibis.ifelse(changes.has_seats, 0, changes.seen).cast("int64"),
    )
    seated = live.filter(live.has_seats)
    seats_on = seated.select("account", day=seated.start, live_users=0, live_seats=seated.seats)
    # On the stop day, everything counted so far goes back to zero.
    ended = moved.join(live.filter(live.stop.notnull()), "account")
    closing = ended.group_by(["account", "stop"]).aggregate(
        live_users=-ended.live_users.sum(), live_seats=-ended.live_seats.sum()
    )
    seats_off = seated.filter(seated.stop.notnull())
    parts = [
        moved,
        seats_on,
        closing.select(
            "account",
            day=closing.stop,
            live_users=closing.live_users,
            live_seats=closing.live_seats,
        ),
        seats_off.select("account", day="stop", live_users=0, live_seats=-seats_off.seats),
    ]
    typed = [
        part.select(
            "account",
            day=part.day.cast("date"),
            live_users=part.live_users.cast("int64"),
            live_seats=part.live_seats.cast("int64"),
        )
        for part in parts
    ]
    union = ibis.union(*typed)
    return union.group_by(["account", "day"]).aggregate(
        live_users=union.live_users.sum(), live_seats=union.live_seats.sum()
    )


def count_changes(feature_changes: ibis.Table) -> ibis.Table:
    """Per (account, day, features): +1 when the account starts using exactly `features`
    features in the trailing 30 days, -1 when it stops (0 features is not counted)."""
    per_day = feature_changes.group_by(["account", "day"]).aggregate(
        change=feature_changes.change.sum()
    )
    running = ibis.cumulative_window(group_by=per_day.account, order_by=per_day.day)
    counts = per_day.select("account", "day", features=per_day.change.sum().over(running))
    following = ibis.window(group_by=counts.account, order_by=counts.day)
    counts = counts.mutate(previous=counts.features.lag().over(following).coalesce(0))
    counts = counts.filter(counts.features != counts.previous)
    starts = counts.filter(counts.features > 0).select(
        "account", "day", "features", change=ibis.literal(1, type="int64")
    )
    stops = counts.filter(counts.previous > 0).select(
        "account", "day", features="previous", change=ibis.literal(-1, type="int64")
    )
    return ibis.union(starts, stops)

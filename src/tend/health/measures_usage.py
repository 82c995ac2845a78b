"""Usage measures from the daily usage rollups (kpis.md, "Usage and engagement").

A user is active on a day when they have a row in `usage_daily` that day (only qualifying events
are rolled up). Every measure looks at the trailing N days D-N+1..D of usage dated D or earlier.
"""

from __future__ import annotations

from datetime import timedelta

import ibis

from tend.health.measures_frame import (
    MeasureFrame,
    MeasureRequest,
    Running,
    literal_day,
    ratio,
    trailing_changes,
    trailing_median,
    zero_filled,
)
from tend.metrics.usage_windows import coverage_changes


def user_days(frame: MeasureFrame) -> ibis.Table:
    """`account, user, day, events, sessions, minutes`: usage per user-day in the frame's
    longest window."""

    def build() -> ibis.Table:
        usage = frame.in_windows(frame.inputs.usage_daily, "usage")
        known = usage.filter(usage.account.notnull(), usage.user.notnull())
        return known.group_by(["account", "user", "day"]).aggregate(
            events=known.events.coalesce(0).sum(),
            sessions=known.sessions.coalesce(0).sum(),
            minutes=known.active_minutes.coalesce(0.0).sum(),
        )

    return frame.shared("user_days", build)


def account_days(frame: MeasureFrame) -> ibis.Table:
    """`account, day, events, users`: events and distinct active users per account-day."""

    def build() -> ibis.Table:
        daily = user_days(frame)
        return daily.group_by(["account", "day"]).aggregate(
            events=daily.events.sum(), users=daily.count()
        )

    return frame.shared("account_days", build)


def _since(table: ibis.Table, frame: MeasureFrame, window: int) -> ibis.Table:
    """Rows of `table` whose `day` can fall in some requested day's trailing window."""
    return table.filter(table.day >= literal_day(frame.first_day - timedelta(days=window - 1)))


def _active_user_changes(frame: MeasureFrame, window: int) -> ibis.Table:
    """Changes of the distinct users active in the trailing window (`account, day, users`),
    materialised once per window."""

    def build() -> ibis.Table:
        days = _since(user_days(frame), frame, window).select("account", "user", "day")
        changes = coverage_changes(days, ["account", "user"], window)
        return changes.select("account", "day", users=changes.change)

    return frame.shared(f"active_user_changes_{window}", build)


def active_users(frame: MeasureFrame, request: MeasureRequest) -> Running:
    """Distinct users active in the trailing N days."""
    changes = _active_user_changes(frame, request.days)
    return Running(changes, lambda t: t.users, sums=("users",))


def active_days_per_user(frame: MeasureFrame, request: MeasureRequest) -> Running:
    """Active user-days ÷ distinct active users in the trailing N days (null: nobody active)."""
    window = request.days
    daily = account_days(frame)
    user_day_changes = trailing_changes(
        frame, daily.select("account", "day", user_days=daily.users), ["user_days"], window
    )
    columns = ["users", "user_days"]
    changes = ibis.union(
        zero_filled(_active_user_changes(frame, window), ["users"], columns),
        zero_filled(user_day_changes, ["user_days"], columns),
    )
    return Running(changes, lambda t: ratio(t.user_days, t.users), sums=tuple(columns))


def seat_utilisation(frame: MeasureFrame, request: MeasureRequest) -> Running:
    """Distinct active users in the trailing N days ÷ licensed seats (null without seats)."""
    changes = _active_user_changes(frame, request.days)
    return Running(changes, lambda t: ratio(t.users, t.seats), sums=("users",))


def features_used(frame: MeasureFrame, request: MeasureRequest) -> Running:
    """Distinct event names used in the trailing N days."""
    window = request.days

    def build() -> ibis.Table:
        usage = frame.in_windows(frame.inputs.usage_daily, "usage")
        known = usage.filter(usage.account.notnull(), usage.event_name.notnull())
        return known.select("account", "event_name", "day").distinct()

    days = _since(frame.shared("feature_days", build), frame, window)
    changes = coverage_changes(days, ["account", "event_name"], window)
    features = changes.select("account", "day", features=changes.change)
    return Running(features, lambda t: t.features, sums=("features",))


def events(frame: MeasureFrame, request: MeasureRequest) -> Running:
    """Qualifying events in the trailing N days."""
    daily = account_days(frame).select("account", "day", "events")
    changes = trailing_changes(frame, daily, ["events"], request.days)
    return Running(changes, lambda t: t.events, sums=("events",))


def session_minutes_median(frame: MeasureFrame, request: MeasureRequest) -> ibis.Table:
    """Median session length in the trailing N days: the median (interpolated) over the
    user-days with a session of each user-day's mean session length (active minutes ÷
    sessions). Unlike the portfolio KPI (usage_depth.py) it is not weighted by sessions: one
    windowed median per account-day over the user-days is what stays cheap for a backfill."""
    daily = user_days(frame)
    with_sessions = daily.filter(daily.sessions > 0)
    lengths = with_sessions.select(
        "account", "day", value=with_sessions.minutes / with_sessions.sessions
    )
    return trailing_median(frame, lengths, request.days)

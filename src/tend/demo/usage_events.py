"""Expands an account's usage plan into product events, vectorised with NumPy.

Each active user is active on some days of each period (fewer on weekends), with one or two
sessions a day; a session starts with a login, then page views and feature events a minute or
two apart; some events are errors; page views carry their load time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tend.demo import catalog
from tend.demo.records import AccountPlan

TRACK_NAMES: tuple[str, ...] = (
    catalog.LOGIN_EVENT,
    *(name for name, _, _ in catalog.FEATURES),
    catalog.ERROR_EVENT,
)
PAGE_PATHS: tuple[str, ...] = tuple(sorted({path for _, path, _ in catalog.FEATURES}))
PAGE_NAMES: tuple[str, ...] = tuple(p.strip("/").split("/")[0].title() for p in PAGE_PATHS)
PAGE_OF_FEATURE = np.array([PAGE_PATHS.index(path) for _, path, _ in catalog.FEATURES])
ERROR_NAME_CODE = len(TRACK_NAMES) - 1
TYPE_TRACK, TYPE_PAGE = 0, 1
SECONDS_PER_DAY = 86_400
PAGE_SHARE = 0.3
SECOND_SESSION_SHARE = 0.3


@dataclass
class AccountEvents:
    """One account's events as columns. `name_code` indexes TRACK_NAMES (track) or PAGE_PATHS
    (page); `error_code` indexes catalog.ERROR_CODES or is -1; `load_time_ms` is NaN off pages."""

    account: str
    timestamp_ms: np.ndarray
    received_ms: np.ndarray
    user_id: np.ndarray
    type_code: np.ndarray
    name_code: np.ndarray
    load_time_ms: np.ndarray
    error_code: np.ndarray

    def __len__(self) -> int:
        return len(self.timestamp_ms)


def account_events(
    plan: AccountPlan, seed: int, end_ms: int, intensity: float = 1.0
) -> AccountEvents:
    """All events of one account, sorted by time; deterministic for (seed, account index)."""
    rng = np.random.default_rng([seed, plan.index, 17])
    parts = [
        _step_events(rng, plan, step_index, end_ms, intensity)
        for step_index in range(len(plan.steps))
    ]
    parts = [part for part in parts if part is not None]
    if not parts:
        empty = np.array([], dtype=np.int64)
        return AccountEvents(
            plan.external_id,
            empty,
            empty,
            np.array([], dtype=object),
            empty.astype(np.int8),
            empty.astype(np.int16),
            empty.astype(np.float32),
            empty.astype(np.int8),
        )
    columns = [np.concatenate(column) for column in zip(*parts, strict=True)]
    order = np.argsort(columns[0], kind="stable")
    return AccountEvents(plan.external_id, *(column[order] for column in columns))


def _step_events(
    rng: np.random.Generator, plan: AccountPlan, step_index: int, end_ms: int, intensity: float
) -> tuple[np.ndarray, ...] | None:
    step = plan.steps[step_index]
    users = np.array(step.active_users, dtype=object)
    if len(users) == 0:
        return None
    start_s = int(step.start.timestamp())
    n_days = max(1, int(np.ceil((step.end - step.start).total_seconds() / SECONDS_PER_DAY)))
    day_starts = start_s - start_s % SECONDS_PER_DAY + SECONDS_PER_DAY * np.arange(n_days)
    weekday = ((day_starts // SECONDS_PER_DAY) + 3) % 7  # 1970-01-01 was a Thursday
    weights = np.where(weekday >= 5, 0.12, 1.0)

    wanted = rng.poisson(step.days_per_user * n_days / 30.0, len(users))
    days_each = np.clip(wanted, 1, n_days)
    keys = rng.random((len(users), n_days)) ** (1.0 / weights)
    ranks = np.argsort(np.argsort(-keys, axis=1), axis=1)
    user_of_day, day_index = np.nonzero(ranks < days_each[:, None])

    sessions = 1 + (rng.random(len(day_index)) < SECOND_SESSION_SHARE)
    session_user = np.repeat(user_of_day, sessions)
    session_day = np.repeat(day_index, sessions)
    is_second = np.zeros(len(session_user), dtype=bool)
    is_second[1:] = (session_user[1:] == session_user[:-1]) & (session_day[1:] == session_day[:-1])
    hour = np.clip(rng.normal(12.5, 2.5, len(session_user)), 6, 20) + 3.5 * is_second
    session_start = day_starts[session_day] + (hour * 3600).astype(np.int64)

    per_session = 1 + rng.poisson(step.events_per_session * intensity, len(session_user))
    total = int(per_session.sum())
    session_of_event = np.repeat(np.arange(len(session_user)), per_session)
    first_of_session = np.cumsum(per_session) - per_session
    position = np.arange(total) - np.repeat(first_of_session, per_session)
    gaps = rng.exponential(75.0, total)
    gaps[position == 0] = 0.0
    elapsed = np.cumsum(gaps)
    offset = elapsed - np.repeat(elapsed[first_of_session], per_session)
    timestamp_ms = session_start[session_of_event] * 1000 + (offset * 1000).astype(np.int64)

    features = np.array(plan.feature_order[: step.features_used])
    popularity = 1.0 / (np.arange(len(features)) + 1.0) ** 0.8
    feature = features[rng.choice(len(features), total, p=popularity / popularity.sum())]
    is_page = (rng.random(total) < PAGE_SHARE) & (position > 0)
    is_error = (rng.random(total) < step.error_rate) & (position > 0) & ~is_page

    type_code = np.where(is_page, TYPE_PAGE, TYPE_TRACK).astype(np.int8)
    name_code = np.where(is_page, PAGE_OF_FEATURE[feature], feature + 1)
    name_code = np.where(position == 0, 0, name_code)
    name_code = np.where(is_error, ERROR_NAME_CODE, name_code).astype(np.int16)
    load_time = rng.lognormal(np.log(step.load_time_median_ms), 0.55, total).astype(np.float32)
    load_time_ms = np.where(is_page, np.round(load_time), np.nan).astype(np.float32)
    error_code = np.where(is_error, rng.integers(0, len(catalog.ERROR_CODES), total), -1).astype(
        np.int8
    )
    received_ms = timestamp_ms + rng.exponential(1500.0, total).astype(np.int64)

    step_end_ms = int(step.end.timestamp() * 1000)
    keep = (timestamp_ms >= start_s * 1000) & (timestamp_ms < min(step_end_ms, end_ms))
    return (
        timestamp_ms[keep],
        received_ms[keep],
        users[session_user[session_of_event]][keep],
        type_code[keep],
        name_code[keep],
        load_time_ms[keep],
        error_code[keep],
    )

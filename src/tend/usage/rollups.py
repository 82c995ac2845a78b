"""Incremental usage rollups: raw events into `UsageRollup` rows per account, user, day and name.

Each batch reads the events that arrived after the watermark (primary key order), merges their
counts into the rollups and moves the watermark, all in one transaction. Sessions and active
minutes are recomputed for every (account, user, day) the batch touches from that user-day's
events, so late and out-of-order events keep them right. All the grouping runs in the database.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone

from tend.usage.models import Event, EventType, UsageRollup, Watermark

WATERMARK_NAME = "usage_rollup"
QUALIFYING_TYPES: tuple[str, ...] = (EventType.TRACK, EventType.PAGE, EventType.SCREEN)
"""Event types that count as usage (kpis.md: any track/page/screen event)."""
SESSION_GAP_SECONDS = 30 * 60
"""A session ends after this long without events, unless its events carry a session id."""
MINIMUM_SESSION_SECONDS = 60
"""A session of a single event (or a few seconds) still counts as one active minute."""
WRITER_WAIT_SECONDS = 2
"""PostgreSQL: how long to wait for in-flight event inserts before settling for less."""

BatchDone = Callable[[int], None]


@dataclass
class RollupReport:
    """What one `run_rollup` call did."""

    events_read: int = 0
    rows_written: int = 0
    batches: int = 0
    position: int = 0
    caught_up: bool = False
    seconds: float = 0.0
    newest_received_at: datetime | None = None

    @property
    def events_per_second(self) -> float:
        return self.events_read / self.seconds if self.seconds > 0 else 0.0

    def lag(self, now: datetime | None = None) -> timedelta | None:
        """How far behind arrivals the rollups are: now minus the newest rolled-up arrival."""
        if self.newest_received_at is None:
            return None
        return (now or timezone.now()) - self.newest_received_at


def run_rollup(
    batch_size: int = 50_000,
    max_batches: int | None = None,
    on_batch: BatchDone | None = None,
) -> RollupReport:
    """Roll up events past the watermark in batches of `batch_size`, each in its own
    transaction, until caught up or `max_batches` are done; `on_batch(events)` after each."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    started = time.perf_counter()
    report = RollupReport()
    horizon, settled = _committed_horizon()
    while max_batches is None or report.batches < max_batches:
        done = _roll_up_batch(batch_size, horizon)
        if done is None:
            break
        events, rows = done
        report.events_read += events
        report.rows_written += rows
        report.batches += 1
        if on_batch is not None:
            on_batch(events)
    report.position = rollup_position()
    report.caught_up = settled and report.position >= horizon
    report.newest_received_at = (
        Event.objects.filter(pk=report.position).values_list("received_at", flat=True).first()
    )
    report.seconds = time.perf_counter() - started
    return report


def rollup_position() -> int:
    """The last event primary key rolled up (0 before the first run)."""
    position = (
        Watermark.objects.filter(name=WATERMARK_NAME).values_list("position", flat=True).first()
    )
    return position or 0


def pending_events() -> int:
    """Events stored after the watermark (for progress bars)."""
    return Event.objects.filter(pk__gt=rollup_position()).count()


def reset_rollups() -> int:
    """Delete every rollup row and rewind the watermark, together; returns rows deleted."""
    with transaction.atomic():
        _locked_watermark()
        deleted, _ = UsageRollup.objects.all().delete()
        Watermark.objects.filter(name=WATERMARK_NAME).update(position=0, updated_at=timezone.now())
    return deleted


def _roll_up_batch(batch_size: int, horizon: int) -> tuple[int, int] | None:
    """One batch: (events read, rollup rows written), or None when nothing is left."""
    with transaction.atomic(), connection.cursor() as cursor:
        watermark = _locked_watermark()
        low = watermark.position
        cursor.execute(_BOUNDS_SQL, [low, horizon, batch_size])
        events, high = cursor.fetchone()
        if not events:
            return None
        if connection.vendor == "postgresql":  # see _POSTGRES_TEMPLATE; no JIT for a short query
            cursor.execute("SET LOCAL enable_nestloop = off")
            cursor.execute("SET LOCAL jit = off")
        cursor.execute(_rollup_sql(), {"low": low, "high": high})
        rows = max(cursor.rowcount, 0)
        Watermark.objects.filter(pk=watermark.pk).update(position=high, updated_at=timezone.now())
    return events, rows


def _locked_watermark() -> Watermark:
    """The rollup watermark row, locked until the transaction ends so that concurrent runs
    take turns (PostgreSQL row lock; SQLite's BEGIN IMMEDIATE already serialises writers)."""
    Watermark.objects.get_or_create(name=WATERMARK_NAME)
    return Watermark.objects.select_for_update().get(name=WATERMARK_NAME)


def _committed_horizon() -> tuple[int, bool]:
    """The highest event key below which no insert is still in flight, and whether it is the
    newest committed key (False when held back by a running insert).

    Keys come from a sequence, so on PostgreSQL a transaction holding key 100 may commit after
    one holding key 101; reading past 100 would then skip it forever. A SHARE lock on the event
    table waits for in-flight inserts, so the maximum read under it is safe. If a long insert
    (a bulk import) holds on, settle for the watermark: the next run continues.
    SQLite serialises writers, so its committed maximum is always safe.
    """
    table = connection.ops.quote_name(Event._meta.db_table)
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")
            return int(cursor.fetchone()[0]), True
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL lock_timeout = '{WRITER_WAIT_SECONDS}s'")
            cursor.execute(f"LOCK TABLE {table} IN SHARE MODE")
            cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")
            return int(cursor.fetchone()[0]), True
    except Exception as error:  # lock_not_available: a long insert is still running
        if getattr(error.__cause__, "sqlstate", None) != "55P03":
            raise
        return rollup_position(), False


_BOUNDS_SQL = (
    "SELECT COUNT(*), MAX(id) FROM (SELECT id FROM usage_event "
    "WHERE id > %s AND id <= %s ORDER BY id LIMIT %s) AS batch"
)

_DIALECT = {
    "sqlite": {
        "day": "substr(e.timestamp, 1, 10)",
        "millis": "CAST(ROUND((julianday(e.timestamp) - 2440587.5) * 86400000.0) AS INTEGER)",
        "session_id": (
            "NULLIF(CAST(COALESCE(json_extract(e.properties, '$.session_id'), "
            "json_extract(e.context, '$.sessionId')) AS TEXT), '')"
        ),
        "in_day": "e.timestamp >= b.day AND e.timestamp < date(b.day, '+1 day')",
    },
    "postgresql": {
        "day": "(e.timestamp AT TIME ZONE 'UTC')::date",
        "millis": "ROUND(EXTRACT(EPOCH FROM e.timestamp) * 1000)::bigint",
        "session_id": (
            "NULLIF(COALESCE(e.properties ->> 'session_id', e.context ->> 'sessionId'), '')"
        ),
        "in_day": (
            "e.timestamp >= (b.day::timestamp AT TIME ZONE 'UTC') "
            "AND e.timestamp < ((b.day + 1)::timestamp AT TIME ZONE 'UTC')"
        ),
    },
}

# batch: the (account, user, day) keys the new events touch; batch_days their account-days,
#   read through the (account, timestamp) index.
# scoped: every qualifying event of those user-days up to the batch end; `visitor` separates
#   anonymous visitors (all stored under user_id '') so their sessions are not merged.
# opened: 1 on the event that opens a session (first of its session id, or after a gap).
# sessions: one row per session, with the name of the event that opened it.
# Both dialects number each visitor's sessions the same way: a session opens at a user's first
# event of the day, or after a gap longer than SESSION_GAP_SECONDS (unless the events carry a
# session id, which then delimits it).
_SESSION_NUMBERS = """opened AS (
    SELECT s.*,
           CASE WHEN LAG(millis) OVER w IS NULL
                  OR (session_id IS NULL AND millis - LAG(millis) OVER w > {gap})
                THEN 1 ELSE 0 END AS opens
    FROM scoped s
    WINDOW w AS (PARTITION BY account_id, user_id, day, visitor, session_id ORDER BY millis, id)
),
numbered AS (
    SELECT o.*,
           SUM(opens) OVER (
               PARTITION BY account_id, user_id, day, visitor, session_id
               ORDER BY millis, id ROWS UNBOUNDED PRECEDING
           ) AS session_number
    FROM opened o
)"""

_ROLLUP_TEMPLATE = """
INSERT INTO usage_usagerollup AS r
    (account_id, user_id, day, event_name, events, sessions, active_minutes, first_at, last_at)
WITH batch AS (
    SELECT e.account_id, e.user_id, {day} AS day
    FROM usage_event e
    WHERE e.id > %(low)s AND e.id <= %(high)s AND e.account_id IS NOT NULL
      AND e.type IN ({types})
    GROUP BY e.account_id, e.user_id, {day}
),
batch_days AS (
    SELECT DISTINCT account_id, day FROM batch
),
scoped AS (
    SELECT e.id, e.account_id, e.user_id, b.day, e.name, e.timestamp AS at,
           {millis} AS millis,
           CASE WHEN e.user_id = '' THEN e.anonymous_id ELSE '' END AS visitor,
           {session_id} AS session_id,
           CASE WHEN e.id > %(low)s THEN 1 ELSE 0 END AS is_new
    FROM batch_days b
    JOIN usage_event e ON e.account_id = b.account_id AND {in_day}
    WHERE e.id <= %(high)s AND e.type IN ({types})
      AND (e.account_id, e.user_id, b.day) IN (SELECT account_id, user_id, day FROM batch)
),
{session_numbers},
sessions AS (
    SELECT account_id, user_id, day,
           MAX(CASE WHEN opens = 1 THEN name END) AS name,
           MAX(millis) - MIN(millis) AS length
    FROM numbered
    GROUP BY account_id, user_id, day, visitor, session_id, session_number
),
session_totals AS (
    SELECT account_id, user_id, day, name, COUNT(*) AS sessions,
           SUM(CASE WHEN length < {minimum} THEN {minimum} ELSE length END) / 60000.0 AS minutes
    FROM sessions
    GROUP BY account_id, user_id, day, name
),
event_totals AS (
    SELECT account_id, user_id, day, name, SUM(is_new) AS events,
           MIN(at) AS first_at, MAX(at) AS last_at
    FROM scoped
    GROUP BY account_id, user_id, day, name
)
SELECT t.account_id, t.user_id, t.day, t.name, t.events,
       COALESCE(s.sessions, 0), COALESCE(s.minutes, 0), t.first_at, t.last_at
FROM event_totals t
LEFT JOIN session_totals s
    ON s.account_id = t.account_id AND s.user_id = t.user_id AND s.day = t.day
   AND s.name = t.name
WHERE TRUE
ON CONFLICT (account_id, user_id, day, event_name) DO UPDATE SET
    events = r.events + excluded.events,
    sessions = excluded.sessions,
    active_minutes = excluded.active_minutes,
    first_at = CASE WHEN excluded.first_at < r.first_at THEN excluded.first_at ELSE r.first_at END,
    last_at = CASE WHEN excluded.last_at > r.last_at THEN excluded.last_at ELSE r.last_at END
"""


# PostgreSQL: the same rollup, shaped so that no plan can be quadratic whatever the statistics
# say (a freshly loaded table has none): each touched account-day's events come from one range
# scan of the (account, timestamp) index (a LATERAL subquery behind OFFSET 0, so it is not
# flattened into a hash join over every event of the batch's users); every other join is on
# equalities, hashed (the transaction turns nested loops off); sessions are measured with window
# functions and folded into the per-name totals in one aggregate, without joining them back.
_POSTGRES_TEMPLATE = """
INSERT INTO usage_usagerollup AS r
    (account_id, user_id, day, event_name, events, sessions, active_minutes, first_at, last_at)
WITH batch AS MATERIALIZED (
    SELECT e.account_id, e.user_id, {day} AS day
    FROM usage_event e
    WHERE e.id > %(low)s AND e.id <= %(high)s AND e.account_id IS NOT NULL
      AND e.type IN ({types})
    GROUP BY e.account_id, e.user_id, {day}
),
batch_days AS MATERIALIZED (
    SELECT DISTINCT account_id, day FROM batch
),
scoped AS MATERIALIZED (
    SELECT e.id, e.account_id, e.user_id, b.day, e.name, e.at, e.millis, e.visitor,
           e.session_id, e.is_new
    FROM batch_days b
    CROSS JOIN LATERAL (
        SELECT e.id, e.account_id, e.user_id, e.name, e.timestamp AS at,
               {millis} AS millis,
               CASE WHEN e.user_id = '' THEN e.anonymous_id ELSE '' END AS visitor,
               {session_id} AS session_id,
               CASE WHEN e.id > %(low)s THEN 1 ELSE 0 END AS is_new
        FROM usage_event e
        WHERE e.account_id = b.account_id AND {in_day}
          AND e.id <= %(high)s AND e.type IN ({types})
        OFFSET 0
    ) e
    JOIN batch k ON k.account_id = e.account_id AND k.user_id = e.user_id AND k.day = b.day
),
{session_numbers},
measured AS (
    SELECT n.*,
           MAX(millis) OVER session - MIN(millis) OVER session AS length
    FROM numbered n
    WINDOW session AS (
        PARTITION BY account_id, user_id, day, visitor, session_id, session_number
    )
)
SELECT account_id, user_id, day, name, SUM(is_new), SUM(opens),
       COALESCE(SUM(CASE WHEN opens = 1 THEN GREATEST(length, {minimum}) END), 0) / 60000.0,
       MIN(at), MAX(at)
FROM measured
GROUP BY account_id, user_id, day, name
ON CONFLICT (account_id, user_id, day, event_name) DO UPDATE SET
    events = r.events + excluded.events,
    sessions = excluded.sessions,
    active_minutes = excluded.active_minutes,
    first_at = LEAST(excluded.first_at, r.first_at),
    last_at = GREATEST(excluded.last_at, r.last_at)
"""


def _rollup_sql() -> str:
    """The batch statement for the current database (`%(low)s`, `%(high)s` parameters)."""
    template = _POSTGRES_TEMPLATE if connection.vendor == "postgresql" else _ROLLUP_TEMPLATE
    return template.format(
        session_numbers=_SESSION_NUMBERS.format(gap=SESSION_GAP_SECONDS * 1000),
        types=", ".join(f"'{kind}'" for kind in QUALIFYING_TYPES),
        minimum=MINIMUM_SESSION_SECONDS * 1000,
        **_DIALECT[connection.vendor],
    )

"""`usage_daily` and `performance_daily` aggregated from the demo's raw `events.parquet` inside
DuckDB (never in Python), with the usage rollups' rules (tend.usage.rollups): only track, page
and screen events count; usage only those of an identified user; a session ends after 30 minutes
without events or at midnight UTC, counts on the row of the event name that opened it, and lasts
at least one minute.

The formulation that scales to ~100 M events on two cores:
1. one scan collects the distinct accounts, users and event names into ENUM types (sorted, so
   ENUM order is text order); Ibis sees ENUM columns as strings, but DuckDB groups, sorts, joins
   and stores them as small integers;
2. one window pass per user ordered by time marks every event that opens or closes a session
   (a temporary table: reading it back is cheaper than scanning and casting the file again);
3. one hash aggregation counts events and sessions per (account, user, day, name), and a second
   window over the few opening and closing events alone measures session lengths;
4. the p95 load time per account-day is DuckDB's interpolated quantile (as load.py's).
Settings: `preserve_insertion_order = false` (no ordering work) while it runs.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import duckdb
import pyarrow as pa

from tend.metrics.inputs import conform

QUALIFYING_TYPES: tuple[str, ...] = ("track", "page", "screen")
SESSION_GAP_MS = 30 * 60 * 1000
MINIMUM_SESSION_MS = 60 * 1000
MS_PER_DAY = 86_400_000
USAGE_TABLES: tuple[str, ...] = ("usage_daily", "performance_daily")

QUALIFIES = (
    f"e.type IN ({', '.join(repr(kind) for kind in QUALIFYING_TYPES)}) "
    "AND e.account_id IS NOT NULL AND e.timestamp IS NOT NULL"
)
"""Events that count for product performance: qualifying types, of a known account."""
IDENTIFIED = "e.user_id IS NOT NULL AND e.user_id <> '' AND e.name IS NOT NULL"
"""Qualifying events that also count as usage: of an identified user, with a name."""

Progress = Callable[[str], None]
"""Called with a step's name as each step ends (for progress bars and benchmarks)."""


def aggregate_events(
    events: Path, duck: duckdb.DuckDBPyConnection, progress: Progress | None = None
) -> None:
    """Create (or replace) tables `usage_daily` and `performance_daily` on `duck`."""
    done = progress or _ignore
    source = f"read_parquet('{_quoted(events)}')"
    marked = f"_usage_marked_{uuid.uuid4().hex[:8]}"
    previous = _apply_settings(duck, {"preserve_insertion_order": "false"})
    try:
        types = _create_enum_types(duck, source)
        done("accounts, users, names")
        duck.execute(f"CREATE TEMP TABLE {marked} AS {_marked_sql(source, types)}")
        done("session boundaries")
        _replace_table(duck, "usage_daily", _usage_daily_sql(marked))
        done("usage_daily")
        _replace_table(duck, "performance_daily", _performance_sql(source, types))
        done("performance_daily")
    finally:
        duck.execute(f"DROP TABLE IF EXISTS {marked}")
        _apply_settings(duck, previous)


def aggregate_events_to_arrow(
    events: Path, progress: Progress | None = None
) -> dict[str, pa.Table]:
    """`usage_daily` and `performance_daily` aggregated on a private in-memory DuckDB, for
    backends other than DuckDB (ENUMs become plain strings)."""
    with duckdb.connect() as duck:
        aggregate_events(events, duck, progress)
        return {
            name: conform(name, duck.execute(f"SELECT * FROM {name}").to_arrow_table())
            for name in USAGE_TABLES
        }


def _create_enum_types(duck: duckdb.DuckDBPyConnection, source: str) -> dict[str, str]:
    """ENUM types of the accounts, users and event names in one scan; their names by column.
    Fresh names each time, so that tables made from earlier types stay valid."""
    token = uuid.uuid4().hex[:8]
    keys = f"_usage_keys_{token}"
    duck.execute(
        f"CREATE TEMP TABLE {keys} AS SELECT e.account_id, e.user_id, e.name, "
        "grouping(e.name) AS is_user "
        f"FROM {source} e WHERE {QUALIFIES} "
        "GROUP BY GROUPING SETS ((e.account_id, e.user_id), (e.name))"
    )
    values = {
        "account": f"SELECT DISTINCT account_id FROM {keys} WHERE is_user = 1",
        "user": f"SELECT DISTINCT user_id FROM {keys} WHERE is_user = 1 AND user_id <> ''",
        "event_name": f"SELECT name FROM {keys} WHERE is_user = 0 AND name IS NOT NULL",
    }
    types = {column: f"_usage_{column}_{token}" for column in values}
    try:
        for column, query in values.items():
            duck.execute(f"CREATE TYPE {types[column]} AS ENUM ({query} ORDER BY 1)")
    finally:
        duck.execute(f"DROP TABLE IF EXISTS {keys}")
    return types


def _marked_sql(source: str, types: dict[str, str]) -> str:
    """Every usage event with its day and whether it opens or closes a session: one window
    pass per user ordered by time (ties by name, so that reruns agree)."""
    return f"""
        SELECT account, user, event_name, day, ms,
               coalesce(day <> lag(day) OVER timeline
                        OR ms - lag(ms) OVER timeline > {SESSION_GAP_MS}, true) AS opens,
               coalesce(day <> lead(day) OVER timeline
                        OR lead(ms) OVER timeline - ms > {SESSION_GAP_MS}, true) AS closes
        FROM (
            SELECT CAST(e.account_id AS {types["account"]}) AS account,
                   CAST(e.user_id AS {types["user"]}) AS user,
                   CAST(e.name AS {types["event_name"]}) AS event_name,
                   CAST(epoch_ms(e.timestamp) // {MS_PER_DAY} AS INTEGER) AS day,
                   epoch_ms(e.timestamp) AS ms
            FROM {source} e WHERE {QUALIFIES} AND {IDENTIFIED}
        )
        WINDOW timeline AS (PARTITION BY account, user ORDER BY ms, event_name)"""


def _usage_daily_sql(marked: str) -> str:
    """Events and sessions per (account, user, day, name). A session's length comes from the
    opening and closing events only: after an opener that does not close its session, the next
    of those events (by time; the opener first on a tie) is the session's last event."""
    keys = "account, user, day, event_name"
    return f"""
        WITH totals AS (
            SELECT {keys}, count(*) AS events, CAST(count_if(opens) AS BIGINT) AS sessions
            FROM {marked} GROUP BY {keys}
        ), boundaries AS (
            SELECT {keys}, opens,
                   CASE WHEN closes THEN 0
                        ELSE lead(ms) OVER (PARTITION BY account, user ORDER BY ms, closes) - ms
                   END AS length
            FROM {marked} WHERE opens OR closes
        ), minutes AS (
            SELECT {keys}, sum(greatest(length, {MINIMUM_SESSION_MS})) / 60000.0 AS active_minutes
            FROM boundaries WHERE opens GROUP BY {keys}
        )
        SELECT t.account, t.user, CAST(DATE '1970-01-01' + t.day AS DATE) AS day, t.event_name,
               t.events, t.sessions, coalesce(m.active_minutes, 0.0) AS active_minutes
        FROM totals t LEFT JOIN minutes m USING ({keys})"""


def _performance_sql(source: str, types: dict[str, str]) -> str:
    """Events, errors (events with an error code), timed page loads and their p95 per
    account-day, over every qualifying event (anonymous ones too)."""
    return f"""
        SELECT CAST(e.account_id AS {types["account"]}) AS account,
               CAST(DATE '1970-01-01' + CAST(epoch_ms(e.timestamp) // {MS_PER_DAY} AS INTEGER)
                    AS DATE) AS day,
               count(*) AS events, count(e.error_code) AS errors,
               count(e.load_time_ms) AS page_loads,
               quantile_cont(CAST(e.load_time_ms AS DOUBLE), 0.95) AS load_time_p95_ms
        FROM {source} e WHERE {QUALIFIES} GROUP BY ALL"""


def _replace_table(duck: duckdb.DuckDBPyConnection, name: str, sql: str) -> None:
    duck.execute(f"DROP TABLE IF EXISTS {name}")
    duck.execute(f"CREATE TABLE {name} AS {sql}")


def _apply_settings(duck: duckdb.DuckDBPyConnection, wanted: dict[str, str]) -> dict[str, str]:
    """Apply DuckDB settings; returns their previous values (to restore them)."""
    previous = {}
    for name, value in wanted.items():
        row = duck.execute("SELECT current_setting(?)", [name]).fetchone()
        previous[name] = str(row[0]).lower() if row else value
        duck.execute(f"SET {name} = {value}")
    return previous


def _quoted(path: Path) -> str:
    return str(path).replace("'", "''")


def _ignore(step: str) -> None:
    """No progress to report."""

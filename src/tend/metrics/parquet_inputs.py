"""Build the engine's input tables from a directory of Parquet files written by the demo
generator (`tend demo generate --parquet DIR`): one file per entity table, plus `events.parquet`.

Entity tables are small: PyArrow reads them and DuckDB SQL maps them to inputs.SCHEMAS (demo
column names to the engine's, JSON traits, survey kinds by joining the surveys). Accounts keep
the demo's external ids as keys. `usage_daily` and `performance_daily` are aggregated from the raw
events: in one streaming pass when the file is in the demo's layout (parquet_sorted_events, which
also seeds the usage rollups), else inside DuckDB (tend.metrics.parquet_events): on a DuckDB
backend straight into its tables, on any other backend on a private DuckDB first, as Arrow.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import duckdb
import ibis
import pyarrow as pa
import pyarrow.parquet as pq
from ibis.backends.duckdb import Backend as DuckDBBackend

from tend.metrics.inputs import SCHEMAS, Inputs, conform, empty
from tend.metrics.parquet_events import (
    USAGE_TABLES,
    Progress,
    aggregate_events,
    aggregate_events_to_arrow,
)
from tend.metrics.parquet_sorted_events import aggregate_sorted_events
from tend.metrics.usage_rollups import ROLLUPS_KEY, UsageRollups

REFERRAL_SOURCES: tuple[str, ...] = ("referral", "champion")
_DEMO_COLUMN_NAMES = {
    "accounts": "external_id name owner segment traits lifecycle_stage acquisition_source seats "
    "signed_up_at churned_at",
    "contacts": "external_id account email is_champion traits first_seen_at",
    "subscriptions": "external_id account status currency started_at trial_ends_at "
    "current_period_end cancel_at canceled_at ended_at",
    "subscription_items": "external_id subscription unit_amount quantity interval "
    "interval_count discount_percent started_at ended_at",
    "invoices": "external_id account status currency amount_due amount_paid issued_at due_at "
    "paid_at",
    "tickets": "external_id account topic priority status opened_at first_response_at "
    "resolved_at agent_replies reopened_count escalated",
    "touchpoints": "external_id account csm kind direction occurred_at satisfaction",
    "survey_responses": "external_id survey contact account score answered_at",
    "surveys": "external_id kind scale_min scale_max",
}
DEMO_COLUMNS: dict[str, tuple[str, ...]] = {
    table: tuple(names.split()) for table, names in _DEMO_COLUMN_NAMES.items()
}
"""The demo columns each mapping reads; a missing file or column reads as nulls."""
COUNTS = {
    "seats",
    "quantity",
    "interval_count",
    "agent_replies",
    "reopened_count",
    "satisfaction",
    "score",
    "scale_min",
    "scale_max",
}
FLAGS = {"is_champion", "escalated"}
MONEY = {"unit_amount", "discount_percent", "amount_due", "amount_paid"}


def demo_type(column: str) -> pa.DataType:
    """The type a demo column is read as: instants end in `_at` (or are a period end)."""
    if column.endswith("_at") or column == "current_period_end":
        return pa.timestamp("us", tz="UTC")
    if column in COUNTS:
        return pa.int64()
    if column in FLAGS:
        return pa.bool_()
    if column in MONEY:
        return pa.decimal128(18, 4)
    return pa.string()


_REFERRED = ", ".join(f"'{source}'" for source in REFERRAL_SOURCES)
ENTITY_SQL: dict[str, str] = {
    "accounts": f"""
        SELECT external_id AS account, name,
               coalesce(nullif(segment, ''), nullif(json_extract_string(traits, '$.segment'), ''))
                   AS segment,
               nullif(owner, '') AS csm, lifecycle_stage,
               coalesce(acquisition_source IN ({_REFERRED}), false) AS referred,
               seats, signed_up_at, churned_at, traits
        FROM accounts""",
    "contacts": """
        SELECT external_id AS contact, account, email, is_champion,
               nullif(json_extract_string(traits, '$.previous_account_external_id'), '')
                   AS previous_account,
               first_seen_at
        FROM contacts""",
    "subscriptions": """
        SELECT external_id AS subscription, account, status, currency, started_at,
               trial_ends_at, current_period_end, cancel_at, canceled_at, ended_at
        FROM subscriptions""",
    # The app's defaults where the demo leaves a column out: one interval, no discount.
    "subscription_items": """
        SELECT external_id AS item, subscription, unit_amount, coalesce(quantity, 1) AS quantity,
               interval, coalesce(interval_count, 1) AS interval_count,
               coalesce(discount_percent, 0) AS discount_percent, started_at, ended_at
        FROM subscription_items""",
    "invoices": """
        SELECT external_id AS invoice, account, status, currency, amount_due, amount_paid,
               issued_at, due_at, paid_at
        FROM invoices""",
    "tickets": """
        SELECT external_id AS ticket, account, nullif(topic, '') AS topic, priority, status,
               opened_at, first_response_at, resolved_at, agent_replies, reopened_count, escalated
        FROM tickets""",
    "touchpoints": """
        SELECT external_id AS touchpoint, account, nullif(csm, '') AS csm, kind, direction,
               occurred_at, satisfaction
        FROM touchpoints""",
    "survey_responses": """
        SELECT r.external_id AS response, r.survey, s.kind, s.scale_min, s.scale_max,
               r.contact, r.account, r.score, r.answered_at
        FROM survey_responses r LEFT JOIN surveys s ON s.external_id = r.survey""",
}


def read_parquet_inputs(
    directory: Path, con: ibis.BaseBackend, progress: Progress | None = None
) -> Inputs:
    """Every input table of inputs.SCHEMAS from the demo's Parquet files in `directory`, on `con`.
    A table the demo does not write (and no mapping here knows) is read as is if its file
    exists, else empty. Events in the demo's layout are aggregated in one streaming pass
    (parquet_sorted_events), which also seeds the usage rollups; others by SQL in DuckDB."""
    done = progress or (lambda step: None)
    duck = con.con if isinstance(con, DuckDBBackend) else duckdb.connect()
    arrow = read_entity_tables(directory, duck)
    for name in SCHEMAS.keys() - arrow.keys() - set(USAGE_TABLES):
        path = directory / f"{name}.parquet"
        arrow[name] = conform(name, pq.read_table(path)) if path.exists() else empty(name)
    done("entity tables")
    events = directory / "events.parquet"
    streamed = None
    if events.exists():
        known = arrow["accounts"]["account"].combine_chunks()
        streamed = aggregate_sorted_events(events, done, known)
    if not events.exists():
        arrow |= {name: empty(name) for name in USAGE_TABLES}
    elif streamed is not None:
        arrow["performance_daily"] = conform(
            "performance_daily", _decoded(streamed["performance_daily"], streamed)
        )
    elif not isinstance(con, DuckDBBackend):
        arrow |= aggregate_events_to_arrow(events, done)
    tables = {name: con.create_table(name, table, overwrite=True) for name, table in arrow.items()}
    if streamed is not None:
        tables["usage_daily"] = _usage_daily(con, _decoded(streamed["usage_daily"], streamed))
    elif events.exists() and isinstance(con, DuckDBBackend):
        aggregate_events(events, duck, done)
        tables |= {name: con.table(name) for name in USAGE_TABLES}
    inputs = Inputs(con=con, **tables)
    if streamed is not None:
        seeds = {
            name: _code_table(con, f"_usage_{name}_{uuid.uuid4().hex[:8]}", streamed[name])
            for name in ("user_days", "name_days", "account_codes", "name_codes")
        }
        inputs.derived[ROLLUPS_KEY] = UsageRollups(inputs, **seeds)
    return inputs


def _decoded(table: pa.Table, streamed: dict[str, pa.Table]) -> pa.Table:
    """A streamed table with its coded `account`, `user` and `event_name` as (dictionary
    encoded) text, chunk by chunk without copying the codes."""
    dictionaries = {
        "account": streamed["account_codes"]["account"].combine_chunks(),
        "user": streamed["user_codes"]["user"].combine_chunks(),
        "event_name": streamed["name_codes"]["event_name"].combine_chunks(),
    }
    columns = {}
    for name in table.column_names:
        column = table[name]
        if name in dictionaries:
            values = dictionaries[name]
            column = pa.chunked_array(
                [pa.DictionaryArray.from_arrays(chunk, values) for chunk in column.chunks],
                pa.dictionary(pa.int32(), pa.string()),
            )
        columns[name] = column
    return pa.table(columns)


def _usage_daily(con: ibis.BaseBackend, table: pa.Table) -> ibis.Table:
    """`usage_daily` on `con`. On DuckDB a view of the Arrow table (no copy: the KPI pipelines
    read the rollups, so the long table is only scanned if someone asks for it)."""
    if not isinstance(con, DuckDBBackend):
        return con.create_table("usage_daily", conform("usage_daily", table), overwrite=True)
    con.drop_table("usage_daily", force=True)
    con.con.register("usage_daily", table)
    return con.table("usage_daily")


def _code_table(con: ibis.BaseBackend, name: str, table: pa.Table) -> ibis.Table:
    """A table keyed by integer codes: on DuckDB a view of the Arrow table, else a copy."""
    if not isinstance(con, DuckDBBackend):
        return con.create_table(name, table, overwrite=True)
    con.con.register(name, table)
    return con.table(name)


def read_entity_tables(directory: Path, duck: duckdb.DuckDBPyConnection) -> dict[str, pa.Table]:
    """The entity input tables (all but usage) as Arrow, exactly as inputs.SCHEMAS says."""
    cursor = duck.cursor()  # registrations stay on this cursor, off the caller's connection
    for name, columns in DEMO_COLUMNS.items():
        cursor.register(name, demo_table(directory / f"{name}.parquet", columns))
    return {
        name: conform(name, cursor.execute(sql).to_arrow_table())
        for name, sql in ENTITY_SQL.items()
    }


def demo_table(path: Path, columns: tuple[str, ...]) -> pa.Table:
    """The demo file's `columns` with their types; a missing file or column reads as nulls."""
    if path.exists():
        present = set(pq.read_schema(path).names)
        table = pq.read_table(path, columns=[name for name in columns if name in present])
    else:
        table = pa.table({})
    arrays = [
        table[name].cast(demo_type(name))
        if name in table.column_names
        else pa.nulls(table.num_rows, demo_type(name))
        for name in columns
    ]
    return pa.Table.from_arrays(arrays, names=list(columns))

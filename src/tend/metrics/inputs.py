"""The metrics engine's input tables: one schema per table, whatever they are loaded from.

Every KPI pipeline is a pure function of these Ibis tables. They come from the app database
(`load.py`) or from a directory of Parquet files written by the demo generator (`parquet.py`),
and sit on DuckDB (default) or PySpark. Accounts are keyed by their external id (`account`), so
both sources agree without the app database's row ids.

Times are UTC instants; money is decimal(18, 4) in the row's own currency.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import ibis
import pyarrow as pa

MONEY = pa.decimal128(18, 4)
INSTANT = pa.timestamp("us", tz="UTC")

SCHEMAS: dict[str, pa.Schema] = {
    # One row per account. `csm` is the owner's username; `referred` is true when the account came
    # from a referral or a returning champion; `seats` are licensed seats (null: unknown).
    "accounts": pa.schema(
        [
            ("account", pa.string()),
            ("name", pa.string()),
            ("segment", pa.string()),
            ("csm", pa.string()),
            ("lifecycle_stage", pa.string()),
            ("referred", pa.bool_()),
            ("seats", pa.int64()),
            ("signed_up_at", INSTANT),
            ("churned_at", INSTANT),
            ("traits", pa.string()),  # the account's custom traits as JSON text
        ]
    ),
    "contacts": pa.schema(
        [
            ("contact", pa.string()),
            ("account", pa.string()),
            ("email", pa.string()),
            ("is_champion", pa.bool_()),
            ("previous_account", pa.string()),  # set when a champion moved here from another
            ("first_seen_at", INSTANT),
        ]
    ),
    "subscriptions": pa.schema(
        [
            ("subscription", pa.string()),
            ("account", pa.string()),
            ("status", pa.string()),
            ("currency", pa.string()),
            ("started_at", INSTANT),
            ("trial_ends_at", INSTANT),
            ("current_period_end", INSTANT),
            ("cancel_at", INSTANT),
            ("canceled_at", INSTANT),
            ("ended_at", INSTANT),
        ]
    ),
    "subscription_items": pa.schema(
        [
            ("item", pa.string()),
            ("subscription", pa.string()),
            ("unit_amount", MONEY),
            ("quantity", pa.int64()),
            ("interval", pa.string()),
            ("interval_count", pa.int64()),
            ("discount_percent", MONEY),
            ("started_at", INSTANT),
            ("ended_at", INSTANT),
        ]
    ),
    "invoices": pa.schema(
        [
            ("invoice", pa.string()),
            ("account", pa.string()),
            ("status", pa.string()),  # draft, open, paid, void, uncollectible
            ("currency", pa.string()),
            ("amount_due", MONEY),
            ("amount_paid", MONEY),
            ("issued_at", INSTANT),
            ("due_at", INSTANT),
            ("paid_at", INSTANT),
        ]
    ),
    "tickets": pa.schema(
        [
            ("ticket", pa.string()),
            ("account", pa.string()),
            ("topic", pa.string()),
            ("priority", pa.string()),  # low, normal, high, urgent
            ("status", pa.string()),  # open, pending, solved, closed
            ("opened_at", INSTANT),
            ("first_response_at", INSTANT),
            ("resolved_at", INSTANT),
            ("agent_replies", pa.int64()),
            ("reopened_count", pa.int64()),
            ("escalated", pa.bool_()),
        ]
    ),
    "touchpoints": pa.schema(
        [
            ("touchpoint", pa.string()),
            ("account", pa.string()),
            ("csm", pa.string()),
            ("kind", pa.string()),  # email, call, meeting, chat, qbr, …
            ("direction", pa.string()),  # inbound, outbound
            ("occurred_at", INSTANT),
            ("satisfaction", pa.int64()),  # 1-5 when asked
        ]
    ),
    "survey_responses": pa.schema(
        [
            ("response", pa.string()),
            ("survey", pa.string()),
            ("kind", pa.string()),  # nps, csat, ces
            ("scale_min", pa.int64()),
            ("scale_max", pa.int64()),
            ("contact", pa.string()),
            ("account", pa.string()),
            ("score", pa.int64()),
            ("answered_at", INSTANT),
        ]
    ),
    # Usage rolled up per account, user, day and event name (the usage domain's rollups, or the
    # same aggregation of raw events). Only qualifying event types are here.
    "usage_daily": pa.schema(
        [
            ("account", pa.string()),
            ("user", pa.string()),
            ("day", pa.date32()),
            ("event_name", pa.string()),
            ("events", pa.int64()),
            ("sessions", pa.int64()),
            ("active_minutes", pa.float64()),
        ]
    ),
    # Product performance per account and day: page loads with a load time, their p95, errors.
    "performance_daily": pa.schema(
        [
            ("account", pa.string()),
            ("day", pa.date32()),
            ("events", pa.int64()),
            ("errors", pa.int64()),
            ("page_loads", pa.int64()),
            ("load_time_p95_ms", pa.float64()),
        ]
    ),
    # Units of `to_currency` per unit of `currency`, from `valid_from` until the pair's next rate.
    "exchange_rates": pa.schema(
        [
            ("currency", pa.string()),
            ("to_currency", pa.string()),
            ("valid_from", pa.date32()),
            ("rate", pa.float64()),
        ]
    ),
}
"""Column names and types of every input table; loaders must produce exactly these."""


@dataclass(frozen=True)
class Inputs:
    """The input tables as Ibis tables on one backend (DuckDB or PySpark)."""

    con: ibis.BaseBackend
    accounts: ibis.Table
    contacts: ibis.Table
    subscriptions: ibis.Table
    subscription_items: ibis.Table
    invoices: ibis.Table
    tickets: ibis.Table
    touchpoints: ibis.Table
    survey_responses: ibis.Table
    usage_daily: ibis.Table
    performance_daily: ibis.Table
    exchange_rates: ibis.Table
    derived: dict[str, Any] = dataclasses.field(
        default_factory=dict, init=False, compare=False, repr=False
    )
    """Tables derived from these inputs once and shared by pipelines (usage_rollups)."""


def empty(name: str) -> pa.Table:
    """An input table with no rows."""
    return SCHEMAS[name].empty_table()


def conform(name: str, table: pa.Table) -> pa.Table:
    """`table` with exactly the columns of SCHEMAS[name], in order and cast; missing → null."""
    schema = SCHEMAS[name]
    columns = []
    for field in schema:
        if field.name in table.column_names:
            columns.append(table[field.name].cast(field.type))
        else:
            columns.append(pa.nulls(table.num_rows, field.type))
    return pa.Table.from_arrays(columns, schema=schema)


def inputs_on(con: ibis.BaseBackend, tables: dict[str, pa.Table]) -> Inputs:
    """Register Arrow tables (any missing one empty) on `con` as the engine's inputs."""
    registered = {}
    for name in SCHEMAS:
        arrow = conform(name, tables.get(name, empty(name)))
        registered[name] = con.create_table(name, arrow, overwrite=True)
    return Inputs(con=con, **registered)


def duckdb_inputs(tables: dict[str, pa.Table]) -> Inputs:
    """Inputs on a fresh in-memory DuckDB (no extensions, nothing downloaded)."""
    return inputs_on(ibis.duckdb.connect(), tables)

"""App-DB tables the revenue pipeline reads, as Arrow tables and as Ibis tables on DuckDB."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import ibis
import pyarrow as pa
from django.db import connection
from django.utils.dateparse import parse_datetime
from ibis.backends.duckdb import Backend as DuckDBBackend

from tend.billing.models import Subscription, SubscriptionItem
from tend.customers.models import Account

MONEY = pa.decimal128(18, 4)
INSTANT = pa.timestamp("us", tz="UTC")
FOUR_PLACES = Decimal("0.0001")

ACCOUNTS_SCHEMA = pa.schema(
    [
        ("account_id", pa.int64()),
        ("external_id", pa.string()),
        ("owner_id", pa.int64()),
        ("segment", pa.string()),
    ]
)
SUBSCRIPTIONS_SCHEMA = pa.schema(
    [
        ("subscription_id", pa.int64()),
        ("account_id", pa.int64()),
        ("status", pa.string()),
        ("currency", pa.string()),
        ("started_at", INSTANT),
        ("trial_ends_at", INSTANT),
        ("cancel_at", INSTANT),
        ("canceled_at", INSTANT),
        ("ended_at", INSTANT),
    ]
)
ITEMS_SCHEMA = pa.schema(
    [
        ("item_id", pa.int64()),
        ("subscription_id", pa.int64()),
        ("unit_amount", MONEY),
        ("quantity", pa.int64()),
        ("interval", pa.string()),
        ("interval_count", pa.int64()),
        ("discount_percent", MONEY),
        ("started_at", INSTANT),
        ("ended_at", INSTANT),
    ]
)


def as_instant(value: Any) -> datetime | None:
    """A database time as an aware UTC datetime; SQLite hands back naive UTC or text."""
    if value is None:
        return None
    if isinstance(value, str):
        parsed = parse_datetime(value)
        if parsed is None:
            raise ValueError(f"not a datetime: {value!r}")
        value = parsed
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def as_money(value: Any) -> Decimal | None:
    """A database decimal to four places; SQLite returns ints and floats, so go through str."""
    if value is None:
        return None
    return Decimal(str(value)).quantize(FOUR_PLACES)


def segment_of(traits: Any) -> str | None:
    """The "segment" trait; PostgreSQL may return JSON as text or as a parsed dict."""
    parsed = json.loads(traits) if isinstance(traits, str | bytes) else traits
    segment = parsed.get("segment") if isinstance(parsed, dict) else None
    return None if segment is None else str(segment)


def _select(sql: str, schema: pa.Schema, converters: Sequence[Callable[[Any], Any]]) -> pa.Table:
    """Run one SELECT and build an Arrow table column by column with per-column converters."""
    with connection.cursor() as cursor:
        cursor.execute(sql)
        rows = cursor.fetchall()
    columns = [
        pa.array([convert(row[i]) for row in rows], type=field.type)
        for i, (field, convert) in enumerate(zip(schema, converters, strict=True))
    ]
    return pa.Table.from_arrays(columns, schema=schema)


def _same(value: Any) -> Any:
    return value


def _integer(value: Any) -> int | None:
    return None if value is None else int(value)


def read_accounts() -> pa.Table:
    """Accounts with their owner and segment trait."""
    sql = f"SELECT id, external_id, owner_id, traits FROM {Account._meta.db_table}"
    return _select(sql, ACCOUNTS_SCHEMA, [_integer, _same, _integer, segment_of])


def read_subscriptions() -> pa.Table:
    """Subscriptions with the dates that bound when their items count."""
    sql = (
        "SELECT id, account_id, status, currency, started_at, trial_ends_at, cancel_at, "
        f"canceled_at, ended_at FROM {Subscription._meta.db_table}"
    )
    converters = [_integer, _integer, _same, _same, *[as_instant] * 5]
    return _select(sql, SUBSCRIPTIONS_SCHEMA, converters)


def read_subscription_items() -> pa.Table:
    """Every term of every subscription item (a plan or seat change ends one row, starts one)."""
    sql = (
        "SELECT id, subscription_id, unit_amount, quantity, interval, interval_count, "
        f"discount_percent, started_at, ended_at FROM {SubscriptionItem._meta.db_table}"
    )
    converters = [
        _integer,
        _integer,
        as_money,
        _integer,
        _same,
        _integer,
        as_money,
        as_instant,
        as_instant,
    ]
    return _select(sql, ITEMS_SCHEMA, converters)


@dataclass(frozen=True)
class RevenueTables:
    """The revenue pipeline's inputs as Ibis tables on one in-memory DuckDB connection."""

    con: DuckDBBackend
    accounts: ibis.Table
    subscriptions: ibis.Table
    items: ibis.Table


def revenue_tables(accounts: pa.Table, subscriptions: pa.Table, items: pa.Table) -> RevenueTables:
    """Put Arrow tables on a fresh in-memory DuckDB (no extensions, nothing downloaded)."""
    con = ibis.duckdb.connect()
    return RevenueTables(
        con=con,
        accounts=con.create_table("accounts", accounts),
        subscriptions=con.create_table("subscriptions", subscriptions),
        items=con.create_table("subscription_items", items),
    )


def load_revenue_tables() -> RevenueTables:
    """Read the app DB through Django's connection and expose it on DuckDB."""
    return revenue_tables(read_accounts(), read_subscriptions(), read_subscription_items())

"""Read the app database into the engine's input tables (inputs.SCHEMAS), through Django's
connection so that the engine sees exactly what the app sees (in tests: the open transaction).

Usage comes from the usage domain's rollups; product performance from raw page and error events
since a given day (only those carry load times and error codes).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pyarrow as pa
from django.db import connection
from django.utils.dateparse import parse_date, parse_datetime

from tend.metrics.inputs import SCHEMAS

FOUR_PLACES = Decimal("0.0001")
LOAD_TIME_PROPERTY = "load_time_ms"
ERROR_PROPERTY = "error_code"
REFERRAL_SOURCES = ("referral", "champion")
FETCH_ROWS = 50_000


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


def as_day(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    parsed = parse_date(str(value)[:10])
    if parsed is None:
        raise ValueError(f"not a date: {value!r}")
    return parsed


def as_money(value: Any) -> Decimal | None:
    """A database decimal to four places; SQLite returns ints and floats, so go through str."""
    if value is None:
        return None
    return Decimal(str(value)).quantize(FOUR_PLACES)


def _trait(name: str) -> Callable[[Any], str | None]:
    """A converter reading one key of a JSON column (text on SQLite, parsed on PostgreSQL)."""

    def read(traits: Any) -> str | None:
        parsed = json.loads(traits) if isinstance(traits, str | bytes) else traits
        value = parsed.get(name) if isinstance(parsed, dict) else None
        return None if value in (None, "") else str(value)

    return read


def _json_text(value: Any) -> str | None:
    """A JSON column as text (SQLite gives text, PostgreSQL a parsed object)."""
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value)


def _same(value: Any) -> Any:
    return value


def _text(value: Any) -> str | None:
    return None if value in (None, "") else str(value)


def _integer(value: Any) -> int | None:
    return None if value is None else int(value)


def _boolean(value: Any) -> bool | None:
    return None if value is None else bool(value)


def _select(
    name: str, sql: str, converters: Sequence[Callable[[Any], Any]], params: Sequence[Any] = ()
) -> pa.Table:
    """Run one SELECT and build the input table `name` column by column."""
    schema = SCHEMAS[name]
    columns: list[list[Any]] = [[] for _ in schema]
    with connection.cursor() as cursor:
        cursor.execute(sql, list(params))
        while rows := cursor.fetchmany(FETCH_ROWS):
            for i, convert in enumerate(converters):
                columns[i].extend(convert(row[i]) for row in rows)
    arrays = [
        pa.array(values, type=field.type) for values, field in zip(columns, schema, strict=True)
    ]
    return pa.Table.from_arrays(arrays, schema=schema)


def _table(model_label: str) -> str:
    from django.apps import apps

    app_label, model = model_label.split(".")
    return connection.ops.quote_name(apps.get_model(app_label, model)._meta.db_table)


Accounts = Sequence[str] | None
"""External ids to read the data of (None: every account)."""


def _of(
    accounts: Accounts, column: str = "a.external_id", joiner: str = "WHERE"
) -> tuple[str, list[Any]]:
    """An SQL condition keeping rows of `accounts` only, with its parameters."""
    if accounts is None:
        return "", []
    wanted = sorted(set(accounts)) or [""]
    return f" {joiner} {column} IN ({', '.join(['%s'] * len(wanted))})", list(wanted)


def read_accounts(accounts: Accounts = None) -> pa.Table:
    sources = ", ".join(f"'{source}'" for source in REFERRAL_SOURCES)
    sql = (
        "SELECT a.external_id, a.name, a.traits, u.username, a.lifecycle_stage, "
        f"a.acquisition_source IN ({sources}), a.seats, a.signed_up_at, a.churned_at, a.traits "
        f"FROM {_table('customers.Account')} a LEFT JOIN {_table('core.User')} u "
        "ON u.id = a.owner_id"
    )
    converters = [_same, _same, _trait("segment"), _text, _text, _boolean, _integer]
    where, params = _of(accounts)
    converters = [*converters, as_instant, as_instant, _json_text]
    return _select("accounts", sql + where, converters, params)


def read_contacts(accounts: Accounts = None) -> pa.Table:
    sql = (
        "SELECT c.external_id, a.external_id, c.email, c.is_champion, c.traits, c.first_seen_at "
        f"FROM {_table('customers.Contact')} c "
        f"LEFT JOIN {_table('customers.Account')} a ON a.id = c.account_id"
    )
    previous = _trait("previous_account_external_id")
    where, params = _of(accounts)
    converters = [_same, _text, _text, _boolean, previous, as_instant]
    return _select("contacts", sql + where, converters, params)


def read_subscriptions(accounts: Accounts = None) -> pa.Table:
    sql = (
        "SELECT s.external_id, a.external_id, s.status, s.currency, s.started_at, "
        "s.trial_ends_at, s.current_period_end, s.cancel_at, s.canceled_at, s.ended_at "
        f"FROM {_table('billing.Subscription')} s "
        f"JOIN {_table('customers.Account')} a ON a.id = s.account_id"
    )
    where, params = _of(accounts)
    converters = [_same, _same, _same, _same, *[as_instant] * 6]
    return _select("subscriptions", sql + where, converters, params)


def read_subscription_items(accounts: Accounts = None) -> pa.Table:
    sql = (
        "SELECT i.external_id, s.external_id, i.unit_amount, i.quantity, i.interval, "
        "i.interval_count, i.discount_percent, i.started_at, i.ended_at "
        f"FROM {_table('billing.SubscriptionItem')} i "
        f"JOIN {_table('billing.Subscription')} s ON s.id = i.subscription_id"
    )
    converters = [_same, _same, as_money, _integer, _same, _integer, as_money]
    where, params = _of(accounts)
    if where:
        sql += f" JOIN {_table('customers.Account')} a ON a.id = s.account_id"
    return _select("subscription_items", sql + where, [*converters, as_instant, as_instant], params)


def read_invoices(accounts: Accounts = None) -> pa.Table:
    sql = (
        "SELECT i.external_id, a.external_id, i.status, i.currency, i.amount_due, "
        "i.amount_paid, i.issued_at, i.due_at, i.paid_at "
        f"FROM {_table('billing.Invoice')} i "
        f"JOIN {_table('customers.Account')} a ON a.id = i.account_id"
    )
    converters = [_same, _same, _same, _same, as_money, as_money]
    where, params = _of(accounts)
    return _select("invoices", sql + where, [*converters, *[as_instant] * 3], params)


def read_tickets(accounts: Accounts = None) -> pa.Table:
    sql = (
        "SELECT t.external_id, a.external_id, t.topic, t.priority, t.status, t.opened_at, "
        "t.first_response_at, t.resolved_at, t.agent_replies, t.reopened_count, t.escalated "
        f"FROM {_table('support.Ticket')} t "
        f"JOIN {_table('customers.Account')} a ON a.id = t.account_id"
    )
    converters = [_same, _same, _text, _same, _same, *[as_instant] * 3, _integer, _integer]
    where, params = _of(accounts)
    return _select("tickets", sql + where, [*converters, _boolean], params)


def read_touchpoints(accounts: Accounts = None) -> pa.Table:
    sql = (
        "SELECT t.external_id, a.external_id, u.username, t.kind, t.direction, t.occurred_at, "
        f"t.satisfaction FROM {_table('support.Touchpoint')} t "
        f"JOIN {_table('customers.Account')} a ON a.id = t.account_id "
        f"LEFT JOIN {_table('core.User')} u ON u.id = t.csm_id"
    )
    converters = [_same, _same, _text, _same, _same, as_instant, _integer]
    where, params = _of(accounts)
    return _select("touchpoints", sql + where, converters, params)


def read_survey_responses(accounts: Accounts = None) -> pa.Table:
    sql = (
        "SELECT r.external_id, s.external_id, s.kind, s.scale_min, s.scale_max, c.external_id, "
        "a.external_id, r.score, r.answered_at "
        f"FROM {_table('surveys.SurveyResponse')} r "
        f"JOIN {_table('surveys.Survey')} s ON s.id = r.survey_id "
        f"LEFT JOIN {_table('customers.Contact')} c ON c.id = r.contact_id "
        f"LEFT JOIN {_table('customers.Account')} a ON a.id = r.account_id"
    )
    converters = [_same, _same, _same, _integer, _integer, _text, _text, _integer, as_instant]
    where, params = _of(accounts)
    return _select("survey_responses", sql + where, converters, params)


def read_usage_daily(since: date | None = None, accounts: Accounts = None) -> pa.Table:
    """The usage rollups of attributed users (events without an account are left out).

    Millions of rows: built column-wise by Arrow, not value by value in Python."""
    sql = (
        "SELECT a.external_id, r.user_id, r.day, r.event_name, r.events, r.sessions, "
        f"r.active_minutes FROM {_table('usage.UsageRollup')} r "
        f"JOIN {_table('customers.Account')} a ON a.id = r.account_id WHERE r.user_id <> ''"
    )
    where, params = _of(accounts, joiner="AND")
    sql += where
    if since is not None:
        sql += " AND r.day >= %s"
        params.append(since)
    schema = SCHEMAS["usage_daily"]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    if not rows:
        return schema.empty_table()
    arrays = []
    for values, field in zip(zip(*rows, strict=True), schema, strict=True):
        if field.type == pa.date32() and isinstance(values[0], str):
            arrays.append(pa.array(values, pa.string()).cast(pa.date32()))
        else:
            arrays.append(pa.array(values, field.type))
    return pa.Table.from_arrays(arrays, schema=schema)


def read_performance_daily(since: date | None = None, accounts: Accounts = None) -> pa.Table:
    """Events, errors, page loads and their p95 load time per account and day, from raw events.

    The database counts per account and day; only the page loads' times travel to DuckDB, which
    takes the percentiles (SQLite has no percentile function)."""
    import duckdb

    if connection.vendor == "postgresql":
        load_time = f"(e.properties ->> '{LOAD_TIME_PROPERTY}')::float"
        error = f"(e.properties ->> '{ERROR_PROPERTY}')"
        day = "to_char(e.timestamp AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
    else:
        load_time = f"json_extract(e.properties, '$.{LOAD_TIME_PROPERTY}')"
        error = f"json_extract(e.properties, '$.{ERROR_PROPERTY}')"
        day = "substr(e.timestamp, 1, 10)"
    where = "e.account_id IS NOT NULL AND e.type IN ('track', 'page', 'screen')"
    only, params = _of(accounts, joiner="AND")
    if only:
        account_table = _table("customers.Account")
        where += (
            only.replace(
                " AND a.external_id IN",
                f" AND e.account_id IN (SELECT id FROM {account_table} WHERE external_id IN",
            )
            + ")"
        )
    if since is not None:
        where += " AND e.timestamp >= %s"
        params.append(datetime.combine(since, datetime.min.time(), UTC))
    events = _table("usage.Event")
    counts = _columns(
        f"SELECT e.account_id, {day}, count(*), sum(CASE WHEN {error} IS NOT NULL THEN 1 ELSE 0 "
        f"END), count({load_time}) FROM {events} e WHERE {where} GROUP BY 1, 2",
        params,
        ["account_id", "day", "events", "errors", "page_loads"],
    )
    loads = _columns(
        f"SELECT e.account_id, {day}, {load_time} FROM {events} e "
        f"WHERE {where} AND {load_time} IS NOT NULL",
        params,
        ["account_id", "day", "load_time_ms"],
    )
    accounts = _columns(
        f"SELECT id, external_id FROM {_table('customers.Account')}", [], ["id", "account"]
    )
    con = duckdb.connect()
    for name, table in (("counts", counts), ("loads", loads), ("accounts", accounts)):
        con.register(name, table)
    daily = con.execute(
        "WITH p95 AS (SELECT account_id, day, quantile_cont(load_time_ms, 0.95) AS p95 "
        "FROM loads GROUP BY account_id, day) "
        "SELECT a.account, CAST(c.day AS DATE) AS day, c.events, c.errors, c.page_loads, "
        "p95.p95 AS load_time_p95_ms FROM counts c JOIN accounts a ON a.id = c.account_id "
        "LEFT JOIN p95 USING (account_id, day)"
    )
    return daily.to_arrow_table().cast(SCHEMAS["performance_daily"])


def _columns(sql: str, params: Sequence[Any], names: list[str]) -> pa.Table:
    """A query's rows as an Arrow table with the given column names (types inferred)."""
    with connection.cursor() as cursor:
        cursor.execute(sql, list(params))
        rows = cursor.fetchall()
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(names)
    arrays = []
    for name, values in zip(names, columns, strict=True):
        if name == "day":
            arrays.append(pa.array(values, pa.string()))
        elif name == "load_time_ms":
            arrays.append(pa.array([float(v) for v in values], pa.float64()))
        else:
            arrays.append(pa.array(values))
    return pa.Table.from_arrays(arrays, names=names)


def read_exchange_rates() -> pa.Table:
    sql = f"SELECT currency, to_currency, valid_from, rate FROM {_table('billing.ExchangeRate')}"
    converters: list[Callable[[Any], Any]] = [_same, _same, as_day, float]
    return _select("exchange_rates", sql, converters)


def read_app_tables(
    usage_since: date | None = None, accounts: Accounts = None
) -> dict[str, pa.Table]:
    """Every input table from the app database; usage only from `usage_since` on, and only the
    data of `accounts` (external ids), if given."""
    return {
        "accounts": read_accounts(accounts),
        "contacts": read_contacts(accounts),
        "subscriptions": read_subscriptions(accounts),
        "subscription_items": read_subscription_items(accounts),
        "invoices": read_invoices(accounts),
        "tickets": read_tickets(accounts),
        "touchpoints": read_touchpoints(accounts),
        "survey_responses": read_survey_responses(accounts),
        "usage_daily": read_usage_daily(usage_since, accounts),
        "performance_daily": read_performance_daily(usage_since, accounts),
        "exchange_rates": read_exchange_rates(),
    }

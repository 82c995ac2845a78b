"""The engine's inputs from the demo generator's Parquet files (tend.metrics.parquet_inputs)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import ibis
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from tend.demo.generate import DemoConfig, generate_company
from tend.demo.parquet import EVENT_ORDER, EVENT_SCHEMA, write_parquet
from tend.metrics import revenue_kpis, usage
from tend.metrics.grid import make_grid
from tend.metrics.inputs import SCHEMAS, inputs_on
from tend.metrics.parquet_events import aggregate_events_to_arrow
from tend.metrics.parquet_inputs import read_parquet_inputs
from tend.metrics.parquet_sorted_events import aggregate_sorted_events
from tend.metrics.usage_rollups import UsageRollups, usage_rollups

END = datetime(2025, 3, 31, tzinfo=UTC)
TEN = datetime(2025, 3, 3, 10, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def demo_directory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("demo")
    write_parquet(generate_company(DemoConfig(accounts=4, months=3, seed=3, end=END)), directory)
    return directory


def test_demo_files_become_every_input_table(demo_directory: Path) -> None:
    """Every table has exactly inputs.SCHEMAS' columns and types, accounts keep their external
    ids and segments, and usage_daily holds every qualifying event of an identified user once."""
    con = ibis.duckdb.connect()
    inputs = read_parquet_inputs(demo_directory, con)
    for name, schema in SCHEMAS.items():
        table = getattr(inputs, name)
        assert table.schema().to_pyarrow().equals(schema), name
        assert table.to_pyarrow().schema.equals(schema), name
    accounts = inputs.accounts.to_pyarrow().to_pylist()
    assert [row["account"] for row in accounts] == [
        "acc_00001",
        "acc_00002",
        "acc_00003",
        "acc_00004",
    ]
    assert all(row["segment"] in {"smb", "mid_market", "enterprise"} for row in accounts)
    assert all(row["csm"] for row in accounts)
    kinds = set(inputs.survey_responses.kind.to_pyarrow().to_pylist())
    assert kinds <= {"nps", "csat", "ces"}

    events = pq.read_table(demo_directory / "events.parquet", columns=["type", "user_id"])
    qualifying = pc.and_(
        pc.is_in(events["type"], pa.array(["track", "page", "screen"])),
        pc.invert(pc.equal(events["user_id"].fill_null(""), "")),
    )
    expected = pc.sum(qualifying.cast(pa.int64())).as_py()
    assert expected > 0
    assert inputs.usage_daily.events.sum().to_pyarrow().as_py() == expected
    assert inputs.performance_daily.events.sum().to_pyarrow().as_py() == expected
    sessions = inputs.usage_daily.sessions.sum().to_pyarrow().as_py()
    assert 0 < sessions < expected


def write_events(directory: Path, rows: list[dict[str, object]]) -> None:
    """An events.parquet of the demo's schema from partial rows (missing columns null)."""
    filled = [{field.name: row.get(field.name) for field in EVENT_SCHEMA} for row in rows]
    pq.write_table(pa.Table.from_pylist(filled, schema=EVENT_SCHEMA), directory / "events.parquet")


def event(user: str, at: datetime, name: str = "Dashboard Viewed", **fields: object) -> dict:
    return {
        "type": "track",
        "name": name,
        "user_id": user,
        "account_id": "acc_1",
        "timestamp": at,
        **fields,
    }


@pytest.fixture(scope="module")
def hand_made(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """x: 10:00 (Logged In) and 10:10 → one 10-minute session. y: 10:00 and 10:40 → two
    sessions of one minute (the minimum). z: 23:50 on Mar 3 and 00:05 on Mar 4 → one session on
    each day. An identify and an anonymous event do not count as usage."""
    directory = tmp_path_factory.mktemp("events")

    def minutes(count: int) -> datetime:
        return TEN + timedelta(minutes=count)

    write_events(
        directory,
        [
            event("x", minutes(10)),
            event("x", TEN, "Logged In"),
            event("y", TEN, "Logged In", type="page", load_time_ms=400.0),
            event("y", minutes(40), error_code="E_500"),
            event("z", minutes(830)),
            event("z", minutes(845), "Report Shared", type="page", load_time_ms=800.0),
            event("x", minutes(5), "Identified", type="identify"),
            event("", minutes(5)),
        ],
    )
    return directory


def test_sessions_end_after_thirty_quiet_minutes_or_at_midnight(hand_made: Path) -> None:
    """Sessions count on the rollup row of the event that opened them, as in the rollups."""
    con = ibis.duckdb.connect()
    inputs = read_parquet_inputs(hand_made, con)
    rows = inputs.usage_daily.to_pyarrow().to_pylist()
    found = {
        (r["user"], r["day"].day, r["event_name"]): (
            r["events"],
            r["sessions"],
            r["active_minutes"],
        )
        for r in rows
    }
    assert found == {
        ("x", 3, "Logged In"): (1, 1, pytest.approx(10.0)),
        ("x", 3, "Dashboard Viewed"): (1, 0, 0.0),
        ("y", 3, "Logged In"): (1, 1, 1.0),
        ("y", 3, "Dashboard Viewed"): (1, 1, 1.0),
        ("z", 3, "Dashboard Viewed"): (1, 1, 1.0),
        ("z", 4, "Report Shared"): (1, 1, 1.0),
    }
    assert {r["account"] for r in rows} == {"acc_1"}
    assert inputs.accounts.count().to_pyarrow().as_py() == 0


def test_performance_per_account_day(hand_made: Path) -> None:
    """Mar 3: 6 qualifying events (the anonymous one too, not the identify), 1 error, 1 timed
    page load of 400 ms; Mar 4: 1 event, a page load of 800 ms."""
    inputs = read_parquet_inputs(hand_made, ibis.duckdb.connect())
    rows = inputs.performance_daily.order_by("day").to_pyarrow().to_pylist()
    assert [
        (r["day"], r["events"], r["errors"], r["page_loads"], r["load_time_p95_ms"]) for r in rows
    ] == [
        (date(2025, 3, 3), 6, 1, 1, 400.0),
        (date(2025, 3, 4), 1, 0, 1, 800.0),
    ]


def test_other_backends_get_the_same_tables_as_arrow(hand_made: Path) -> None:
    """Off DuckDB the aggregation runs on a private DuckDB; the Arrow tables match."""
    on_duckdb = read_parquet_inputs(hand_made, ibis.duckdb.connect())
    arrow = aggregate_events_to_arrow(hand_made / "events.parquet")
    for name in ("usage_daily", "performance_daily"):
        assert arrow[name].schema.equals(SCHEMAS[name])
        expected = getattr(on_duckdb, name).to_pyarrow()
        assert sorted(arrow[name].to_pylist(), key=str) == sorted(expected.to_pylist(), key=str)


def test_the_demo_layout_is_read_in_one_pass_with_the_same_tables(demo_directory: Path) -> None:
    """The demo writes events in the layout of the streaming reader; it gives exactly the tables
    of the SQL formulation (which needs no order)."""
    events = demo_directory / "events.parquet"
    streamed = aggregate_sorted_events(events, lambda step: None)
    assert streamed is not None
    on_duckdb = read_parquet_inputs(demo_directory, ibis.duckdb.connect())
    by_sql = aggregate_events_to_arrow(events)
    for name in ("usage_daily", "performance_daily"):
        read = getattr(on_duckdb, name).to_pyarrow()
        assert read.schema.equals(SCHEMAS[name])
        assert sorted(read.to_pylist(), key=str) == sorted(by_sql[name].to_pylist(), key=str)


def test_streamed_rollups_match_rollups_of_usage_daily(demo_directory: Path) -> None:
    """The reader's user-day and name-day rollups (keyed by codes) are those the engine would
    derive from usage_daily."""
    inputs = read_parquet_inputs(demo_directory, ibis.duckdb.connect())
    seeded = usage_rollups(inputs)
    assert seeded.account_codes is not None
    derived = UsageRollups(inputs)

    def rows(table: ibis.Table, rollups: UsageRollups, keys: list[str]) -> list[tuple]:
        if rollups.account_codes is not None:
            codes = rollups.account_codes.rename(account_text="account")
            joined = table.join(codes, table.account == codes.code)
            table = joined.mutate(account=joined.account_text).drop("account_text", "code")
        if "event_name" in table.columns:
            table = rollups.with_names(table)
        found = table.to_pyarrow().to_pylist()
        return sorted(tuple(row[key] for key in keys) for row in found)

    user_keys = ["account", "user", "day", "events", "sessions"]
    seeded_days = rows(seeded.user_days.drop("user"), seeded, ["account", "day", "events"])
    assert seeded_days == rows(
        derived.user_days.drop("user"), derived, ["account", "day", "events"]
    )
    assert len(rows(seeded.user_days, seeded, user_keys)) == derived.user_days.count().execute()
    name_keys = ["account", "event_name", "day", "events"]
    assert rows(seeded.name_days, seeded, name_keys) == rows(derived.name_days, derived, name_keys)
    minutes = seeded.user_days.active_minutes.sum().execute()
    assert minutes == pytest.approx(derived.user_days.active_minutes.sum().execute(), rel=1e-12)


def test_usage_kpis_from_the_streamed_rollups_equal_those_from_usage_daily(
    demo_directory: Path,
) -> None:
    """Every usage pipeline gives the same rows from the Parquet reader's coded rollups as from
    the same input tables loaded as plain tables (rollups derived from usage_daily)."""
    streamed = read_parquet_inputs(demo_directory, ibis.duckdb.connect())
    plain = inputs_on(
        ibis.duckdb.connect(), {name: getattr(streamed, name).to_pyarrow() for name in SCHEMAS}
    )
    last = streamed.usage_daily.day.max().to_pyarrow().as_py()
    for pipeline in (*usage.PIPELINES, *revenue_kpis.PIPELINES[:1]):
        found = []
        for inputs in (streamed, plain):
            grid = make_grid(inputs.con, inputs.accounts, date(2025, 1, 1), last)
            table = pipeline.compute(inputs, grid).to_pyarrow()
            found.append(sorted(table.to_pylist(), key=lambda row: str(list(row.values())[:7])))
        assert len(found[0]) > 0, pipeline.name
        assert len(found[0]) == len(found[1]), pipeline.name
        for one, other in zip(*found, strict=True):
            assert {k: v for k, v in one.items() if k != "value"} == {
                k: v for k, v in other.items() if k != "value"
            }, pipeline.name
            if one["value"] is None or other["value"] is None:
                assert one["value"] is other["value"], pipeline.name
            else:
                assert one["value"] == pytest.approx(other["value"], rel=1e-9, abs=1e-9)


def test_events_out_of_the_demo_layout_fall_back_to_sql(hand_made: Path) -> None:
    """x's events are not in time order in the hand-made file: the streaming reader declines."""
    assert aggregate_sorted_events(hand_made / "events.parquet", lambda step: None) is None


def test_hand_made_events_in_the_layout_give_the_same_tables(
    hand_made: Path, tmp_path: Path
) -> None:
    """The hand-made events sorted into the demo's layout: the streaming reader gives what the
    SQL formulation gives for the unsorted file."""
    table = pq.read_table(hand_made / "events.parquet")
    ordered = table.take(pc.sort_indices(table, sort_keys=EVENT_ORDER))
    pq.write_table(ordered, tmp_path / "events.parquet")
    streamed = read_parquet_inputs(tmp_path, ibis.duckdb.connect())
    assert usage_rollups(streamed).account_codes is not None
    by_sql = aggregate_events_to_arrow(hand_made / "events.parquet")
    for name in ("usage_daily", "performance_daily"):
        read = getattr(streamed, name).to_pyarrow().to_pylist()
        assert sorted(read, key=str) == sorted(by_sql[name].to_pylist(), key=str)

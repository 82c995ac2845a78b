"""Usage rollups: hand-computed sessions and counts, incremental runs equal one full run, late
events, watermark and rows moving together, flat memory, concurrent runs, the job and the CLI."""

from __future__ import annotations

import itertools
import os
import sqlite3
import subprocess
import sys
import threading
import tracemalloc
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db import DatabaseError, connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from tend.config.jobs import SCHEDULE
from tend.customers.models import Account
from tend.usage.actions import format_db_time, insert_event_rows
from tend.usage.jobs import roll_up_usage
from tend.usage.models import Event, UsageRollup, Watermark
from tend.usage.queries import daily_active_users
from tend.usage.rollup_cli import commands
from tend.usage.rollups import (
    WATERMARK_NAME,
    reset_rollups,
    rollup_position,
    run_rollup,
)
from tests.factories import AccountFactory, EventFactory

pytestmark = pytest.mark.django_db

DAY = datetime(2026, 1, 15, tzinfo=UTC)
Row = tuple[Any, ...]


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A time on January 15 + `day`, 2026 (UTC)."""
    return DAY + timedelta(days=day, hours=hour, minutes=minute)


def event(account: Account, user: str, moment: datetime, name: str, **fields: Any) -> Event:
    event: Event = EventFactory(
        account=account, user_id=user, timestamp=moment, name=name, **fields
    )
    return event


def table() -> list[Row]:
    """Every rollup row as (account, user, day, name, events, sessions, minutes, first, last)."""
    return sorted(
        (
            r.account_id,
            r.user_id,
            r.day,
            r.event_name,
            r.events,
            r.sessions,
            round(r.active_minutes, 6),
            r.first_at,
            r.last_at,
        )
        for r in UsageRollup.objects.all()
    )


def test_counts_sessions_and_active_minutes_by_hand() -> None:
    acme, globex = AccountFactory(), AccountFactory()
    # u1 at Acme: a session across midnight is cut at the day boundary; on day 2 a 31-minute
    # gap opens a second session, a 29-minute gap does not; identify events are not usage.
    event(acme, "u1", at(0, 23, 40), "login")
    event(acme, "u1", at(0, 23, 50), "report_viewed")
    event(acme, "u1", at(1, 0, 10), "report_viewed")
    event(acme, "u1", at(1, 0, 41), "export")
    event(acme, "u1", at(1, 1, 10), "Dashboard", type="page")
    event(acme, "u1", at(1, 1, 0), "", type="identify")
    # u2 at Acme: session ids override the gap rule, from properties or from context.
    event(acme, "u2", at(0, 10, 0), "login", properties={"session_id": "s1"})
    event(acme, "u2", at(0, 10, 5), "search", context={"sessionId": "s2"})
    event(acme, "u2", at(0, 11, 0), "export", properties={"session_id": "s1"})
    # The same user id at another account is another user; two anonymous visitors are two
    # sessions under the blank user id; events without an account are not rolled up.
    event(globex, "u1", at(0, 9, 0), "login", type="screen")
    event(globex, "", at(0, 9, 0), "Pricing", type="page", anonymous_id="a1")
    event(globex, "", at(0, 9, 10), "Pricing", type="page", anonymous_id="a2")
    EventFactory(account=None, user_id="u9", timestamp=at(0, 9, 0))

    report = run_rollup()

    d0, d1 = date(2026, 1, 15), date(2026, 1, 16)
    assert table() == sorted(
        [
            (acme.pk, "u1", d0, "login", 1, 1, 10.0, at(0, 23, 40), at(0, 23, 40)),
            (acme.pk, "u1", d0, "report_viewed", 1, 0, 0.0, at(0, 23, 50), at(0, 23, 50)),
            (acme.pk, "u1", d1, "report_viewed", 1, 1, 1.0, at(1, 0, 10), at(1, 0, 10)),
            (acme.pk, "u1", d1, "export", 1, 1, 29.0, at(1, 0, 41), at(1, 0, 41)),
            (acme.pk, "u1", d1, "Dashboard", 1, 0, 0.0, at(1, 1, 10), at(1, 1, 10)),
            (acme.pk, "u2", d0, "login", 1, 1, 60.0, at(0, 10), at(0, 10)),
            (acme.pk, "u2", d0, "search", 1, 1, 1.0, at(0, 10, 5), at(0, 10, 5)),
            (acme.pk, "u2", d0, "export", 1, 0, 0.0, at(0, 11), at(0, 11)),
            (globex.pk, "u1", d0, "login", 1, 1, 1.0, at(0, 9), at(0, 9)),
            (globex.pk, "", d0, "Pricing", 2, 2, 2.0, at(0, 9), at(0, 9, 10)),
        ]
    )
    assert report.events_read == 13
    assert report.caught_up and report.position == Event.objects.latest("pk").pk
    assert rollup_position() == report.position
    assert run_rollup().events_read == 0


def test_late_event_updates_its_past_day_and_reopens_its_session() -> None:
    acme = AccountFactory()
    event(acme, "u1", at(3, 10, 0), "report_viewed")
    event(acme, "u1", at(0, 10, 0), "search")
    run_rollup()
    # Arrives later, but happened 5 minutes before the session on day 0: it now opens it.
    event(acme, "u1", at(0, 9, 55), "login")
    event(acme, "u1", at(0, 10, 0), "search", received_at=at(4, 0, 0))

    run_rollup()

    d0 = date(2026, 1, 15)
    assert [row for row in table() if row[2] == d0] == sorted(
        [
            (acme.pk, "u1", d0, "login", 1, 1, 5.0, at(0, 9, 55), at(0, 9, 55)),
            (acme.pk, "u1", d0, "search", 2, 0, 0.0, at(0, 10), at(0, 10)),
        ]
    )
    assert UsageRollup.objects.get(day=date(2026, 1, 18)).events == 1


# A reference implementation in plain Python, for the property test.
@dataclass
class Cell:
    events: int = 0
    sessions: int = 0
    minutes: float = 0.0
    times: list[datetime] = field(default_factory=list)


def reference(events: list[dict[str, Any]]) -> list[Row]:
    cells: dict[tuple[Any, ...], Cell] = defaultdict(Cell)
    by_visitor: dict[tuple[Any, ...], list[dict[str, Any]]] = defaultdict(list)
    for e in events:
        if e["type"] not in ("track", "page", "screen"):
            continue
        key = (e["account"], e["user"], e["timestamp"].date(), e["name"])
        cells[key].events += 1
        cells[key].times.append(e["timestamp"])
        visitor = (e["account"], e["user"], e["timestamp"].date(), e["anonymous"])
        by_visitor[visitor].append(e)
    for (account, user, day, _), stream in by_visitor.items():
        sessions: dict[Any, list[dict[str, Any]]] = defaultdict(list)
        number = 0
        last: datetime | None = None
        for e in sorted(stream, key=lambda e: (e["timestamp"], e["order"])):
            if e["session"] is not None:
                sessions[("id", e["session"])].append(e)
                continue
            if last is None or (e["timestamp"] - last).total_seconds() > 1800:
                number += 1
            last = e["timestamp"]
            sessions[("gap", number)].append(e)
        for members in sessions.values():
            opener = min(members, key=lambda e: (e["timestamp"], e["order"]))
            length = (
                max(e["timestamp"] for e in members) - min(e["timestamp"] for e in members)
            ).total_seconds()
            cell = cells[(account, user, day, opener["name"])]
            cell.sessions += 1
            cell.minutes += max(length, 60) / 60
    return sorted(
        (*key, c.events, c.sessions, round(c.minutes, 6), min(c.times), max(c.times))
        for key, c in cells.items()
    )


event_streams = st.lists(
    st.fixed_dictionaries(
        {
            "account": st.integers(0, 1),
            "user": st.sampled_from(["u1", "u2", ""]),
            "anonymous": st.sampled_from(["a1", "a2"]),
            "minute": st.integers(0, 3 * 24 * 60),
            "name": st.sampled_from(["login", "search", "export"]),
            "type": st.sampled_from(["track", "track", "page", "identify"]),
            "session": st.sampled_from([None, None, None, "s1", "s2"]),
        }
    ),
    min_size=1,
    max_size=60,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(stream=event_streams, cuts=st.lists(st.integers(0, 60), max_size=4), size=st.integers(1, 7))
def test_incremental_runs_equal_one_full_run(
    stream: list[dict[str, Any]], cuts: list[int], size: int
) -> None:
    Event.objects.all().delete()
    reset_rollups()
    accounts = [AccountFactory(), AccountFactory()]
    events = [
        {
            **e,
            "account": accounts[e["account"]].pk,
            "anonymous": e["anonymous"] if e["user"] == "" else "",
            "timestamp": DAY + timedelta(minutes=e["minute"]),
            "order": order,
        }
        for order, e in enumerate(stream)
    ]
    bounds = sorted({0, len(events), *(min(c, len(events)) for c in cuts)})
    for start, end in itertools.pairwise(bounds):
        for e in events[start:end]:
            EventFactory(
                account_id=e["account"],
                user_id=e["user"],
                anonymous_id=e["anonymous"],
                timestamp=e["timestamp"],
                name=e["name"],
                type=e["type"],
                properties={} if e["session"] is None else {"session_id": e["session"]},
            )
        run_rollup(batch_size=size)
    incremental = table()

    reset_rollups()
    run_rollup(batch_size=10_000)

    assert incremental == table() == reference(events)


def add_trigger_refusing(name: str) -> None:
    """A database trigger that makes the rollup upsert fail on rows for event `name`."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "CREATE TEMP TRIGGER refuse BEFORE INSERT ON usage_usagerollup "
                f"WHEN NEW.event_name = '{name}' BEGIN SELECT RAISE(ABORT, 'refused'); END"
            )
        else:
            cursor.execute(
                "CREATE FUNCTION pg_temp.refuse() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN RAISE EXCEPTION 'refused'; END $$"
            )
            cursor.execute(
                "CREATE TRIGGER refuse BEFORE INSERT ON usage_usagerollup FOR EACH ROW "
                f"WHEN (NEW.event_name = '{name}') EXECUTE FUNCTION pg_temp.refuse()"
            )


def test_a_failing_batch_leaves_rows_and_watermark_as_they_were() -> None:
    acme = AccountFactory()
    first = [event(acme, "u1", at(0, 9, minute), "search") for minute in range(3)]
    event(acme, "u1", at(0, 10), "search")
    event(acme, "u1", at(0, 10, 1), "poison")
    add_trigger_refusing("poison")

    with pytest.raises(DatabaseError):
        run_rollup(batch_size=3)

    assert rollup_position() == first[-1].pk
    assert [(r[3], r[4], r[5]) for r in table()] == [("search", 3, 1)]


@pytest.mark.slow
def test_memory_stays_flat_however_far_behind() -> None:
    acme = AccountFactory()
    start = datetime(2025, 1, 1, tzinfo=UTC)
    total = 300_000

    def rows() -> Iterator[tuple[Any, ...]]:
        for i in range(total):
            moment = format_db_time(start + timedelta(seconds=37 * i))
            yield ("bench", f"m{i}", "track", f"feature_{i % 7}", f"user_{i % 50}", "",
                   acme.pk, moment, moment, "{}", "{}")  # fmt: skip

    insert_event_rows(rows())
    tracemalloc.start()
    try:
        report = run_rollup(batch_size=10_000)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert report.events_read == total and report.batches == 30
    assert peak < 2_000_000  # bytes; one batch is grouped by the database, never in Python
    assert sum(UsageRollup.objects.values_list("events", flat=True)) == total


@pytest.mark.skipif(connection.vendor != "postgresql", reason="threads share one SQLite file")
@pytest.mark.django_db(transaction=True)
def test_concurrent_runs_take_turns_and_never_double_count() -> None:
    acme = AccountFactory()
    for i in range(200):
        event(acme, f"u{i % 5}", at(0, 8) + timedelta(minutes=7 * i), f"feature_{i % 3}")
    errors: list[BaseException] = []

    def work() -> None:
        try:
            run_rollup(batch_size=7)
        except BaseException as error:  # reported by the test thread
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert sum(UsageRollup.objects.values_list("events", flat=True)) == 200
    concurrent = table()
    reset_rollups()
    run_rollup()
    assert concurrent == table()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite serialises writers")
@pytest.mark.django_db(transaction=True)
def test_an_insert_still_in_flight_holds_the_watermark_back() -> None:
    """Keys are handed out before commit: a run must not skip past an uncommitted lower key."""
    acme = AccountFactory()
    inserted, release = threading.Event(), threading.Event()

    def slow_insert() -> None:
        try:
            with transaction.atomic():
                event(acme, "u1", at(0, 9), "early")
                inserted.set()
                release.wait(20)
        finally:
            connection.close()

    writer = threading.Thread(target=slow_insert)
    writer.start()
    assert inserted.wait(10)
    event(acme, "u1", at(0, 10), "later")  # committed, with a higher key

    held = run_rollup()
    release.set()
    writer.join()
    resumed = run_rollup()

    assert (held.events_read, held.caught_up) == (0, False)
    assert resumed.events_read == 2 and resumed.caught_up
    assert sorted(UsageRollup.objects.values_list("event_name", "events")) == [
        ("early", 1),
        ("later", 1),
    ]


CONCURRENT_SQLITE_RUN = """
import os, sys
os.environ["DJANGO_SETTINGS_MODULE"] = "tend.config.django_settings"
import django
django.setup()
from django.core.management import call_command
from tend.usage.rollups import run_rollup
if sys.argv[1] == "setup":
    from datetime import UTC, datetime, timedelta
    from tend.customers.models import Account
    from tend.usage.actions import format_db_time, insert_event_rows
    call_command("migrate", verbosity=0)
    account = Account.objects.create(external_id="acme", name="Acme")
    start = datetime(2026, 1, 15, 8, tzinfo=UTC)
    insert_event_rows(
        ("web", f"m{i}", "track", f"feature_{i % 3}", f"u{i % 5}", "", account.pk,
         format_db_time(start + timedelta(minutes=7 * i)), format_db_time(start), "{}", "{}")
        for i in range(3000)
    )
else:
    run_rollup(batch_size=int(sys.argv[1]))
"""


@pytest.mark.slow
@pytest.mark.skipif(connection.vendor != "sqlite", reason="the SQLite file case")
def test_concurrent_processes_on_one_sqlite_file_never_double_count(tmp_path: Path) -> None:
    """Separate processes (web + worker) on the embedded database: BEGIN IMMEDIATE makes each
    batch wait for the other's, and each re-reads the watermark once it holds the lock."""
    env = {**os.environ, "TEND_DATA_DIR": str(tmp_path), "TEND_ENV": "development"}
    env.pop("DATABASE_URL", None)
    script = [sys.executable, "-c", CONCURRENT_SQLITE_RUN]
    subprocess.run([*script, "setup"], env=env, check=True, timeout=120)

    runs = [subprocess.Popen([*script, "13"], env=env) for _ in range(4)]

    assert [run.wait(timeout=120) for run in runs] == [0, 0, 0, 0]
    with sqlite3.connect(tmp_path / "tend.sqlite3") as database:
        total, rows = database.execute(
            "SELECT SUM(events), COUNT(*) FROM usage_usagerollup"
        ).fetchone()
        position = database.execute("SELECT position FROM usage_watermark").fetchone()[0]
    assert (total, position) == (3000, 3000)
    start = datetime(2026, 1, 15, 8, tzinfo=UTC)
    assert rows == len(
        {(i % 5, i % 3, (start + timedelta(minutes=7 * i)).date()) for i in range(3000)}
    )


def test_the_job_rolls_up_every_minute() -> None:
    [(_, schedule)] = [(job, when) for job, when in SCHEDULE if job is roll_up_usage]
    assert all(schedule(datetime(2026, 3, 1, 10, minute)) for minute in range(60))
    acme = AccountFactory()
    event(acme, "u1", at(0, 9), "search")

    roll_up_usage()

    assert Watermark.objects.get(name=WATERMARK_NAME).position == Event.objects.get().pk
    assert UsageRollup.objects.get().events == 1


def test_daily_active_users_come_from_rollups() -> None:
    acme = AccountFactory()
    for user, day in [("u1", 0), ("u2", 0), ("u1", 1), ("", 1)]:
        event(acme, user, at(day, 9), "search", anonymous_id="a1" if not user else "")
    run_rollup()

    assert daily_active_users(acme, days=3, at=at(2, 12)) == [
        (date(2026, 1, 15), 2),
        (date(2026, 1, 16), 1),
        (date(2026, 1, 17), 0),
    ]


def test_cli_rolls_up_with_a_report_and_resets() -> None:
    acme = AccountFactory()
    for minute in range(5):
        event(acme, "u1", at(0, 9, minute), "search")
    runner = CliRunner()

    result = runner.invoke(commands, ["--batch-size", "2"])

    assert result.exit_code == 0, result.output
    assert "Events read" in result.output and "5" in result.output
    assert UsageRollup.objects.get().events == 5

    result = runner.invoke(commands, ["--reset", "--batch-size", "2"])

    assert result.exit_code == 0, result.output
    assert UsageRollup.objects.get().events == 5

"""Faults against a real `tend serve` process: SIGKILL mid-stream, and a locked inbox and
events table. Every acknowledged message must be stored exactly once (after the inbox is
loaded), and retries must land the rest."""

from __future__ import annotations

import base64
import http.client
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import orjson
import pytest
from django.db import connection

from tend.usage.inbox_sqlite import LOCK_WAIT_SECONDS
from tend.usage.keys import create_source_with_key
from tests.servers import SERVER_APPLICATION_NAME, free_port, server_env

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

STARTUP_SECONDS = 30
BATCH_SIZE = 20


@dataclass
class Store:
    """The server's database, seen from the test: where to point the server, how to count."""

    env: dict[str, str]
    sqlite_path: Path | None

    @property
    def inbox_path(self) -> Path | None:
        return None if self.sqlite_path is None else self.sqlite_path.with_name("inbox.sqlite3")

    def drain(self) -> None:
        """Load the inbox into the events table, as the server's or worker's loader would."""
        code = "import django; django.setup(); from tend.usage.loader import drain_inbox as d; d()"
        subprocess.run([sys.executable, "-c", code], env=self.env, check=True, timeout=120)

    def message_counts(self) -> dict[str, int]:
        sql = "SELECT message_id, COUNT(*) FROM usage_event WHERE source = 'faults' GROUP BY 1"
        if self.sqlite_path is not None:
            with sqlite3.connect(self.sqlite_path) as db:
                return dict(db.execute(sql).fetchall())
        with connection.cursor() as cursor:
            cursor.execute(sql)
            return dict(cursor.fetchall())

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the inbox and the events table (PostgreSQL) or both database files (SQLite)
        exclusively: nothing can be acknowledged, nothing loaded."""
        if self.sqlite_path is not None and self.inbox_path is not None:
            databases = [
                sqlite3.connect(path, isolation_level=None)
                for path in (self.inbox_path, self.sqlite_path)
            ]
            for db in databases:
                db.execute("BEGIN EXCLUSIVE")
            try:
                yield
            finally:
                for db in databases:
                    db.execute("ROLLBACK")
                    db.close()
            return
        import psycopg

        settings = connection.settings_dict
        with psycopg.connect(
            host=settings["HOST"],
            port=settings["PORT"],
            user=settings["USER"],
            dbname=settings["NAME"],
        ) as db:
            db.execute("LOCK TABLE usage_inboxbatch, usage_event IN ACCESS EXCLUSIVE MODE")
            yield
            db.rollback()


@pytest.fixture(scope="module")
def sqlite_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ingest-faults")
    subprocess.run(
        [sys.executable, "-m", "django", "migrate", "--no-input", "-v", "0"],
        env=server_env(path, None),
        check=True,
        timeout=120,
    )
    return path


@pytest.fixture
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if connection.vendor == "postgresql":
        settings = connection.settings_dict
        url = (
            f"postgres://{settings['USER']}@{settings['HOST']}:{settings['PORT']}/"
            f"{settings['NAME']}"
        )
        yield Store(env=server_env(tmp_path, url), sqlite_path=None)
        with connection.cursor() as cursor:  # sessions of killed servers may linger
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND application_name = %s",
                [SERVER_APPLICATION_NAME],
            )
        return
    data_dir: Path = request.getfixturevalue("sqlite_data_dir")
    path = data_dir / "tend.sqlite3"
    if path.with_name("inbox.sqlite3").exists():
        with sqlite3.connect(path.with_name("inbox.sqlite3")) as db:
            db.execute("DELETE FROM inbox")
    with sqlite3.connect(path) as db:
        db.execute("DELETE FROM usage_event")
        db.execute("DELETE FROM usage_writekey")
        db.execute("DELETE FROM usage_source")
    yield Store(env=server_env(data_dir, None), sqlite_path=path)


@pytest.fixture
def write_key(store: Store) -> str:
    """A write key for source `faults`, written where the server will read it."""
    if store.sqlite_path is None:
        _, key = create_source_with_key("faults")
        return key
    import hashlib

    key = "wk_faults_test_key"
    with sqlite3.connect(store.sqlite_path) as db:
        cursor = db.execute(
            "INSERT INTO usage_source (slug, name, kind, created_at) "
            "VALUES ('faults', 'faults', 'segment', '2026-01-01 00:00:00')"
        )
        db.execute(
            "INSERT INTO usage_writekey (source_id, prefix, digest, created_at) "
            "VALUES (?, ?, ?, '2026-01-01 00:00:00')",
            (cursor.lastrowid, key[:12], hashlib.sha256(key.encode()).hexdigest()),
        )
    return key


@dataclass
class Sender:
    """A client that posts numbered batches, records which got a 200, and retries 503s."""

    port: int
    key: str
    acked: set[str] = field(default_factory=set)
    unavailable: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def post(self, batch_number: int) -> int:
        ids = [f"b{batch_number}-m{n}" for n in range(BATCH_SIZE)]
        body = orjson.dumps(
            {
                "batch": [
                    {"type": "track", "messageId": i, "userId": "u1", "event": "Saved"} for i in ids
                ]
            }
        )
        auth = "Basic " + base64.b64encode(f"{self.key}:".encode()).decode()
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request(
                "POST",
                "/v1/batch",
                body,
                {"Authorization": auth, "Content-Type": "application/json"},
            )
            response = conn.getresponse()
            response.read()
        except OSError:
            return 0
        finally:
            conn.close()
        if response.status == 200:
            with self.lock:
                self.acked.update(ids)
        elif response.status == 503:
            self.unavailable.append(response.getheader("Retry-After") or "")
        return response.status

    def send_until_acked(self, batch_number: int, deadline: float) -> None:
        while time.monotonic() < deadline:
            status = self.post(batch_number)
            if status == 200:
                return
            time.sleep(1.0 if status == 503 else 0.2)
        pytest.fail(f"batch {batch_number} was never acknowledged")


def test_sigkill_mid_stream_loses_no_acknowledged_message(
    store: Store, write_key: str, tmp_path: Path
) -> None:
    port = free_port()
    sender = Sender(port, write_key)
    stop = threading.Event()
    attempted: list[int] = []

    def stream(offset: int) -> None:
        number = offset
        while not stop.is_set():
            attempted.append(number)
            if sender.post(number) == 0:
                return
            number += 2

    with _server(store, port, tmp_path / "first.log") as server:
        threads = [threading.Thread(target=stream, args=(n,)) for n in (0, 1)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 20
        while len(sender.acked) < 40 * BATCH_SIZE and time.monotonic() < deadline:
            time.sleep(0.01)
        server.send_signal(signal.SIGKILL)
        server.wait(timeout=10)
        time.sleep(0.3)
        stop.set()
        for thread in threads:
            thread.join(timeout=15)
    acked_before_kill = set(sender.acked)
    assert len(acked_before_kill) >= 40 * BATCH_SIZE

    store.drain()  # what the killed server acknowledged is in its inbox or already loaded
    counts = store.message_counts()
    assert acked_before_kill <= counts.keys()
    assert set(counts.values()) == {1}

    with _server(store, port, tmp_path / "second.log"):
        deadline = time.monotonic() + 30
        for number in sorted(set(attempted)):
            sender.send_until_acked(number, deadline)

    store.drain()
    counts = store.message_counts()
    everything = {f"b{b}-m{n}" for b in set(attempted) for n in range(BATCH_SIZE)}
    assert set(counts) == everything
    assert set(counts.values()) == {1}


def test_locked_database_answers_503_and_retries_land_everything(
    store: Store, write_key: str, tmp_path: Path
) -> None:
    port = free_port()
    sender = Sender(port, write_key)
    batches = 40
    with _server(store, port, tmp_path / "server.log"):
        sender.send_until_acked(0, time.monotonic() + 10)
        done = threading.Event()

        def stream() -> None:
            deadline = time.monotonic() + 40
            for number in range(1, batches):
                sender.send_until_acked(number, deadline)
                time.sleep(0.05)
            done.set()

        with store.locked():
            thread = threading.Thread(target=stream)
            thread.start()
            time.sleep(LOCK_WAIT_SECONDS + 1.5)
        thread.join(timeout=45)
        assert done.is_set()

    assert sender.unavailable, "no request met the locked database"
    assert set(sender.unavailable) == {"2"}
    store.drain()
    counts = store.message_counts()
    assert set(counts) == {f"b{b}-m{n}" for b in range(batches) for n in range(BATCH_SIZE)}
    assert set(counts.values()) == {1}


@contextmanager
def _server(store: Store, port: int, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    code = f"from tend.config.server import serve; serve('127.0.0.1', {port}, with_worker=False)"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-c", code], env=store.env, stdout=output, stderr=subprocess.STDOUT
        )
    try:
        _wait_until_listening(process, port, log)
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


def _wait_until_listening(process: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"server exited with {process.returncode}:\n{log.read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    pytest.fail(f"server did not listen within {STARTUP_SECONDS}s:\n{log.read_text()}")

"""The inbox: group commit, the loader's idempotence and crash-safety, back-pressure, the CLI."""

from __future__ import annotations

import sqlite3
import threading
import time
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime

import msgspec
import orjson
import pytest
from django.test import Client
from typer.testing import CliRunner

from tend.config.settings import get_settings
from tend.customers.models import Contact
from tend.usage import accept
from tend.usage.group_commit import DEPTH_REFRESH_SECONDS, inbox_writer
from tend.usage.inbox import CheckedPayload, InboxEntry, InboxPayload, inbox_store
from tend.usage.inbox_cli import commands
from tend.usage.inbox_sqlite import SqliteInbox
from tend.usage.loader import drain_inbox, inbox_depth, start_background_loader
from tend.usage.models import Event, RejectedMessage, Source, WriteKey
from tests.usage.ingest_support import post_json, source_key, track

__all__ = ["source_key"]

pytestmark = pytest.mark.django_db(transaction=True)


def _batch(prefix: str, size: int = 10) -> dict[str, object]:
    return {"batch": [track(f"{prefix}-{n}", user_id=f"user-{n % 3}") for n in range(size)]}


def test_concurrent_requests_share_commits_and_land_once(
    source_key: tuple[Source, str],
) -> None:
    source, key = source_key
    writer = inbox_writer()
    groups_before = writer.groups
    requests = 24
    statuses: list[int] = []

    def send(number: int) -> None:
        statuses.append(post_json(Client(), "/v1/batch", _batch(f"r{number}"), key).status_code)

    threads = [threading.Thread(target=send, args=(n,)) for n in range(requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert statuses == [200] * requests
    assert writer.groups - groups_before < requests, "every request paid its own commit"
    report = drain_inbox()
    assert (report.rows, report.events, report.duplicates) == (requests, requests * 10, 0)
    assert Event.objects.filter(source=source.slug).count() == requests * 10
    assert inbox_depth().messages == 0


def test_loading_the_same_entries_twice_stores_each_event_and_identity_once(
    source_key: tuple[Source, str],
) -> None:
    """As if the loader died after committing events but before its rows were marked loaded:
    the same entries come round again."""
    source, key = source_key
    identify = {"type": "identify", "messageId": "i1", "userId": "ada", "traits": {"x": 1}}
    assert post_json(Client(), "/v1/batch", {"batch": [identify, *_batch("a")["batch"]]}, key)
    assert post_json(Client(), "/v1/batch", _batch("b"), key).status_code == 200
    store = inbox_store()
    entries = store.pending(max_messages=1_000, max_rows=100)
    assert len(entries) == 2

    first = drain_inbox()
    store.append([_copy(entry) for entry in entries])
    again = drain_inbox()

    assert (first.events, first.duplicates) == (21, 0)
    assert (again.rows, again.events, again.duplicates) == (2, 0, 21)
    assert Event.objects.filter(source=source.slug).count() == 21
    assert Contact.objects.filter(external_id="ada").count() == 1


def test_sqlite_rows_left_by_a_crash_before_cleanup_are_not_loaded_again(
    source_key: tuple[Source, str],
) -> None:
    """SQLite marks rows loaded with a watermark in the events' transaction and deletes them
    afterwards; rows that survive (a crash in between) are skipped, then deleted."""
    store = inbox_store()
    if not isinstance(store, SqliteInbox):
        pytest.skip("PostgreSQL deletes loaded rows in the loading transaction")
    source, key = source_key
    bad = {**track("bad"), "event": ""}
    post_json(Client(), "/v1/batch", {"batch": [*_batch("c")["batch"], bad]}, key)
    entries = store.pending(max_messages=1_000, max_rows=100)
    drain_inbox()
    with sqlite3.connect(store.path) as db:  # put the rows back with their own ids
        db.executemany(
            "INSERT INTO inbox (id, source_id, source_slug, key_id, endpoint, received_at, "
            "message_count, payload) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (e.id, e.source_id, e.source_slug, e.key_id, e.endpoint,
                 e.received_at.isoformat(), e.message_count, e.payload)
                for e in entries
            ],
        )  # fmt: skip

    report = drain_inbox()

    assert (report.rows, report.events, report.rejected) == (0, 0, 0)
    assert inbox_depth().rows == 0
    assert Event.objects.filter(source=source.slug).count() == 10
    assert RejectedMessage.objects.filter(message_id="bad").count() == 1


@pytest.fixture
def small_inbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    """An inbox limit of 25 events, through the setting."""
    monkeypatch.setenv("TEND_INGEST_INBOX_MAX_MESSAGES", "25")
    get_settings.cache_clear()
    yield 25
    get_settings.cache_clear()


def test_a_full_inbox_answers_429_with_retry_after_until_loaded(
    source_key: tuple[Source, str], small_inbox: int
) -> None:
    _, key = source_key
    client = Client()
    _wait_until_writer_sees_an_empty_inbox()
    assert post_json(client, "/v1/batch", _batch("p", 20), key).status_code == 200
    assert post_json(client, "/v1/batch", _batch("q", 20), key).status_code == 200

    refused = post_json(client, "/v1/batch", _batch("r", 20), key)

    assert refused.status_code == 429
    assert refused.json()["code"] == "inbox_full"
    assert refused["Retry-After"] == str(accept.RETRY_AFTER_SECONDS)
    drain_inbox()
    _wait_until_writer_sees_an_empty_inbox()
    assert post_json(client, "/v1/batch", _batch("r", 20), key).status_code == 200


def test_cli_shows_the_depth_and_drains(source_key: tuple[Source, str]) -> None:
    _, key = source_key
    post_json(Client(), "/v1/batch", _batch("cli", 7), key)
    runner = CliRunner(env={"COLUMNS": "200"})

    before = runner.invoke(commands, ["status"])
    drained = runner.invoke(commands, ["drain"])
    after = runner.invoke(commands, ["status"])

    assert "7 events in 1 requests" in before.output, before.output
    assert "7 new events" in drained.output, drained.output
    assert "0 events" in after.output


def test_entries_stored_in_the_earlier_format_still_load(
    source_key: tuple[Source, str],
) -> None:
    """Rows acknowledged before the inbox kept checked messages (raw JSON, validated again when
    loaded) are still in an upgraded inbox: they load the same way, rejections included."""
    source, _ = source_key
    messages = [orjson.dumps(track("old-1")), orjson.dumps({**track("old-2"), "event": ""})]
    payload = InboxPayload(
        messages=[msgspec.Raw(message) for message in messages],
        rejections=[("old-3", "invalid_type", "Unknown message type 'buy'.", "{}")],
        sent_at="2026-03-01T10:00:05.000Z",
    )
    stored_key = WriteKey.objects.get(source=source)
    inbox_store().append(
        [
            InboxEntry(
                source_id=source.pk,
                source_slug=source.slug,
                key_id=stored_key.pk,
                endpoint="batch",
                received_at=datetime(2026, 3, 1, 10, 0, 10, tzinfo=UTC),
                message_count=3,
                payload=zlib.compress(msgspec.json.encode(payload)),
            )
        ]
    )

    report = drain_inbox()

    assert (report.events, report.rejected) == (1, 2)
    event = Event.objects.get(source=source.slug, message_id="old-1")
    assert event.timestamp == datetime(2026, 3, 1, 10, 0, 5, tzinfo=UTC)  # skew corrected
    assert set(RejectedMessage.objects.values_list("message_id", "code")) == {
        ("old-2", "missing_event"),
        ("old-3", "invalid_type"),
    }


def test_the_loader_stores_checked_messages_without_validating_them_again(
    source_key: tuple[Source, str],
) -> None:
    """An acknowledged entry holds its messages as checked (properties and context as the JSON
    text that was sent), so loading it decodes and inserts them as they are."""
    source, key = source_key
    message = track("kept", context={"groupId": "acme", "page": {"path": "/x"}})
    assert post_json(Client(), "/v1/batch", {"batch": [message]}, key).status_code == 200
    entry = inbox_store().pending(max_messages=10, max_rows=10)[0]

    payload = entry.decode()

    assert isinstance(payload, CheckedPayload)
    stored = payload.messages[0]
    assert (stored.message_id, stored.name, stored.group_id) == ("kept", "Report Viewed", "acme")
    assert orjson.loads(stored.properties_json or "") == {"report": "mrr"}
    assert orjson.loads(stored.context_json or "") == message["context"]
    drain_inbox()
    event = Event.objects.get(source=source.slug, message_id="kept")
    assert event.context == message["context"]


def test_web_processes_leave_loading_to_the_worker_when_told(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TEND_INGEST_LOADER", "worker")
    get_settings.cache_clear()
    try:
        assert start_background_loader(in_worker=False) is None
    finally:
        get_settings.cache_clear()


def _wait_until_writer_sees_an_empty_inbox() -> None:
    """The writer refreshes the depth it knows every DEPTH_REFRESH_SECONDS."""
    deadline = time.monotonic() + 20 * DEPTH_REFRESH_SECONDS
    while inbox_writer().depth_messages() and time.monotonic() < deadline:
        time.sleep(DEPTH_REFRESH_SECONDS / 5)
    assert inbox_writer().depth_messages() == 0


def _copy(entry: InboxEntry) -> InboxEntry:
    return InboxEntry(
        source_id=entry.source_id,
        source_slug=entry.source_slug,
        key_id=entry.key_id,
        endpoint=entry.endpoint,
        received_at=entry.received_at,
        message_count=entry.message_count,
        payload=entry.payload,
    )

"""The ingestion inbox: acknowledged requests, one row each, waiting for the loader.

A request is answered 200 once its row is committed here; the loader moves rows into the
events table later (`tend.usage.loader`). SQLite keeps the inbox in a file of its own beside the
database, so acknowledging never waits for the events table's writer; PostgreSQL keeps it in
the `usage_inboxbatch` table.
"""

from __future__ import annotations

import threading
import zlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import msgspec

from tend.usage.segment_spec import Message, Rejection

COMPRESSION_LEVEL = 1
"""zlib's fastest level: batches of similar events still shrink several times."""
FORMAT_CHECKED = b"\x02"
"""First byte of a payload holding checked messages (`CheckedPayload`). Older payloads
(`InboxPayload`) are bare zlib streams, whose first byte is 0x78."""


class CheckedPayload(msgspec.Struct, array_like=True):
    """What the loader needs to store a request: its accepted messages exactly as validated at
    acknowledgement (properties and context as JSON text), and its rejections. The loader
    decodes them in one call and never validates again."""

    messages: list[Message]
    rejections: list[tuple[str, str, str, str]]


class InboxPayload(msgspec.Struct, array_like=True):
    """The earlier format, still loaded: accepted messages as JSON, validated again when
    loaded (with the same rules), their rejections and the batch-wide fields."""

    messages: list[msgspec.Raw]
    rejections: list[tuple[str, str, str, str]]
    sent_at: str | None = None
    forced_type: str | None = None
    batch_context: dict[str, Any] | None = None


_CHECKED_ENCODER = msgspec.json.Encoder()
_CHECKED_DECODER = msgspec.json.Decoder(CheckedPayload)
_DECODER = msgspec.json.Decoder(InboxPayload)


@dataclass(slots=True)
class InboxEntry:
    """One acknowledged request; `payload` is a compressed `CheckedPayload` (or, from before,
    an `InboxPayload`)."""

    source_id: int
    source_slug: str
    key_id: int
    endpoint: str
    received_at: datetime
    message_count: int
    payload: bytes
    id: int = 0

    def decode(self) -> CheckedPayload | InboxPayload:
        if self.payload[:1] == FORMAT_CHECKED:
            return _CHECKED_DECODER.decode(zlib.decompress(self.payload[1:]))
        return _DECODER.decode(zlib.decompress(self.payload))


def encode_payload(messages: list[Message], rejections: list[Rejection]) -> bytes:
    """The stored form of a request's checked messages and rejections."""
    payload = CheckedPayload(
        messages=[message.as_stored() for message in messages],
        rejections=[(r.message_id, r.code, r.reason, r.payload) for r in rejections],
    )
    encoded = _CHECKED_ENCODER.encode(payload)
    return FORMAT_CHECKED + zlib.compress(encoded, COMPRESSION_LEVEL)


@dataclass(frozen=True, slots=True)
class InboxDepth:
    """How much is acknowledged but not loaded yet."""

    rows: int
    messages: int
    oldest: datetime | None


class InboxStore(Protocol):
    """Where acknowledged requests wait. `append` commits durably; `pending` and `mark_loaded`
    run inside the loader's transaction on the main database, `after_commit` after it."""

    def append(self, entries: list[InboxEntry]) -> None: ...

    def depth(self) -> InboxDepth: ...

    def has_pending(self) -> bool: ...

    def pending(self, max_messages: int, max_rows: int) -> list[InboxEntry]: ...

    def mark_loaded(self, entries: list[InboxEntry]) -> None: ...

    def after_commit(self) -> None: ...

    def take_loader_turn(self, wait: bool) -> bool: ...

    def end_loader_turn(self) -> None: ...

    def reset(self) -> None: ...


_store: InboxStore | None = None
_store_lock = threading.Lock()


def inbox_store() -> InboxStore:
    """This process's inbox for the configured database."""
    global _store
    with _store_lock:
        if _store is None:
            from django.db import connection

            from tend.config.settings import get_settings

            if connection.vendor == "postgresql":
                from tend.usage.inbox_postgres import PostgresInbox

                _store = PostgresInbox()
            else:
                from tend.usage.inbox_sqlite import SqliteInbox

                _store = SqliteInbox(get_settings().resolved_data_dir / "inbox.sqlite3")
        return _store

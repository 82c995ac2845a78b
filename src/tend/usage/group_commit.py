"""Group commit into the inbox: one writer thread per process appends the entries of all the
requests waiting at that moment in one transaction, so N concurrent batches cost one fsync.

Each request waits on its own future and is answered only after the transaction holding its
entry has committed; a failed transaction fails every request in it (they answer 503 and the
clients retry).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass

from django.db import DatabaseError, connection

from tend.core.lost_connection import connection_was_lost
from tend.usage.inbox import InboxEntry, InboxStore, inbox_store

logger = logging.getLogger(__name__)

MAX_GROUP_ROWS = 512
"""Entries per transaction at most (about 50,000 events of 100-event batches)."""
MAX_QUEUED = 2_000
"""Requests waiting for the writer beyond which new ones are refused (the store is stuck)."""
DEPTH_REFRESH_SECONDS = 0.5
"""How stale the inbox depth that back-pressure reads may be."""


@dataclass(slots=True)
class _Waiting:
    entry: InboxEntry
    future: Future[None]


_STOP = _Waiting(entry=None, future=Future())  # type: ignore[arg-type]
"""Queued by `stop`: the writer finishes what was queued before it, then exits."""


class QueueFull(RuntimeError):
    """The writer is this far behind: the store is stuck or far too slow; retry later."""


class InboxWriter:
    """The process's group-committing writer of inbox entries, started on first use."""

    def __init__(self, store: InboxStore) -> None:
        self._store = store
        self._queue: queue.SimpleQueue[_Waiting] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._depth_messages = 0
        self._appended_since_refresh = 0
        self._refreshed_at = 0.0
        self.on_commit: list[Callable[[], None]] = []
        self.groups = 0
        """Transactions committed so far (tests and the benchmark read it)."""

    def submit(self, entry: InboxEntry) -> Future[None]:
        """Queue `entry`; the future completes once it is committed (or fails with the error)."""
        if self._queue.qsize() >= MAX_QUEUED:
            raise QueueFull(f"{MAX_QUEUED} requests are already waiting for the inbox.")
        self._ensure_started()
        waiting = _Waiting(entry, Future())
        self._queue.put(waiting)
        return waiting.future

    def stop(self, timeout: float = 10.0) -> None:
        """Commit what is queued, close the writer's connection and end its thread."""
        thread = self._thread
        if thread is None:
            return
        self._queue.put(_STOP)
        thread.join(timeout)
        with self._start_lock:
            self._thread = None

    def depth_messages(self) -> int:
        """Messages in the inbox, as of the last refresh plus what this process added since."""
        self._ensure_started()
        return self._depth_messages + self._appended_since_refresh

    def _ensure_started(self) -> None:
        if self._thread is not None:
            return
        with self._start_lock:
            if self._thread is None:
                thread = threading.Thread(target=self._run, name="tend-inbox-writer", daemon=True)
                thread.start()
                self._thread = thread

    def _run(self) -> None:
        while True:
            try:
                first = self._queue.get(timeout=DEPTH_REFRESH_SECONDS)
            except queue.Empty:
                self._refresh_depth()
                continue
            group = [first]
            while len(group) < MAX_GROUP_ROWS and group[-1] is not _STOP:
                try:
                    group.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            stopping = group[-1] is _STOP
            if stopping:
                group.pop()
            if group:
                self._commit(group)
            if stopping:
                self._reset_store()
                return
            if time.monotonic() - self._refreshed_at >= DEPTH_REFRESH_SECONDS:
                self._refresh_depth()

    def _commit(self, group: list[_Waiting]) -> None:
        # Once running, a future can no longer be cancelled; a cancelled one (its client went
        # away) is still written, and the client's retry is absorbed as a duplicate.
        answer = [
            waiting.future for waiting in group if waiting.future.set_running_or_notify_cancel()
        ]
        try:
            self._append([waiting.entry for waiting in group])
        except BaseException as error:
            logger.warning("Inbox: could not append %d entries: %s", len(group), error)
            self._reset_store()
            for future in answer:
                future.set_exception(error)
            return
        self.groups += 1
        self._appended_since_refresh += sum(waiting.entry.message_count for waiting in group)
        for future in answer:
            future.set_result(None)
        for callback in self.on_commit:
            callback()

    def _append(self, entries: list[InboxEntry]) -> None:
        """Append on the writer's connection. A server may have closed that connection while it
        was idle (a restart, an administrator, a pooler): nothing was written then, so the
        append is tried once more on a new connection before the requests are refused. Any
        other failure (a lock, a full disk) is refused at once."""
        if connection.vendor == "sqlite":
            self._store.append(entries)
            return
        connection.close_if_unusable_or_obsolete()
        try:
            self._store.append(entries)
        except DatabaseError as error:
            if not connection_was_lost(error):
                raise  # the database answered (locked, full, …): refuse, as before
            logger.info("Inbox: append failed (%s); once more on a new connection", error)
            self._reset_store()
            self._store.append(entries)

    def _refresh_depth(self) -> None:
        try:
            depth = self._store.depth()
        except Exception as error:  # the next append reports an outage; keep the last figure
            logger.debug("Inbox: depth unknown: %s", error)
            self._reset_store()
            return
        self._depth_messages = depth.messages
        self._appended_since_refresh = 0
        self._refreshed_at = time.monotonic()

    def _reset_store(self) -> None:
        try:
            self._store.reset()
        except Exception as error:
            logger.debug("Inbox: reset failed: %s", error)


_writer: InboxWriter | None = None
_writer_lock = threading.Lock()


def inbox_writer() -> InboxWriter:
    """This process's writer."""
    global _writer
    with _writer_lock:
        if _writer is None:
            _writer = InboxWriter(inbox_store())
        return _writer


def stop_inbox_writer() -> None:
    """Stop this process's writer, if it runs (at shutdown, and after a test session)."""
    with _writer_lock:
        writer = _writer
    if writer is not None:
        writer.stop()


WAIT_SECONDS = 10.0
"""How long a request waits for its entry's commit before it is answered 503."""


def write_and_wait(entry: InboxEntry) -> None:
    """Append `entry` durably and return once committed (for synchronous callers). Inside a
    caller's transaction on PostgreSQL (a test's), the entry is written in that transaction."""
    if connection.in_atomic_block and connection.vendor == "postgresql":
        inbox_store().append([entry])
        return
    inbox_writer().submit(entry).result(timeout=WAIT_SECONDS)

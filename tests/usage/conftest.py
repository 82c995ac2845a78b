"""The inbox is a file of its own on SQLite, outside the transaction each test rolls back; each
test starts with it empty."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import pytest

from tend.usage.group_commit import stop_inbox_writer
from tend.usage.inbox import inbox_store
from tend.usage.inbox_sqlite import SqliteInbox


@pytest.fixture(scope="session", autouse=True)
def _stop_inbox_writer(django_db_setup: None) -> Iterator[None]:
    """The writer thread holds a database session; end it before the test database is dropped."""
    yield
    stop_inbox_writer()


@pytest.fixture(autouse=True)
def _empty_sqlite_inbox() -> Iterator[None]:
    yield
    store = inbox_store()
    if isinstance(store, SqliteInbox) and store.path.exists():
        with sqlite3.connect(store.path) as db:
            db.execute("DELETE FROM inbox")

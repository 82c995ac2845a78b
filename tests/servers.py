"""Helpers for tests that run Tend in a subprocess: its environment and a free port."""

from __future__ import annotations

import os
import socket
from pathlib import Path

SERVER_APPLICATION_NAME = "tend-test-server"
"""The PostgreSQL application name of servers started by tests, so that a test may end their
lingering sessions without touching this process's own."""


def server_env(data_dir: Path, database_url: str | None = None) -> dict[str, str]:
    """A development install in `data_dir` (SQLite unless `database_url`), free of this test
    run's TEND_* settings."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("TEND_") and name != "DATABASE_URL"
    }
    env.update(
        TEND_ENV="development",
        TEND_DATA_DIR=str(data_dir),
        DJANGO_SETTINGS_MODULE="tend.config.django_settings",
        PYTHONUNBUFFERED="1",
    )
    if database_url:
        env["DATABASE_URL"] = database_url
        env["PGAPPNAME"] = SERVER_APPLICATION_NAME  # libpq names the server's sessions
    return env


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])

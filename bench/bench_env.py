"""The environment of a Tend process a benchmark starts: a development install in a data
directory of its own (SQLite unless a database URL is given), free of the caller's TEND_*
settings."""

from __future__ import annotations

import os
from pathlib import Path


def tend_env(data_dir: Path, database_url: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TEND_") and k != "DATABASE_URL"}
    env.update(
        TEND_ENV="development",
        TEND_DATA_DIR=str(data_dir),
        DJANGO_SETTINGS_MODULE="tend.config.django_settings",
    )
    if database_url:
        env["DATABASE_URL"] = database_url
    return env

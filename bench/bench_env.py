"""The environment of a Tend process a benchmark starts: a development install in a data
directory of its own (SQLite unless a database URL is given), free of the caller's TEND_*
settings."""

from __future__ import annotations

import os
import subprocess
import sys
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


def setup_django_in(data_dir: Path) -> None:
    """Django set up in this process on `data_dir`, with the test environment (for the Client)."""
    os.environ["TEND_DATA_DIR"] = str(data_dir)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tend.config.django_settings")
    import django

    django.setup()
    from django.test.utils import setup_test_environment

    setup_test_environment()


def ensure_demo(data_dir: Path, accounts: int) -> None:
    """A demo company of `accounts` in `data_dir`, set up once by `tend demo --no-serve`."""
    if (data_dir / "tend.sqlite3").exists():
        return
    tend = Path(sys.executable).with_name("tend")
    env = os.environ | {"TEND_DATA_DIR": str(data_dir)}
    subprocess.run(
        [str(tend), "demo", "--no-serve", "--accounts", str(accounts), "--months", "24"],
        check=True,
        env=env,
    )

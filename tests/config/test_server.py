"""`tend serve` end to end: a real uvicorn process answering HTTP, with its in-process worker."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import free_port, server_env

pytestmark = pytest.mark.slow

STARTUP_SECONDS = 30
JOB_SECONDS = 30
SHUTDOWN_SECONDS = 30

ENQUEUE_PING = """
import django
django.setup()
from huey.contrib.djhuey import HUEY
from tend.config.jobs import register_schedule
result = register_schedule(HUEY)["ping"]()
print(result.get(blocking=True, timeout={timeout}))
"""


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory with a migrated SQLite database, shared by the servers of this module."""
    path = tmp_path_factory.mktemp("serve-data")
    subprocess.run(
        [sys.executable, "-m", "django", "migrate", "--no-input", "-v", "0"],
        env=server_env(path),
        check=True,
        timeout=120,
    )
    return path


@pytest.fixture
def server(data_dir: Path, tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], int, Path]]:
    port = free_port()
    log = tmp_path / "serve.log"
    code = f"from tend.config.server import serve; serve('127.0.0.1', {port})"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-c", code],
            env=server_env(data_dir),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        yield process, port, log
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=SHUTDOWN_SECONDS)


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_serve_answers_http_runs_jobs_and_stops_cleanly(
    server: tuple[subprocess.Popen[bytes], int, Path], data_dir: Path, stop_signal: signal.Signals
) -> None:
    process, port, log = server

    status = _wait_for_page(process, f"http://127.0.0.1:{port}/login/", log)
    assert status == 200, log.read_text()

    enqueued = subprocess.run(
        [sys.executable, "-c", ENQUEUE_PING.format(timeout=JOB_SECONDS)],
        env=server_env(data_dir),
        capture_output=True,
        text=True,
        timeout=JOB_SECONDS + 30,
    )
    assert enqueued.returncode == 0, enqueued.stderr + log.read_text()
    assert enqueued.stdout.strip().splitlines()[-1] == "pong"

    process.send_signal(stop_signal)
    assert process.wait(timeout=SHUTDOWN_SECONDS) == 0, log.read_text()
    output = log.read_text()
    assert "Traceback" not in output, output
    assert "Tend: stopped." in output


def _wait_for_page(process: subprocess.Popen[bytes], url: str, log: Path) -> int:
    """Poll `url` until the server answers; return its status code."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"server exited with {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return int(response.status)
        except urllib.error.HTTPError as error:
            return error.code
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"server did not answer {url} within {STARTUP_SECONDS}s:\n{log.read_text()}")

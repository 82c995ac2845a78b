"""Fresh scores end to end: a real `tend serve` (SQLite, jobs in process) takes an event on
/v1/batch and the account's score read from /api/health changes, with no one running a job."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.servers import free_port, server_env

pytestmark = pytest.mark.slow

WAIT_SECONDS = 180
"""Generous: the assertion is that the score changes by itself, not how fast (see
bench/health_freshness.py for the latency)."""

SETUP = """
import json, django
django.setup()
from tend.core.actions import create_api_token
from tend.core.models import Role, User
from tend.health.actions import save_scorecard_version
from tend.usage.keys import create_source_with_key

save_scorecard_version(None, {
    "name": "Events",
    "is_default": True,
    "groups": [{"name": "usage", "measures": [{
        "metric": "events_30d",
        "direction": "higher_is_better",
        "normalisation": {"kind": "points", "base": 0, "points_per_unit": 1},
        "missing": {"value": 0},
    }]}],
}, None)
user = User.objects.create(username="reader", role=Role.VIEWER)
print(json.dumps({"token": create_api_token(user, "t")[1],
                  "key": create_source_with_key("App")[1]}))
"""


@pytest.fixture
def running(tmp_path: Path) -> Iterator[tuple[int, dict[str, str], Path]]:
    env = server_env(tmp_path)
    subprocess.run(
        [sys.executable, "-m", "django", "migrate", "--no-input", "-v", "0"],
        env=env,
        check=True,
        timeout=120,
    )
    made = subprocess.run(
        [sys.executable, "-c", SETUP], env=env, check=True, capture_output=True, text=True
    )
    secrets = json.loads(made.stdout.strip().splitlines()[-1])
    port = free_port()
    log = tmp_path / "serve.log"
    code = f"from tend.config.server import serve; serve('127.0.0.1', {port})"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-c", code], env=env, stdout=output, stderr=subprocess.STDOUT
        )
    try:
        yield port, secrets, log
    finally:
        process.terminate()
        process.wait(timeout=60)


def test_an_event_changes_the_score_by_itself(running: tuple[int, dict[str, str], Path]) -> None:
    port, secrets, log = running
    _wait_for(lambda: _get(port, "/login/"), log)
    _post_events(
        port,
        secrets["key"],
        [
            {"type": "identify", "userId": "u1", "traits": {"email": "u1@example.com"}},
            {"type": "group", "userId": "u1", "groupId": "acme", "traits": {"name": "Acme"}},
            {"type": "track", "userId": "u1", "event": "Report Viewed"},
        ],
    )
    first = _wait_for(lambda: _score(port, secrets["token"], "acme"), log)
    assert first == 1.0

    _post_events(port, secrets["key"], [{"type": "track", "userId": "u1", "event": "Export"}])

    after = _wait_for(lambda: _score(port, secrets["token"], "acme", unless=first), log)
    assert after == 2.0


def _post_events(port: int, key: str, messages: list[dict[str, Any]]) -> None:
    now = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
    batch = [{"messageId": str(uuid.uuid4()), "timestamp": now, **m} for m in messages]
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/v1/batch",
        data=json.dumps({"batch": batch}).encode(),
        headers={
            "Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode(),
            "Content-Type": "application/json",
        },
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200


def _get(port: int, path: str, token: str | None = None) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read()) if token else response.status
    except urllib.error.HTTPError as error:
        return None if error.code == 404 else error.code
    except OSError:
        return None


def _score(port: int, token: str, account: str, unless: float | None = None) -> float | None:
    """The account's computed score from the API; None while there is none (or it is still
    `unless`)."""
    detail = _get(port, f"/api/health/accounts/{account}", token)
    if not isinstance(detail, dict):
        return None
    score = detail["computed_score"]
    return None if score == unless else score


def _wait_for(probe: Any, log: Path) -> Any:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        found = probe()
        if found is not None:
            return found
        time.sleep(0.2)
    pytest.fail(f"nothing within {WAIT_SECONDS} s; server log:\n{log.read_text()}")

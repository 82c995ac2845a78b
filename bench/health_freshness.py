"""Event-to-score latency in the embedded default (SQLite, jobs in process): a real `tend serve`
with its loader and health re-scoring loop; each trial sends one track event for an account to
/v1/batch and times from the acknowledgement (HTTP 200: durably in the inbox) until the
account's changed score is readable from /api/health/accounts/<id>.

    # an app database with the demo company, made once (~2 minutes for 500 accounts):
    TEND_DATA_DIR=/tmp/tend-demo .venv/bin/tend demo --no-serve --accounts 500
    .venv/bin/python bench/health_freshness.py --data-dir /tmp/tend-demo --trials 20

    # without --data-dir: a small demo company (60 accounts, 6 months) made in a temporary folder
    .venv/bin/python bench/health_freshness.py --trials 20

The data directory is copied first (the benchmark writes events and snapshots). Each trial's
event carries a feature name the account never used (`features_used_30d` rises by one, and the
user's active days and the events trend move), on a different account each time. Prints p50,
p95 and max over the trials, the trials that timed out, and the server's re-scoring passes.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

STARTUP_SECONDS = 900.0
"""The server's first re-scoring pass scores every account (minutes for a large book)."""

SETUP = """
import json, sys, django
django.setup()
from datetime import timedelta
from tend.core.actions import create_api_token
from tend.core.models import Role, User
from tend.customers.models import Contact
from tend.health.engine import score_days, today
from tend.usage.keys import create_source_with_key
from tend.usage.rollups import run_rollup

if sys.argv[1] == "demo":
    from tend.demo.database import write_company
    from tend.demo.generate import DemoConfig, generate_company

    write_company(generate_company(DemoConfig(accounts=60, months=6, seed=5, intensity=0.2)))
    run_rollup()
    score_days([today()])
user, _ = User.objects.get_or_create(username="bench-freshness", defaults={"role": Role.ADMIN})
token = create_api_token(user, "bench")[1]
key = create_source_with_key("Freshness bench")[1]
trials = []
from django.utils import timezone
from tend.customers.models import Account
alive = Account.objects.filter(churned_at__isnull=True, signed_up_at__lte=timezone.now())
for account in alive.order_by("external_id"):
    contact = Contact.objects.filter(account=account).exclude(external_id="").first()
    if contact is not None:
        trials.append([account.external_id, contact.external_id])
print(json.dumps({"token": token, "key": key, "trials": trials}))
"""

SERVER = "from tend.config.server import serve; serve('127.0.0.1', {port})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, help="A Tend data directory (SQLite) to copy.")
    parser.add_argument("--trials", type=int, default=20, help="Events sent, one at a time.")
    parser.add_argument("--timeout", type=float, default=120.0, help="Per trial, in seconds.")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="tend-bench-freshness-") as folder:
        data_dir = Path(folder)
        if args.data_dir is not None:
            _copy_data_dir(args.data_dir, data_dir)
        env = _env(data_dir)
        subprocess.run(
            [sys.executable, "-m", "django", "migrate", "--no-input", "-v", "0"],
            env=env,
            check=True,
        )
        started = time.perf_counter()
        setup = _run_setup(env, "copy" if args.data_dir else "demo")
        print(f"setup             {time.perf_counter() - started:.1f} s")
        if len(setup["trials"]) < 2:
            sys.exit("the data has too few scored accounts with a contact")
        port = _free_port()
        log = data_dir / "serve.log"
        with log.open("wb") as output:
            server = subprocess.Popen(
                [sys.executable, "-c", SERVER.format(port=port)],
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        try:
            started = time.perf_counter()
            _wait_for_first_pass(server, log)
            print(
                f"first full pass   {time.perf_counter() - started:.1f} s (server start included)"
            )
            latencies, timeouts = _run_trials(port, setup, args)
        finally:
            server.terminate()
            server.wait(timeout=60)
        _report(latencies, timeouts, log.read_text(errors="replace"))


def _copy_data_dir(source: Path, target: Path) -> None:
    """The SQLite database (checkpointed first, so the copy is whole) and the secret key."""
    import sqlite3

    database = source / "tend.sqlite3"
    if not database.exists():
        sys.exit(f"{database} does not exist (only SQLite data directories are supported)")
    with sqlite3.connect(database) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    shutil.copy2(database, target / "tend.sqlite3")
    if (source / "secret_key").exists():
        shutil.copy2(source / "secret_key", target / "secret_key")
    if (source / "models").is_dir():
        shutil.copytree(source / "models", target / "models")


def _env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TEND_") and k != "DATABASE_URL"}
    env.update(
        TEND_ENV="development",
        TEND_DATA_DIR=str(data_dir),
        DJANGO_SETTINGS_MODULE="tend.config.django_settings",
        PYTHONUNBUFFERED="1",
    )
    return env


def _run_setup(env: dict[str, str], mode: str) -> dict[str, Any]:
    output = subprocess.run(
        [sys.executable, "-c", SETUP, mode], env=env, check=True, capture_output=True, text=True
    ).stdout
    result: dict[str, Any] = json.loads(output.strip().splitlines()[-1])
    return result


def _wait_for_first_pass(server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"the server exited:\n{log.read_text(errors='replace')}")
        if "re-scored today (all accounts)" in log.read_text(errors="replace"):
            return
        time.sleep(0.5)
    sys.exit(f"no first re-scoring pass within {STARTUP_SECONDS:.0f} s")


def _run_trials(
    port: int, setup: dict[str, Any], args: argparse.Namespace
) -> tuple[list[float], int]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    latencies: list[float] = []
    timeouts = 0
    for trial in range(args.trials):
        account, user = setup["trials"][trial % len(setup["trials"])]
        before = _score(connection, setup["token"], account)
        acknowledged = _send_event(connection, setup["key"], user, trial)
        deadline = acknowledged + args.timeout
        while True:
            now = time.perf_counter()
            if _score(connection, setup["token"], account) != before:
                latencies.append(now - acknowledged)
                print(
                    f"trial {trial + 1:>3}  {account:<14} {now - acknowledged:6.2f} s", flush=True
                )
                break
            if now > deadline:
                timeouts += 1
                print(f"trial {trial + 1:>3}  {account:<14} no change within {args.timeout:.0f} s")
                break
            time.sleep(0.05)
    return latencies, timeouts


def _score(connection: http.client.HTTPConnection, token: str, account: str) -> Any:
    connection.request(
        "GET", f"/api/health/accounts/{account}", headers={"Authorization": f"Bearer {token}"}
    )
    response = connection.getresponse()
    body = json.loads(response.read())
    if response.status != 200:
        raise SystemExit(f"GET health of {account}: {response.status} {body}")
    return (body["day"], body["computed_score"])


def _send_event(connection: http.client.HTTPConnection, key: str, user: str, trial: int) -> float:
    """Post one track event; the moment its acknowledgement arrived (perf_counter)."""
    message = {
        "type": "track",
        "messageId": str(uuid.uuid4()),
        "userId": user,
        "event": f"Bench feature {trial} {uuid.uuid4().hex[:8]}",
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
    }
    auth = "Basic " + base64.b64encode(f"{key}:".encode()).decode()
    body = json.dumps({"batch": [message]}).encode()
    connection.request(
        "POST", "/v1/batch", body, {"Authorization": auth, "Content-Type": "application/json"}
    )
    response = connection.getresponse()
    response.read()
    if response.status != 200:
        raise SystemExit(f"the event was refused: {response.status}")
    return time.perf_counter()


def _report(latencies: list[float], timeouts: int, log: str) -> None:
    passes = [float(s) for s in re.findall(r"re-scored today \(\d+ accounts\) in ([\d.]+) s", log)]
    print(f"trials            {len(latencies) + timeouts} ({timeouts} without a change in time)")
    if latencies:
        ordered = sorted(latencies)
        p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
        print(
            f"event to score    p50 {statistics.median(ordered):.2f} s, p95 {p95:.2f} s, "
            f"max {ordered[-1]:.2f} s, min {ordered[0]:.2f} s"
        )
    if passes:
        print(
            f"re-scoring passes {len(passes)} for changed accounts: median "
            f"{statistics.median(passes):.2f} s, max {max(passes):.2f} s"
        )
    for part in ("rollup", "read", "measures", "scoring", "storing"):
        found = [float(s) for s in re.findall(rf"{part} ([\d.]+) s", log)]
        if found:
            print(f"  {part:<15} median {statistics.median(found):.2f} s")


def _free_port() -> int:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


if __name__ == "__main__":
    main()

"""Ingestion benchmark: a real uvicorn server and concurrent senders posting 100-event Segment
batches to /v1/batch on loopback for a fixed time; prints events/s acknowledged (durably, in the
inbox), batch latency, server RSS, and the loader's progress: events loaded into the events
table meanwhile, the inbox depth and lag when the senders stop, and how long the rest takes.

    .venv/bin/python bench/ingest.py --seconds 8 --senders 4 --workers 1
    .venv/bin/python bench/ingest.py --database-url postgres://postgres@127.0.0.1:5432/bench
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import http.client
import multiprocessing
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson
from bench_env import tend_env

USERS = 2_000
ACCOUNTS = 200
EVENT_NAMES = ("Report Viewed", "Dashboard Opened", "Export Created", "Filter Applied")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="How long senders send.")
    parser.add_argument("--senders", type=int, default=4, help="Concurrent sender processes.")
    parser.add_argument("--batch", type=int, default=100, help="Events per batch.")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes.")
    parser.add_argument("--database-url", default=None, help="PostgreSQL URL (default SQLite).")
    parser.add_argument(
        "--rollup",
        action="store_true",
        help="Also run the usage rollup in a loop during the load; report its rate and lag.",
    )
    parser.add_argument(
        "--loader-process",
        action="store_true",
        help="Load the inbox in a process of its own (TEND_INGEST_LOADER=worker, as with a "
        "separate `tend worker`) instead of a thread of the web process.",
    )
    parser.add_argument(
        "--profile",
        metavar="FILE",
        help="Record the server with py-spy (on PATH) into FILE, as collapsed stacks.",
    )
    parser.add_argument(
        "--drain-timeout",
        type=float,
        default=300.0,
        help="How long to wait, after the senders stop, for the loader to empty the inbox.",
    )
    args = parser.parse_args()
    if not 0 < args.seconds <= 300 or not 0 < args.senders <= 64:
        parser.error("keep --seconds within 300 and --senders within 64")

    with tempfile.TemporaryDirectory(prefix="tend-bench-ingest-") as data_dir:
        env = tend_env(Path(data_dir), args.database_url)
        if args.loader_process:
            env["TEND_INGEST_LOADER"] = "worker"
        subprocess.run(
            [sys.executable, "-m", "django", "migrate", "--no-input", "-v", "0"],
            env=env,
            check=True,
        )
        key = subprocess.run(
            [sys.executable, "-c", CREATE_KEY],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        port = _free_port()
        command = [sys.executable, "-c", SERVER.format(port, args.workers)]
        if args.profile:
            spy = shutil.which("py-spy") or "py-spy"
            command = [spy, "record", "-s", "-r", "200", "-f", "raw", "-o", args.profile, "--"]
            command += [sys.executable, "-c", SERVER.format(port, args.workers)]
        server = subprocess.Popen(command, env=env)
        loader = None
        if args.loader_process:
            loader_command = [sys.executable, "-c", LOADER]
            if args.profile:  # with the time spent waiting, to see what the loader waits for
                spy = shutil.which("py-spy") or "py-spy"
                out = args.profile + ".loader"
                loader_command = [spy, "record", "-i", "-r", "200", "-f", "raw", "-o", out, "--"]
                loader_command += [sys.executable, "-c", LOADER]
            loader = subprocess.Popen(loader_command, env=env)
        try:
            _wait_until_listening(port)
            _send_identities(port, key)
            _status(env, wait_seconds=300)  # identities loaded first, as a real source's would be
            roller = _start_rollup_loop(env, args.seconds) if args.rollup else None
            before = _status(env)
            cpu_before = _cpu_seconds(server.pid), _cpu_seconds(loader.pid if loader else None)
            results = _run_senders(port, key, args)
            results["server_cpu"] = _cpu_seconds(server.pid) - cpu_before[0]
            results["loader_cpu"] = _cpu_seconds(loader.pid if loader else None) - cpu_before[1]
            rss = _peak_rss_mb(server.pid)
            loader_lines = _watch_loader(env, before, results, args.drain_timeout)
            rollup_lines = _finish_rollup_loop(roller)
        finally:
            _stop(server, bool(args.profile))
            if loader is not None:
                _stop(loader, bool(args.profile))
    _report(args, results, rss)
    for line in loader_lines + rollup_lines:
        print(line)


CREATE_KEY = """
import django
django.setup()
from tend.usage.keys import create_source_with_key
print(create_source_with_key("Bench")[1])
"""

LOADER = """
import threading, django
django.setup()
from tend.usage.loader import start_background_loader
start_background_loader(in_worker=True)
threading.Event().wait()
"""

SERVER = """
import uvicorn
uvicorn.run("tend.config.asgi:application", host="127.0.0.1", port={0}, workers={1},
            lifespan="off", log_level="warning", access_log=False)
"""


STATUS = """
import sys, time, django, orjson
django.setup()
from django.utils import timezone
from tend.usage.loader import inbox_depth
from tend.usage.models import Event
deadline = time.monotonic() + float(sys.argv[1])
started = time.monotonic()
while True:
    depth = inbox_depth()
    lag = (timezone.now() - depth.oldest).total_seconds() if depth.oldest else 0.0
    status = {{"events": Event.objects.count(), "inbox": depth.messages, "lag": lag,
              "seconds": time.monotonic() - started}}
    print(orjson.dumps(status).decode(), flush=True)
    if not depth.messages or time.monotonic() >= deadline:
        break
    time.sleep(0.25)
"""


def _status(env: dict[str, str], wait_seconds: float = 0.0) -> list[dict[str, float]]:
    """The events table's size and the inbox's depth and lag, now; with `wait_seconds`, polled
    until the inbox is empty (the last line is the end)."""
    output = subprocess.run(
        [sys.executable, "-c", STATUS.format(), str(wait_seconds)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return [orjson.loads(line) for line in output.strip().splitlines()]


def _watch_loader(
    env: dict[str, str], before: list[dict[str, float]], results: dict[str, object], wait: float
) -> list[str]:
    """The loader's figures: how much it loaded while the senders sent, and the rest."""
    polled = _status(env, wait)
    at_stop, last = polled[0], polled[-1]
    elapsed: float = results["elapsed"]  # type: ignore[assignment]
    loaded_during = at_stop["events"] - before[-1]["events"]
    loaded_after = last["events"] - at_stop["events"]
    rate_during = loaded_during / elapsed
    rate_after = loaded_after / last["seconds"] if last["seconds"] else 0.0
    drained = "drained" if not last["inbox"] else f"{last['inbox']:,} still waiting"
    return [
        f"loaded meanwhile  {loaded_during:,.0f} events ({rate_during:,.0f} events/s)",
        f"at the end        {at_stop['inbox']:,} events in the inbox, "
        f"oldest {at_stop['lag']:.1f} s",
        f"then              {loaded_after:,.0f} more in {last['seconds']:.1f} s "
        f"({rate_after:,.0f} events/s), {drained}",
    ]


ROLLUP_LOOP = """
import time, django
django.setup()
from django.utils import timezone
from tend.usage.models import Event
from tend.usage.rollups import run_rollup
end = time.monotonic() + {0}
events = 0
busy = 0.0
lags = []
while time.monotonic() < end:
    report = run_rollup()
    events += report.events_read
    busy += report.seconds
    # lag: how long the oldest stored event not rolled up yet has been waiting (0 if none)
    waiting = Event.objects.filter(pk__gt=report.position).order_by("pk")
    oldest = waiting.values_list("received_at", flat=True).first()
    lags.append((timezone.now() - oldest).total_seconds() if oldest else 0.0)
    time.sleep(0.5)
rate = events / busy if busy else 0.0
worst = max(lags) if lags else float("nan")
last = lags[-1] if lags else float("nan")
print(f"rollup            {{events:,}} events rolled up in {{len(lags)}} runs, "
      f"{{rate:,.0f}} events/s of rollup time ({{busy:.1f}} s busy)")
print(f"rollup lag        stored but not rolled up: max {{worst:.1f}} s, at the end {{last:.1f}} s")
"""


def _start_rollup_loop(env: dict[str, str], seconds: float) -> subprocess.Popen[str]:
    """The rollup job in its own process, as the worker runs it, for the length of the load."""
    return subprocess.Popen(
        [sys.executable, "-c", ROLLUP_LOOP.format(seconds)],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )


def _finish_rollup_loop(roller: subprocess.Popen[str] | None) -> list[str]:
    if roller is None:
        return []
    output, _ = roller.communicate(timeout=300)
    return output.strip().splitlines()


def _track(sender: int, number: int, at: str) -> dict[str, object]:
    user = (sender * 7919 + number) % USERS
    return {
        "type": "track",
        "messageId": f"s{sender}-{number}",
        "userId": f"user-{user}",
        "event": EVENT_NAMES[number % len(EVENT_NAMES)],
        "timestamp": at,
        "properties": {"report": "mrr", "rows": number % 500, "filter": "last 30 days"},
        "context": {
            "ip": "203.0.113.7",
            "library": {"name": "analytics-python", "version": "2.3.4"},
            "userAgent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/126.0",
            "page": {"path": "/reports/mrr", "url": "https://app.example.com/reports/mrr"},
        },
    }


BATCH_MARK = b"~BATCHNUMBER~"
"""Stands for the batch number in a template body (13 bytes, like the number put there)."""
TIME_MARK = "~~~~~~~~~~~~TIMESTAMP~~~"
"""Stands for the send time in a template body (24 characters, like an ISO time with ms)."""
TEMPLATES = 16
"""Distinct bodies per sender (different users and event names), cycled through."""


def _templates(sender: int, size: int) -> list[bytes]:
    """Bodies built once; sending one costs two `bytes.replace` calls, so the client stays cheap
    on a machine whose cores it shares with the server."""
    bodies = []
    for template in range(TEMPLATES):
        messages = []
        for n in range(size):
            message = _track(sender, template * size + n, TIME_MARK)
            message["messageId"] = f"s{sender}-{BATCH_MARK.decode()}-{n}"
            messages.append(message)
        bodies.append(orjson.dumps({"batch": messages}))
    return bodies


class _Connection:
    """A keep-alive HTTP/1.1 connection on a raw socket: the request head is built once and
    the response is read with a minimal parser (the server answers with Content-Length)."""

    def __init__(self, port: int, key: str) -> None:
        self.socket = socket.create_connection(("127.0.0.1", port), timeout=60)
        self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        auth = base64.b64encode(f"{key}:".encode()).decode()
        self.head = (
            "POST /v1/batch HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: Basic {auth}\r\nContent-Type: application/json\r\n"
            "Content-Length: "
        ).encode()
        self.buffer = b""

    def post(self, body: bytes) -> int:
        self.socket.sendall(b"%s%d\r\n\r\n%s" % (self.head, len(body), body))
        while b"\r\n\r\n" not in self.buffer:
            self._receive()
        head, _, rest = self.buffer.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(rest) < length:
            rest += self._read()
        self.buffer = rest[length:]
        return status

    def _receive(self) -> None:
        self.buffer += self._read()

    def _read(self) -> bytes:
        chunk = self.socket.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        return chunk


def _post(connection: http.client.HTTPConnection, key: str, body: bytes) -> int:
    auth = "Basic " + base64.b64encode(f"{key}:".encode()).decode()
    connection.request(
        "POST", "/v1/batch", body, {"Authorization": auth, "Content-Type": "application/json"}
    )
    response = connection.getresponse()
    response.read()
    return response.status


def _send_identities(port: int, key: str) -> None:
    """Identify every user and put them in accounts, as a real source would before tracking."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    messages = []
    for user in range(USERS):
        messages.append(
            {
                "type": "identify",
                "messageId": f"i{user}",
                "userId": f"user-{user}",
                "traits": {"email": f"user{user}@example.com", "name": f"User {user}"},
            }
        )
        messages.append(
            {
                "type": "group",
                "messageId": f"g{user}",
                "userId": f"user-{user}",
                "groupId": f"acct-{user % ACCOUNTS}",
                "traits": {"name": f"Account {user % ACCOUNTS}"},
            }
        )
    for start in range(0, len(messages), 100):
        status = _post(connection, key, orjson.dumps({"batch": messages[start : start + 100]}))
        assert status == 200, status


def _sender(sender: int, port: int, key: str, seconds: float, size: int, out: object) -> None:
    templates = _templates(sender, size)
    connection = _Connection(port, key)
    latencies: list[float] = []
    events = failures = number = 0
    second = -1
    stamped = templates
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        now = time.time()
        if int(now) != second:  # the send time, to the second, put in every template
            second = int(now)
            at = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(now)).encode()
            stamped = [body.replace(TIME_MARK.encode(), at) for body in templates]
        body = stamped[number % TEMPLATES].replace(BATCH_MARK, b"%013d" % number)
        number += 1
        started = time.perf_counter()
        status = connection.post(body)
        latencies.append(time.perf_counter() - started)
        if status == 200:
            events += size
        else:
            failures += 1
    cpu = time.process_time()
    out.put((events, failures, latencies, len(body), cpu))  # type: ignore[attr-defined]


def _run_senders(port: int, key: str, args: argparse.Namespace) -> dict[str, object]:
    queue: multiprocessing.Queue[tuple[int, int, list[float], int, float]] = multiprocessing.Queue()
    processes = [
        multiprocessing.Process(
            target=_sender, args=(n, port, key, args.seconds, args.batch, queue)
        )
        for n in range(args.senders)
    ]
    started = time.monotonic()
    for process in processes:
        process.start()
    collected = [queue.get(timeout=args.seconds + 120) for _ in processes]
    elapsed = time.monotonic() - started
    for process in processes:
        process.join(timeout=30)
    latencies = sorted(latency for result in collected for latency in result[2])
    return {
        "events": sum(result[0] for result in collected),
        "failures": sum(result[1] for result in collected),
        "elapsed": elapsed,
        "latencies": latencies,
        "body_bytes": collected[0][3],
        "client_cpu": sum(result[4] for result in collected),
    }


def _stop(server: subprocess.Popen[bytes], profiled: bool) -> None:
    """End the server; under py-spy, end the profiled server only, so py-spy writes its file."""
    if not profiled:
        server.terminate()
    else:
        for pid in _server_pids(server.pid)[1:]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
    server.wait(timeout=60)


def _server_pids(pid: int) -> list[int]:
    """The server process and its descendants (uvicorn's workers)."""
    pids = [pid]
    for each in pids:
        children = Path(f"/proc/{each}/task/{each}/children")
        if children.exists():
            pids += [int(child) for child in children.read_text().split()]
    return pids


def _cpu_seconds(pid: int | None) -> float:
    """CPU time (user + system) used so far by the server's processes (all their threads)."""
    if pid is None:
        return 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for each in _server_pids(pid):
        fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / ticks


def _peak_rss_mb(pid: int) -> float:
    """Peak resident memory (VmHWM) of the server and its worker processes, summed."""
    total = 0
    for each in _server_pids(pid):
        for line in Path(f"/proc/{each}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                total += int(line.split()[1])
    return total / 1024


def _report(args: argparse.Namespace, results: dict[str, object], rss: float) -> None:
    latencies: list[float] = results["latencies"]  # type: ignore[assignment]
    events: int = results["events"]  # type: ignore[assignment]
    elapsed: float = results["elapsed"]  # type: ignore[assignment]
    database = "PostgreSQL" if args.database_url else "SQLite"
    where = "its own process" if args.loader_process else "a thread of the web process"
    print(f"database          {database}, {args.workers} uvicorn worker(s), {args.senders} senders")
    print(f"loader            in {where}")
    print(f"batch             {args.batch} events, {results['body_bytes']:,} bytes")
    print(f"events accepted   {events:,} in {elapsed:.1f} s ({results['failures']} failed batches)")
    print(f"events/s          {events / elapsed:,.0f}")
    if latencies:
        p50 = statistics.median(latencies) * 1000
        p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000
        print(f"batch latency     p50 {p50:.1f} ms, p99 {p99:.1f} ms")
    print(f"server peak RSS   {rss:.0f} MB (VmHWM, all server processes)")
    server_cpu: float = results["server_cpu"]  # type: ignore[assignment]
    loader_cpu: float = results["loader_cpu"]  # type: ignore[assignment]
    if args.loader_process:
        print(
            f"CPU while sending loader process {loader_cpu:.1f} s "
            f"({loader_cpu / max(events, 1) * 1e6:.0f} µs/event acknowledged)"
        )
    client_cpu: float = results["client_cpu"]  # type: ignore[assignment]
    print(
        f"CPU while sending server {server_cpu:.1f} s "
        f"({server_cpu / max(events, 1) * 1e6:.0f} µs/event), "
        f"senders {client_cpu:.1f} s ({client_cpu / max(events, 1) * 1e6:.0f} µs/event)"
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_until_listening(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("the server did not start")


if __name__ == "__main__":
    main()

"""Run Tend: the ASGI app under uvicorn, with the job worker in the same process or on its own.

`serve` is the whole product in one process (web + Huey worker threads + scheduler) for the
embedded default; `run_worker` is the worker alone, for a production split into web and worker
processes.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

from huey import Huey
from huey.consumer import Consumer
from huey.consumer_options import ConsumerConfig

ASGI_APPLICATION = "tend.config.asgi:application"
SETTINGS_MODULE = "tend.config.django_settings"
SHUTDOWN_SIGNALS = (signal.SIGINT, signal.SIGTERM)
GRACEFUL_SHUTDOWN_SECONDS = 10


def serve(host: str, port: int, with_worker: bool = True) -> None:
    """Serve the web app on `host:port` until SIGINT/SIGTERM; run background jobs alongside.

    The worker starts before the web server and is stopped gracefully (running jobs finish)
    after the web server has shut down.
    """
    import uvicorn

    huey = _setup()
    consumer = _start_embedded_consumer(huey) if with_worker else None
    if consumer is not None:
        from tend.health.freshness import start_background_rescorer
        from tend.usage.loader import start_background_loader

        start_background_loader(in_worker=True)
        start_background_rescorer()
    _print_banner(host, port, huey, consumer)
    config = uvicorn.Config(
        ASGI_APPLICATION,
        host=host,
        port=port,
        lifespan="off",
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
    )
    try:
        with _absorb_replayed_signals():
            uvicorn.Server(config).run()
    finally:
        if consumer is not None:
            from tend.health.freshness import stop_background_rescorer

            print("Tend: stopping health re-scoring…", flush=True)
            stop_background_rescorer(timeout=GRACEFUL_SHUTDOWN_SECONDS * 2)
            print("Tend: stopping the job worker (waiting for running jobs)…", flush=True)
            consumer.stop(graceful=True)
            huey.notify_interrupted_tasks()
    print("Tend: stopped.", flush=True)


def run_worker() -> None:
    """Run the job worker and scheduler alone in the foreground, like `django-admin run_huey`.

    SIGINT stops it gracefully (running jobs finish), SIGTERM at once.
    """
    huey = _setup()
    if huey.immediate:
        raise RuntimeError("The job queue is in immediate mode (TEND_ENV=test); no worker needed.")
    consumer = huey.create_consumer(**_consumer_options())
    print(f"Tend worker: {_describe_queue(huey)}, {consumer.workers} thread(s).", flush=True)
    from tend.health.freshness import start_background_rescorer
    from tend.usage.loader import start_background_loader

    start_background_loader(in_worker=True)
    start_background_rescorer()
    try:
        consumer.run()
    finally:
        from tend.health.freshness import stop_background_rescorer

        stop_background_rescorer(timeout=GRACEFUL_SHUTDOWN_SECONDS * 2)


def _setup() -> Huey:
    """Configure Django and return the project's Huey instance with every job registered."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", SETTINGS_MODULE)
    import django

    django.setup()
    from huey.contrib.djhuey import HUEY

    from tend.config.jobs import register_schedule

    register_schedule(HUEY)
    return HUEY


def _consumer_options() -> dict[str, Any]:
    from django.conf import settings

    config = ConsumerConfig(**settings.HUEY.get("consumer", {}))
    config.validate()
    options: dict[str, Any] = config.values
    return options


def _start_embedded_consumer(huey: Huey) -> Consumer | None:
    """Start the worker threads and scheduler; leave the process's signals to the web server.

    `Consumer.start()` installs its own SIGINT/SIGTERM/SIGHUP handlers, which only make sense when
    the consumer owns the process; they are put back as they were.
    """
    if huey.immediate:
        print("Tend: jobs run inline (immediate mode); no worker started.", flush=True)
        return None
    options = _consumer_options()
    consumer = huey.create_consumer(**options)
    with _signal_handlers_kept():
        consumer.start()
    if options["check_worker_health"]:
        threading.Thread(
            target=_watch_worker_health,
            args=(consumer, float(options["health_check_interval"])),
            name="huey-health",
            daemon=True,
        ).start()
    return consumer


def _watch_worker_health(consumer: Consumer, interval: float) -> None:
    """Replace dead worker threads, as `Consumer.run()` does when the consumer owns the process."""
    while not consumer.stop_flag.wait(timeout=interval):
        consumer.check_worker_health()


def _managed_signals() -> list[signal.Signals]:
    names = ("SIGINT", "SIGTERM", "SIGHUP")
    return [getattr(signal, name) for name in names if hasattr(signal, name)]


@contextmanager
def _signal_handlers_kept() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    saved = {signum: signal.getsignal(signum) for signum in _managed_signals()}
    try:
        yield
    finally:
        for signum, handler in saved.items():
            signal.signal(signum, handler)


@contextmanager
def _absorb_replayed_signals() -> Iterator[None]:
    """Let uvicorn's shutdown end `serve` normally.

    After a graceful shutdown uvicorn re-raises the signal it caught to the previous handler;
    with Python's defaults that is a KeyboardInterrupt or, for SIGTERM, death before the worker
    can finish its jobs. While uvicorn runs, the previous handler only notes the signal.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def note(signum: int, frame: FrameType | None) -> None:
        pass

    saved = {signum: signal.signal(signum, note) for signum in SHUTDOWN_SIGNALS}
    try:
        yield
    finally:
        for signum, handler in saved.items():
            signal.signal(signum, handler)


def _print_banner(host: str, port: int, huey: Huey, consumer: Consumer | None) -> None:
    from django.conf import settings

    shown_host = "127.0.0.1" if host in ("0.0.0.0", "") else "[::1]" if host == "::" else host
    if ":" in shown_host and not shown_host.startswith("["):
        shown_host = f"[{shown_host}]"
    database = settings.DATABASES["default"]
    if database["ENGINE"].endswith("sqlite3"):
        database_text = f"SQLite at {database['NAME']}"
    else:
        database_text = (
            f"PostgreSQL database {database['NAME']} on {database.get('HOST') or 'local'}"
        )
    if consumer is not None:
        jobs_text = f"{_describe_queue(huey)}, {consumer.workers} worker thread(s) in this process"
    elif huey.immediate:
        jobs_text = "run inline (immediate mode)"
    else:
        jobs_text = f"{_describe_queue(huey)}, run by a separate `tend worker`"
    print(f"Tend is starting at http://{shown_host}:{port}/", flush=True)
    print(f"  database: {database_text}", flush=True)
    print(f"  jobs:     {jobs_text}", flush=True)
    print("  stop with Ctrl+C", flush=True)


def _describe_queue(huey: Huey) -> str:
    from django.conf import settings

    if settings.HUEY.get("huey_class", "").endswith("RedisHuey"):
        return "Redis job queue"
    return f"SQLite job queue at {settings.HUEY.get('filename')}"

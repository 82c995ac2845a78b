"""Background work of the core domain. Scheduled from `tend.config.jobs`, never registered here."""

from __future__ import annotations

from importlib import import_module

from django.conf import settings


def lapse_expired_sessions() -> None:
    """Delete sign-in sessions past their expiry date, so the session table stops growing."""
    engine = import_module(settings.SESSION_ENGINE)
    engine.SessionStore.clear_expired()


def ping() -> str:
    """Answer `pong`; proves a worker is picking up and running jobs."""
    return "pong"

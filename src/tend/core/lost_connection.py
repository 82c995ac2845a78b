"""Telling a connection the database server ended from an answer it gave."""

from __future__ import annotations

from django.db import DatabaseError

# SQLSTATE classes of a session the server ended or could not keep: connection exceptions (08…)
# and operator intervention (57P01 admin shutdown, 57P02 crash shutdown, 57P03 cannot connect
# now). A lock timeout (55P03), a full disk (53100) or a constraint are answers, not losses.
_LOST_CONNECTION_STATES = ("08", "57P01", "57P02", "57P03")


def connection_was_lost(error: DatabaseError) -> bool:
    """Whether `error` says the server closed the session (a restart, an administrator, a
    pooler), so that nothing was written and the statement may be tried again on a new one."""
    cause = error.__cause__ or error
    state = getattr(cause, "sqlstate", None)
    if state is None:  # the socket closed before the server could say why
        return type(cause).__name__ == "OperationalError"
    return str(state).startswith(_LOST_CONNECTION_STATES)

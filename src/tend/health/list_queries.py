"""Read the stored lists (`list_actions.refresh_lists`): the latest run of a list and one page
of its rows, optionally of one owner's accounts. A constant number of queries whatever the
number of accounts: the run, the page of rows and, when filtered, their count."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Q

from tend.health.list_compute import decode_rows
from tend.health.models import HealthListRow, HealthListRun

NO_OWNER = "none"
"""The owner filter of accounts nobody owns."""
NOT_COMPUTED = (
    "This list has not been computed yet. The worker computes the lists every few minutes; "
    "run `tend lists refresh` to compute them now."
)


def latest_run(name: str) -> HealthListRun | None:
    """The newest stored run of list `name` (complete: runs are stored whole)."""
    return HealthListRun.objects.filter(name=name).order_by("-computed_at", "-pk").first()


@dataclass(frozen=True)
class StoredRows:
    """One page of a stored list's rows, decoded, and how many rows match in all."""

    rows: list[dict[str, Any]]
    total: int


def owner_condition(owner: str) -> Q:
    """Rows of accounts owned by user id `owner`, by nobody (NO_OWNER) or all ("")."""
    if owner == NO_OWNER:
        return Q(account__isnull=False, account__owner__isnull=True)
    if owner.isdigit():
        return Q(account__owner_id=int(owner))
    return Q()


def stored_rows(
    run: HealthListRun, offset: int = 0, limit: int = 100, owner: str = ""
) -> StoredRows:
    """Rows `offset` to `offset + limit` of `run` in the list's order; with `owner`, only the
    rows of that owner's accounts (see `owner_condition`)."""
    condition = owner_condition(owner)
    rows = HealthListRow.objects.filter(condition, run=run).order_by("position")
    payloads = list(rows.values_list("payload", flat=True)[offset : offset + limit])
    total = run.row_count if not condition else rows.count()
    return StoredRows(decode_rows(run.name, payloads), total)

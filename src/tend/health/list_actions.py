"""Store the lists the score drives: `refresh_lists` computes each list once and replaces the
stored one, so pages, the API and the CLI read them instantly (`list_queries`)."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from tend.customers.models import Account
from tend.health.list_compute import (
    LIST_NAMES,
    ComputedList,
    compute_lists,
    load_list_inputs,
)
from tend.health.models import HealthListRow, HealthListRun

logger = logging.getLogger(__name__)

KEEP_RUNS = 2
"""Runs kept per list: the newest and the one before, so a reader that picked the previous run
just before a refresh committed still reads all of its rows."""
BATCH_SIZE = 2_000


@dataclass(frozen=True)
class ListRefresh:
    """One refresh: the stored runs, with the time spent loading the data and in total."""

    runs: list[HealthListRun]
    load_seconds: float
    seconds: float


def refresh_lists(as_of: datetime | None = None, names: Sequence[str] = LIST_NAMES) -> ListRefresh:
    """Compute every list in `names` as of `as_of` (default now) from one load of the data, and
    store each in place of the previous one."""
    unknown = sorted(set(names) - set(LIST_NAMES))
    if unknown:
        raise ValueError(f"unknown list {unknown[0]!r}; use one of {', '.join(LIST_NAMES)}")
    started = time.perf_counter()
    moment = as_of or timezone.now()
    data = load_list_inputs(moment)
    loaded = time.perf_counter() - started
    versions = [version.pk for version in data.versions]
    account_ids = dict(Account.objects.values_list("external_id", "pk"))
    runs = [
        store_list(computed, moment, versions, data.style.colours, account_ids)
        for computed in compute_lists(data, names)
    ]
    seconds = time.perf_counter() - started
    logger.info("health: refreshed %d lists in %.1f s (load %.1f s)", len(runs), seconds, loaded)
    return ListRefresh(runs, loaded, seconds)


def store_list(
    computed: ComputedList,
    as_of: datetime,
    scorecard_versions: list[int],
    band_colours: dict[str, str],
    account_ids: dict[str, int],
) -> HealthListRun:
    """Store one computed list as a new run, whole or not at all (one transaction), and delete
    the runs of that list older than the KEEP_RUNS newest. `account_ids` maps external ids to
    the accounts' keys."""
    with transaction.atomic():
        run = HealthListRun.objects.create(
            name=computed.name,
            as_of=as_of,
            computed_at=timezone.now(),
            seconds=computed.seconds,
            row_count=len(computed.rows),
            scorecard_versions=scorecard_versions,
            band_colours=band_colours,
        )
        HealthListRow.objects.bulk_create(
            (
                HealthListRow(
                    run=run,
                    position=position,
                    account_id=account_ids.get(row.get("account") or ""),
                    payload=row,
                )
                for position, row in enumerate(computed.rows)
            ),
            batch_size=BATCH_SIZE,
        )
        kept = HealthListRun.objects.filter(name=computed.name).order_by("-computed_at", "-pk")
        older = list(kept.values_list("pk", flat=True)[KEEP_RUNS:])
        if older:
            HealthListRow.objects.filter(run_id__in=older).delete()
            HealthListRun.objects.filter(pk__in=older).delete()
    return run

"""Reads of the health domain: scorecards, snapshots explained, overrides and signals."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pyarrow as pa
from django.db.models import QuerySet
from django.utils import timezone

from tend.customers.models import Account
from tend.health.models import (
    ChurnPrediction,
    HealthSignal,
    HealthSnapshot,
    Scorecard,
    ScorecardVersion,
    ScoreOverride,
)
from tend.health.scorecard import ScorecardConfig
from tend.health.scorecard_yaml import dump_scorecard, validate_scorecard

MEASURE_FIELDS = ("raw", "normalised", "weight", "contribution", "missing")


def latest_version(scorecard: Scorecard) -> ScorecardVersion | None:
    return scorecard.versions.order_by("-number").first()


def version_config(version: ScorecardVersion) -> ScorecardConfig:
    """The validated config of a stored version."""
    return validate_scorecard(version.config)


def active_versions() -> dict[ScorecardVersion, ScorecardConfig]:
    """The latest version of each active scorecard with its config, `is_default` taken from
    the scorecard (only one is the default): the input of `scoring.assign_scorecards`."""
    result: dict[ScorecardVersion, ScorecardConfig] = {}
    for scorecard in Scorecard.objects.filter(active=True):
        version = latest_version(scorecard)
        if version is not None:
            config = version_config(version).model_copy(update={"is_default": scorecard.is_default})
            result[version] = config
    return result


def backfill_first_day(last: date) -> date:
    """The first day a backfill up to `last` covers: the first account's sign-up or first
    subscription, at most `health_backfill_days` days back."""
    from tend.billing.queries import first_subscription_start
    from tend.config.settings import get_settings
    from tend.customers.queries import first_sign_up

    earliest = last - timedelta(days=get_settings().health_backfill_days - 1)
    known = [d for d in (first_sign_up(), first_subscription_start()) if d is not None]
    return max(earliest, min(known, default=last))


def export_scorecard_yaml(version: ScorecardVersion) -> str:
    """The version's config as YAML text (importing it back gives the same config)."""
    return dump_scorecard(version_config(version))


def override_span(override: ScoreOverride) -> tuple[date, date]:
    """First and last day (UTC dates, inclusive) an override applies to: from the day it was
    set to the day it expires, ending the day before it was cleared. Empty when last < first."""
    first = override.created_at.astimezone(UTC).date()
    last = override.expires_at.astimezone(UTC).date()
    if override.cleared_at is not None:
        last = min(last, override.cleared_at.astimezone(UTC).date() - timedelta(days=1))
    return first, last


def override_applies(override: ScoreOverride, day: date) -> bool:
    first, last = override_span(override)
    return first <= day <= last


def override_table(accounts: Iterable[str] | None = None) -> pa.Table:
    """Every override as rows `account, score, band, first_day, last_day`, oldest first (later
    ones win): the `overrides` input of `scoring.score`."""
    rows = ScoreOverride.objects.select_related("account").order_by("created_at", "pk")
    if accounts is not None:
        rows = rows.filter(account__external_id__in=list(accounts))
    records = []
    for override in rows:
        first, last = override_span(override)
        if last >= first:
            records.append(
                {
                    "account": override.account.external_id,
                    "score": override.score,
                    "band": override.band or None,
                    "first_day": first,
                    "last_day": last,
                }
            )
    schema = pa.schema(
        [
            ("account", pa.string()),
            ("score", pa.float64()),
            ("band", pa.string()),
            ("first_day", pa.date32()),
            ("last_day", pa.date32()),
        ]
    )
    return pa.Table.from_pylist(records, schema=schema)


def active_override(account: Account, now: datetime | None = None) -> ScoreOverride | None:
    """The override in force for `account` now, if any."""
    moment = now or timezone.now()
    return (
        ScoreOverride.objects.filter(account=account, cleared_at__isnull=True)
        .filter(created_at__lte=moment, expires_at__gt=moment)
        .order_by("-created_at", "-pk")
        .first()
    )


def band_for_score(version: ScorecardVersion, day: date, score: float) -> str:
    """The band a score falls in under a version: by its thresholds, or for quantile bands by
    the share of that day's stored computed scores below it."""
    bands = version_config(version).bands
    bounds = [band.below or 0.0 for band in bands.levels[:-1]]
    position = score
    if bands.method == "quantiles":
        day_rows = HealthSnapshot.objects.filter(
            version=version, day=day, computed_score__isnull=False
        )
        total = day_rows.count()
        position = day_rows.filter(computed_score__lt=score).count() / total if total else 0.0
    index = sum(1 for bound in bounds if position >= bound)
    return bands.levels[index].name


def has_snapshots(version: ScorecardVersion, day: date) -> bool:
    """Whether the version has stored snapshots of `day`."""
    return HealthSnapshot.objects.filter(version=version, day=day).exists()


def stored_raw_values(
    version: ScorecardVersion,
    day: date,
    metrics: dict[str, str],
    exclude: Sequence[str] = (),
) -> pa.Table:
    """Measure-value rows `account, day, measure, value` of the version's stored snapshots of
    `day`, for the measures named in `metrics` (measure name -> its metric, the row's
    `measure`), leaving out the accounts in `exclude`: other accounts' values to rank among."""
    rows = HealthSnapshot.objects.filter(version=version, day=day).exclude(
        account__external_id__in=list(exclude)
    )
    accounts, names, values = [], [], []
    for account, measures in rows.values_list("account__external_id", "measures").iterator(
        chunk_size=10_000
    ):
        parsed = _measures(measures)
        for metric in dict.fromkeys(metrics.values()):
            name = next(n for n, m in metrics.items() if m == metric)
            if name in parsed:
                accounts.append(account)
                names.append(metric)
                values.append(parsed[name][0])
    return pa.table(
        {
            "account": pa.array(accounts, pa.string()),
            "day": pa.array([day] * len(accounts), pa.date32()),
            "measure": pa.array(names, pa.string()),
            "value": pa.array(values, pa.float64()),
        }
    )


def snapshot_table(
    version: ScorecardVersion, days: Sequence[date], accounts: Sequence[str] | None = None
) -> pa.Table:
    """Stored snapshots of `days` (of `accounts` only, when given) as rows `account, day,
    score, contribution:<measure>…`, the `earlier` input of `score_changes.add_changes`."""
    stored = HealthSnapshot.objects.filter(version=version, day__in=list(days))
    if accounts is not None:
        stored = stored.filter(account__external_id__in=list(accounts))
    rows = stored.values_list("account__external_id", "day", "score", "measures")
    records = list(rows.iterator(chunk_size=10_000))
    parsed = [_measures(measures) for *_, measures in records]
    data: dict[str, pa.Array] = {
        "account": pa.array([r[0] for r in records], pa.string()),
        "day": pa.array([r[1] for r in records], pa.date32()),
        "score": pa.array([r[2] for r in records], pa.float64()),
    }
    for name in dict.fromkeys(name for measures in parsed for name in measures):
        column = [measures[name][3] if name in measures else None for measures in parsed]
        data[f"contribution:{name}"] = pa.array(column, pa.float64())
    return pa.table(data)


def snapshot_scores(
    version: ScorecardVersion, first: date | None = None, last: date | None = None
) -> pa.Table:
    """Stored scores of a version as rows `account, day, score, band, computed_score,
    computed_band, coverage` (band null when none): the snapshots input of the backtest and
    the lists."""
    rows = HealthSnapshot.objects.filter(version=version)
    if first is not None:
        rows = rows.filter(day__gte=first)
    if last is not None:
        rows = rows.filter(day__lte=last)
    fields = ["account__external_id", "day", "score", "band", "computed_score", "computed_band"]
    records = list(rows.values_list(*fields, "coverage").iterator(chunk_size=20_000))
    columns = list(zip(*records, strict=True)) if records else [()] * 7
    return pa.table(
        {
            "account": pa.array(columns[0], pa.string()),
            "day": pa.array(columns[1], pa.date32()),
            "score": pa.array(columns[2], pa.float64()),
            "band": pa.array([b or None for b in columns[3]], pa.string()),
            "computed_score": pa.array(columns[4], pa.float64()),
            "computed_band": pa.array([b or None for b in columns[5]], pa.string()),
            "coverage": pa.array(columns[6], pa.float64()),
        }
    )


def _measures(value: Any) -> dict[str, list[Any]]:
    return json.loads(value) if isinstance(value, str) else (value or {})


def latest_snapshot(
    account: Account, version: ScorecardVersion | None = None
) -> HealthSnapshot | None:
    """The account's most recent snapshot (of `version` when given)."""
    rows = HealthSnapshot.objects.filter(account=account)
    if version is not None:
        rows = rows.filter(version=version)
    return rows.select_related("version__scorecard").order_by("-day", "-version__number").first()


def churn_prediction(account: Account, day: date) -> ChurnPrediction | None:
    """The account's stored churn probability of `day`, or None (no trained model, or not
    scored that day)."""
    return ChurnPrediction.objects.filter(account=account, day=day).first()


def account_history(
    account: Account,
    version: ScorecardVersion | None = None,
    first: date | None = None,
    last: date | None = None,
) -> QuerySet[HealthSnapshot]:
    """The account's snapshots, oldest first."""
    rows = HealthSnapshot.objects.filter(account=account)
    if version is not None:
        rows = rows.filter(version=version)
    if first is not None:
        rows = rows.filter(day__gte=first)
    if last is not None:
        rows = rows.filter(day__lte=last)
    return rows.order_by("day")


def explain(snapshot: HealthSnapshot) -> dict[str, Any]:
    """Why a snapshot scores what it does: per group its score and per measure its raw value,
    normalised score, weight, contribution and missing flag, in the scorecard's order."""
    config = version_config(snapshot.version)
    measures = _measures(snapshot.measures)
    groups = []
    for group in config.groups:
        rows = []
        for measure in group.measures:
            values = measures.get(measure.name, [None, None, 0.0, 0.0, 1])
            row = dict(zip(MEASURE_FIELDS, values, strict=True))
            row["missing"] = bool(row["missing"])
            rows.append({"measure": measure.name, "metric": measure.metric, **row})
        groups.append(
            {
                "group": group.name,
                "aggregation": group.aggregation,
                "score": (snapshot.groups or {}).get(group.name),
                "measures": rows,
            }
        )
    return {
        "account": snapshot.account_id,
        "day": snapshot.day,
        "scorecard": str(snapshot.version),
        "score": snapshot.score,
        "computed_score": snapshot.computed_score,
        "band": snapshot.band,
        "computed_band": snapshot.computed_band,
        "overridden": snapshot.overridden,
        "coverage": snapshot.coverage,
        "change_7d": snapshot.change_7d,
        "change_30d": snapshot.change_30d,
        "top_movers": snapshot.top_movers or [],
        "groups": groups,
    }


def signals(
    kinds: Sequence[str] | None = None, since: date | None = None
) -> QuerySet[HealthSignal]:
    """Recorded signals, newest day first."""
    rows = HealthSignal.objects.select_related("account")
    if kinds:
        rows = rows.filter(kind__in=list(kinds))
    if since is not None:
        rows = rows.filter(day__gte=since)
    return rows.order_by("-day", "account_id")

"""Writes of the health domain: scorecard versions, snapshots, signals and overrides.

Overrides are applied when scoring (`queries.override_table` feeds `scoring.score`), and
setting or clearing one also re-stamps the account's stored snapshots from that day on, so the
change shows at once. An override applies to the days from its creation to its expiry
(inclusive, UTC dates) and stops the day it is cleared: it lapses by itself, history kept.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from importlib.resources import files
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from tend.core.actions import audit
from tend.core.models import User
from tend.customers.models import Account
from tend.health import queries
from tend.health.models import (
    ChurnPrediction,
    HealthSignal,
    HealthSnapshot,
    Scorecard,
    ScorecardVersion,
    ScoreOverride,
    SignalKind,
)
from tend.health.score_changes import add_changes
from tend.health.scorecard import SCALE_MAX, SCALE_MIN, ScorecardConfig
from tend.health.scorecard_yaml import load_scorecard, validate_scorecard
from tend.health.snapshot_encoding import snapshot_columns
from tend.health.snapshot_store import account_pks, insert_snapshots

logger = logging.getLogger(__name__)

INSERT_BATCH = 50_000
DELETE_DAYS_BATCH = 500
DEFAULT_DROP_THRESHOLD = 10.0
SIGNAL_LOOKBACK_DAYS = 31
DEFAULT_SCORECARD_FILE = "default_scorecard.yaml"


def save_scorecard_version(
    scorecard: Scorecard | None,
    config: ScorecardConfig | Mapping[str, Any],
    user: User | None,
    note: str = "",
) -> ScorecardVersion:
    """Validate `config` and save it as the next version of `scorecard` (a new scorecard named
    after the config when None); the scorecard's listing fields follow the config, and a
    default version makes it the only default. Once committed, a job computes the version for
    every past day (`jobs.backfill_scorecard_version`)."""
    valid = config if isinstance(config, ScorecardConfig) else validate_scorecard(config)
    with transaction.atomic():
        if scorecard is None:
            scorecard = Scorecard(name=valid.name, slug=_free_slug(valid.name))
        else:
            scorecard = Scorecard.objects.select_for_update().get(pk=scorecard.pk)
        scorecard.name = valid.name
        scorecard.description = valid.description
        scorecard.segments = list(valid.applies_to.segments)
        scorecard.lifecycle_stages = list(valid.applies_to.lifecycle_stages)
        scorecard.priority = valid.priority
        scorecard.is_default = valid.is_default
        scorecard.save()
        if valid.is_default:
            Scorecard.objects.exclude(pk=scorecard.pk).update(is_default=False)
        latest = queries.latest_version(scorecard)
        version = ScorecardVersion.objects.create(
            scorecard=scorecard,
            number=(latest.number + 1) if latest else 1,
            config=valid.model_dump(mode="json"),
            created_by=user,
            note=note,
        )
        audit(
            user,
            "scorecard.version_saved",
            version,
            {"scorecard": scorecard.slug, "number": version.number, "note": note},
        )
        transaction.on_commit(lambda: _enqueue_backfill(version.pk))
    return version


def _enqueue_backfill(version_id: int) -> None:
    from tend.config.jobs import enqueue
    from tend.health.jobs import backfill_scorecard_version

    enqueue(backfill_scorecard_version, version_id)


def import_scorecard_yaml(
    text: str, user: User | None, note: str = "Imported from YAML"
) -> ScorecardVersion:
    """A scorecard from YAML: a new version of the scorecard with the same slug (or a new
    scorecard). Raises `ScorecardError` naming each bad field; importing the same config as the
    latest version again changes nothing and returns that version."""
    config = load_scorecard(text)
    scorecard = Scorecard.objects.filter(slug=slugify(config.name)).first()
    if scorecard is not None:
        latest = queries.latest_version(scorecard)
        if latest is not None and validate_scorecard(latest.config) == config:
            return latest
    return save_scorecard_version(scorecard, config, user, note)


def ensure_default_scorecard(user: User | None = None) -> ScorecardVersion:
    """The latest version of the default scorecard, importing the one shipped with Tend when
    no scorecard is the default yet (so it is created once)."""
    existing = Scorecard.objects.filter(is_default=True, active=True).first()
    if existing is not None:
        latest = queries.latest_version(existing)
        if latest is not None:
            return latest
    text = files("tend.health").joinpath(DEFAULT_SCORECARD_FILE).read_text(encoding="utf-8")
    return import_scorecard_yaml(text, user, note="Shipped with Tend")


def store_backtest(version: ScorecardVersion, backtest: Mapping[str, Any]) -> None:
    """Keep a backtest's figures with the version they test."""
    with transaction.atomic():
        version.backtest = dict(backtest)
        version.save(update_fields=["backtest"])


def store_health_snapshots(
    version: ScorecardVersion,
    table: pa.Table,
    only_accounts: Sequence[str] | None = None,
    earlier: pa.Table | None = None,
) -> int:
    """Replace the version's snapshots of the days in `table` (a `scoring.score` result) with
    its rows, in one transaction; other days are untouched, and with `only_accounts` (the
    accounts `table` holds) so are the other accounts' snapshots of those days. Changes
    against 7 and 30 days are completed from `earlier` (a result of this version just stored,
    e.g. the previous block of a backfill) for the days it holds, else from stored snapshots.
    Returns the rows written."""
    if table.num_rows == 0:
        return 0
    days = sorted(set(pc.unique(table["day"]).to_pylist()))
    table = _with_stored_changes(version, table, days, only_accounts, earlier)
    account_ids = account_pks(table["account"])
    known = account_ids >= 0
    if not known.all():
        logger.warning("health snapshots: %d rows of unknown accounts left out", (~known).sum())
        table, account_ids = table.filter(pa.array(known)), account_ids[known]
    with transaction.atomic():
        for start in range(0, len(days), DELETE_DAYS_BATCH):
            chunk = days[start : start + DELETE_DAYS_BATCH]
            replaced = HealthSnapshot.objects.filter(version=version, day__in=chunk)
            if only_accounts is not None:
                replaced = replaced.filter(account_id__in=account_ids.tolist())
            replaced.delete()
        for offset in range(0, table.num_rows, INSERT_BATCH):
            rows = snapshot_columns(table.slice(offset, INSERT_BATCH))
            insert_snapshots(version.pk, account_ids[offset : offset + INSERT_BATCH], rows)
    return table.num_rows


def _with_stored_changes(
    version: ScorecardVersion,
    table: pa.Table,
    days: list[date],
    only_accounts: Sequence[str] | None = None,
    earlier: pa.Table | None = None,
) -> pa.Table:
    """`table` with the changes of rows whose day - 7 or day - 30 is not in it completed from
    `earlier` and, for days it lacks, from stored snapshots (of `only_accounts` when given);
    the other rows already have theirs."""
    outside = {d - timedelta(days=n) for d in days for n in (7, 30)} - set(days)
    if not outside:
        return table
    lacking = {d for d in days if {d - timedelta(days=7), d - timedelta(days=30)} & outside}
    needs = pc.is_in(table["day"], value_set=pa.array(sorted(lacking), pa.date32()))
    rest = table.filter(pc.invert(needs))
    references = [_change_inputs(rest)]
    if earlier is not None and earlier.num_rows:
        held = set(pc.unique(earlier["day"]).to_pylist())
        wanted = pc.is_in(earlier["day"], value_set=pa.array(sorted(outside), pa.date32()))
        references.append(_change_inputs(earlier.filter(wanted)))
        outside -= held
    if outside:
        stored = queries.snapshot_table(version, sorted(outside), only_accounts)
        references.append(stored)
    reference = pa.concat_tables(references, promote_options="permissive")
    return pa.concat_tables([add_changes(table.filter(needs), reference), rest])


def _change_inputs(table: pa.Table) -> pa.Table:
    return table.select(
        [c for c in table.column_names if c in _CHANGE_INPUTS or c.startswith("contribution:")]
    )


_CHANGE_INPUTS = ("account", "day", "score")


def record_signals(
    version: ScorecardVersion,
    days: Sequence[date],
    drop_threshold: float = DEFAULT_DROP_THRESHOLD,
    only_accounts: Sequence[str] | None = None,
    stored_now: pa.Table | None = None,
) -> int:
    """Record band changes and score drops of at least `drop_threshold` points between each
    stored snapshot on `days` and the same account's previous snapshot (of this version, at
    most SIGNAL_LOOKBACK_DAYS earlier), for every account or `only_accounts`. Uses the shown
    (final) score and band. Idempotent: each account, day and kind fires once. Returns how
    many signals are new.

    `stored_now` (rows `account, day, score, band` of this version just stored, e.g. the
    scoring run's latest blocks) saves reading back the days it holds."""
    if not days:
        return 0
    wanted = set(days)
    first = min(days) - timedelta(days=SIGNAL_LOOKBACK_DAYS)
    held: set[date] = set()
    rows: list[tuple[int, date, float | None, str]] = []
    if stored_now is not None and stored_now.num_rows:
        kept = stored_now.filter(pc.greater_equal(stored_now["day"], pa.scalar(first, pa.date32())))
        ids = account_pks(kept["account"])
        bands = pc.fill_null(kept["band"], "").to_pylist()
        rows += [
            (int(account_id), day, score, band)
            for account_id, day, score, band in zip(
                ids, kept["day"].to_pylist(), kept["score"].to_pylist(), bands, strict=True
            )
            if account_id >= 0
        ]
        held = set(pc.unique(kept["day"]).to_pylist())
    missing = [first + timedelta(days=n) for n in range((max(days) - first).days + 1)]
    missing = [day for day in missing if day not in held]
    if missing:
        stored = HealthSnapshot.objects.filter(version=version, day__in=missing)
        if only_accounts is not None:
            stored = stored.filter(account__external_id__in=list(only_accounts))
        fields = ("account_id", "day", "score", "band")
        rows += list(stored.values_list(*fields).iterator(chunk_size=20_000))
    rows.sort(key=lambda row: (row[0], row[1]))
    signals = []
    previous: tuple[int, date, float | None, str] | None = None
    for account_id, day, score, band in rows:
        before = previous if previous is not None and previous[0] == account_id else None
        previous = (account_id, day, score, band)
        if before is None or day not in wanted or (day - before[1]).days > SIGNAL_LOOKBACK_DAYS:
            continue
        signals += _signals(version, account_id, day, before, score, band, drop_threshold)
    return _insert_signals(signals)


def _signals(
    version: ScorecardVersion,
    account_id: int,
    day: date,
    before: tuple[int, date, float | None, str],
    score: float | None,
    band: str,
    drop_threshold: float,
) -> list[HealthSignal]:
    _, then, old_score, old_band = before
    found = []
    details = {"previous_day": then.isoformat(), "from_score": old_score, "to_score": score}
    if band and old_band and band != old_band:
        found.append(
            HealthSignal(
                account_id=account_id,
                day=day,
                kind=SignalKind.BAND_CHANGE,
                from_value=old_band,
                to_value=band,
                version=version,
                details=details,
            )
        )
    if score is not None and old_score is not None and old_score - score >= drop_threshold:
        found.append(
            HealthSignal(
                account_id=account_id,
                day=day,
                kind=SignalKind.SCORE_DROP,
                from_value=f"{old_score:.1f}",
                to_value=f"{score:.1f}",
                version=version,
                details={**details, "drop": old_score - score, "threshold": drop_threshold},
            )
        )
    return found


def store_churn_predictions(
    predictions: pa.Table, model: str, jump_threshold: float | None = None
) -> int:
    """Replace the stored churn probabilities of the accounts and days in `predictions`
    (`churn_model.PREDICTION_SCHEMA` rows) and record, per account, each rise of at least
    `jump_threshold` (default: the `health_churn_jump` setting) over its previous stored
    probability (at most SIGNAL_LOOKBACK_DAYS earlier). Returns how many jump signals are new."""
    if predictions.num_rows == 0:
        return 0
    if jump_threshold is None:
        from tend.config.settings import get_settings

        jump_threshold = get_settings().health_churn_jump
    account_ids = account_pks(predictions["account"])
    known = account_ids >= 0
    days = predictions["day"].to_pylist()
    probabilities = predictions["churn_probability"].to_pylist()
    drivers = predictions["drivers"].to_pylist()
    rows = [
        ChurnPrediction(
            account_id=int(account_ids[i]),
            day=days[i],
            probability=probabilities[i],
            drivers=drivers[i] or [],
            model=model,
        )
        for i in range(predictions.num_rows)
        if known[i]
    ]
    ids = sorted({row.account_id for row in rows})
    with transaction.atomic():
        ChurnPrediction.objects.filter(account_id__in=ids, day__in=sorted(set(days))).delete()
        ChurnPrediction.objects.bulk_create(rows, batch_size=5_000)
    return _record_churn_jumps(ids, sorted(set(days)), jump_threshold)


def _record_churn_jumps(account_ids: list[int], days: list[date], threshold: float) -> int:
    """Jump signals of the accounts on `days`, from their stored probabilities."""
    wanted = set(days)
    stored = (
        ChurnPrediction.objects.filter(
            account_id__in=account_ids,
            day__gte=min(days) - timedelta(days=SIGNAL_LOOKBACK_DAYS),
            day__lte=max(days),
        )
        .order_by("account_id", "day")
        .values_list("account_id", "day", "probability", "drivers")
    )
    jumps: list[dict[str, Any]] = []
    previous: tuple[int, date, float] | None = None
    for account_id, day, probability, drivers in stored.iterator(chunk_size=20_000):
        before = previous if previous is not None and previous[0] == account_id else None
        previous = (account_id, day, probability)
        if before is None or day not in wanted or probability - before[2] < threshold:
            continue
        jumps.append(
            {
                "account_id": account_id,
                "day": day,
                "from_probability": before[2],
                "to_probability": probability,
                "details": {
                    "previous_day": before[1].isoformat(),
                    "threshold": threshold,
                    "drivers": drivers,
                },
            }
        )
    return record_churn_probability_jumps(jumps)


def record_churn_probability_jumps(rows: Sequence[Mapping[str, Any]]) -> int:
    """Record churn-probability jumps found by the churn model: rows with `account` (an
    Account) or `account_id`, `day`, `from_probability`, `to_probability` and optional
    `details`. Idempotent like `record_signals`; returns how many are new."""
    signals = [
        HealthSignal(
            account_id=row["account_id"] if "account_id" in row else row["account"].pk,
            day=row["day"],
            kind=SignalKind.CHURN_PROBABILITY_JUMP,
            from_value=f"{row['from_probability']:.3f}",
            to_value=f"{row['to_probability']:.3f}",
            details=dict(row.get("details") or {}),
        )
        for row in rows
    ]
    return _insert_signals(signals)


def _insert_signals(signals: list[HealthSignal]) -> int:
    if not signals:
        return 0
    with transaction.atomic():
        before = HealthSignal.objects.count()
        HealthSignal.objects.bulk_create(signals, batch_size=2_000, ignore_conflicts=True)
        return HealthSignal.objects.count() - before


def set_override(
    account: Account,
    user: User | None,
    *,
    reason: str,
    expires_at: datetime,
    score: float | None = None,
    band: str = "",
    now: datetime | None = None,
) -> ScoreOverride:
    """A CSM's score or band for `account` until `expires_at`, with a reason; it replaces any
    override in force, is audited, and shows on the stored snapshots from today."""
    moment = now or timezone.now()
    if not reason.strip():
        raise ValueError("an override needs a reason")
    if (score is None) == (not band):
        raise ValueError("set either a score or a band")
    if score is not None and not SCALE_MIN <= score <= SCALE_MAX:
        raise ValueError("the score must lie between 0 and 100")
    if expires_at <= moment:
        raise ValueError("the expiry must lie in the future")
    with transaction.atomic():
        active = ScoreOverride.objects.select_for_update().filter(
            account=account, cleared_at__isnull=True, expires_at__gt=moment
        )
        for previous in active:
            _clear(previous, user, moment, "health.override_replaced")
        override = ScoreOverride.objects.create(
            account=account,
            score=score,
            band=band,
            reason=reason.strip(),
            expires_at=expires_at,
            set_by=user,
            created_at=moment,
        )
        audit(
            user,
            "health.override_set",
            override,
            {
                "account": account.external_id,
                "score": score,
                "band": band,
                "reason": override.reason,
                "expires_at": expires_at.isoformat(),
            },
        )
        _restamp(account, _day(moment))
    return override


def clear_override(
    override: ScoreOverride, user: User | None, now: datetime | None = None
) -> ScoreOverride:
    """End an override today; the computed score shows again from today on."""
    moment = now or timezone.now()
    with transaction.atomic():
        _clear(override, user, moment, "health.override_cleared")
        _restamp(override.account, _day(moment))
    return override


def _clear(override: ScoreOverride, user: User | None, moment: datetime, action: str) -> None:
    override.cleared_at = moment
    override.cleared_by = user
    override.save(update_fields=["cleared_at", "cleared_by"])
    audit(user, action, override, {"account": override.account.external_id})


def _restamp(account: Account, first_day: date) -> None:
    """Re-apply the account's overrides to its stored snapshots from `first_day` on."""
    overrides = list(ScoreOverride.objects.filter(account=account).order_by("created_at", "pk"))
    snapshots = list(
        HealthSnapshot.objects.filter(account=account, day__gte=first_day).select_related("version")
    )
    for snapshot in snapshots:
        applying = [o for o in overrides if queries.override_applies(o, snapshot.day)]
        override = applying[-1] if applying else None
        snapshot.overridden = override is not None
        snapshot.score = snapshot.computed_score
        snapshot.band = snapshot.computed_band
        if override is not None and override.score is not None:
            snapshot.score = override.score
            snapshot.band = queries.band_for_score(snapshot.version, snapshot.day, override.score)
        elif override is not None:
            snapshot.band = override.band
    HealthSnapshot.objects.bulk_update(snapshots, ["score", "band", "overridden"])


def _day(moment: datetime) -> date:
    return moment.astimezone(UTC).date()


def _free_slug(name: str) -> str:
    base = slugify(name)[:100] or "scorecard"
    slug, n = base, 2
    while Scorecard.objects.filter(slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug

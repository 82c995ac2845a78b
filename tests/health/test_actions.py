"""Writes of the health domain: scorecard versions, YAML import, snapshots and signals."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pyarrow as pa
import pytest

from tend.core.models import AuditEntry, User
from tend.customers.models import Account
from tend.health import queries
from tend.health.actions import (
    ensure_default_scorecard,
    import_scorecard_yaml,
    record_churn_probability_jumps,
    record_signals,
    save_scorecard_version,
    store_backtest,
    store_health_snapshots,
)
from tend.health.models import HealthSignal, HealthSnapshot, Scorecard, ScorecardVersion
from tend.health.scorecard_yaml import ScorecardError
from tend.health.scoring import score
from tests.factories import AccountFactory
from tests.health.factories import simple_config
from tests.health.support import DAY, accounts, values
from tests.health.test_scoring import X, two_groups

pytestmark = pytest.mark.django_db


def test_each_save_is_a_new_audited_version(csm: User) -> None:
    first = save_scorecard_version(None, simple_config("Mid market"), csm, "first")
    second = save_scorecard_version(first.scorecard, simple_config("Mid market", priority=7), csm)
    assert (first.number, second.number) == (1, 2)
    scorecard = Scorecard.objects.get()
    assert (scorecard.slug, scorecard.priority, scorecard.is_default) == ("mid-market", 7, True)
    assert queries.latest_version(scorecard) == second
    entries = AuditEntry.objects.filter(action="scorecard.version_saved")
    assert entries.count() == 2 and {e.actor for e in entries} == {csm}


def test_an_invalid_config_saves_nothing(csm: User) -> None:
    config = simple_config()
    config["groups"][0]["measures"][0]["weight"] = 0
    with pytest.raises(ScorecardError, match=r"groups\[0\].measures\[0\].weight: must be > 0"):
        save_scorecard_version(None, config, csm)
    assert not Scorecard.objects.exists() and not ScorecardVersion.objects.exists()


def test_only_one_scorecard_is_the_default(csm: User) -> None:
    save_scorecard_version(None, simple_config("Old default"), csm)
    save_scorecard_version(None, simple_config("New default"), csm)
    assert list(Scorecard.objects.filter(is_default=True).values_list("name", flat=True)) == [
        "New default"
    ]
    configs = queries.active_versions()
    assert sorted(c.is_default for c in configs.values()) == [False, True]


def test_import_is_idempotent_and_export_round_trips(csm: User) -> None:
    from tend.health.scorecard_yaml import dump_scorecard, load_scorecard

    text = dump_scorecard(load_scorecard(dump_scorecard_of(two_groups())))
    version = import_scorecard_yaml(text, csm)
    assert import_scorecard_yaml(text, csm) == version
    assert queries.export_scorecard_yaml(version) == text
    edited = import_scorecard_yaml(text.replace("weight: 3\n", "weight: 4\n", 1), csm)
    assert (edited.scorecard, edited.number) == (version.scorecard, 2)


def dump_scorecard_of(config: dict[str, object]) -> str:
    from tend.health.scorecard_yaml import dump_scorecard, validate_scorecard

    return dump_scorecard(validate_scorecard(config))


def test_the_shipped_default_is_created_once(csm: User) -> None:
    version = ensure_default_scorecard(csm)
    assert ensure_default_scorecard() == version
    assert Scorecard.objects.get().is_default and version.note == "Shipped with Tend"


def test_the_shipped_default_does_not_replace_an_existing_default(csm: User) -> None:
    own = save_scorecard_version(None, simple_config("Ours"), csm)
    assert ensure_default_scorecard() == own
    assert Scorecard.objects.count() == 1


def scored_days(raw: dict[date, float], names: tuple[str, ...] = ("a", "b")) -> pa.Table:
    """Accounts whose score is their raw events on each day."""
    table = values({(n, d): {"events_30d": v} for n in names for d, v in raw.items()})
    return score(simple_config(), table, accounts(*names), sorted(raw))


@pytest.fixture
def version(csm: User) -> ScorecardVersion:
    AccountFactory(external_id="a")
    AccountFactory(external_id="b")
    return save_scorecard_version(None, simple_config(), csm)


def stored(version: ScorecardVersion) -> dict[tuple[str, date], float | None]:
    rows = HealthSnapshot.objects.filter(version=version)
    return {(s.account.external_id, s.day): s.score for s in rows.select_related("account")}


def test_storing_replaces_only_the_given_days(version: ScorecardVersion, csm: User) -> None:
    before = DAY - timedelta(days=1)
    other = save_scorecard_version(None, simple_config("Other"), csm)
    assert store_health_snapshots(version, scored_days({before: 10, DAY: 20})) == 4
    store_health_snapshots(other, scored_days({DAY: 99}))
    assert store_health_snapshots(version, scored_days({DAY: 50}, ("a",))) == 1
    assert stored(version) == {("a", before): 10, ("b", before): 10, ("a", DAY): 50}
    assert set(stored(other).values()) == {99}


def test_stored_changes_reach_back_to_snapshots_already_stored(version: ScorecardVersion) -> None:
    week_ago, month_ago = DAY - timedelta(days=7), DAY - timedelta(days=30)
    store_health_snapshots(version, scored_days({month_ago: 5, week_ago: 20}))
    store_health_snapshots(version, scored_days({DAY - timedelta(days=1): 25, DAY: 32.5}))
    snapshot = HealthSnapshot.objects.get(account__external_id="a", day=DAY)
    assert (snapshot.change_7d, snapshot.change_30d) == (12.5, 27.5)
    assert snapshot.top_movers == [["events_30d", 12.5]]
    day_before = HealthSnapshot.objects.get(account__external_id="a", day=DAY - timedelta(days=1))
    assert (day_before.change_7d, day_before.top_movers) == (None, None)


def test_a_stored_snapshot_explains_itself(csm: User) -> None:
    AccountFactory(external_id="a")
    version = save_scorecard_version(None, two_groups(), csm)
    table = score(two_groups(), values({("a", DAY): X}), accounts("a"), [DAY])
    store_health_snapshots(version, table)
    snapshot = HealthSnapshot.objects.select_related("version").get()
    assert snapshot.measures["features_used_30d"] == [80, 80, 0.5625, 45, 0]
    assert snapshot.groups == {"adoption": 72.5, "support": 60}
    explained = queries.explain(snapshot)
    parts = [m["contribution"] for g in explained["groups"] for m in g["measures"]]
    assert sum(parts) == pytest.approx(snapshot.score, abs=1e-3) == 69.375
    assert explained["groups"][1]["measures"][0] == {
        "measure": "tickets_high_open",
        "metric": "tickets_high_open",
        "raw": 1,
        "normalised": 60,
        "weight": 0.125,
        "contribution": 7.5,
        "missing": False,
    }
    assert queries.latest_snapshot(Account.objects.get(external_id="a")) == snapshot


def test_stored_scores_read_back_as_a_table(version: ScorecardVersion) -> None:
    before = DAY - timedelta(days=1)
    store_health_snapshots(version, scored_days({before: 30, DAY: 75}))
    table = queries.snapshot_scores(version, first=DAY)
    assert table.sort_by("account").to_pylist() == [
        {
            "account": name,
            "day": DAY,
            "score": 75,
            "band": "healthy",
            "computed_score": 75,
            "computed_band": "healthy",
            "coverage": 1,
        }
        for name in ("a", "b")
    ]
    assert queries.snapshot_scores(version).num_rows == 4


def test_rows_of_unknown_accounts_are_left_out(version: ScorecardVersion) -> None:
    assert store_health_snapshots(version, scored_days({DAY: 40}, ("a", "ghost"))) == 1


def test_signals_fire_once_per_account_day_and_kind(version: ScorecardVersion) -> None:
    """a: 80 (healthy) → 30 (unhealthy): a band change and a 50-point drop. b: 80 → 75: no
    signal (same band, drop 5 < 10)."""
    before = DAY - timedelta(days=1)
    table = values(
        {
            ("a", before): {"events_30d": 80},
            ("a", DAY): {"events_30d": 30},
            ("b", before): {"events_30d": 80},
            ("b", DAY): {"events_30d": 75},
        }
    )
    store_health_snapshots(
        version, score(simple_config(), table, accounts("a", "b"), [before, DAY])
    )
    assert record_signals(version, [DAY]) == 2
    assert record_signals(version, [before, DAY]) == 0
    found = {(s.account.external_id, s.kind, s.from_value, s.to_value) for s in queries.signals()}
    assert found == {
        ("a", "band_change", "healthy", "unhealthy"),
        ("a", "score_drop", "80.0", "30.0"),
    }
    assert HealthSignal.objects.get(kind="score_drop").details["drop"] == 50


def test_the_drop_threshold_is_configurable(version: ScorecardVersion) -> None:
    before = DAY - timedelta(days=1)
    store_health_snapshots(version, scored_days({before: 80, DAY: 75}))
    assert record_signals(version, [DAY], drop_threshold=60) == 0
    assert record_signals(version, [DAY], drop_threshold=5) == 2


def test_churn_probability_jumps_are_recorded_once(version: ScorecardVersion) -> None:
    account = Account.objects.get(external_id="a")
    jump = {"account": account, "day": DAY, "from_probability": 0.1, "to_probability": 0.45}
    assert record_churn_probability_jumps([jump]) == 1
    assert record_churn_probability_jumps([jump]) == 0
    assert HealthSignal.objects.get().to_value == "0.450"


def test_backtest_figures_are_kept_with_the_version(version: ScorecardVersion) -> None:
    store_backtest(
        version, {"roc_auc": 0.71, "computed_at": datetime(2026, 3, 1, tzinfo=UTC).isoformat()}
    )
    version.refresh_from_db()
    assert version.backtest["roc_auc"] == 0.71

"""CSM overrides: set with a reason and an expiry, audited, shown beside the computed score,
lapsing by themselves."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tend.core.models import AuditEntry, User
from tend.customers.models import Account
from tend.health import queries
from tend.health.actions import (
    clear_override,
    save_scorecard_version,
    set_override,
    store_health_snapshots,
)
from tend.health.models import HealthSnapshot, ScorecardVersion, ScoreOverride
from tend.health.scorecard import quantile_bands
from tend.health.scoring import score
from tests.factories import AccountFactory
from tests.health.factories import ScoreOverrideFactory, simple_config
from tests.health.support import DAY, accounts, at, values

pytestmark = pytest.mark.django_db
NOW = at(DAY)


@pytest.fixture
def account() -> Account:
    account = AccountFactory(external_id="a")
    assert isinstance(account, Account)
    return account


@pytest.fixture
def version(csm: User, account: Account) -> ScorecardVersion:
    """Account `a` scores 30 (unhealthy) on D-1 and D, stored."""
    version = save_scorecard_version(None, simple_config(), csm)
    days = [DAY - timedelta(days=1), DAY]
    table = values({("a", d): {"events_30d": 30} for d in days})
    store_health_snapshots(version, score(simple_config(), table, accounts("a"), days))
    return version


def shown(day: date = DAY) -> tuple[float | None, str, float | None, str, bool]:
    s = HealthSnapshot.objects.get(account__external_id="a", day=day)
    return (s.score, s.band, s.computed_score, s.computed_band, s.overridden)


def test_a_score_override_shows_at_once_beside_the_computed_score(
    csm: User, account: Account, version: ScorecardVersion
) -> None:
    override = set_override(
        account,
        csm,
        score=85,
        reason="Champion promoted",
        expires_at=NOW + timedelta(days=3),
        now=NOW,
    )
    assert shown() == (85, "healthy", 30, "unhealthy", True)
    assert shown(DAY - timedelta(days=1)) == (30, "unhealthy", 30, "unhealthy", False)
    entry = AuditEntry.objects.get(action="health.override_set")
    assert (entry.actor, entry.object_id) == (csm, str(override.pk))
    assert entry.changes["reason"] == "Champion promoted" and entry.changes["score"] == 85
    assert queries.active_override(account, now=NOW) == override


def test_a_band_override_keeps_the_computed_score(
    csm: User, account: Account, version: ScorecardVersion
) -> None:
    set_override(
        account,
        csm,
        band="at risk",
        reason="Budget cuts announced",
        expires_at=NOW + timedelta(days=30),
        now=NOW,
    )
    assert shown() == (30, "at risk", 30, "unhealthy", True)


def test_clearing_restores_the_computed_score_and_is_audited(
    csm: User, account: Account, version: ScorecardVersion
) -> None:
    override = set_override(
        account, csm, score=85, reason="QBR went well", expires_at=NOW + timedelta(days=3), now=NOW
    )
    clear_override(override, csm, now=NOW + timedelta(hours=1))
    assert shown() == (30, "unhealthy", 30, "unhealthy", False)
    assert AuditEntry.objects.filter(action="health.override_cleared").count() == 1
    assert queries.active_override(account, now=NOW + timedelta(hours=2)) is None
    assert queries.override_table().num_rows == 0  # cleared the day it was set: no day left


def test_a_new_override_replaces_the_one_in_force(csm: User, account: Account) -> None:
    first = set_override(
        account, csm, score=85, reason="a", expires_at=NOW + timedelta(days=9), now=NOW
    )
    second = set_override(
        account,
        csm,
        band="healthy",
        reason="b",
        expires_at=NOW + timedelta(days=9),
        now=NOW + timedelta(days=2),
    )
    first.refresh_from_db()
    assert first.cleared_at == NOW + timedelta(days=2) and first.cleared_by == csm
    assert queries.active_override(account, now=NOW + timedelta(days=3)) == second
    assert AuditEntry.objects.filter(action="health.override_replaced").count() == 1
    spans = queries.override_table().to_pylist()
    assert [(r["score"], r["band"], r["first_day"], r["last_day"]) for r in spans] == [
        (85, None, DAY, DAY + timedelta(days=1)),
        (None, "healthy", DAY + timedelta(days=2), DAY + timedelta(days=9)),
    ]


def test_an_override_lapses_after_its_expiry_day(csm: User, account: Account) -> None:
    """Set on D, expiring on D+2 at noon: scoring D-1..D+4 shows it on D, D+1 and D+2 only."""
    set_override(
        account, csm, score=90, reason="Renewal signed", expires_at=NOW + timedelta(days=2), now=NOW
    )
    days = [DAY + timedelta(days=n) for n in range(-1, 5)]
    table = score(
        simple_config(),
        values({("a", d): {"events_30d": 30} for d in days}),
        accounts("a"),
        days,
        overrides=queries.override_table(),
    )
    assert table["score"].to_pylist() == [30, 90, 90, 90, 30, 30]
    assert table["overridden"].to_pylist() == [False, True, True, True, False, False]
    assert queries.active_override(account, now=NOW + timedelta(days=2, hours=1)) is None


def test_an_expired_override_is_no_longer_in_force(account: Account) -> None:
    ScoreOverrideFactory(account=account, created_at=NOW - timedelta(days=20))
    assert queries.active_override(account, now=NOW) is None


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        ({"reason": " "}, "needs a reason"),
        ({"score": None}, "either a score or a band"),
        ({"band": "healthy"}, "either a score or a band"),
        ({"score": 101}, "between 0 and 100"),
        ({"expires_at": NOW - timedelta(minutes=1)}, "in the future"),
    ],
)
def test_invalid_overrides_are_refused(
    csm: User, account: Account, options: dict[str, object], problem: str
) -> None:
    arguments: dict[str, object] = {
        "score": 80,
        "reason": "why",
        "expires_at": NOW + timedelta(days=1),
        "now": NOW,
    }
    arguments.update(options)
    with pytest.raises(ValueError, match=problem):
        set_override(account, csm, **arguments)  # type: ignore[arg-type]
    assert not ScoreOverride.objects.exists()


def test_a_score_override_under_quantile_bands_ranks_among_the_day(csm: User) -> None:
    """Computed 10, 20, 30, 40 on D; an override of 35 has 3 of 4 scores below it → 0.75,
    healthy."""
    config = simple_config(bands=quantile_bands().model_dump())
    version = save_scorecard_version(None, config, csm)
    names = ["q1", "q2", "q3", "q4"]
    for name in names:
        AccountFactory(external_id=name)
    table = values({(n, DAY): {"events_30d": 10.0 * (i + 1)} for i, n in enumerate(names)})
    store_health_snapshots(version, score(config, table, accounts(*names), [DAY]))
    assert queries.band_for_score(version, DAY, 35) == "healthy"
    assert queries.band_for_score(version, DAY, 15) == "at risk"
    set_override(
        Account.objects.get(external_id="q1"),
        csm,
        score=35,
        reason="r",
        expires_at=NOW + timedelta(days=1),
        now=NOW,
    )
    snapshot = HealthSnapshot.objects.get(account__external_id="q1")
    assert (snapshot.score, snapshot.band, snapshot.computed_band) == (35, "healthy", "unhealthy")

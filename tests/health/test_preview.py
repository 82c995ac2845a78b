"""The preview of an unsaved scorecard: today's bands and the backtest, on hand-made data whose
figures can be worked out by hand.

Three paying accounts. `steady` and `loyal` use the product 100 events a day from 2025-01-01 to
2026-06-30 and keep paying; `brief` pays from 2025-10-15 to 2026-01-01 (less than the 90-day
horizon, so each of its paying weeks is followed by churn) with 1 event a day. Under "score =
events in 30 days" (clamped to 100) every churned week scores at most 30 and every retained one
100: the backtest AUC is exactly 1.0; reversing the direction makes it exactly 0.0.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest

from tend.customers.models import Account
from tend.health import preview
from tend.health.actions import save_scorecard_version
from tend.health.scorecard_yaml import validate_scorecard
from tend.usage.models import UsageRollup
from tests.factories import AccountFactory, SubscriptionFactory, SubscriptionItemFactory
from tests.health.factories import simple_config

pytestmark = pytest.mark.django_db

LAST_DAY = date(2026, 6, 30)


def at(day: date) -> datetime:
    return datetime.combine(day, time(12), UTC)


def use(account: Account, first: date, last: date, events: int) -> list[UsageRollup]:
    rows = []
    day = first
    while day <= last:
        rows.append(
            UsageRollup(
                account=account,
                user_id=f"{account.external_id}-user",
                day=day,
                event_name="report_viewed",
                events=events,
                sessions=1,
                active_minutes=5.0,
                first_at=at(day),
                last_at=at(day),
            )
        )
        day += timedelta(days=1)
    return rows


def pays(account: Account, start: date, end: date | None = None) -> None:
    ended = at(end) if end else None
    subscription = SubscriptionFactory(
        account=account,
        started_at=at(start),
        ended_at=ended,
        status="canceled" if end else "active",
    )
    SubscriptionItemFactory(subscription=subscription, ended_at=ended)


@pytest.fixture
def company() -> dict[str, Account]:
    preview.clear_cache()
    start = date(2025, 1, 1)
    steady = AccountFactory(external_id="steady", signed_up_at=at(start))
    loyal = AccountFactory(external_id="loyal", signed_up_at=at(start))
    brief = AccountFactory(
        external_id="brief", signed_up_at=at(date(2025, 10, 15)), churned_at=at(date(2026, 1, 1))
    )
    pays(steady, start)
    pays(loyal, start)
    pays(brief, date(2025, 10, 15), date(2026, 1, 1))
    rows = use(steady, start, LAST_DAY, 100) + use(loyal, start, LAST_DAY, 100)
    rows += use(brief, date(2025, 10, 15), date(2025, 12, 31), 1)
    UsageRollup.objects.bulk_create(rows)
    yield {"steady": steady, "loyal": loyal, "brief": brief}
    preview.clear_cache()


def reversed_config(config: dict[str, Any]) -> dict[str, Any]:
    """The same scorecard, scoring 100 - events: fewer events is better."""
    measure = config["groups"][0]["measures"][0]
    measure |= {
        "direction": "lower_is_better",
        "normalisation": {"kind": "points", "base": 100, "points_per_unit": 1},
    }
    return config


def test_preview_shows_bands_and_backtest_of_edited_and_saved(company: dict[str, Account]) -> None:
    saved = save_scorecard_version(None, simple_config("Events"), None)
    edited = validate_scorecard(reversed_config(simple_config("Events")))

    result = preview.preview_scorecard(edited, saved.scorecard, day=LAST_DAY)

    # Today (30 June 2026) only steady and loyal are scored (brief churned on 1 January).
    assert result.saved is not None
    assert result.saved.accounts == 2 and result.saved.scored == 2
    assert {b.name: b.accounts for b in result.saved.bands} == {
        "healthy": 2,
        "at risk": 0,
        "unhealthy": 0,
    }
    assert result.saved.histogram == [0] * 9 + [2]  # 100 falls in the last bin
    assert result.saved.mean == 100.0
    # Reversed: 100 - 3,000 events, clamped to 0.
    assert {b.name: b.accounts for b in result.edited.bands}["unhealthy"] == 2
    assert result.edited.histogram == [2] + [0] * 9
    assert result.edited.mean == 0.0

    assert result.saved_backtest is not None and result.edited_backtest is not None
    assert result.saved_backtest.roc_auc == 1.0
    assert result.edited_backtest.roc_auc == 0.0
    # brief paid 11 weeks (15 Oct to 31 Dec 2025), each one followed by churn.
    assert result.saved_backtest.churned == 11
    assert result.saved_backtest.accounts == 3


def test_preview_of_a_new_scorecard_applies_to_its_segment_only(
    company: dict[str, Account],
) -> None:
    Account.objects.filter(external_id="steady").update(traits={"segment": "smb"})
    save_scorecard_version(None, simple_config("Everyone"), None)
    config = validate_scorecard(
        simple_config("Small", is_default=False, applies_to={"segments": ["smb"]})
    )

    result = preview.preview_scorecard(config, None, day=LAST_DAY)

    assert result.saved is None and result.saved_backtest is None
    assert result.edited.accounts == 1
    assert result.edited.scored == 1


def test_the_loaded_data_is_reused_until_the_data_changes(
    company: dict[str, Account], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reused while the data stands still; after a change, still reused for a short while
    (streaming events change it every few seconds), then loaded again."""
    config = validate_scorecard(simple_config("Events"))
    preview.preview_scorecard(config, None, day=LAST_DAY)
    with preview.loaded_data() as first:
        pass
    preview.preview_scorecard(config, None, day=LAST_DAY)
    with preview.loaded_data() as again:
        assert again is first
    AccountFactory(external_id="newcomer")
    with preview.loaded_data() as soon_after_change:
        assert soon_after_change is first
    monkeypatch.setattr(preview, "STALE_OK_SECONDS", 0.0)
    with preview.loaded_data() as after_change:
        assert after_change is not first

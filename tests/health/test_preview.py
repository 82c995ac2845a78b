"""The preview of an unsaved scorecard: today's bands and the backtest, on hand-made data whose
figures can be worked out by hand.

Three paying accounts. `steady` and `loyal` use the product 100 events a day from 2025-01-01 to
2026-06-30 and keep paying; `brief` pays from 2025-10-15 to 2026-01-01 (less than the 90-day
horizon, so each of its paying weeks is followed by churn) with 1 event a day. Under "score =
events in 30 days" (clamped to 100) every churned week scores at most 30 and every retained one
100: the backtest AUC is exactly 1.0; reversing the direction makes it exactly 0.0.

The data ends at the end of 2026-06-30 (the last usage day), so the labelled weekly days end on
2026-07-01 - 90 days = 2026-04-02 and go back 104 weeks; the backtest scores every 4th of them
counted back from 2026-04-02: ..., 2025-10-16, 2025-11-13, 2025-12-11, 2026-01-08, ...
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pyarrow as pa
import pytest

from tend.customers.models import Account
from tend.health import preview, preview_state, queries
from tend.health.actions import save_scorecard_version
from tend.health.engine import backfill_version
from tend.health.labels import DEFAULT_HORIZON_DAYS, data_end
from tend.health.preview_raws import RawKey, raw_config, raw_keys
from tend.health.scorecard_yaml import validate_scorecard
from tend.health.scoring import score
from tend.usage.models import UsageRollup
from tests.factories import AccountFactory, SubscriptionFactory, SubscriptionItemFactory
from tests.health.factories import simple_config

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
def company(db: None) -> Iterator[dict[str, Account]]:
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
    # brief paid 11 weeks (15 Oct to 31 Dec 2025), each one followed by churn; 3 of them are
    # sampled days: 16 Oct, 13 Nov and 11 Dec 2025.
    assert result.saved_backtest.churned == 3
    assert result.saved_backtest.accounts == 3
    assert result.sample == preview.BacktestSample(
        accounts=3, of_accounts=3, days=26, of_days=104, weeks_apart=4
    )
    # No snapshot is stored: every raw value was computed from the usage.
    assert result.sources is not None and result.sources.stored_cells == 0
    assert result.sources.not_stored == ["events_30d"]


def test_every_weekly_day_is_scored_one_week_apart(
    company: dict[str, Account], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(preview_state, "BACKTEST_WEEKS_APART", 1)
    saved = save_scorecard_version(None, simple_config("Events"), None)

    result = preview.preview_scorecard(queries.version_config(saved), saved.scorecard, LAST_DAY)

    # Every one of brief's 11 paying weeks is scored and followed by churn.
    assert result.saved_backtest is not None and result.saved_backtest.churned == 11
    assert result.sample is not None and (result.sample.days, result.sample.of_days) == (104, 104)


def test_stored_raw_values_are_scored_again_without_the_events(
    company: dict[str, Account],
) -> None:
    """Snapshots stored on the days the preview reads hold events_30d; once they are there the
    usage can change (every day's events set to 0, the days kept): the preview scores the
    stored raw values and gives the same figures. A metric no snapshot holds (events_60d) is
    computed from the usage as it is now: 0 events."""
    saved = save_scorecard_version(None, simple_config("Events"), None)
    config = queries.version_config(saved)
    before = preview.preview_scorecard(config, saved.scorecard, LAST_DAY)
    _, days = preview_state.backtest_days(preview_state.recorded_end(), DEFAULT_HORIZON_DAYS)
    backfill_version(saved, [*days, LAST_DAY])
    UsageRollup.objects.update(events=0)
    preview.clear_cache()

    after = preview.preview_scorecard(config, saved.scorecard, LAST_DAY)

    assert after.edited == before.edited and after.saved == before.saved
    assert after.saved_backtest == before.saved_backtest
    assert after.sources is not None
    assert (after.sources.computed_cells, after.sources.not_stored) == (0, [])
    # 2 accounts scored on 30 June, 3 on 26 backtest days (brief only while it was a customer).
    assert after.sources.stored_cells > 0

    longer = validate_scorecard(
        simple_config("Events", groups=[{"name": "usage", "measures": [sixty_days()]}])
    )
    result = preview.preview_scorecard(longer, saved.scorecard, LAST_DAY)
    assert result.sources is not None and result.sources.not_stored == ["events_60d"]
    assert result.edited.histogram == [2] + [0] * 9  # 0 events: score 0
    assert result.saved == before.saved  # the saved version still reads its stored values


def sixty_days() -> dict[str, Any]:
    return {
        "metric": "events_60d",
        "direction": "higher_is_better",
        "normalisation": {"kind": "points", "base": 0, "points_per_unit": 1},
    }


def test_the_data_ends_with_the_last_usage_day(company: dict[str, Account]) -> None:
    """The end of the data is read with aggregates; it is the one labels.data_end finds in the
    loaded tables: the end of 30 June 2026, the last day with usage."""
    assert preview_state.recorded_end() == datetime(2026, 7, 1, tzinfo=UTC)
    assert preview_state.recorded_end() == data_end(preview.health_inputs())


def test_a_sample_of_accounts_is_the_same_every_time() -> None:
    accounts = pa.table({"account": [f"account-{n}" for n in range(10)]})

    first = preview_state.sampled(accounts, limit=3)

    assert first.num_rows == 3
    assert first.equals(preview_state.sampled(accounts, limit=3))
    names = first["account"].to_pylist()
    assert names == sorted(names, key=lambda name: int(name.split("-")[1]))  # table order kept
    assert preview_state.sampled(accounts, limit=10).equals(accounts)


def test_raw_values_score_as_the_measures_they_came_from() -> None:
    """A trend and a plain measure scored from their metric's values, then again from the raw
    values that scoring reports (`raw:<measure>`, what a snapshot stores): the same scores."""
    config = validate_scorecard(
        simple_config(
            "Trend",
            groups=[
                {
                    "name": "usage",
                    "measures": [
                        {
                            "name": "events_trend",
                            "metric": "events_30d",
                            "direction": "higher_is_better",
                            "normalisation": {
                                "kind": "trend",
                                "weeks": 2,
                                "slope_for_0": -0.5,
                                "slope_for_100": 0.5,
                            },
                        },
                        sixty_days() | {"weight": 2},
                    ],
                }
            ],
        )
    )
    days = [date(2026, 1, 1) + timedelta(days=n) for n in range(15)]
    rows = [
        (account, day, metric, float(base + n * step))
        for account, base, step in (("up", 10, 2), ("down", 80, -3))
        for n, day in enumerate(days)
        for metric in ("events_30d", "events_60d")
    ]
    columns = zip(*rows, strict=True)
    values = pa.table(dict(zip(["account", "day", "measure", "value"], columns, strict=True)))
    accounts = pa.table({"account": ["up", "down"]})
    scored = score(config, values, accounts, days[-1:])

    raws = pa.table(
        {
            "account": scored["account"].to_pylist() * 2,
            "day": scored["day"].to_pylist() * 2,
            "measure": ["events_30d@trend2"] * 2 + ["events_60d"] * 2,
            "value": scored["raw:events_trend"].to_pylist() + scored["raw:events_60d"].to_pylist(),
        }
    )
    again = score(raw_config(config), raws, accounts, days[-1:])

    assert raw_keys(config) == [RawKey("events_30d", 2), RawKey("events_60d", 0)]
    assert again["computed_score"].to_pylist() == scored["computed_score"].to_pylist()
    # "up" rises 2 a day: its trend is positive; "down" falls 3 a day.
    up, down = scored["raw:events_trend"].to_pylist()
    assert up > 0 > down


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

"""A real Chromium edits a scorecard: a manager lowers a band threshold, sees the live preview
change, saves a version, reads the diff and rolls back; a viewer cannot reach the edit form.

Three accounts used the product 50, 60 and 90 times in the last 30 days; the scorecard scores
"events in 30 days" (clamped to 100) with the default bands (red below 40, yellow below 70):
one healthy, two at risk. Lowering "at risk" to below 55 makes the 60-event account healthy.
Screenshots go to `screenshots/` at the repository root (git-ignored).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest

from tend.core.models import Role
from tend.health import preview
from tend.health.actions import save_scorecard_version
from tend.health.scorecard_yaml import validate_scorecard
from tend.usage.models import UsageRollup
from tests.factories import AccountFactory, UserFactory
from tests.health.factories import simple_config
from tests.web.browser import browser, needs_chromium, shoot, sign_in, sync_api

__all__ = ["browser", "sync_api"]  # fixtures

pytestmark = needs_chromium


def usage(events_by_account: dict[str, int]) -> str:
    """Accounts with their events two days ago; the scorecard's slug."""
    day = datetime.now(UTC).date() - timedelta(days=2)
    moment = datetime.combine(day, time(12), UTC)
    for external_id, events in events_by_account.items():
        account = AccountFactory(external_id=external_id, name=external_id.title())
        UsageRollup.objects.create(
            account=account,
            user_id=f"{external_id}-user",
            day=day,
            event_name="report_viewed",
            events=events,
            sessions=1,
            active_minutes=3.0,
            first_at=moment,
            last_at=moment,
        )
    return save_scorecard_version(None, simple_config("Events"), None).scorecard.slug


def test_a_manager_edits_previews_saves_diffs_and_rolls_back(
    live_server: Any, transactional_db: None, browser: Any
) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    expect = sync_api.expect
    preview.clear_cache()
    slug = usage({"fifty": 50, "sixty": 60, "ninety": 90})
    UserFactory(username="morgan", role=Role.MANAGER)
    base = live_server.url

    page = sign_in(browser, base, "morgan", f"/scorecards/{slug}/edit/")
    page.set_viewport_size({"width": 1366, "height": 900})
    healthy = page.get_by_test_id("preview-band-healthy")
    at_risk = page.get_by_test_id("preview-band-at-risk")
    expect(healthy).to_have_text(re.compile(r"^\s*1\b"), timeout=60_000)
    expect(at_risk).to_have_text(re.compile(r"^\s*2\b"))

    page.fill("#id_band-1-below", "55")
    expect(healthy).to_have_text(re.compile(r"^\s*2\b"), timeout=30_000)
    expect(at_risk).to_have_text(re.compile(r"^\s*1\b"))
    shoot(page, "scorecard-editor-preview")

    page.fill("#id_note", "Fewer accounts at risk")
    page.click("#save-button")
    page.wait_for_url(re.compile(r"/diff/\?from=1&to=2$"))
    diff = page.get_by_test_id("scorecard-diff")
    expect(diff).to_contain_text("yellow, below 70")
    expect(diff).to_contain_text("yellow, below 55")
    shoot(page, "scorecard-diff")

    page.get_by_role("button", name="Roll back to version 1").click()
    page.wait_for_url(re.compile(r"/diff/\?from=2&to=3$"))
    expect(page.get_by_test_id("scorecard-diff")).to_contain_text("yellow, below 70")
    from tend.health.models import Scorecard

    scorecard = Scorecard.objects.get(slug=slug)
    third = validate_scorecard(scorecard.versions.get(number=3).config)
    assert third.bands.levels[1].below == 70

    page.goto(f"{base}/scorecards/{slug}/")
    expect(page.get_by_test_id("version-table")).to_contain_text("Rollback to version 1.")
    shoot(page, "scorecard-versions")

    # Only the chosen normalisation's fields show; a problem shows next to its field on save.
    page.goto(f"{base}/scorecards/{slug}/edit/")
    points = page.locator("#id_group-0-measure-0-points_per_unit")
    worst = page.locator("#id_group-0-measure-0-worst")
    expect(points).to_be_visible()
    expect(worst).to_be_hidden()
    page.select_option("#id_group-0-measure-0-kind", "linear")
    expect(worst).to_be_visible()
    expect(points).to_be_hidden()
    page.fill("#id_group-0-measure-0-worst", "0")
    page.fill("#id_group-0-measure-0-best", "-5")
    page.click("#save-button")
    expect(page.locator("#form-problems")).to_contain_text("not saved")
    expect(page.locator("#id_group-0-measure-0-best-error")).to_contain_text(
        "best must be above worst"
    )
    assert scorecard.versions.count() == 3
    page.close()


def test_a_viewer_reads_scorecards_but_cannot_reach_the_edit_form(
    live_server: Any, transactional_db: None, browser: Any
) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    slug = save_scorecard_version(None, simple_config("Events"), None).scorecard.slug
    UserFactory(username="vera", role=Role.VIEWER)
    base = live_server.url

    page = sign_in(browser, base, "vera", f"/scorecards/{slug}/")
    sync_api.expect(page.locator("h1")).to_contain_text("Events")
    assert page.get_by_role("link", name="Edit", exact=True).count() == 0
    response = page.goto(f"{base}/scorecards/{slug}/edit/")
    assert response is not None and response.status == 403
    sync_api.expect(page.locator("h1")).to_have_text("Not allowed")
    assert page.locator("#scorecard-form").count() == 0

    page.goto(f"{base}/reports/journey/")
    sync_api.expect(page.get_by_test_id("journey-map")).to_be_visible()
    shoot(page, "journey-map")
    page.goto(f"{base}/lists/at-risk/")
    sync_api.expect(page.get_by_test_id("health-list")).to_be_visible()
    shoot(page, "list-at-risk")
    page.close()

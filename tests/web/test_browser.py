"""A real Chromium works the accounts table and the account page: sign in, live search, filter
by health band, export CSV, open an account, read its explanation, set and clear an override;
a viewer cannot reach the override form and a CSM cannot override another CSM's account.

Screenshots of each page go to `screenshots/` at the repository root (git-ignored).
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tend.core.models import Role
from tend.customers.models import Account
from tend.health.models import HealthSnapshot
from tests.factories import AccountFactory, ContactFactory, SubscriptionItemFactory, UserFactory
from tests.web.browser import browser, needs_chromium, shoot, sign_in, sync_api
from tests.web.health_data import scorecard, store_snapshot

__all__ = ["browser", "sync_api"]  # fixtures

pytestmark = needs_chromium


@pytest.fixture
def book(transactional_db: None) -> dict[str, Account]:
    """Robin's Umbrella Corp (scored 0.45 x 60 + 0.40 x 30 = 39, unhealthy) and Sam's Globex
    (healthy, 81), plus unscored accounts."""
    robin = UserFactory(username="robin", first_name="Robin", last_name="Park", role=Role.CSM)
    sam = UserFactory(username="sam", first_name="Sam", last_name="Lee", role=Role.CSM)
    UserFactory(username="vera", first_name="Vera", last_name="View", role=Role.VIEWER)
    umbrella = AccountFactory(
        name="Umbrella Corp", external_id="umbrella", domain="umbrella.test", owner=robin
    )
    SubscriptionItemFactory(subscription__account=umbrella, quantity=10)
    ContactFactory(account=umbrella, name="Alice Abernathy")
    globex = AccountFactory(name="Globex", external_id="globex", owner=sam)
    for name in ("Acme", "Initech"):
        AccountFactory(name=name)
    version = scorecard()
    today = datetime.now(UTC).date()
    store_snapshot(umbrella, version, today, {"events_30d": 60, "nps_latest": 30})
    store_snapshot(globex, version, today, {"events_30d": 100, "nps_latest": 90})
    return {"umbrella": umbrella, "globex": globex}


def test_accounts_table_account_page_and_override(
    live_server: Any, book: dict[str, Account], browser: Any, sync_api: Any
) -> None:
    expect = sync_api.expect
    base = live_server.url
    page = sign_in(browser, base, "robin", "/accounts/")

    rows = page.locator("#account-rows tr")
    expect(rows).to_have_count(4)
    expect(rows.first).to_contain_text("Acme")
    page.select_option("#filter-band", "unhealthy")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Umbrella Corp")
    expect(rows.first).to_contain_text("unhealthy")  # the band's name beside its colour
    assert "band=unhealthy" in page.url  # htmx pushed the filtered URL
    page.select_option("#filter-band", "")
    expect(rows).to_have_count(4)
    page.locator("#q").press_sequentially("umbrel", delay=30)
    expect(rows).to_have_count(1)
    assert "q=umbrel" in page.url
    shoot(page, "accounts-table")

    with page.expect_download() as download_info:
        page.click("#export-csv")
    exported = Path(download_info.value.path()).read_text()
    lines = list(csv.DictReader(io.StringIO(exported)))
    assert [(r["name"], r["health_band"], r["health_score"]) for r in lines] == [
        ("Umbrella Corp", "unhealthy", "39.0")
    ]

    page.click("text=Umbrella Corp")
    page.wait_for_url(f"{base}/accounts/umbrella/")
    expect(page.locator("h1")).to_contain_text("Umbrella Corp")
    expect(page.locator("#contacts")).to_contain_text("Alice Abernathy")
    expect(page.get_by_test_id("account-mrr")).to_have_text("$300.00")
    expect(page.get_by_test_id("account-health")).to_contain_text("39.0")
    contributions = page.get_by_test_id("measure-contribution").all_inner_texts()
    assert contributions == ["27.00", "0.00", "12.00"]
    expect(page.get_by_test_id("contribution-total")).to_have_text("39.0")
    page.wait_for_function("Chart.getChart('health-history-chart') !== undefined")
    shoot(page, "account-page")

    page.click("text=Set an override")
    page.check("input[name=kind][value=score]")
    page.fill("#id_score", "75")
    page.fill("#id_reason", "Renewal signed last week")
    page.click("#override-form button[type=submit]")
    page.wait_for_url(f"{base}/accounts/umbrella/#health")
    expect(page.get_by_test_id("override-active")).to_contain_text("score 75.0")
    expect(page.get_by_test_id("account-health")).to_contain_text("healthy")
    expect(page.get_by_test_id("overridden")).to_contain_text("computed 39.0 (unhealthy)")
    shoot(page, "account-override")
    assert HealthSnapshot.objects.get(account=book["umbrella"]).overridden

    page.click("#clear-override")
    page.wait_for_url(f"{base}/accounts/umbrella/#health")
    expect(page.locator("#override")).to_contain_text("No override in force.")
    expect(page.get_by_test_id("account-health")).to_contain_text("unhealthy")
    assert not HealthSnapshot.objects.get(account=book["umbrella"]).overridden

    page.goto(f"{base}/")
    expect(page.locator("h1").first).to_be_visible()
    shoot(page, "home")


def test_a_viewer_cannot_reach_the_override_form(
    live_server: Any, book: dict[str, Account], browser: Any, sync_api: Any
) -> None:
    page = sign_in(browser, live_server.url, "vera", "/accounts/umbrella/")
    sync_api.expect(page.locator("#override")).to_contain_text("may read accounts but not")
    assert page.locator("#override-form").count() == 0
    response = page.goto(f"{live_server.url}/accounts/umbrella/override/")
    assert response.status == 403
    shoot(page, "override-refused-viewer")


def test_a_csm_cannot_override_another_csms_account(
    live_server: Any, book: dict[str, Account], browser: Any, sync_api: Any
) -> None:
    page = sign_in(browser, live_server.url, "robin", "/accounts/globex/")
    sync_api.expect(page.locator("#override")).to_contain_text("Only the account's CSM")
    assert page.locator("#override-form").count() == 0
    response = page.goto(f"{live_server.url}/accounts/globex/override/")
    assert response.status == 403
    own = page.goto(f"{live_server.url}/accounts/umbrella/override/")
    assert own.status == 200
    shoot(page, "override-form-own-account")

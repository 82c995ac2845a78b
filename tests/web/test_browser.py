"""A real Chromium signs in, live-searches the accounts table with htmx and opens an account."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.factories import AccountFactory, ContactFactory, SubscriptionItemFactory, UserFactory

# Playwright's sync API runs an event loop in this thread; Django's ORM must still be allowed.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "screenshots"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium"
    ),
]


def test_sign_in_search_and_open_an_account(live_server: object, transactional_db: None) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    UserFactory(username="robin", first_name="Robin", last_name="Park")
    account = AccountFactory(name="Umbrella Corp", external_id="umbrella", domain="umbrella.test")
    SubscriptionItemFactory(subscription__account=account, quantity=10)
    ContactFactory(account=account, name="Alice Abernathy")
    for name in ("Acme", "Globex", "Initech"):
        AccountFactory(name=name)
    base = live_server.url  # type: ignore[attr-defined]

    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            page = browser.new_page(reduced_motion="reduce")
            page.goto(f"{base}/accounts/")
            assert "/login/" in page.url
            page.fill("#id_username", "robin")
            page.fill("#id_password", "tend-test-password")
            page.click("button[type=submit]")
            page.wait_for_url(f"{base}/accounts/")

            rows = page.locator("#account-rows tr")
            assert rows.count() == 4
            page.locator("#q").press_sequentially("umbrel", delay=30)
            sync_api.expect(rows).to_have_count(1)
            sync_api.expect(rows.first).to_contain_text("Umbrella Corp")
            assert "q=umbrel" in page.url  # htmx pushed the filtered URL
            SCREENSHOTS.mkdir(exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / "accounts-search.png"), full_page=True)

            page.click("text=Umbrella Corp")
            page.wait_for_url(f"{base}/accounts/umbrella/")
            sync_api.expect(page.locator("h1")).to_contain_text("Umbrella Corp")
            sync_api.expect(page.locator("#contacts")).to_contain_text("Alice Abernathy")
            sync_api.expect(page.get_by_test_id("account-mrr")).to_have_text("$300.00")
            page.screenshot(path=str(SCREENSHOTS / "account-page.png"), full_page=True)

            page.goto(f"{base}/")
            sync_api.expect(page.locator("#stage-chart")).to_be_visible()
            page.wait_for_function("Chart.getChart('stage-chart') !== undefined")
            page.screenshot(path=str(SCREENSHOTS / "home.png"), full_page=True)
        finally:
            browser.close()

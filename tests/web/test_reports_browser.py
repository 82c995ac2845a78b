"""A real Chromium signs in, opens the reports, switches a filter and sees the chart and the
table redraw in place (htmx), then opens the team page; a phone-width pass checks the layout.

Screenshots go to `$TEND_ARTIFACTS_DIR/screenshots` when that is set, else to `screenshots/`
under pytest's temporary directory; they are never committed.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tend.core.models import Role
from tests.factories import AccountFactory, UserFactory
from tests.web.snapshot_data import revenue_rows, store, store_cohorts

# Playwright's sync API runs an event loop in this thread; Django's ORM must still be allowed.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = Path("/usr/bin/chromium")
PHONE = {"width": 390, "height": 844}

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium"
    ),
]


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    """Where this test's screenshots are written."""
    root = os.environ.get("TEND_ARTIFACTS_DIR")
    folder = (Path(root) if root else tmp_path) / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


# Undefined while htmx has swapped the canvas in and the chart is not drawn yet (no error, so
# Playwright keeps waiting).
LAST_MRR = (
    "Chart.getChart(document.getElementById('mrr-trend-chart'))?.data.datasets[0].data.at(-1)"
)


def test_reports_filter_redraws_chart_and_table(
    live_server: object, transactional_db: None, screenshots: Path
) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    expect = sync_api.expect
    robin = UserFactory(username="robin", first_name="Robin", last_name="Park", role=Role.ADMIN)
    AccountFactory.create_batch(2, owner=robin)
    store(revenue_rows() + revenue_rows(("segment", "smb"), scale=0.5))
    store_cohorts(
        {
            "logo_retention": [
                {"grouping": "portfolio", "group": "all", "cohort_month": "2026-01-01",
                 "months_since_start": k, "accounts": n, "cohort_size": 10, "retention": n / 10}
                for k, n in enumerate([10, 9, 7])
            ]
        }
    )  # fmt: skip
    base = live_server.url  # type: ignore[attr-defined]

    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            page = browser.new_page(
                reduced_motion="reduce", viewport={"width": 1280, "height": 900}
            )
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(f"{base}/reports/")
            assert "/login/" in page.url
            page.fill("#id_username", "robin")
            page.fill("#id_password", "tend-test-password")
            page.click("button[type=submit]")
            page.wait_for_url(f"{base}/reports/")

            nav = page.get_by_role("navigation", name="Main")
            expect(nav.get_by_role("link", name="Reports")).to_have_attribute(
                "aria-current", "page"
            )
            page.click("a.report-link:has-text('Revenue')")
            page.wait_for_url(f"{base}/reports/revenue/")
            canvas = page.locator("#mrr-trend-chart")
            expect(canvas).to_be_visible()
            page.wait_for_function(f"{LAST_MRR} === 12000")
            table = page.locator("#mrr-trend table")
            expect(table.locator("tbody tr").first).to_contain_text("$12,000")
            expect(page.get_by_test_id("kpi-nrr")).to_contain_text("104.0 %")
            expect(page.get_by_test_id("retention-triangle")).to_contain_text("70.0 %")
            page.screenshot(path=str(screenshots / "reports-revenue.png"), full_page=True)

            page.select_option("#filter-scope", "segment:smb")  # htmx redraws the body
            expect(table.locator("tbody tr").first).to_contain_text("$6,000")
            page.wait_for_function(f"{LAST_MRR} === 6000")
            expect(page.get_by_test_id("report-summary")).to_contain_text("Smb")
            assert "scope=segment%3Asmb" in page.url
            support_tab = page.locator("#report-tabs").get_by_role("link", name="Support")
            expect(support_tab).to_have_attribute("href", re.compile(r"scope=segment%3Asmb"))
            page.select_option("#mrr-movements-period", "2026-05")
            expect(page.locator("#mrr-movements table")).to_contain_text("-$150")
            assert "movements=2026-05" in page.url
            page.screenshot(path=str(screenshots / "reports-revenue-smb.png"), full_page=True)

            page.goto(f"{base}/reports/usage/")
            expect(page.get_by_test_id("no-data").first).to_be_visible()

            page.keyboard.press("Tab")
            expect(page.locator(".skip-link")).to_be_focused()
            nav.get_by_role("link", name="Team").click()
            page.wait_for_url(f"{base}/team/")
            expect(page.get_by_test_id("team-table")).to_contain_text("Robin Park")
            page.wait_for_function("Chart.getChart('workload-chart') !== undefined")
            page.screenshot(path=str(screenshots / "team.png"), full_page=True)

            page.set_viewport_size(PHONE)
            page.goto(f"{base}/reports/revenue/")
            page.wait_for_function(f"{LAST_MRR} === 12000")
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, "the page scrolls sideways on a phone"
            expect(page.get_by_role("link", name="Users")).to_be_visible()
            page.screenshot(path=str(screenshots / "reports-phone.png"))
            assert errors == []
        finally:
            browser.close()

"""Every page of the workspace, on the demo company, in a real Chromium: each answers 200,
draws without a JavaScript error or a failed request, fits a phone's width (only wide tables
scroll, inside their frame), and leaves full-page screenshots in `screenshots/tour-*.png` and
`screenshots/tour-phone-*.png` (git-ignored) for people to look at."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse
from typer.testing import CliRunner

from tend.cli import app
from tend.demo.generate import ADMIN_USERNAME, DEMO_PASSWORD
from tend.health.models import HealthSnapshot
from tests.web.browser import browser, needs_chromium, shoot, sign_in, sync_api

__all__ = ["browser", "sync_api"]  # fixtures

pytestmark = needs_chromium

PHONE = {"width": 390, "height": 844}

WIDEST_ELEMENT = """() => {
  const limit = document.documentElement.clientWidth;
  const wide = [...document.querySelectorAll("body *")].filter(
    (node) => node.getBoundingClientRect().right > limit + 1
  );
  const outermost = wide.filter((node) => !wide.includes(node.parentElement));
  return outermost.slice(0, 3).map(
    (node) => node.tagName.toLowerCase() + (node.className ? "." + node.className : "")
  ).join(", ");
}"""

PAGES = [
    ("home", "web:home", ()),
    ("accounts", "web:accounts", ()),
    ("reports", "web:reports", ()),
    ("report-revenue", "web:report-revenue", ()),
    ("report-voice", "web:report-voice", ()),
    ("report-support", "web:report-support", ()),
    ("report-usage", "web:report-usage", ()),
    ("report-journey", "web:report-journey", ()),
    ("lists", "web:lists", ()),
    ("list-at-risk", "web:list-at-risk", ()),
    ("list-renewals", "web:list-renewals", ()),
    ("list-collections", "web:list-collections", ()),
    ("list-advocates", "web:list-advocates", ()),
    ("list-upsell", "web:list-upsell", ()),
    ("list-patterns", "web:list-patterns", ()),
    ("scorecards", "web:scorecards", ()),
    ("scorecard", "web:scorecard", ("default-health",)),
    ("scorecard-edit", "web:scorecard-edit", ("default-health",)),
    ("team", "web:team", ()),
    ("users", "web:users", ()),
]


@pytest.fixture
def demo_company(transactional_db: None) -> str:
    """A small demo company, rolled up, with KPIs, 35 days of health and tasks; returns the
    external id of its lowest-scored account."""
    result = CliRunner().invoke(
        app, ["demo", "--no-serve", "--accounts", "24", "--months", "8", "--seed", "3"]
    )
    assert result.exit_code == 0, result.output
    lowest = HealthSnapshot.objects.select_related("account").order_by("-day", "score").first()
    assert lowest is not None
    return lowest.account.external_id


def test_every_page_draws_cleanly_on_the_demo(
    live_server: Any, demo_company: str, browser: Any
) -> None:
    base = live_server.url
    page = sign_in(browser, base, ADMIN_USERNAME, password=DEMO_PASSWORD)
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"{page.url}: {error}"))
    page.on(
        "console",
        lambda message: (
            problems.append(f"{page.url}: {message.text}") if message.type == "error" else None
        ),
    )
    page.on("requestfailed", lambda request: problems.append(f"{page.url}: failed {request.url}"))
    pages = [*PAGES, ("account", "web:account", (demo_company,))]
    for name, route, args in pages:
        response = page.goto(base + reverse(route, args=args), wait_until="networkidle")
        assert response is not None and response.status == 200, (name, response)
        assert "/login/" not in page.url
        shoot(page, f"tour-{name}")
    assert problems == []

    page.set_viewport_size(PHONE)
    sideways: list[str] = []
    for name, route, args in pages:
        page.goto(base + reverse(route, args=args), wait_until="networkidle")
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        if overflow > 0:
            widest = page.evaluate(WIDEST_ELEMENT)
            sideways.append(f"{name} by {overflow}px ({widest})")
        shoot(page, f"tour-phone-{name}")
    assert sideways == [], "pages that scroll sideways on a phone (wide tables scroll inside)"
    assert problems == []

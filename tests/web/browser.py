"""Shared pieces of the browser tests: Debian's Chromium driven by Playwright's sync API, signing
in through the real form, and screenshots written to `screenshots/` (git-ignored)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# Playwright's sync API runs an event loop in this thread; Django's ORM must still be allowed.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "screenshots"
PASSWORD = "tend-test-password"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]

needs_chromium = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium"
    ),
]


@pytest.fixture
def sync_api() -> Any:
    return pytest.importorskip("playwright.sync_api")


@pytest.fixture
def browser(sync_api: Any) -> Iterator[Any]:
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        try:
            yield chromium
        finally:
            chromium.close()


def sign_in(
    browser: Any, base: str, username: str, next_path: str = "/", password: str = PASSWORD
) -> Any:
    """A new page signed in as `username` through the sign-in form, landed on `next_path`."""
    page = browser.new_page(reduced_motion="reduce", accept_downloads=True)
    page.goto(f"{base}{next_path}")
    assert "/login/" in page.url
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}{next_path}")
    return page


def shoot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)

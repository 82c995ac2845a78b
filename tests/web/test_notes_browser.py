"""A real Chromium writes notes on the account page: a CSM adds a pinned note (htmx swaps the
notes section in place), edits it in place, deletes it; with JavaScript off the same form posts
and the page reloads. Screenshots go to `screenshots/` (git-ignored)."""

from __future__ import annotations

from typing import Any

import pytest

from tend.core.actions import add_note
from tend.core.models import Note, Role
from tests.factories import AccountFactory, UserFactory
from tests.web.browser import (
    CHROMIUM,
    CHROMIUM_FLAGS,
    PASSWORD,
    browser,
    needs_chromium,
    shoot,
    sign_in,
    sync_api,
)

__all__ = ["browser", "sync_api"]  # fixtures

pytestmark = needs_chromium


def test_a_csm_adds_edits_and_deletes_a_note(
    live_server: Any, transactional_db: None, browser: Any, sync_api: Any
) -> None:
    expect = sync_api.expect
    casey = UserFactory(username="casey", role=Role.CSM)
    AccountFactory(external_id="acme", name="Acme", owner=casey)

    page = sign_in(browser, live_server.url, "casey", "/accounts/acme/")
    notes = page.locator("#notes")
    expect(notes).to_contain_text("No notes yet.")
    notes.get_by_text("Add a note").click()
    notes.get_by_label("Note", exact=True).fill("Maria runs the rollout; QBR in March.")
    notes.get_by_label("Pin to the top").check()
    url_before = page.url
    notes.get_by_role("button", name="Add note").click()
    expect(notes).to_contain_text("Note added.")
    expect(notes.locator("article.note.pinned")).to_contain_text("Maria runs the rollout")
    assert page.url == url_before  # swapped in place, no reload
    shoot(page, "account-notes-added")

    notes.get_by_role("link", name="Edit the note").click()
    field = notes.locator("article.editing textarea")
    expect(field).to_have_value("Maria runs the rollout; QBR in March.")
    field.fill("Maria runs the rollout; QBR moved to April.")
    notes.get_by_role("button", name="Save note").click()
    expect(notes.locator("article.note")).to_contain_text("QBR moved to April")
    assert Note.objects.get().body == "Maria runs the rollout; QBR moved to April."

    page.once("dialog", lambda dialog: dialog.accept())
    notes.get_by_role("button", name="Delete the note").click()
    expect(notes).to_contain_text("No notes yet.")
    assert not Note.objects.exists()
    page.close()


def test_the_note_form_works_without_javascript(
    live_server: Any, transactional_db: None, sync_api: Any
) -> None:
    casey = UserFactory(username="casey", role=Role.CSM)
    AccountFactory(external_id="acme", name="Acme", owner=casey)
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        try:
            page = chromium.new_context(java_script_enabled=False).new_page()
            page.goto(f"{live_server.url}/accounts/acme/")
            page.fill("#id_username", "casey")
            page.fill("#id_password", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(f"{live_server.url}/accounts/acme/")
            notes = page.locator("#notes")
            notes.get_by_text("Add a note").click()  # <details> opens without JavaScript
            notes.get_by_label("Note", exact=True).fill("Written without JavaScript")
            notes.get_by_role("button", name="Add note").click()
            page.wait_for_url(f"{live_server.url}/accounts/acme/#notes")
            sync_api.expect(page.locator("#notes article.note")).to_contain_text(
                "Written without JavaScript"
            )
            notes.get_by_role("link", name="Edit the note").click()
            page.wait_for_url(f"{live_server.url}/notes/*/edit/")
            page.get_by_label("Note", exact=True).fill("Edited without JavaScript")
            page.get_by_role("button", name="Save note").click()
            page.wait_for_url(f"{live_server.url}/accounts/acme/#notes")
            sync_api.expect(page.locator("#notes")).to_contain_text("Edited without JavaScript")
            shoot(page, "account-notes-no-js")
        finally:
            chromium.close()


def test_a_viewer_sees_notes_but_no_form(
    live_server: Any, transactional_db: None, browser: Any, sync_api: Any
) -> None:
    pytest.importorskip("playwright.sync_api")
    casey = UserFactory(username="casey", role=Role.CSM)
    account = AccountFactory(external_id="acme", name="Acme", owner=casey)
    add_note(account, casey, "Read me")
    UserFactory(username="vera", role=Role.VIEWER)

    page = sign_in(browser, live_server.url, "vera", "/accounts/acme/")
    notes = page.locator("#notes")
    sync_api.expect(notes).to_contain_text("Read me")
    assert notes.get_by_text("Add a note").count() == 0
    assert notes.get_by_role("link", name="Edit the note").count() == 0
    assert notes.get_by_role("button", name="Delete the note").count() == 0
    page.close()

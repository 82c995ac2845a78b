"""Notes from the account page: a CSM writes one on an account in their book (pinned or not),
edits and deletes their own; another CSM's book and viewers are refused; a manager may delete
anyone's note but edit only their own. Each write works as a plain form post and, asked by
htmx, answers with the notes section alone. Queries stay the same with 1 note or 12."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tend.core.actions import add_note
from tend.core.models import AuditEntry, Note, Role, User
from tend.customers.models import Account
from tests.factories import AccountFactory, UserFactory

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}
MaxQueries = Callable[[int], AbstractContextManager[object]]


@pytest.fixture
def account(csm: User) -> Account:
    return AccountFactory(external_id="acme", name="Acme", owner=csm)


def test_a_csm_writes_a_pinned_note_on_their_account(
    signed_in_client: Client, csm: User, account: Account
) -> None:
    response = signed_in_client.post(
        reverse("web:account-note-add", args=["acme"]),
        {"body": "  Maria is the champion; renewal talk in March.  ", "pinned": "on"},
    )

    assert response.status_code == 302
    assert response["Location"] == "/accounts/acme/#notes"
    note = Note.objects.get(account=account)
    assert (note.body, note.pinned, note.author) == (
        "Maria is the champion; renewal talk in March.",
        True,
        csm,
    )
    assert AuditEntry.objects.filter(action="note.added", actor=csm).count() == 1
    page = signed_in_client.get(reverse("web:account", args=["acme"])).content.decode()
    assert "Maria is the champion" in page and "· pinned" in page


def test_a_pinned_note_shows_above_newer_ones(
    signed_in_client: Client, csm: User, account: Account
) -> None:
    add_note(account, csm, "Old but important", pinned=True)
    add_note(account, csm, "Newer")

    page = signed_in_client.get(reverse("web:account", args=["acme"])).content.decode()
    notes = page[page.index('id="notes"') :]  # the timeline above lists them newest first

    assert notes.index("Old but important") < notes.index("Newer")


def test_an_empty_note_is_refused_with_the_fields_error(
    signed_in_client: Client, account: Account
) -> None:
    response = signed_in_client.post(
        reverse("web:account-note-add", args=["acme"]), {"body": "   "}
    )

    assert response.status_code == 400
    assert set(response.context["form"].errors) == {"body"}
    assert 'for="id_body"' in response.content.decode()  # the field keeps its label
    assert not Note.objects.exists()


def test_htmx_gets_the_notes_section_back(signed_in_client: Client, account: Account) -> None:
    added = signed_in_client.post(
        reverse("web:account-note-add", args=["acme"]), {"body": "Call on Friday"}, **HTMX
    )
    refused = signed_in_client.post(
        reverse("web:account-note-add", args=["acme"]), {"body": ""}, **HTMX
    )

    assert added.status_code == 200
    section = added.content.decode()
    assert section.lstrip().startswith('<section class="card" id="notes"')
    assert "Call on Friday" in section and "Note added." in section
    assert "<html" not in section
    # Errors come back in the section with 200: htmx swaps only 2xx answers.
    assert refused.status_code == 200
    assert "This field is required." in refused.content.decode()
    assert Note.objects.count() == 1


def test_the_author_edits_their_note_in_place_or_on_its_own_page(
    signed_in_client: Client, csm: User, account: Account
) -> None:
    note = add_note(account, csm, "Budget freeze until Q2")
    url = reverse("web:note-edit", args=[note.pk])
    prefix = f"note-{note.pk}-"

    form_page = signed_in_client.get(url)
    in_place = signed_in_client.get(url, **HTMX)
    saved = signed_in_client.post(url, {prefix + "body": "Budget freeze until Q3"})

    assert form_page.status_code == 200 and "Edit your note on Acme" in form_page.content.decode()
    assert f'id="id_{prefix}body"' in in_place.content.decode()
    assert "<html" not in in_place.content.decode()
    assert (saved.status_code, saved["Location"]) == (302, "/accounts/acme/#notes")
    note.refresh_from_db()
    assert (note.body, note.pinned) == ("Budget freeze until Q3", False)
    entry = AuditEntry.objects.get(action="note.edited")
    assert entry.changes["before"] == {"body": "Budget freeze until Q2", "pinned": False}

    emptied = signed_in_client.post(url, {prefix + "body": ""})
    assert emptied.status_code == 400
    note.refresh_from_db()
    assert note.body == "Budget freeze until Q3"


def test_the_author_deletes_their_note(
    signed_in_client: Client, csm: User, account: Account
) -> None:
    note = add_note(account, csm, "Wrong account, sorry")

    response = signed_in_client.post(reverse("web:note-delete", args=[note.pk]), **HTMX)

    assert response.status_code == 200
    assert "Wrong account" not in response.content.decode()
    assert not Note.objects.exists()
    entry = AuditEntry.objects.get(action="note.deleted")
    assert entry.changes["body"] == "Wrong account, sorry"


def test_another_csms_account_and_viewers_are_refused(
    signed_in_client: Client, client: Client, csm: User
) -> None:
    robin = UserFactory(username="robin", role=Role.CSM)
    theirs = AccountFactory(external_id="theirs", owner=robin)
    robins = add_note(theirs, robin, "Robin's note")

    assert (
        signed_in_client.post(
            reverse("web:account-note-add", args=["theirs"]), {"body": "Sneaky"}
        ).status_code
        == 403
    )
    assert signed_in_client.get(reverse("web:note-edit", args=[robins.pk])).status_code == 403
    assert signed_in_client.post(reverse("web:note-delete", args=[robins.pk])).status_code == 403

    client.force_login(UserFactory(username="vera", role=Role.VIEWER))
    assert (
        client.post(reverse("web:account-note-add", args=["theirs"]), {"body": "Hi"}).status_code
        == 403
    )
    assert Note.objects.count() == 1


def test_a_note_author_keeps_their_note_after_the_account_moves(
    signed_in_client: Client, csm: User
) -> None:
    """The author may edit their own note even when the account is now in another's book."""
    robin = UserFactory(username="robin", role=Role.CSM)
    account = AccountFactory(external_id="moved", owner=robin)
    mine = add_note(account, csm, "Handed over to Robin")
    url = reverse("web:note-edit", args=[mine.pk])

    response = signed_in_client.post(url, {f"note-{mine.pk}-body": "Handed over to Robin in May"})

    assert response.status_code == 302
    page = signed_in_client.get(reverse("web:account", args=["moved"])).content.decode()
    assert "Add a note" not in page  # not their book: no new notes
    assert url in page  # but their own note has its Edit link


def test_a_manager_deletes_any_note_but_edits_only_their_own(
    client: Client, csm: User, account: Account
) -> None:
    manager = UserFactory(username="morgan", role=Role.MANAGER)
    client.force_login(manager)
    caseys = add_note(account, csm, "Casey's words")

    assert client.get(reverse("web:note-edit", args=[caseys.pk])).status_code == 403
    page = client.get(reverse("web:account", args=["acme"])).content.decode()
    assert reverse("web:note-edit", args=[caseys.pk]) not in page
    assert reverse("web:note-delete", args=[caseys.pk]) in page
    assert client.post(reverse("web:note-delete", args=[caseys.pk])).status_code == 302
    assert not Note.objects.exists()


def test_the_notes_section_for_htmx_and_without_it(
    signed_in_client: Client, account: Account
) -> None:
    url = reverse("web:account-notes", args=["acme"])

    plain = signed_in_client.get(url)
    section = signed_in_client.get(url, **HTMX)

    assert (plain.status_code, plain["Location"]) == (302, "/accounts/acme/#notes")
    assert section.status_code == 200 and 'id="notes"' in section.content.decode()


def count(client: Client, method: str, path: str, data: dict[str, str] | None = None) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = getattr(client, method)(path, data or {}, **HTMX)
        assert response.status_code == 200, path
    return len(captured)


def test_queries_do_not_grow_with_notes(
    signed_in_client: Client,
    csm: User,
    account: Account,
    django_assert_max_num_queries: MaxQueries,
) -> None:
    other = UserFactory(username="robin", role=Role.CSM)
    first = add_note(account, csm, "First")
    section = reverse("web:account-notes", args=["acme"])
    add_url = reverse("web:account-note-add", args=["acme"])
    few = (
        count(signed_in_client, "get", section),
        count(signed_in_client, "post", add_url, {"body": "Second"}),
    )
    for n in range(10):
        add_note(account, other if n % 2 else csm, f"Note {n}")

    # Session, user, account, its notes with their authors; adding: + the insert, the audit
    # entry and the savepoint pair of the action's transaction.
    with django_assert_max_num_queries(4):
        signed_in_client.get(section, **HTMX)
    many = (
        count(signed_in_client, "get", section),
        count(signed_in_client, "post", add_url, {"body": "Third"}),
    )
    assert many == few
    assert Note.objects.filter(account=account).count() == 13
    assert first.pk

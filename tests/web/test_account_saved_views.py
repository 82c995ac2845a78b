"""Saved views of the accounts table: save the current filters and sort under a name, see them,
open them, replace and delete them; each person sees and deletes only their own."""

from __future__ import annotations

from django.test import Client
from django.urls import reverse

from tend.core.models import AuditEntry, Role, User
from tend.customers.models import SavedAccountView
from tests.factories import AccountFactory, UserFactory


def save(client: Client, name: str, query: str) -> object:
    return client.post(reverse("web:account-view-save"), {"name": name, "query": query})


def test_save_list_open_and_delete_a_view(signed_in_client: Client, csm: User) -> None:
    AccountFactory(name="Acme", lifecycle_stage="at_risk")
    AccountFactory(name="Beta", lifecycle_stage="trial")

    response = save(signed_in_client, "  At   risk ", "stage=at_risk&sort=-mrr&page=3&junk=1")

    view = SavedAccountView.objects.get(user=csm)
    assert (view.name, view.query) == ("At risk", "stage=at_risk&sort=-mrr")  # normalised
    assert response["Location"] == "/accounts/?stage=at_risk&sort=-mrr"  # type: ignore[index]
    page = signed_in_client.get(reverse("web:accounts"), {"stage": "at_risk", "sort": "-mrr"})
    html = page.content.decode()
    assert (
        '<a href="/accounts/?stage=at_risk&amp;sort=-mrr" aria-current="true">At risk</a>' in html
    )
    assert [a.name for a in page.context["page"].object_list] == ["Acme"]
    assert AuditEntry.objects.filter(action="account_view.saved").count() == 1

    deleted = signed_in_client.post(reverse("web:account-view-delete", args=[view.pk]))
    assert deleted.status_code == 302
    assert not SavedAccountView.objects.exists()
    assert "No saved views yet." in signed_in_client.get(reverse("web:accounts")).content.decode()


def test_saving_under_the_same_name_replaces_the_view(signed_in_client: Client, csm: User) -> None:
    save(signed_in_client, "Mine", "stage=trial")
    save(signed_in_client, "Mine", "band=healthy&sort=-health")
    assert list(SavedAccountView.objects.values_list("name", "query")) == [
        ("Mine", "band=healthy&sort=-health")
    ]
    assert AuditEntry.objects.filter(action="account_view.replaced").count() == 1


def test_a_view_needs_a_name(signed_in_client: Client) -> None:
    response = save(signed_in_client, "   ", "stage=trial")
    assert response.status_code == 302
    assert not SavedAccountView.objects.exists()
    follow = signed_in_client.get(response["Location"])  # type: ignore[index]
    assert "The view was not saved" in follow.content.decode()


def test_views_are_personal(client: Client, csm: User) -> None:
    other = UserFactory(username="other", role=Role.VIEWER)
    viewer = Client()
    viewer.force_login(other)
    save(viewer, "Viewer's view", "stage=trial")  # viewers may keep views: no customer data
    theirs = SavedAccountView.objects.get(user=other)

    client.force_login(csm)
    assert "Viewer&#x27;s view" not in client.get(reverse("web:accounts")).content.decode()
    client.post(reverse("web:account-view-delete", args=[theirs.pk]))
    assert SavedAccountView.objects.filter(pk=theirs.pk).exists()  # not csm's to delete


def test_saving_and_deleting_need_post(signed_in_client: Client) -> None:
    assert signed_in_client.get(reverse("web:account-view-save")).status_code == 405
    assert signed_in_client.get(reverse("web:account-view-delete", args=[1])).status_code == 405

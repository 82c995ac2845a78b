"""User management: admins add people, change roles and deactivate them; nobody else can."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from tend.core import user_actions
from tend.core.models import AuditEntry, Role, User
from tests.factories import UserFactory


@pytest.fixture
def admin_client(client: Client, admin_user: User) -> Client:
    client.force_login(admin_user)
    return client


NEW_MEMBER = {
    "username": "nora",
    "first_name": "Nora",
    "last_name": "North",
    "email": "nora@tend.test",
    "role": Role.CSM,
    "password": "a-long-initial-pass",
}


def test_admin_lists_the_team_with_labelled_controls(admin_client: Client, csm: User) -> None:
    response = admin_client.get(reverse("web:users"))
    assert response.status_code == 200
    html = response.content.decode()
    assert csm.username in html
    assert f'<label class="visually-hidden" for="role-{csm.pk}">' in html
    for field in ("id_username", "id_first_name", "id_email", "id_role", "id_password"):
        assert f'<label for="{field}">' in html
    assert 'href="/users/"' in html  # the navigation shows Users to admins


def test_admin_adds_a_member_who_can_sign_in(admin_client: Client, admin_user: User) -> None:
    response = admin_client.post(reverse("web:users"), NEW_MEMBER)
    assert response.status_code == 302
    nora = User.objects.get(username="nora")
    assert (nora.role, nora.email, nora.display_name) == (Role.CSM, "nora@tend.test", "Nora North")
    assert nora.check_password("a-long-initial-pass")
    assert not nora.is_staff
    entry = AuditEntry.objects.get(action="user.added")
    assert entry.actor == admin_user
    assert entry.object_id == str(nora.pk)
    assert entry.changes == {"username": "nora", "role": "csm"}
    page = admin_client.get(reverse("web:users"))
    assert "Nora North was added as Customer success manager." in page.content.decode()
    assert Client().login(username="nora", password="a-long-initial-pass")


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"username": "casey"}, "username", "already has this username"),
        ({"username": "CASEY"}, "username", "already has this username"),
        ({"password": "short"}, "password", "too short"),
        ({"role": "owner"}, "role", "Select a valid choice"),
        ({"email": "not-an-email"}, "email", "valid email"),
    ],
)
def test_invalid_additions_are_refused_with_the_reason(
    admin_client: Client, csm: User, changes: dict[str, str], field: str, message: str
) -> None:
    response = admin_client.post(reverse("web:users"), NEW_MEMBER | changes)
    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors[field])
    assert message in response.content.decode()
    assert not User.objects.filter(username="nora").exists()


def test_admin_changes_a_role_and_it_is_audited(
    admin_client: Client, admin_user: User, csm: User
) -> None:
    response = admin_client.post(reverse("web:user-role", args=[csm.pk]), {"role": Role.ADMIN})
    assert response.status_code == 302
    csm.refresh_from_db()
    assert (csm.role, csm.is_staff, csm.is_superuser) == (Role.ADMIN, True, True)
    entry = AuditEntry.objects.get(action="user.role_changed")
    assert (entry.actor, entry.changes) == (admin_user, {"role": ["csm", "admin"]})

    admin_client.post(reverse("web:user-role", args=[csm.pk]), {"role": Role.VIEWER})
    csm.refresh_from_db()
    assert (csm.role, csm.is_staff, csm.is_superuser) == (Role.VIEWER, False, False)


def test_deactivated_members_cannot_sign_in_and_can_come_back(
    admin_client: Client, admin_user: User, csm: User
) -> None:
    member = Client()
    member.force_login(csm)
    assert member.get(reverse("web:home")).status_code == 200

    response = admin_client.post(reverse("web:user-active", args=[csm.pk]), {"active": "0"})
    assert response.status_code == 302
    csm.refresh_from_db()
    assert not csm.is_active
    assert member.get(reverse("web:home")).status_code == 302  # the open session ends too
    assert not Client().login(username="casey", password="tend-test-password")
    assert AuditEntry.objects.filter(action="user.deactivated", actor=admin_user).count() == 1

    admin_client.post(reverse("web:user-active", args=[csm.pk]), {"active": "1"})
    csm.refresh_from_db()
    assert csm.is_active
    assert Client().login(username="casey", password="tend-test-password")


def test_the_team_keeps_an_active_admin(admin_client: Client, admin_user: User) -> None:
    response = admin_client.post(reverse("web:user-active", args=[admin_user.pk]), {"active": "0"})
    assert response.status_code == 302
    admin_user.refresh_from_db()
    assert admin_user.is_active
    page = admin_client.get(reverse("web:users")).content.decode()
    assert "You cannot deactivate yourself." in page

    admin_client.post(reverse("web:user-role", args=[admin_user.pk]), {"role": Role.VIEWER})
    admin_user.refresh_from_db()
    assert admin_user.role == Role.ADMIN
    assert "at least one active admin" in admin_client.get(reverse("web:users")).content.decode()

    other = UserFactory(username="second-admin", role=Role.ADMIN)
    user_actions.change_role(admin_user, other, Role.VIEWER)  # another admin remains
    other.refresh_from_db()
    assert other.role == Role.VIEWER
    with pytest.raises(user_actions.UserActionError, match="at least one active admin"):
        user_actions.set_active(other, admin_user, False)


@pytest.mark.parametrize("role", [Role.MANAGER, Role.CSM, Role.VIEWER])
def test_only_admins_manage_users(client: Client, csm: User, role: str) -> None:
    someone = UserFactory(username=f"someone-{role}", role=role)
    client.force_login(someone)
    refused = client.get(reverse("web:users"))
    assert refused.status_code == 403
    assert "Not allowed" in refused.content.decode()
    assert client.post(reverse("web:users"), NEW_MEMBER).status_code == 403
    assert (
        client.post(reverse("web:user-role", args=[csm.pk]), {"role": "admin"}).status_code == 403
    )
    assert (
        client.post(reverse("web:user-active", args=[csm.pk]), {"active": "0"}).status_code == 403
    )
    assert not User.objects.filter(username="nora").exists()
    csm.refresh_from_db()
    assert csm.role == Role.CSM and csm.is_active
    assert 'href="/users/"' not in client.get(reverse("web:home")).content.decode()

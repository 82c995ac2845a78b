"""Signing in and out; every page but the login page needs a signed-in user."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from tend.core.models import User
from tests.factories import AccountFactory


@pytest.mark.parametrize("name", ["web:home", "web:accounts"])
def test_pages_redirect_anonymous_users_to_login(client: Client, db: None, name: str) -> None:
    url = reverse(name)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('web:login')}?next={url}"


def test_account_page_requires_login(client: Client, db: None) -> None:
    account = AccountFactory()
    response = client.get(reverse("web:account", args=[account.external_id]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("web:login"))


def test_login_with_username_and_password(client: Client, csm: User) -> None:
    page = client.get(reverse("web:login"))
    assert page.status_code == 200
    assert b'name="username"' in page.content

    response = client.post(
        reverse("web:login"), {"username": "casey", "password": "tend-test-password"}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("web:home")
    assert client.get(reverse("web:home")).status_code == 200


def test_login_rejects_a_wrong_password(client: Client, csm: User) -> None:
    response = client.post(reverse("web:login"), {"username": "casey", "password": "nope"})
    assert response.status_code == 200
    assert "didn't match" in response.content.decode()


def test_logout_is_a_post_that_ends_the_session(signed_in_client: Client) -> None:
    assert signed_in_client.get(reverse("web:logout")).status_code == 405
    response = signed_in_client.post(reverse("web:logout"))
    assert response.status_code == 302
    assert signed_in_client.get(reverse("web:home")).status_code == 302

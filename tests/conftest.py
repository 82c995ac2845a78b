"""Shared fixtures. Each test runs in a transaction that is rolled back (pytest-django)."""

from __future__ import annotations

import pytest
from django.test import Client

from tend.core.models import Role, User
from tests.factories import UserFactory


@pytest.fixture
def csm(db: None) -> User:
    return UserFactory(username="casey", role=Role.CSM)


@pytest.fixture
def admin_user(db: None) -> User:
    return UserFactory(username="admin", role=Role.ADMIN, is_staff=True, is_superuser=True)


@pytest.fixture
def signed_in_client(client: Client, csm: User) -> Client:
    client.force_login(csm)
    return client

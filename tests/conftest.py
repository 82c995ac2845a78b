"""Shared fixtures. Each test runs in a transaction that is rolled back (pytest-django)."""

from __future__ import annotations

import pytest
from django.test import Client

from tend.core.models import Role, User
from tests.factories import UserFactory


@pytest.fixture(autouse=True)
def fresh_preview_data() -> None:
    """The lists' and scorecard preview's loaded data is kept per process for a while even
    when the data changes (`health.preview.STALE_OK_SECONDS`); each test starts without it."""
    from tend.health import preview

    preview.clear_cache()


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

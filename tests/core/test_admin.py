"""Every model is in the admin, and every admin list and add page opens for an admin."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.contrib import admin
from django.test import Client
from django.urls import reverse

from tend.core.models import User

pytestmark = pytest.mark.django_db


def test_every_tend_model_is_registered() -> None:
    tend_models = [m for m in apps.get_models() if m.__module__.startswith("tend.")]
    missing = [m.__name__ for m in tend_models if m not in admin.site._registry]
    assert missing == []


def test_every_admin_list_and_add_page_opens(client: Client, admin_user: User) -> None:
    client.force_login(admin_user)
    for model in admin.site._registry:
        meta = model._meta
        for view in ("changelist", "add"):
            url = reverse(f"admin:{meta.app_label}_{meta.model_name}_{view}")
            assert client.get(url).status_code == 200, url

"""Webhook secrets for the billing tests: the current one and the one being rotated out."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tend.config.settings import get_settings
from tests.billing.stripe_objects import ROTATED_SECRET, SECRET


@pytest.fixture(autouse=True)
def stripe_secrets(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TEND_STRIPE_WEBHOOK_SECRETS", f"{SECRET},{ROTATED_SECRET}")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()

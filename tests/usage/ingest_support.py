"""Helpers shared by the ingestion tests: a source with a write key, and request builders."""

from __future__ import annotations

import base64
import gzip
from typing import Any

import orjson
import pytest
from django.test import Client

from tend.usage.keys import create_source_with_key
from tend.usage.models import Source


@pytest.fixture
def source_key(db: None) -> tuple[Source, str]:
    """A segment source and its write key."""
    return create_source_with_key("Web app")


def basic_auth(key: str) -> str:
    """The Authorization header value the Segment clients send."""
    return "Basic " + base64.b64encode(f"{key}:".encode()).decode()


def post_json(
    client: Client,
    path: str,
    body: Any,
    key: str | None = None,
    compress: bool = False,
    **headers: str,
) -> Any:
    """POST `body` as JSON (optionally gzipped, optionally with the key as Basic auth)."""
    data = orjson.dumps(body)
    if compress:
        data = gzip.compress(data)
        headers["HTTP_CONTENT_ENCODING"] = "gzip"
    if key is not None:
        headers["HTTP_AUTHORIZATION"] = basic_auth(key)
    return client.post(path, data=data, content_type="application/json", **headers)


def track(message_id: str, user_id: str = "user-1", **fields: Any) -> dict[str, Any]:
    """A Segment track message."""
    return {
        "type": "track",
        "messageId": message_id,
        "userId": user_id,
        "event": "Report Viewed",
        "properties": {"report": "mrr"},
        "timestamp": "2026-03-01T10:00:00.000Z",
        **fields,
    }

"""The lean ASGI path that answers the event API before Django: the same answers and error
bodies as the Django views, and every other path left to Django."""

from __future__ import annotations

import asyncio
import gzip
from typing import Any

import orjson
import pytest
from django.core.asgi import get_asgi_application
from django.db import connection

from tend.config.settings import get_settings
from tend.usage.asgi_ingest import IngestApplication
from tend.usage.loader import drain_inbox
from tend.usage.models import Event, RejectedMessage, Source
from tests.usage.ingest_support import basic_auth, source_key, track

__all__ = ["source_key"]

pytestmark = pytest.mark.django_db(transaction=True)


def _call(
    path: str,
    body: bytes = b"",
    method: str = "POST",
    headers: dict[str, str] | None = None,
    query: bytes = b"",
) -> tuple[int, dict[str, str], Any]:
    """One request through the ASGI app, as uvicorn would make it; the body arrives in two
    chunks to exercise reassembly."""
    application = IngestApplication(get_asgi_application())
    sent: list[dict[str, Any]] = []
    chunks = [body[: len(body) // 2], body[len(body) // 2 :]]
    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "root_path": "",
        "query_string": query,
        "headers": [
            (name.lower().encode(), value.encode())
            for name, value in {"host": "testserver", **(headers or {})}.items()
        ],
    }

    async def run() -> None:
        finished = asyncio.Event()

        async def receive() -> dict[str, Any]:
            if not chunks:  # after the body, only the client's going away
                await finished.wait()
                return {"type": "http.disconnect"}
            chunk = chunks.pop(0)
            return {"type": "http.request", "body": chunk, "more_body": bool(chunks)}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                finished.set()

        await application(scope, receive, send)

    asyncio.run(run())
    start = sent[0]
    response_headers = {name.decode().lower(): value.decode() for name, value in start["headers"]}
    content = b"".join(message.get("body", b"") for message in sent[1:])
    parsed = orjson.loads(content) if "json" in response_headers.get("content-type", "") else None
    return start["status"], response_headers, parsed


def _json_headers(key: str | None = None, **extra: str) -> dict[str, str]:
    headers = {"content-type": "application/json", **extra}
    if key:
        headers["authorization"] = basic_auth(key)
    return headers


def test_a_batch_is_acknowledged_and_loaded_like_through_django(
    source_key: tuple[Source, str],
) -> None:
    source, key = source_key
    batch = {"batch": [track("l1"), track("l2"), {**track("l3"), "type": "purchase"}]}

    status, headers, body = _call("/v1/batch", orjson.dumps(batch), headers=_json_headers(key))
    drain_inbox()

    assert status == 200
    assert headers["content-type"] == "application/json"
    assert body["accepted"] == 2
    assert body["rejected"][0]["code"] == "invalid_type"
    assert set(Event.objects.filter(source=source.slug).values_list("message_id", flat=True)) == {
        "l1",
        "l2",
    }
    assert RejectedMessage.objects.get().endpoint == "batch"


def test_single_webhook_and_posthog_paths(source_key: tuple[Source, str]) -> None:
    source, key = source_key
    page = {"messageId": "p1", "userId": "u1", "name": "Pricing"}
    posthog = {"api_key": key, "batch": [{"event": "clicked", "distinct_id": "u1", "uuid": "ph1"}]}

    single = _call("/v1/page/", orjson.dumps(page), headers=_json_headers(key))
    hook = _call(f"/v1/webhook/{key}", orjson.dumps({"event": "Paid", "userId": "u1"}))
    captured = _call(
        "/batch/",
        gzip.compress(orjson.dumps(posthog)),
        headers=_json_headers(),
        query=b"compression=gzip-js",
    )
    drain_inbox()

    assert [single[0], hook[0], captured[0]] == [200, 200, 200]
    assert captured[2]["status"] == 1
    types = dict(Event.objects.filter(source=source.slug).values_list("message_id", "type"))
    assert types["p1"] == "page"
    assert types["ph1"] == "track"
    assert sorted(types.values()).count("track") == 2


@pytest.mark.parametrize(
    ("path", "method", "data", "extra", "status", "code"),
    [
        ("/v1/batch", "GET", b"", {}, 405, "method_not_allowed"),
        ("/v1/batch", "POST", b"{not json", {}, 400, "invalid_json"),
        ("/v1/batch", "POST", b'{"batch": {}}', {}, 400, "invalid_batch"),
        ("/v1/batch", "POST", b"\x1f\x8b no", {"content-encoding": "gzip"}, 400, "invalid_body"),
        ("/v1/batch", "POST", b"{}", {"content-encoding": "br"}, 415, "unsupported_encoding"),
        ("/v1/batch", "POST", b"a=b", {"content-type": "multipart/form-data"}, 415,
         "unsupported_media_type"),
        ("/v1/track", "POST", b"[1]", {}, 400, "invalid_message"),
        ("/v1/track", "POST", b'{"messageId": "t", "userId": "u"}', {}, 400, "missing_event"),
        ("/v1/batch", "POST", b"{}", {"host": "evil.example"}, 400, "invalid_host"),
    ],
)  # fmt: skip
def test_error_bodies_are_json_with_code_and_message(
    source_key: tuple[Source, str],
    path: str,
    method: str,
    data: bytes,
    extra: dict[str, str],
    status: int,
    code: str,
) -> None:
    _, key = source_key
    answer = _call(path, data, method, _json_headers(key, **extra))
    assert answer[0] == status
    assert answer[2]["code"] == code
    assert answer[2]["message"]


def test_keys_limits_and_posthog_error_shape(source_key: tuple[Source, str]) -> None:
    _, key = source_key
    limit = get_settings().ingest_max_batch_bytes
    too_big = orjson.dumps({"batch": [track("x", properties={"pad": "x" * limit})]})

    unknown = _call("/v1/batch", orjson.dumps({"batch": [track("a")]}), headers=_json_headers("no"))
    missing = _call("/v1/batch", orjson.dumps({"batch": [track("a")]}), headers=_json_headers())
    large = _call("/v1/batch", too_big, headers=_json_headers(key))
    posthog = _call("/capture/", orjson.dumps({"api_key": "wk_nope", "event": "x"}))

    assert (unknown[0], unknown[2]["code"]) == (401, "invalid_write_key")
    assert (missing[0], missing[2]["code"]) == (401, "invalid_write_key")
    assert (large[0], large[2]["code"]) == (413, "batch_too_large")
    assert posthog[0] == 401
    assert posthog[2]["detail"] == posthog[2]["message"]


def test_other_paths_go_to_django() -> None:
    status, _, _ = _call("/v1/unknown-thing", b"", "GET")
    login, headers, _ = _call("/login/", b"", "GET")
    assert status == 404
    assert login == 200
    assert headers["content-type"].startswith("text/html")


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="a server ending idle sessions is PostgreSQL's case"
)
def test_a_batch_is_stored_after_the_server_ended_idle_sessions(
    source_key: tuple[Source, str],
) -> None:
    """An administrator (or a restart, or a pooler) ends the event API's idle sessions: the
    next batch is still acknowledged and stored, on new sessions."""
    _, key = source_key
    first = {"batch": [track("before")]}
    assert _call("/v1/batch", orjson.dumps(first), headers=_json_headers(key))[0] == 200
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        assert cursor.fetchone()[0] >= 1  # the inbox writer's session at least

    second = {"batch": [track("after")]}
    status, _, body = _call("/v1/batch", orjson.dumps(second), headers=_json_headers(key))
    drain_inbox()

    assert (status, body["accepted"]) == (200, 1)
    assert set(Event.objects.values_list("message_id", flat=True)) >= {"before", "after"}

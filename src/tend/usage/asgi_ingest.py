"""The event API's lean path: a small ASGI app that answers the ingestion paths before Django.

Django's request machinery (middleware, URL resolution, a thread hop per sync view) costs more
than the ingestion itself; here a batch is read, checked and queued for group commit on the
event loop, and only a write-key lookup missing from the cache goes to a thread. Everything
else is passed to Django unchanged.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import parse_qs

import orjson
from django.conf import settings
from django.db import connection
from django.http.request import split_domain_port, validate_host

from tend.config.settings import get_settings
from tend.usage import accept
from tend.usage.accept import RETRY_AFTER_SECONDS, Answer, Refused, RequestHead
from tend.usage.group_commit import WAIT_SECONDS, inbox_writer
from tend.usage.keys import KeyNotCached, authenticate, authenticate_cached

logger = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[..., Awaitable[None]]
Route = Callable[[RequestHead, bytes, accept.Authenticate], Answer]

SEGMENT_BATCH = re.compile(r"/v1/(?:batch|import)/?")
SEGMENT_SINGLE = re.compile(r"/v1/(track|identify|group|page|screen|alias)/?")
WEBHOOK = re.compile(r"/v1/webhook/([^/]+)")
POSTHOG = re.compile(r"/(?:batch|capture|e)/?")
KEY_LOOKUP_THREADS = 2


class _ClientGone(Exception):
    """The client disconnected before its body arrived."""


def _route(path: str) -> tuple[Route, bool] | None:
    """The handler for an ingestion path and whether it answers PostHog-style; else None."""
    if SEGMENT_BATCH.fullmatch(path):
        return accept.segment_batch, False
    if found := SEGMENT_SINGLE.fullmatch(path):
        kind = found.group(1)
        return (lambda head, data, auth: accept.segment_single(kind, head, data, auth)), False
    if found := WEBHOOK.fullmatch(path):
        key = found.group(1)
        return (lambda head, data, auth: accept.webhook(key, head, data, auth)), False
    if POSTHOG.fullmatch(path):
        return accept.posthog_capture, True
    return None


class IngestApplication:
    """Answers the event API's paths itself and hands every other request to `fallback`."""

    def __init__(self, fallback: ASGIApp) -> None:
        self.fallback = fallback
        self._lookups = ThreadPoolExecutor(KEY_LOOKUP_THREADS, thread_name_prefix="tend-key")
        self._valid_hosts: set[bytes] = set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path = scope["path"]
            root = scope.get("root_path", "")
            if root and path.startswith(root):
                path = path[len(root) :]
            found = _route(path)
            if found is not None:
                await self._handle(found[0], found[1], path, scope, receive, send)
                return
        await self.fallback(scope, receive, send)

    async def _handle(
        self, route: Route, posthog_style: bool, path: str, scope: Scope, receive: Receive,
        send: Send,
    ) -> None:  # fmt: skip
        headers = dict(scope["headers"])
        try:
            self._check_host(headers.get(b"host", b""))
            if scope["method"] != "POST":
                raise Refused(405, "method_not_allowed", "Use POST.")
            writer = inbox_writer()
            accept.check_capacity(writer.depth_messages())
            limit = get_settings().ingest_max_batch_bytes
            data = await _read_body(receive, limit)
            head = _head(path, headers, scope.get("query_string", b""))
            answer = await self._answer(route, head, data)
            if answer.entry is not None:
                await asyncio.wait_for(
                    asyncio.wrap_future(writer.submit(answer.entry)), WAIT_SECONDS
                )
            await _respond(send, answer.status, answer.body)
        except Refused as refused:
            await _respond(send, refused.status, _error_body(refused, posthog_style))
        except _ClientGone:
            return
        except Exception as error:  # storage or the key lookup failed: never a 200
            logger.warning("Event API: unavailable: %r", error)
            await _respond(send, 503, _error_body(accept.unavailable(), posthog_style))

    async def _answer(self, route: Route, head: RequestHead, data: bytes) -> Answer:
        """Accept on the event loop when the key is cached, else in a thread that may query."""
        try:
            return route(head, data, authenticate_cached)
        except KeyNotCached:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._lookups, _with_lookups, route, head, data)

    def _check_host(self, host: bytes) -> None:
        """Django's ALLOWED_HOSTS check, which its middleware would have made."""
        if host in self._valid_hosts:
            return
        domain, _ = split_domain_port(host.decode("latin-1"))
        allowed = settings.ALLOWED_HOSTS
        if settings.DEBUG and not allowed:
            allowed = [".localhost", "127.0.0.1", "[::1]"]
        if not domain or not validate_host(domain, allowed):
            raise Refused(400, "invalid_host", "This host name is not served here.")
        self._valid_hosts.add(host)


def _with_lookups(route: Route, head: RequestHead, data: bytes) -> Answer:
    """Accept with key lookups, on a lookup thread; its connection is closed after each use
    (a miss happens about once per key every few seconds)."""
    try:
        return route(head, data, authenticate)
    finally:
        connection.close()


def _head(path: str, headers: dict[bytes, bytes], query: bytes) -> RequestHead:
    content_type = headers.get(b"content-type", b"").decode("latin-1")
    length = headers.get(b"content-length")
    compression = ""
    if query and b"compression" in query:
        compression = parse_qs(query.decode("latin-1")).get("compression", [""])[-1]
    return RequestHead(
        path=path,
        content_type=content_type.split(";", 1)[0].strip().lower(),
        content_length=length.decode("latin-1") if length is not None else None,
        content_encoding=headers.get(b"content-encoding", b"").decode("latin-1"),
        authorization=headers.get(b"authorization", b"").decode("latin-1"),
        compression=compression,
    )


async def _read_body(receive: Receive, limit: int) -> bytes:
    """The body, or its first `limit` + 1 bytes (enough to refuse it as too large)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _ClientGone
        chunk = message.get("body", b"")
        if chunk:
            chunks.append(chunk)
            size += len(chunk)
        if size > limit or not message.get("more_body", False):
            break
    data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
    return data[: limit + 1]


def _error_body(refused: Refused, posthog_style: bool) -> dict[str, Any]:
    body = {"code": refused.code, "message": refused.message}
    if posthog_style:
        body["detail"] = refused.message
    return body


async def _respond(send: Send, status: int, body: dict[str, Any]) -> None:
    payload = orjson.dumps(body)
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
    ]
    if status in (429, 503):
        headers.append((b"retry-after", str(RETRY_AFTER_SECONDS).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})

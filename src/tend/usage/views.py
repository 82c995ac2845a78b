"""The event API over HTTP: Segment's tracking API, PostHog's capture API and a one-message
webhook. Plain Django views with orjson (this is the hot path); errors are always JSON
`{"code", "message"}`, and a 200 is sent only after the batch is committed."""

from __future__ import annotations

import base64
import binascii
import logging
import zlib
from collections.abc import Callable
from typing import Any

import orjson
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from tend.config.settings import get_settings
from tend.usage import posthog
from tend.usage.ingest import IngestResult, ingest
from tend.usage.keys import AuthenticatedKey, authenticate
from tend.usage.segment_spec import InvalidMessage, parse_time, validate_messages

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 2
ACCEPTED_CONTENT_TYPES = ("", "application/json", "text/plain", "application/octet-stream")
SINGLE_MESSAGE_STATUS = {"message_too_large": 413}


class Refused(Exception):
    """A request answered with an error status and a JSON body."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def json_response(status: int, body: dict[str, Any]) -> HttpResponse:
    """A JSON response serialised with orjson."""
    return HttpResponse(orjson.dumps(body), status=status, content_type="application/json")


def _error(refused: Refused, posthog_style: bool = False) -> HttpResponse:
    body = {"code": refused.code, "message": refused.message}
    if posthog_style:
        body["detail"] = refused.message
    response = json_response(refused.status, body)
    if refused.status == 503:
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def _endpoint(posthog_style: bool = False) -> Callable[..., Callable[..., HttpResponse]]:
    """Wrap a handler: POST only, CSRF-exempt, refusals and database outages as JSON errors."""

    def decorate(handler: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @csrf_exempt
        def view(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            try:
                if request.method != "POST":
                    raise Refused(405, "method_not_allowed", "Use POST.")
                return handler(request, *args, **kwargs)
            except Refused as refused:
                return _error(refused, posthog_style)
            except (OperationalError, InterfaceError) as error:
                logger.warning("Event API: database unavailable: %s", error)
                unavailable = Refused(
                    503, "database_unavailable", "The database is unavailable; retry later."
                )
                return _error(unavailable, posthog_style)

        view.__name__ = handler.__name__
        view.__doc__ = handler.__doc__
        return view

    return decorate


def read_body(request: HttpRequest, limit: int, compression: str = "") -> bytes:
    """The request body, decompressed as its Content-Encoding says, refused past `limit` bytes
    (decompression is streamed and capped, so a gzip bomb costs at most `limit` bytes)."""
    content_type = request.content_type or ""
    if content_type not in ACCEPTED_CONTENT_TYPES:
        raise Refused(415, "unsupported_media_type", f"Send JSON, not {content_type}.")
    too_large = Refused(413, "batch_too_large", f"The request body exceeds {limit} bytes.")
    declared = request.headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise too_large
    data = request.read(limit + 1)
    if len(data) > limit:
        raise too_large
    encoding = (request.headers.get("Content-Encoding") or compression).strip().lower()
    if encoding in ("", "identity"):
        return data
    if encoding in ("gzip", "gzip-js", "x-gzip"):
        decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
    elif encoding == "deflate":
        decompressor = zlib.decompressobj()
    else:
        raise Refused(415, "unsupported_encoding", f"Content-Encoding {encoding} is not supported.")
    try:
        inflated = decompressor.decompress(data, limit + 1)
    except zlib.error:
        raise Refused(400, "invalid_body", "The body is not valid gzip data.") from None
    if len(inflated) > limit:
        raise too_large
    if not decompressor.eof:
        raise Refused(400, "invalid_body", "The gzip data is truncated.")
    return inflated


def parse_json(data: bytes) -> Any:
    """The decoded JSON body; 400 when it does not parse."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as error:
        raise Refused(400, "invalid_json", f"The body is not valid JSON: {error}") from None


def basic_auth_key(request: HttpRequest) -> str:
    """The write key sent as the HTTP Basic user name (Segment's convention), or ''."""
    header = request.headers.get("Authorization", "")
    if header[:6].lower() != "basic ":
        return ""
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise Refused(401, "invalid_write_key", "The Authorization header is malformed.") from None
    return decoded.split(":", 1)[0]


def authenticated(key_text: Any) -> AuthenticatedKey:
    """The active write key, or 401."""
    key = authenticate(key_text) if isinstance(key_text, str) else None
    if key is None:
        raise Refused(401, "invalid_write_key", "The write key is missing, unknown or revoked.")
    return key


def _ingest_raw(
    key: AuthenticatedKey,
    endpoint: str,
    raw_messages: list[Any],
    body: dict[str, Any],
    sent_at_field: str,
    forced_type: str | None = None,
) -> IngestResult:
    received_at = timezone.now()
    try:
        sent_at = parse_time(body.get(sent_at_field), sent_at_field) if not forced_type else None
    except InvalidMessage as error:
        raise Refused(400, error.code, error.reason) from None
    batch_context = body.get("context") if forced_type is None else None
    messages, rejections = validate_messages(
        raw_messages,
        received_at,
        sent_at,
        get_settings().ingest_max_message_bytes,
        forced_type=forced_type,
        batch_context=batch_context if isinstance(batch_context, dict) else None,
    )
    return ingest(key, endpoint, messages, rejections, received_at)


def _batch_body(result: IngestResult) -> dict[str, Any]:
    return {
        "success": True,
        "accepted": result.accepted,
        "duplicates": result.duplicates,
        "rejected": [
            {"messageId": rejection.message_id, "code": rejection.code, "message": rejection.reason}
            for rejection in result.rejected
        ],
    }


def _batch_response(result: IngestResult) -> HttpResponse:
    return json_response(200, _batch_body(result))


def _single_response(result: IngestResult) -> HttpResponse:
    if result.rejected:
        rejection = result.rejected[0]
        status = SINGLE_MESSAGE_STATUS.get(rejection.code, 400)
        return json_response(status, {"code": rejection.code, "message": rejection.reason})
    return _batch_response(result)


@_endpoint()
def segment_batch(request: HttpRequest) -> HttpResponse:
    """POST /v1/batch (and /v1/import): many messages of any type."""
    header_key = basic_auth_key(request)
    key = authenticated(header_key) if header_key else None
    body = parse_json(read_body(request, get_settings().ingest_max_batch_bytes))
    if not isinstance(body, dict) or not isinstance(body.get("batch"), list):
        raise Refused(400, "invalid_batch", "The body must be an object with a batch list.")
    key = key or authenticated(body.get("writeKey"))
    return _batch_response(_ingest_raw(key, "batch", body["batch"], body, "sentAt"))


def segment_single(kind: str) -> Callable[..., HttpResponse]:
    """POST /v1/<kind>: one message whose type is the endpoint's."""

    @_endpoint()
    def view(request: HttpRequest) -> HttpResponse:
        header_key = basic_auth_key(request)
        key = authenticated(header_key) if header_key else None
        body = parse_json(read_body(request, get_settings().ingest_max_batch_bytes))
        if not isinstance(body, dict):
            raise Refused(400, "invalid_message", "The body must be a JSON object.")
        key = key or authenticated(body.get("writeKey"))
        return _single_response(_ingest_raw(key, kind, [body], body, "sentAt", kind))

    view.__name__ = f"segment_{kind}"
    return view


@_endpoint()
def webhook(request: HttpRequest, write_key: str) -> HttpResponse:
    """POST /v1/webhook/<write key>: one Segment-shaped message (type defaults to track)."""
    key = authenticated(write_key)
    body = parse_json(read_body(request, get_settings().ingest_max_batch_bytes))
    if not isinstance(body, dict):
        raise Refused(400, "invalid_message", "The body must be a JSON object.")
    kind = body.get("type") or "track"
    forced = kind if isinstance(kind, str) else None
    return _single_response(_ingest_raw(key, "webhook", [body], body, "sentAt", forced))


@_endpoint(posthog_style=True)
def posthog_capture(request: HttpRequest) -> HttpResponse:
    """POST /batch/, /capture/, /e/: PostHog events, the key as `api_key` in the body."""
    compression = request.GET.get("compression", "")
    data = read_body(request, get_settings().ingest_max_batch_bytes, compression)
    body = parse_json(data)
    events, key_text = posthog.events_of(body)
    key = authenticated(key_text)
    received_at = timezone.now()
    raw = [posthog.to_segment(event, received_at) for event in events]
    options = body if isinstance(body, dict) else {}
    endpoint = "posthog:" + request.path.strip("/")
    result = _ingest_raw(key, endpoint, raw, {**options, "context": None}, "sent_at")
    return json_response(200, {"status": 1, **_batch_body(result)})

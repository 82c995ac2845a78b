"""Accepting a request to the event API, whatever serves it (the lean ASGI path or the Django
views): check the body, the key and every message, and build the inbox entry whose durable
write the 200 waits for. Errors are `Refused`, answered as JSON `{"code", "message"}`.
"""

from __future__ import annotations

import base64
import binascii
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec
import orjson
from django.utils import timezone

from tend.config.settings import get_settings
from tend.usage import posthog
from tend.usage.inbox import InboxEntry, encode_payload
from tend.usage.keys import AuthenticatedKey
from tend.usage.segment_spec import CheckedMessages, InvalidMessage, check_messages, parse_time

RETRY_AFTER_SECONDS = 2
ACCEPTED_CONTENT_TYPES = ("", "application/json", "text/plain", "application/octet-stream")
SINGLE_MESSAGE_STATUS = {"message_too_large": 413}

Authenticate = Callable[[str], AuthenticatedKey | None]


class Refused(Exception):
    """A request answered with an error status and a JSON body."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def unavailable() -> Refused:
    return Refused(503, "database_unavailable", "The database is unavailable; retry later.")


@dataclass(frozen=True, slots=True)
class RequestHead:
    """What acceptance reads from a request besides its body."""

    path: str
    content_type: str = ""
    content_length: str | None = None
    content_encoding: str = ""
    authorization: str = ""
    compression: str = ""


@dataclass(slots=True)
class Answer:
    """The response to send once `entry` (when there is one) is durably in the inbox."""

    status: int
    body: dict[str, Any]
    entry: InboxEntry | None


def inbox_limit() -> int:
    """The back-pressure threshold (`TEND_INGEST_INBOX_MAX_MESSAGES`)."""
    return get_settings().ingest_inbox_max_messages


def check_capacity(depth_messages: int) -> None:
    """Refuse with 429 while the inbox holds more than the limit: the loader is behind."""
    if depth_messages > inbox_limit():
        raise Refused(
            429,
            "inbox_full",
            f"{depth_messages} events are waiting to be stored; retry later.",
        )


def decode_body(head: RequestHead, data: bytes, limit: int, compression: str = "") -> bytes:
    """The body (read up to `limit` + 1 bytes), decompressed as its Content-Encoding says and
    refused past `limit` bytes; decompression is capped, so a gzip bomb costs at most `limit`."""
    if head.content_type not in ACCEPTED_CONTENT_TYPES:
        raise Refused(415, "unsupported_media_type", f"Send JSON, not {head.content_type}.")
    too_large = Refused(413, "batch_too_large", f"The request body exceeds {limit} bytes.")
    declared = head.content_length
    if declared and declared.isdigit() and int(declared) > limit:
        raise too_large
    if len(data) > limit:
        raise too_large
    encoding = (head.content_encoding or compression).strip().lower()
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


def basic_auth_key(authorization: str) -> str:
    """The write key sent as the HTTP Basic user name (Segment's convention), or ''."""
    if authorization[:6].lower() != "basic ":
        return ""
    try:
        decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise Refused(401, "invalid_write_key", "The Authorization header is malformed.") from None
    return decoded.split(":", 1)[0]


def authenticated(key_text: Any, authenticate: Authenticate) -> AuthenticatedKey:
    """The active write key, or 401."""
    key = authenticate(key_text) if isinstance(key_text, str) else None
    if key is None:
        raise Refused(401, "invalid_write_key", "The write key is missing, unknown or revoked.")
    return key


class _BatchBody(msgspec.Struct):
    """A Segment batch, its messages kept as JSON for the fast validator."""

    batch: list[msgspec.Raw]
    writeKey: Any = None
    sentAt: Any = None
    context: Any = None


_BATCH = msgspec.json.Decoder(_BatchBody)


def _batch_body(data: bytes) -> _BatchBody:
    try:
        data.decode()  # msgspec leaves the bytes inside a message unchecked; orjson would not
        return _BATCH.decode(data)
    except (UnicodeDecodeError, msgspec.MsgspecError):
        body = parse_json(data)
    if not isinstance(body, dict) or not isinstance(body.get("batch"), list):
        raise Refused(400, "invalid_batch", "The body must be an object with a batch list.")
    return _BatchBody(
        batch=[msgspec.Raw(orjson.dumps(message)) for message in body["batch"]],
        writeKey=body.get("writeKey"),
        sentAt=body.get("sentAt"),
        context=body.get("context"),
    )


def segment_batch(head: RequestHead, data: bytes, authenticate: Authenticate) -> Answer:
    """POST /v1/batch (and /v1/import): many messages of any type."""
    header_key = basic_auth_key(head.authorization)
    key = authenticated(header_key, authenticate) if header_key else None
    body = _batch_body(decode_body(head, data, get_settings().ingest_max_batch_bytes))
    key = key or authenticated(body.writeKey, authenticate)
    context = body.context if isinstance(body.context, dict) else None
    checked, entry = _accept(key, "batch", body.batch, body.sentAt, None, context)
    return Answer(200, _batch_answer(checked), entry)


def segment_single(kind: str, head: RequestHead, data: bytes, auth: Authenticate) -> Answer:
    """POST /v1/<kind>: one message whose type is the endpoint's."""
    header_key = basic_auth_key(head.authorization)
    key = authenticated(header_key, auth) if header_key else None
    body = parse_json(decode_body(head, data, get_settings().ingest_max_batch_bytes))
    if not isinstance(body, dict):
        raise Refused(400, "invalid_message", "The body must be a JSON object.")
    key = key or authenticated(body.get("writeKey"), auth)
    return _single_answer(*_accept(key, kind, [body], None, kind, None))


def webhook(write_key: str, head: RequestHead, data: bytes, auth: Authenticate) -> Answer:
    """POST /v1/webhook/<write key>: one Segment-shaped message (type defaults to track)."""
    key = authenticated(write_key, auth)
    body = parse_json(decode_body(head, data, get_settings().ingest_max_batch_bytes))
    if not isinstance(body, dict):
        raise Refused(400, "invalid_message", "The body must be a JSON object.")
    kind = body.get("type") or "track"
    forced = kind if isinstance(kind, str) else None
    return _single_answer(*_accept(key, "webhook", [body], None, forced, None))


def posthog_capture(head: RequestHead, data: bytes, authenticate: Authenticate) -> Answer:
    """POST /batch/, /capture/, /e/: PostHog events, the key as `api_key` in the body."""
    limit = get_settings().ingest_max_batch_bytes
    body = parse_json(decode_body(head, data, limit, head.compression))
    events, key_text = posthog.events_of(body)
    key = authenticated(key_text, authenticate)
    received_at = timezone.now()
    raw = [posthog.to_segment(event, received_at) for event in events]
    sent_at = body.get("sent_at") if isinstance(body, dict) else None
    endpoint = "posthog:" + head.path.strip("/")
    checked, entry = _accept(key, endpoint, raw, sent_at, None, None, received_at, "sent_at")
    return Answer(200, {"status": 1, **_batch_answer(checked)}, entry)


def _accept(
    key: AuthenticatedKey,
    endpoint: str,
    raw_messages: list[Any],
    sent_at_value: Any,
    forced_type: str | None,
    batch_context: dict[str, Any] | None,
    received_at: datetime | None = None,
    sent_at_field: str = "sentAt",
) -> tuple[CheckedMessages, InboxEntry | None]:
    received_at = received_at or timezone.now()
    try:
        sent_at = parse_time(sent_at_value, sent_at_field) if not forced_type else None
    except InvalidMessage as error:
        raise Refused(400, error.code, error.reason) from None
    checked = check_messages(
        raw_messages,
        received_at,
        sent_at,
        get_settings().ingest_max_message_bytes,
        forced_type=forced_type,
        batch_context=batch_context,
    )
    count = len(checked.messages) + len(checked.rejections)
    if not count:
        return checked, None
    payload = encode_payload(checked.messages, checked.rejections)
    entry = InboxEntry(
        source_id=key.source_id,
        source_slug=key.source_slug,
        key_id=key.key_id,
        endpoint=endpoint[:40],
        received_at=received_at,
        message_count=count,
        payload=payload,
    )
    return checked, entry


def _batch_answer(checked: CheckedMessages) -> dict[str, Any]:
    return {
        "success": True,
        "accepted": len(checked.messages),
        "duplicates": checked.repeats,
        "rejected": [
            {"messageId": rejection.message_id, "code": rejection.code, "message": rejection.reason}
            for rejection in checked.rejections
        ],
    }


def _single_answer(checked: CheckedMessages, entry: InboxEntry | None) -> Answer:
    if checked.rejections:
        rejection = checked.rejections[0]
        status = SINGLE_MESSAGE_STATUS.get(rejection.code, 400)
        return Answer(status, {"code": rejection.code, "message": rejection.reason}, entry)
    return Answer(200, _batch_answer(checked), entry)

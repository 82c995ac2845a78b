"""The Segment message spec: turn decoded JSON messages into validated `Message`s or rejections.

Plain Python on purpose: this runs for every event on the ingestion hot path.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

MESSAGE_TYPES = frozenset({"track", "identify", "group", "page", "screen", "alias"})
PRODUCT_TYPES = frozenset({"track", "page", "screen"})
MAX_ID_LENGTH = 120
MAX_NAME_LENGTH = 200
MAX_REJECTED_PAYLOAD_CHARS = 8 * 1024


@dataclass(slots=True)
class Message:
    """One valid message, with its timestamp corrected for client clock skew."""

    type: str
    message_id: str
    name: str
    user_id: str
    anonymous_id: str
    timestamp: datetime
    properties: dict[str, Any]
    context: dict[str, Any]
    traits: dict[str, Any] = field(default_factory=dict)
    group_id: str = ""
    previous_id: str = ""
    account_id: int | None = None
    fill_traits_only: bool = False


@dataclass(slots=True)
class Rejection:
    """A message refused with a machine-readable code and a human-readable reason."""

    message_id: str
    code: str
    reason: str
    payload: str


class InvalidMessage(ValueError):
    """Raised while validating one message; becomes a `Rejection`."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


def parse_time(value: Any, what: str) -> datetime | None:
    """An ISO-8601 string as an aware UTC datetime (naive times are UTC); None when absent."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidMessage("invalid_timestamp", f"{what} must be an ISO-8601 string.")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidMessage("invalid_timestamp", f"{what} is not an ISO-8601 time.") from None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def payload_text(message: Any) -> str:
    """The message as JSON text, cut to a size that is safe to keep for inspection."""
    try:
        text = orjson.dumps(message).decode()
    except TypeError:
        text = repr(message)
    return text[:MAX_REJECTED_PAYLOAD_CHARS]


def validate_messages(
    raw_messages: list[Any],
    received_at: datetime,
    sent_at: datetime | None,
    max_message_bytes: int,
    forced_type: str | None = None,
    batch_context: dict[str, Any] | None = None,
) -> tuple[list[Message], list[Rejection]]:
    """Split raw messages into valid ones and rejections; duplicates within the batch are kept
    once (first wins)."""
    messages: list[Message] = []
    rejections: list[Rejection] = []
    seen: set[str] = set()
    for raw in raw_messages:
        try:
            message = _validate(
                raw, received_at, sent_at, max_message_bytes, forced_type, batch_context
            )
        except InvalidMessage as error:
            message_id = raw.get("messageId") if isinstance(raw, dict) else None
            rejections.append(
                Rejection(
                    message_id=str(message_id)[:MAX_ID_LENGTH] if message_id is not None else "",
                    code=error.code,
                    reason=error.reason,
                    payload=payload_text(raw),
                )
            )
            continue
        if message.message_id not in seen:
            seen.add(message.message_id)
            messages.append(message)
    return messages, rejections


def _validate(
    raw: Any,
    received_at: datetime,
    sent_at: datetime | None,
    max_message_bytes: int,
    forced_type: str | None,
    batch_context: dict[str, Any] | None,
) -> Message:
    if not isinstance(raw, dict):
        raise InvalidMessage("invalid_message", "A message must be a JSON object.")
    encoded = orjson.dumps(raw)
    if len(encoded) > max_message_bytes:
        raise InvalidMessage(
            "message_too_large",
            f"The message is {len(encoded)} bytes; the limit is {max_message_bytes} bytes.",
        )
    kind = forced_type or raw.get("type")
    if kind not in MESSAGE_TYPES:
        raise InvalidMessage("invalid_type", f"Unknown message type {kind!r}.")
    user_id = _identifier(raw.get("userId"), "userId")
    anonymous_id = _identifier(raw.get("anonymousId"), "anonymousId")
    if kind == "alias":
        previous_id = _identifier(raw.get("previousId"), "previousId")
        if not previous_id or not user_id:
            raise InvalidMessage("missing_id", "An alias needs previousId and userId.")
    else:
        previous_id = ""
        if not user_id and not anonymous_id:
            raise InvalidMessage("missing_id", "A message needs a userId or an anonymousId.")
    context = _object(raw.get("context"), "context")
    if batch_context:
        context = {**batch_context, **context}
    message_id = _identifier(raw.get("messageId"), "messageId")
    if not message_id:
        message_id = "tend-" + hashlib.sha256(encoded).hexdigest()[:40]
    message = Message(
        type=kind,
        message_id=message_id,
        name="",
        user_id=user_id,
        anonymous_id=anonymous_id,
        timestamp=_corrected_timestamp(raw, received_at, sent_at),
        properties={},
        context=context,
        previous_id=previous_id,
    )
    if kind == "track":
        event = raw.get("event")
        if not isinstance(event, str) or not event.strip():
            raise InvalidMessage("missing_event", "A track message needs an event name.")
        message.name = _name(event)
        message.properties = _object(raw.get("properties"), "properties")
    elif kind in ("page", "screen"):
        message.properties = _object(raw.get("properties"), "properties")
        name = raw.get("name") or message.properties.get("name") or ""
        message.name = _name(name if isinstance(name, str) else str(name))
    elif kind == "identify":
        message.traits = _object(raw.get("traits"), "traits") or _object(
            context.get("traits"), "context.traits"
        )
        message.properties = message.traits
        message.fill_traits_only = raw.get("fillTraitsOnly") is True
    elif kind == "group":
        message.group_id = _identifier(raw.get("groupId"), "groupId")
        if not message.group_id:
            raise InvalidMessage("missing_id", "A group message needs a groupId.")
        message.traits = _object(raw.get("traits"), "traits")
        message.properties = message.traits
    else:
        message.properties = {"previousId": previous_id}
    if kind in PRODUCT_TYPES:
        message.group_id = _identifier(context.get("groupId"), "context.groupId")
    return message


def _corrected_timestamp(
    raw: dict[str, Any], received_at: datetime, sent_at: datetime | None
) -> datetime:
    """Segment's rule: the device time plus (receivedAt - sentAt); receivedAt when absent."""
    device_time = parse_time(raw.get("timestamp"), "timestamp") or parse_time(
        raw.get("originalTimestamp"), "originalTimestamp"
    )
    if device_time is None:
        return received_at
    message_sent_at = parse_time(raw.get("sentAt"), "sentAt") or sent_at
    if message_sent_at is None:
        return device_time
    return device_time + (received_at - message_sent_at)


def _identifier(value: Any, what: str) -> str:
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise InvalidMessage("invalid_id", f"{what} must be a string or a number.")
    text = value if isinstance(value, str) else str(value)
    if len(text) > MAX_ID_LENGTH:
        raise InvalidMessage("invalid_id", f"{what} is longer than {MAX_ID_LENGTH} characters.")
    return text


def _object(value: Any, what: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidMessage("invalid_field", f"{what} must be a JSON object.")
    return value


def _name(value: str) -> str:
    if len(value) > MAX_NAME_LENGTH:
        raise InvalidMessage(
            "invalid_name", f"The event name is longer than {MAX_NAME_LENGTH} characters."
        )
    return value

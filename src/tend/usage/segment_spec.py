"""The Segment message spec: turn JSON messages into validated `Message`s or rejections.

This is the reference validator, over decoded dicts. `fast_spec` validates the common valid
message straight from its JSON bytes and defers to this module for anything else, so the rules,
codes and reasons live here once.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import msgspec
import orjson

MESSAGE_TYPES = frozenset({"track", "identify", "group", "page", "screen", "alias"})
PRODUCT_TYPES = frozenset({"track", "page", "screen"})
MAX_ID_LENGTH = 120
MAX_NAME_LENGTH = 200
MAX_REJECTED_PAYLOAD_CHARS = 8 * 1024
NUL_ESCAPE = b"\\u0000"
"""PostgreSQL cannot store NUL in text or jsonb; such messages are refused on every database."""


class Message(msgspec.Struct, array_like=True):
    """One valid message, with its timestamp corrected for client clock skew.

    A struct rather than a dataclass so that the inbox stores accepted messages in this very
    shape and the loader decodes them in one call, without validating again (see `inbox.py`;
    changing the fields changes the inbox format, whose version is checked there).
    """

    type: str
    message_id: str
    name: str
    user_id: str
    anonymous_id: str
    timestamp: datetime
    properties: dict[str, Any]
    context: dict[str, Any]
    traits: dict[str, Any] = msgspec.field(default_factory=dict)
    group_id: str = ""
    previous_id: str = ""
    account_id: int | None = None
    fill_traits_only: bool = False
    properties_json: str | None = None
    """When set, the stored JSON text of `properties` (the fast path keeps the text as sent
    instead of decoding and re-encoding it); `properties` is then left empty."""
    context_json: str | None = None
    """Likewise for `context`."""

    def as_stored(self) -> Message:
        """This message with `properties` and `context` as JSON text only (what the inbox
        keeps: the loader inserts the text as it is)."""
        if self.properties_json is None:
            self.properties_json = orjson.dumps(self.properties).decode()
            self.properties = {}
        if self.context_json is None:
            self.context_json = orjson.dumps(self.context).decode()
            self.context = {}
        return self


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
    except (ValueError, OverflowError):
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


@dataclass(slots=True)
class CheckedMessages:
    """A request's messages split into valid ones and rejections; `repeats` counts messages
    whose id came earlier in the same list."""

    messages: list[Message] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    repeats: int = 0


def check_messages(
    raw_messages: list[Any],
    received_at: datetime,
    sent_at: datetime | None,
    max_message_bytes: int,
    forced_type: str | None = None,
    batch_context: dict[str, Any] | None = None,
) -> CheckedMessages:
    """Validate raw messages, each either JSON bytes (`msgspec.Raw`, the fast path) or a
    decoded value; duplicates within the list are kept once (first wins)."""
    from tend.usage.fast_spec import fast_message

    checked = CheckedMessages()
    seen: set[str] = set()
    for raw in raw_messages:
        source: bytes | None = None
        try:
            if isinstance(raw, msgspec.Raw):
                message = fast_message(
                    raw, received_at, sent_at, max_message_bytes, forced_type, batch_context
                )
                if message is None:
                    source = bytes(raw)
                    decoded = orjson.loads(source)
                    message = validate_message(
                        decoded, len(source), received_at, sent_at, max_message_bytes,
                        forced_type, batch_context,
                    )  # fmt: skip
            else:
                source = _encoded(raw)
                message = validate_message(
                    raw, len(source), received_at, sent_at, max_message_bytes,
                    forced_type, batch_context,
                )  # fmt: skip
        except InvalidMessage as error:
            checked.rejections.append(_rejection(raw if source is None else source, error))
            continue
        if message.message_id in seen:
            checked.repeats += 1
            continue
        seen.add(message.message_id)
        checked.messages.append(message)
    return checked


def validate_messages(
    raw_messages: list[Any],
    received_at: datetime,
    sent_at: datetime | None,
    max_message_bytes: int,
    forced_type: str | None = None,
    batch_context: dict[str, Any] | None = None,
) -> tuple[list[Message], list[Rejection]]:
    """Split raw messages into valid ones and rejections (see `check_messages`)."""
    checked = check_messages(
        raw_messages, received_at, sent_at, max_message_bytes, forced_type, batch_context
    )
    return checked.messages, checked.rejections


def _encoded(raw: Any) -> bytes:
    try:
        return orjson.dumps(raw)
    except TypeError:
        return repr(raw).encode()


def _rejection(raw: Any, error: InvalidMessage) -> Rejection:
    if isinstance(raw, bytes):
        try:
            raw = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raw = raw.decode(errors="replace")
    message_id = raw.get("messageId") if isinstance(raw, dict) else None
    return Rejection(
        message_id=str(message_id)[:MAX_ID_LENGTH] if message_id is not None else "",
        code=error.code,
        reason=error.reason,
        payload=payload_text(raw),
    )


def validate_message(
    raw: Any,
    size: int,
    received_at: datetime,
    sent_at: datetime | None,
    max_message_bytes: int,
    forced_type: str | None,
    batch_context: dict[str, Any] | None,
) -> Message:
    """The reference rules for one decoded message whose JSON is `size` bytes long."""
    if not isinstance(raw, dict):
        raise InvalidMessage("invalid_message", "A message must be a JSON object.")
    if size > max_message_bytes:
        raise InvalidMessage(
            "message_too_large",
            f"The message is {size} bytes; the limit is {max_message_bytes} bytes.",
        )
    kind = forced_type or raw.get("type")
    if not isinstance(kind, str) or kind not in MESSAGE_TYPES:
        raise InvalidMessage("invalid_type", f"Unknown message type {kind!r}.")
    encoded = orjson.dumps(raw)
    if NUL_ESCAPE in encoded:
        raise InvalidMessage("invalid_field", "The message contains a NUL character (\\u0000).")
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
    try:
        return device_time + (received_at - message_sent_at)
    except OverflowError:
        raise InvalidMessage("invalid_timestamp", "timestamp is out of range.") from None


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

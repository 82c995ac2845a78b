"""The fast path of the Segment message spec: a valid message read straight from its JSON bytes
with msgspec, its properties and context kept as the text that was sent.

It accepts only what `segment_spec.validate_message` accepts and builds the same `Message`;
anything unusual (an invalid or unusual field, a message without messageId, a batch context to
merge) returns None so that the reference validator decides, with its own codes and reasons.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
import orjson

from tend.usage.segment_spec import (
    MAX_ID_LENGTH,
    MAX_NAME_LENGTH,
    MESSAGE_TYPES,
    NUL_ESCAPE,
    PRODUCT_TYPES,
    InvalidMessage,
    Message,
    parse_time,
)

ABSENT = msgspec.Raw()
NULL = b"null"
EMPTY_OBJECT = "{}"


class _MessageShape(msgspec.Struct):
    """The fields the rules look at; everything else stays inside the JSON text."""

    type: Any = None
    messageId: Any = None
    userId: Any = None
    anonymousId: Any = None
    previousId: Any = None
    groupId: Any = None
    event: Any = None
    name: Any = None
    timestamp: Any = None
    originalTimestamp: Any = None
    sentAt: Any = None
    fillTraitsOnly: Any = None
    properties: msgspec.Raw = ABSENT
    context: msgspec.Raw = ABSENT
    traits: msgspec.Raw = ABSENT


class _ContextShape(msgspec.Struct):
    groupId: Any = None
    traits: msgspec.Raw = ABSENT


class _NamedShape(msgspec.Struct):
    name: Any = None


_MESSAGE = msgspec.json.Decoder(_MessageShape)
_CONTEXT = msgspec.json.Decoder(_ContextShape)
_NAMED = msgspec.json.Decoder(_NamedShape)


class _Unusual(Exception):
    """Not the common valid message: let the reference validator decide."""


def fast_message(
    raw: msgspec.Raw,
    received_at: datetime,
    sent_at: datetime | None,
    max_message_bytes: int,
    forced_type: str | None,
    batch_context: dict[str, Any] | None,
) -> Message | None:
    """The valid message in `raw`, or None when the reference validator must decide."""
    if batch_context or len(raw) > max_message_bytes:
        return None
    try:
        return _read(raw, received_at, sent_at, forced_type)
    except (_Unusual, InvalidMessage, msgspec.MsgspecError, orjson.JSONDecodeError):
        return None


def _read(
    raw: msgspec.Raw, received_at: datetime, sent_at: datetime | None, forced_type: str | None
) -> Message:
    text = bytes(raw)
    if NUL_ESCAPE in text:
        raise _Unusual
    shape = _MESSAGE.decode(text)
    kind = forced_type or shape.type
    if not isinstance(kind, str) or kind not in MESSAGE_TYPES:
        raise _Unusual
    message_id = _identifier(shape.messageId)
    if not message_id:
        raise _Unusual
    user_id = _identifier(shape.userId)
    anonymous_id = _identifier(shape.anonymousId)
    previous_id = ""
    if kind == "alias":
        previous_id = _identifier(shape.previousId)
        if not previous_id or not user_id:
            raise _Unusual
    elif not user_id and not anonymous_id:
        raise _Unusual
    context_text = _object_text(shape.context)
    message = Message(
        type=kind,
        message_id=message_id,
        name="",
        user_id=user_id,
        anonymous_id=anonymous_id,
        timestamp=_timestamp(shape, received_at, sent_at),
        properties={},
        context={},
        previous_id=previous_id,
        context_json=context_text,
    )
    if kind in PRODUCT_TYPES:
        properties_text = _object_text(shape.properties)
        message.properties_json = properties_text
        message.name = _product_name(kind, shape, properties_text)
        if "groupId" in context_text or "\\" in context_text:  # (an escaped key)
            message.group_id = _identifier(_CONTEXT.decode(context_text).groupId)
    elif kind == "identify":
        traits = _object_value(shape.traits) or _object_value(_CONTEXT.decode(context_text).traits)
        message.traits = message.properties = traits
        message.fill_traits_only = shape.fillTraitsOnly is True
    elif kind == "group":
        message.group_id = _identifier(shape.groupId)
        if not message.group_id:
            raise _Unusual
        message.traits = message.properties = _object_value(shape.traits)
    else:
        message.properties = {"previousId": previous_id}
    return message


def _product_name(kind: str, shape: _MessageShape, properties_text: str) -> str:
    if kind == "track":
        event = shape.event
        if not isinstance(event, str) or not event.strip():
            raise _Unusual
        name: Any = event
    else:
        name = shape.name or _NAMED.decode(properties_text).name or ""
        if not isinstance(name, str):
            name = str(name)
    if len(name) > MAX_NAME_LENGTH:
        raise _Unusual
    return str(name)


def _timestamp(shape: _MessageShape, received_at: datetime, sent_at: datetime | None) -> datetime:
    """Segment's skew correction, as `segment_spec._corrected_timestamp` does it."""
    device_time = parse_time(shape.timestamp, "timestamp") or parse_time(
        shape.originalTimestamp, "originalTimestamp"
    )
    if device_time is None:
        return received_at
    message_sent_at = parse_time(shape.sentAt, "sentAt") or sent_at
    if message_sent_at is None:
        return device_time
    try:
        return device_time + (received_at - message_sent_at)
    except OverflowError:
        raise _Unusual from None


def _identifier(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        text = value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        text = str(value)
    else:
        raise _Unusual
    if len(text) > MAX_ID_LENGTH:
        raise _Unusual
    return text


def _object_text(value: msgspec.Raw) -> str:
    """The JSON text of an object field as sent; `{}` when absent or null."""
    if not value:
        return EMPTY_OBJECT
    text = bytes(value)
    if text == NULL:
        return EMPTY_OBJECT
    if text[:1] != b"{":
        raise _Unusual
    return text.decode()


def _object_value(value: msgspec.Raw) -> dict[str, Any]:
    decoded = orjson.loads(_object_text(value))
    if not isinstance(decoded, dict):
        raise _Unusual
    return decoded

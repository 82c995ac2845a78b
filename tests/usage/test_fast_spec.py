"""The fast validator accepts exactly what the reference validator accepts and builds the same
message; whatever it does not accept, the reference decides (same code and reason)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec
import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from tend.usage.segment_spec import InvalidMessage, check_messages, validate_message

RECEIVED = datetime(2026, 3, 1, 10, 30, tzinfo=UTC)
SENT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
LIMIT = 2_000

ids = st.sampled_from([None, "", "u1", "anon-1", 42, 1.5, True, "x" * 121, ["a"], {"a": 1}])
times = st.sampled_from(
    [None, "", "2026-03-01T11:55:00Z", "2026-03-01", "yesterday", 5, "0001-01-01T00:00:00Z"]
)
objects = st.sampled_from(
    [None, {}, {"name": "Pricing", "n": 1}, {"groupId": "acme"}, {"traits": {"a": 1}}, [], "x", 3]
)
names = st.sampled_from([None, "", "  ", "Report Viewed", "x" * 201, 7, "Pricing"])
kinds = st.sampled_from(["track", "identify", "group", "page", "screen", "alias", "buy", None, 1])


@st.composite
def messages(draw: st.DrawFn) -> dict[str, Any]:
    fields = {
        "type": kinds,
        "messageId": st.sampled_from([None, "", "m1", 7, "x" * 121]),
        "userId": ids,
        "anonymousId": ids,
        "previousId": ids,
        "groupId": ids,
        "event": names,
        "name": names,
        "timestamp": times,
        "originalTimestamp": times,
        "sentAt": times,
        "properties": objects,
        "context": objects,
        "traits": objects,
        "fillTraitsOnly": st.sampled_from([None, True, "yes"]),
        "extra": st.text(max_size=3),
    }
    kind = draw(st.sampled_from(["track", "identify", "group", "page", "screen", "alias"]))
    message: dict[str, Any] = {"type": kind, "messageId": "m1", "userId": "u1"}
    message.update(
        {
            "track": {"event": "Report Viewed", "properties": {"n": 1}},
            "page": {"name": "Pricing"},
            "screen": {"properties": {"name": "Home"}},
            "identify": {"traits": {"email": "a@b.c"}},
            "group": {"groupId": "acme", "traits": {"name": "Acme"}},
            "alias": {"previousId": "anon-1"},
        }[kind]
    )
    message["context"] = {"groupId": "acme", "ip": "203.0.113.7"}
    changed = draw(st.lists(st.sampled_from(sorted(fields)), unique=True, max_size=3))
    for name in changed:
        value = draw(fields[name])
        if value is None and draw(st.booleans()):
            message.pop(name, None)
        else:
            message[name] = value
    if draw(st.booleans()):
        message["padding"] = "p" * draw(st.integers(0, LIMIT))
    return message


def _reference(message: dict[str, Any], forced: str | None) -> Any:
    encoded = orjson.dumps(message)
    try:
        return validate_message(message, len(encoded), RECEIVED, SENT, LIMIT, forced, None)
    except InvalidMessage as error:
        return (error.code, error.reason)


def _comparable(message: Any) -> Any:
    """A message as stored: the JSON texts decoded, so text as sent equals re-encoded text."""
    if isinstance(message, tuple):
        return message
    fields = {name: getattr(message, name) for name in message.__slots__}
    fields["properties"] = orjson.loads(fields.pop("properties_json") or "null") or (
        message.properties
    )
    fields["context"] = orjson.loads(fields.pop("context_json") or "null") or message.context
    return fields


@settings(max_examples=400, deadline=None)
@given(messages(), st.sampled_from([None, None, "track", "page"]))
def test_fast_path_agrees_with_the_reference(message: dict[str, Any], forced: str | None) -> None:
    raw = msgspec.Raw(orjson.dumps(message))
    checked = check_messages([raw], RECEIVED, SENT, LIMIT, forced_type=forced)
    if checked.messages:
        fast: Any = checked.messages[0]
    else:
        rejection = checked.rejections[0]
        fast = (rejection.code, rejection.reason)
    assert _comparable(fast) == _comparable(_reference(message, forced))

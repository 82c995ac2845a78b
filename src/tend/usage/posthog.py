"""The PostHog capture format, mapped onto Segment messages so one validator and one write path
serve both: `distinct_id` is the user id, `$identify`/`$set` identify, `$groupidentify` group,
`$create_alias` alias, `$pageview`/`$screen` page/screen, anything else track."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

MESSAGE_TYPE = {
    "$identify": "identify",
    "$set": "identify",
    "$set_once": "identify",
    "$groupidentify": "group",
    "$create_alias": "alias",
    "$pageview": "page",
    "$screen": "screen",
}


def events_of(body: Any) -> tuple[list[Any], str]:
    """The events of a capture request (a batch, a list or one event) and its API key."""
    if isinstance(body, list):
        events, key = body, ""
    elif isinstance(body, dict) and isinstance(body.get("batch"), list):
        events, key = body["batch"], str(body.get("api_key") or body.get("token") or "")
    elif isinstance(body, dict):
        events, key = [body], str(body.get("api_key") or body.get("token") or "")
    else:
        return [], ""
    if not key:
        for event in events:
            if isinstance(event, dict):
                properties = event.get("properties")
                token = event.get("api_key") or (
                    properties.get("token") if isinstance(properties, dict) else None
                )
                if token:
                    key = str(token)
                    break
    return events, key


def to_segment(event: Any, received_at: datetime) -> Any:
    """One PostHog event as a Segment-shaped message (left as is when it is not an object)."""
    if not isinstance(event, dict):
        return event
    name = event.get("event")
    properties = event.get("properties")
    properties = dict(properties) if isinstance(properties, dict) else {}
    distinct_id = event.get("distinct_id") or properties.pop("distinct_id", None)
    kind = MESSAGE_TYPE.get(name, "track") if isinstance(name, str) else "track"
    message: dict[str, Any] = {
        "type": kind,
        "messageId": event.get("uuid"),
        "userId": distinct_id,
        "timestamp": event.get("timestamp"),
        "context": {"library": _library(properties)},
    }
    if not message["timestamp"] and isinstance(event.get("offset"), int | float):
        message["timestamp"] = (received_at - timedelta(milliseconds=event["offset"])).isoformat()
    if kind == "identify":
        traits = properties.get("$set") or event.get("$set") or {}
        once = properties.get("$set_once") or event.get("$set_once") or {}
        if isinstance(traits, dict) and isinstance(once, dict):
            traits = {**once, **traits}
        message["traits"] = traits
        message["anonymousId"] = properties.get("$anon_distinct_id")
        message["fillTraitsOnly"] = name == "$set_once"
    elif kind == "group":
        message["groupId"] = properties.get("$group_key")
        message["traits"] = properties.get("$group_set") or {}
    elif kind == "alias":
        message["previousId"] = distinct_id
        message["userId"] = properties.get("alias")
    else:
        message["properties"] = properties
        if kind == "track":
            message["event"] = name
        elif kind == "page":
            message["name"] = properties.get("$pathname") or properties.get("$current_url") or ""
        else:
            message["name"] = properties.get("$screen_name") or ""
        groups = properties.get("$groups")
        if isinstance(groups, dict) and groups:
            message["context"]["groupId"] = next(iter(groups.values()))
    return message


def _library(properties: dict[str, Any]) -> dict[str, Any]:
    return {"name": properties.get("$lib", "posthog"), "version": properties.get("$lib_version")}

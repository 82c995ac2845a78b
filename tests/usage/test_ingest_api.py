"""The Segment-spec event API over HTTP: acceptance, per-message rejection, limits, errors."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import orjson
import pytest
from django.test import Client

from tend.config.settings import get_settings
from tend.usage.keys import revoke_write_key
from tend.usage.loader import drain_inbox
from tend.usage.models import Event, RejectedMessage, Source
from tests.usage.ingest_support import basic_auth, post_json, source_key, track

__all__ = ["source_key"]

pytestmark = pytest.mark.django_db


def test_batch_lands_once_even_when_sent_twice(
    client: Client, source_key: tuple[Source, str]
) -> None:
    source, key = source_key
    body = {"batch": [track("m1"), track("m2", event="Signed Up")], "sentAt": None}

    first = post_json(client, "/v1/batch", body, key)
    again = post_json(client, "/v1/batch", body, key)

    assert first.status_code == 200, first.content
    assert first.json() == {"success": True, "accepted": 2, "duplicates": 0, "rejected": []}
    assert again.json() == first.json()  # acknowledged; the repeat is absorbed when loaded
    report = drain_inbox()
    assert (report.rows, report.events, report.duplicates) == (2, 2, 2)
    events = Event.objects.filter(source=source.slug).order_by("message_id")
    assert [(e.message_id, e.name, e.user_id) for e in events] == [
        ("m1", "Report Viewed", "user-1"),
        ("m2", "Signed Up", "user-1"),
    ]
    assert events[0].properties == {"report": "mrr"}


def test_write_key_in_body_and_gzip_body(client: Client, source_key: tuple[Source, str]) -> None:
    _, key = source_key
    body = {"batch": [track("g1")], "writeKey": key}

    response = post_json(client, "/v1/batch", body, compress=True)

    assert response.status_code == 200, response.content
    drain_inbox()
    assert Event.objects.filter(message_id="g1").count() == 1


def test_mixed_batch_keeps_valid_messages_and_lists_rejections(
    client: Client, source_key: tuple[Source, str]
) -> None:
    source, key = source_key
    batch = [
        track("ok-1"),
        {**track("bad-type"), "type": "purchase"},
        {**track("no-id"), "userId": None},
        {**track("no-event"), "event": ""},
        {"type": "group", "messageId": "no-group", "userId": "u"},
        {"type": "alias", "messageId": "no-previous", "userId": "u"},
        {**track("bad-time"), "timestamp": "yesterday"},
        {**track("too-big"), "properties": {"blob": "x" * get_settings().ingest_max_message_bytes}},
        track("ok-2"),
    ]

    response = post_json(client, "/v1/batch", {"batch": batch}, key)

    assert response.status_code == 200
    rejected = {item["messageId"]: item["code"] for item in response.json()["rejected"]}
    assert rejected == {
        "bad-type": "invalid_type",
        "no-id": "missing_id",
        "no-event": "missing_event",
        "no-group": "missing_id",
        "no-previous": "missing_id",
        "bad-time": "invalid_timestamp",
        "too-big": "message_too_large",
    }
    assert response.json()["accepted"] == 2
    assert not RejectedMessage.objects.exists()  # kept once loaded, with the events
    drain_inbox()
    assert set(Event.objects.values_list("message_id", flat=True)) == {"ok-1", "ok-2"}
    stored = RejectedMessage.objects.get(message_id="bad-type")
    assert stored.source == source
    assert stored.endpoint == "batch"
    assert orjson.loads(stored.payload)["type"] == "purchase"
    too_big = RejectedMessage.objects.get(message_id="too-big")
    assert len(too_big.payload) <= 8 * 1024


def test_single_message_endpoints_take_their_type(
    client: Client, source_key: tuple[Source, str]
) -> None:
    _, key = source_key
    page = {"messageId": "p1", "anonymousId": "anon-1", "name": "Pricing"}
    assert post_json(client, "/v1/page", page, key).status_code == 200
    screen = {"messageId": "s1", "userId": "u1", "name": "Home", "writeKey": key}
    assert post_json(client, "/v1/screen", screen).status_code == 200
    invalid = post_json(client, "/v1/track", {"messageId": "t1", "userId": "u1"}, key)

    assert invalid.status_code == 400
    assert invalid.json()["code"] == "missing_event"
    drain_inbox()
    assert dict(Event.objects.values_list("message_id", "type")) == {"p1": "page", "s1": "screen"}
    assert Event.objects.get(message_id="p1").name == "Pricing"


def test_revoked_and_unknown_keys_are_refused(
    client: Client, source_key: tuple[Source, str]
) -> None:
    _, key = source_key
    assert post_json(client, "/v1/batch", {"batch": [track("a")]}, key).status_code == 200
    revoke_write_key(key[:12])

    revoked = post_json(client, "/v1/batch", {"batch": [track("b")]}, key)
    unknown = post_json(client, "/v1/batch", {"batch": [track("c")]}, "wk_nope")
    missing = post_json(client, "/v1/batch", {"batch": [track("d")]})

    for response in (revoked, unknown, missing):
        assert response.status_code == 401
        assert response.json()["code"] == "invalid_write_key"
    drain_inbox()
    assert list(Event.objects.values_list("message_id", flat=True)) == ["a"]


def test_body_limit_applies_before_and_after_gunzip(
    client: Client, source_key: tuple[Source, str]
) -> None:
    _, key = source_key
    limit = get_settings().ingest_max_batch_bytes
    filler = [track(f"m{n}", properties={"pad": "x" * 1000}) for n in range(limit // 1000 + 10)]

    plain = post_json(client, "/v1/batch", {"batch": filler}, key)
    zipped = post_json(client, "/v1/batch", {"batch": filler}, key, compress=True)

    for response in (plain, zipped):
        assert response.status_code == 413
        assert response.json()["code"] == "batch_too_large"
        assert str(limit) in response.json()["message"]
    assert not Event.objects.exists()


def test_gzip_bomb_is_refused_without_inflating_it(
    client: Client, source_key: tuple[Source, str]
) -> None:
    _, key = source_key
    bomb = gzip.compress(b'{"batch": [' + b" " * (200 * 1024 * 1024) + b"]}", compresslevel=9)
    assert len(bomb) < 300 * 1024

    response = client.post(
        "/v1/batch",
        data=bomb,
        content_type="application/json",
        HTTP_CONTENT_ENCODING="gzip",
        HTTP_AUTHORIZATION=basic_auth(key),
    )

    assert response.status_code == 413
    assert response.json()["code"] == "batch_too_large"


def test_single_message_over_the_message_limit_is_413(
    client: Client, source_key: tuple[Source, str]
) -> None:
    _, key = source_key
    message = track("big", properties={"blob": "x" * get_settings().ingest_max_message_bytes})

    response = post_json(client, "/v1/track", message, key)

    assert response.status_code == 413
    assert response.json()["code"] == "message_too_large"
    drain_inbox()
    assert RejectedMessage.objects.filter(message_id="big").exists()


@pytest.mark.parametrize(
    ("data", "headers", "status", "code"),
    [
        (b"{not json", {}, 400, "invalid_json"),
        (b'{"batch": {}}', {}, 400, "invalid_batch"),
        (b"\x1f\x8b garbage", {"HTTP_CONTENT_ENCODING": "gzip"}, 400, "invalid_body"),
        (b"{}", {"HTTP_CONTENT_ENCODING": "br"}, 415, "unsupported_encoding"),
    ],
)
def test_malformed_requests_get_json_errors(
    client: Client,
    source_key: tuple[Source, str],
    data: bytes,
    headers: dict[str, str],
    status: int,
    code: str,
) -> None:
    _, key = source_key
    response = client.post(
        "/v1/batch",
        data=data,
        content_type="application/json",
        HTTP_AUTHORIZATION=basic_auth(key),
        **headers,
    )
    assert response.status_code == status
    assert response.json()["code"] == code


def test_form_posts_and_gets_are_refused(client: Client, source_key: tuple[Source, str]) -> None:
    _, key = source_key
    form = client.post("/v1/batch", {"batch": "x"}, HTTP_AUTHORIZATION=basic_auth(key))
    get = client.get("/v1/batch")
    assert (form.status_code, form.json()["code"]) == (415, "unsupported_media_type")
    assert (get.status_code, get.json()["code"]) == (405, "method_not_allowed")


def test_timestamps_are_corrected_for_client_clock_skew(
    client: Client, source_key: tuple[Source, str]
) -> None:
    """The device clock is 1 h 30 min fast: sentAt says 12:00 when the server receives at
    10:30 (frozen below), so an event stamped 11:55 on the device happened at 10:25."""
    _, key = source_key
    batch = {
        "sentAt": "2026-03-01T12:00:00Z",
        "batch": [
            track("skewed", timestamp="2026-03-01T11:55:00Z"),
            track("original", timestamp=None, originalTimestamp="2026-03-01T11:59:00+00:00"),
            track("own-sent-at", timestamp="2026-03-01T11:55:00Z", sentAt="2026-03-01T11:00:00Z"),
            track("no-time", timestamp=None),
            track("late", timestamp="2026-02-01T12:00:00Z"),
        ],
    }
    received = datetime(2026, 3, 1, 10, 30, tzinfo=UTC)

    with _frozen_now(received):
        assert post_json(client, "/v1/batch", batch, key).status_code == 200
    drain_inbox()

    stamps = dict(Event.objects.values_list("message_id", "timestamp"))
    assert stamps["skewed"] == datetime(2026, 3, 1, 10, 25, tzinfo=UTC)
    assert stamps["original"] == datetime(2026, 3, 1, 10, 29, tzinfo=UTC)
    assert stamps["own-sent-at"] == datetime(2026, 3, 1, 11, 25, tzinfo=UTC)
    assert stamps["no-time"] == received
    assert stamps["late"] == datetime(2026, 2, 1, 10, 30, tzinfo=UTC)
    assert set(Event.objects.values_list("received_at", flat=True)) == {received}


def test_webhook_takes_one_message_with_the_key_in_the_path(
    client: Client, source_key: tuple[Source, str]
) -> None:
    source, key = source_key
    message = {"event": "Invoice Paid", "userId": "u9", "messageId": "w1"}

    response = post_json(client, f"/v1/webhook/{key}", message)
    refused = post_json(client, "/v1/webhook/wk_wrong", message)

    assert response.status_code == 200, response.content
    assert refused.status_code == 401
    drain_inbox()
    event = Event.objects.get(message_id="w1")
    assert (event.source, event.type, event.name) == (source.slug, "track", "Invoice Paid")


def test_message_without_message_id_gets_a_stable_one(
    client: Client, source_key: tuple[Source, str]
) -> None:
    _, key = source_key
    message = {"type": "track", "userId": "u1", "event": "Clicked", "timestamp": "2026-03-01"}
    for _ in range(2):
        assert post_json(client, "/v1/batch", {"batch": [message]}, key).status_code == 200
    assert drain_inbox().duplicates == 1
    assert Event.objects.get().message_id.startswith("tend-")


@contextmanager
def _frozen_now(moment: datetime) -> Iterator[None]:
    """Pin django.utils.timezone.now for the views (the edge of the outside world: the clock)."""
    from django.utils import timezone

    original = timezone.now
    timezone.now = lambda: moment
    try:
        yield
    finally:
        timezone.now = original

"""The official Segment, RudderStack and PostHog Python clients, unchanged, against a live
server: everything sent lands exactly once."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from posthog import Posthog
from pytest_django.live_server_helper import LiveServer
from rudderstack.analytics import Client as RudderClient
from segment.analytics import Client as SegmentClient

from tend.customers.models import Account, Contact
from tend.usage.keys import create_source_with_key
from tend.usage.loader import drain_inbox
from tend.usage.models import Event, Source

pytestmark = pytest.mark.django_db(transaction=True)

WHEN = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _close_client_connections() -> Iterator[None]:
    """The SDKs keep module-level HTTP sessions alive; close them so no live-server thread is
    left waiting on a kept-alive connection when the test run exits."""
    yield
    import posthog.request
    import rudderstack.analytics.request
    import segment.analytics.request

    for module in (segment.analytics.request, rudderstack.analytics.request, posthog.request):
        module._session.close()


@pytest.fixture
def source_key(transactional_db: None) -> Iterator[tuple[Source, str]]:
    yield create_source_with_key("SDK app")


def _send_segment_style(client: SegmentClient | RudderClient, prefix: str) -> None:
    client.identify("user-1", {"email": "ada@x.io", "name": "Ada"}, message_id=f"{prefix}-i")
    client.group("user-1", "acme", {"name": "Acme"}, message_id=f"{prefix}-g")
    for n in range(5):
        client.track(
            "user-1",
            "Report Viewed",
            {"n": n, "nothing": None},
            timestamp=WHEN,
            message_id=f"{prefix}-t{n}",
        )
    client.page("user-1", name="Pricing", message_id=f"{prefix}-p")
    client.alias("anon-9", "user-1", message_id=f"{prefix}-a")


def _assert_landed_once(source: Source, prefix: str) -> None:
    drain_inbox()
    rows = list(
        Event.objects.filter(source=source.slug, message_id__startswith=prefix).values_list(
            "message_id", "type", "account__external_id"
        )
    )
    assert len(rows) == 9
    assert sorted(r[0] for r in rows) == sorted(
        [f"{prefix}-i", f"{prefix}-g", f"{prefix}-p", f"{prefix}-a"]
        + [f"{prefix}-t{n}" for n in range(5)]
    )
    assert {r[2] for r in rows if r[1] == "track"} == {"acme"}
    contact = Contact.objects.get(external_id="user-1")
    assert (contact.email, contact.account) == ("ada@x.io", Account.objects.get(external_id="acme"))
    track = Event.objects.get(message_id=f"{prefix}-t0")
    assert track.properties == {"n": 0, "nothing": None}
    assert abs((track.timestamp - WHEN).total_seconds()) < 5


@pytest.mark.parametrize("gzip", [False, True], ids=["plain", "gzip"])
def test_segment_client_in_sync_mode(
    live_server: LiveServer, source_key: tuple[Source, str], gzip: bool
) -> None:
    source, key = source_key
    client = SegmentClient(key, host=live_server.url, sync_mode=True, gzip=gzip)
    _send_segment_style(client, "seg")
    _send_segment_style(client, "seg")
    _assert_landed_once(source, "seg")


def test_segment_client_with_its_batching_thread(
    live_server: LiveServer, source_key: tuple[Source, str]
) -> None:
    source, key = source_key
    errors: list[Exception] = []
    client = SegmentClient(
        key, host=live_server.url, gzip=True, on_error=lambda error, _: errors.append(error)
    )
    for _ in range(2):
        _send_segment_style(client, "thr")
        client.flush()
    client.shutdown()
    assert errors == []
    _assert_landed_once(source, "thr")


def test_segment_client_with_revoked_key_gets_401(
    live_server: LiveServer, source_key: tuple[Source, str]
) -> None:
    from segment.analytics.request import APIError

    from tend.usage.keys import revoke_write_key

    _, key = source_key
    revoke_write_key(key)
    client = SegmentClient(key, host=live_server.url, sync_mode=True)
    with pytest.raises(APIError) as raised:
        client.track("user-1", "Report Viewed")
    assert (raised.value.status, raised.value.code) == (401, "invalid_write_key")


def test_rudderstack_client(live_server: LiveServer, source_key: tuple[Source, str]) -> None:
    source, key = source_key
    client = RudderClient(key, host=live_server.url, sync_mode=True, gzip=True)
    _send_segment_style(client, "rud")
    _send_segment_style(client, "rud")
    _assert_landed_once(source, "rud")


def test_posthog_client(live_server: LiveServer, source_key: tuple[Source, str]) -> None:
    source, key = source_key
    ids = [str(uuid.uuid4()) for _ in range(5)]
    for gzip in (False, True):
        client = Posthog(key, host=live_server.url, sync_mode=True, gzip=gzip)
        client.set(distinct_id="user-1", properties={"email": "ada@x.io"}, uuid=ids[0])
        client.group_identify(
            "company", "acme", {"name": "Acme"}, distinct_id="user-1", uuid=ids[1]
        )
        client.capture(
            "report viewed",
            distinct_id="user-1",
            properties={"report": "mrr"},
            groups={"company": "acme"},
            timestamp=WHEN,
            uuid=ids[2],
        )
        client.capture(
            "$pageview", distinct_id="user-1", properties={"$pathname": "/x"}, uuid=ids[3]
        )
        client.alias("anon-7", "user-1", uuid=ids[4])
        client.shutdown()

    drain_inbox()
    rows = dict(Event.objects.filter(source=source.slug).values_list("message_id", "type"))
    assert rows == {
        ids[0]: "identify",
        ids[1]: "group",
        ids[2]: "track",
        ids[3]: "page",
        ids[4]: "alias",
    }
    track = Event.objects.get(message_id=ids[2])
    assert (track.name, track.user_id, track.account.external_id) == (
        "report viewed",
        "user-1",
        "acme",
    )
    assert abs((track.timestamp - WHEN).total_seconds()) < 5
    assert Event.objects.get(message_id=ids[3]).name == "/x"
    contact = Contact.objects.get(external_id="user-1")
    assert (contact.email, contact.account.name) == ("ada@x.io", "Acme")
    assert contact.identities.filter(anonymous_id="anon-7").exists()

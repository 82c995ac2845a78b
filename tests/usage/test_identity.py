"""Identity resolution through the event API: contacts, accounts, aliases, lifecycle groups."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.test import Client

from tend.billing.models import SubscriptionStatus
from tend.customers.models import Account, Contact, ContactIdentity, LifecycleGroup
from tend.usage.loader import drain_inbox
from tend.usage.models import Event, Source
from tests.factories import AccountFactory, SubscriptionFactory
from tests.usage.ingest_support import post_json, source_key, track

__all__ = ["source_key"]

pytestmark = pytest.mark.django_db


def _send(client: Client, key: str, *messages: dict[str, object]) -> None:
    response = post_json(client, "/v1/batch", {"batch": list(messages)}, key)
    assert response.status_code == 200, response.content
    assert response.json()["rejected"] == []
    drain_inbox()


def _identify(message_id: str, at: str, traits: dict[str, object], **fields: object) -> dict:
    return {
        "type": "identify",
        "messageId": message_id,
        "userId": "user-1",
        "timestamp": at,
        "traits": traits,
        **fields,
    }


def test_identify_newest_message_wins_and_older_ones_fill_gaps(
    client: Client, source_key: tuple[Source, str]
) -> None:
    _, key = source_key
    _send(
        client,
        key,
        _identify("i2", "2026-03-02T00:00:00Z", {"email": "new@x.io", "plan": "pro"}),
    )
    _send(
        client,
        key,
        _identify(
            "i1",
            "2026-03-01T00:00:00Z",
            {"email": "old@x.io", "plan": "free", "title": "CTO", "firstName": "Ada"},
        ),
    )

    contact = Contact.objects.get(external_id="user-1")
    assert contact.traits == {
        "email": "new@x.io",
        "plan": "pro",
        "title": "CTO",
        "firstName": "Ada",
    }
    assert contact.email == "new@x.io"
    assert (contact.title, contact.name) == ("CTO", "Ada")
    assert contact.traits_updated_at == datetime(2026, 3, 2, tzinfo=UTC)
    assert contact.first_seen_at == datetime(2026, 3, 1, tzinfo=UTC)
    assert contact.last_seen_at == datetime(2026, 3, 2, tzinfo=UTC)


def test_group_makes_the_account_and_membership_and_attributes_events(
    client: Client, source_key: tuple[Source, str]
) -> None:
    _, key = source_key
    group = {
        "type": "group",
        "messageId": "g1",
        "userId": "user-1",
        "groupId": "acme",
        "traits": {"name": "Acme Inc", "plan": "enterprise"},
        "timestamp": "2026-03-01T09:00:00Z",
    }
    other = AccountFactory(external_id="globex")
    _send(
        client,
        key,
        group,
        track("t1"),
        track("t2", context={"groupId": "globex"}),
        track("t3", userId="stranger"),
    )

    account = Account.objects.get(external_id="acme")
    assert (account.name, account.traits) == (
        "Acme Inc",
        {"name": "Acme Inc", "plan": "enterprise"},
    )
    assert Contact.objects.get(external_id="user-1").account == account
    accounts = dict(Event.objects.values_list("message_id", "account_id"))
    assert accounts == {"g1": account.pk, "t1": account.pk, "t2": other.pk, "t3": None}


def test_alias_and_identify_reattribute_earlier_anonymous_events(
    client: Client, source_key: tuple[Source, str]
) -> None:
    _, key = source_key
    account = AccountFactory(external_id="acme")
    Contact.objects.create(external_id="user-1", account=account)
    _send(
        client,
        key,
        track("a1", userId=None, anonymousId="anon-1"),
        track("a2", userId=None, anonymousId="anon-2"),
        track("a3", userId=None, anonymousId="anon-3"),
    )
    _send(
        client,
        key,
        {"type": "alias", "messageId": "al", "previousId": "anon-1", "userId": "user-1"},
    )
    _send(client, key, _identify("id", "2026-03-01T11:00:00Z", {}, anonymousId="anon-2"))
    _send(client, key, track("a4", userId=None, anonymousId="anon-1"))

    events = {e.message_id: (e.user_id, e.account_id) for e in Event.objects.all()}
    assert events["a1"] == ("user-1", account.pk)
    assert events["a2"] == ("user-1", account.pk)
    assert events["a3"] == ("", None)
    assert events["a4"] == ("user-1", account.pk)
    assert set(ContactIdentity.objects.values_list("anonymous_id", flat=True)) == {
        "anon-1",
        "anon-2",
    }


def test_lifecycle_moves_visitor_lead_user_customer(
    client: Client, source_key: tuple[Source, str]
) -> None:
    _, key = source_key

    def group_now() -> str:
        return Contact.objects.get(external_id="user-1").lifecycle_group

    _send(client, key, _identify("i1", "2026-03-01T10:00:00Z", {"plan": "free"}))
    assert group_now() == LifecycleGroup.VISITOR
    _send(client, key, _identify("i2", "2026-03-01T10:01:00Z", {"email": "a@x.io"}))
    assert group_now() == LifecycleGroup.LEAD
    _send(client, key, track("t1", timestamp="2026-03-01T10:05:00Z"))
    assert group_now() == LifecycleGroup.USER
    account = AccountFactory(external_id="acme")
    SubscriptionFactory(account=account, status=SubscriptionStatus.ACTIVE)
    _send(client, key, {"type": "group", "messageId": "g", "userId": "user-1", "groupId": "acme"})
    assert group_now() == LifecycleGroup.CUSTOMER
    _send(client, key, _identify("i3", "2026-03-01T10:09:00Z", {"email": "b@x.io"}))
    contact = Contact.objects.get(external_id="user-1")
    assert contact.lifecycle_group == LifecycleGroup.CUSTOMER
    assert contact.first_seen_at == datetime(2026, 3, 1, 10, tzinfo=UTC)


def test_duplicate_identify_is_not_applied_twice(
    client: Client, source_key: tuple[Source, str]
) -> None:
    _, key = source_key
    _send(client, key, _identify("i1", "2026-03-01T10:00:00Z", {"plan": "free"}))
    Contact.objects.filter(external_id="user-1").update(traits={"plan": "edited"})
    _send(client, key, _identify("i1", "2026-03-01T10:00:00Z", {"plan": "free"}))
    assert Contact.objects.get(external_id="user-1").traits == {"plan": "edited"}

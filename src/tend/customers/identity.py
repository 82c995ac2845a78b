"""Identity resolution for ingested messages: contacts and accounts from identify/group/alias,
the user and account of every event, first/last seen and lifecycle groups.

Called by ingestion inside its transaction. Product events (the volume) are resolved with a few
set-based queries per batch; identify, group and alias messages (rare) one by one, in order.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import connection
from django.utils import timezone

from tend.billing.queries import accounts_with_live_subscription
from tend.customers.models import Account, Contact, ContactIdentity, LifecycleGroup
from tend.usage.actions import format_db_time
from tend.usage.models import Event
from tend.usage.segment_spec import PRODUCT_TYPES, Message

LAST_SEEN_GRANULARITY = timedelta(minutes=1)
REATTRIBUTE_LIMIT = 10_000
GROUP_RANK = {
    LifecycleGroup.VISITOR: 0,
    LifecycleGroup.LEAD: 1,
    LifecycleGroup.USER: 2,
    LifecycleGroup.CUSTOMER: 3,
}
MAX_EMAIL_LENGTH = 254


def resolve_messages(messages: list[Message]) -> None:
    """Apply identify, group and alias messages in order, then set `user_id` and `account_id` of
    every message and keep the contacts' seen times and lifecycle groups current."""
    for message in messages:
        if message.type == "identify":
            identify(message)
        elif message.type == "group":
            group(message)
        elif message.type == "alias":
            alias(message)
    attribute(messages)


def identify(message: Message) -> Contact | None:
    """Upsert the contact of `message.user_id` and merge its traits; link its anonymous id."""
    contact = _contact_for(message)
    if contact is None:
        return None
    _merge_traits(contact, message.traits, message.timestamp, message.fill_traits_only)
    contact.save()
    if message.user_id and message.anonymous_id:
        link_anonymous_id(message.anonymous_id, contact)
    return contact


def group(message: Message) -> Account:
    """Upsert the account of `message.group_id`, merge its traits, make it the contact's account."""
    account, created = Account.objects.get_or_create(
        external_id=message.group_id, defaults={"name": message.group_id[:200]}
    )
    newer = _merge_traits(account, message.traits, message.timestamp, message.fill_traits_only)
    name = message.traits.get("name")
    if isinstance(name, str) and name.strip() and (newer or created):
        account.name = name.strip()[:200]
    account.save()
    contact = _contact_for(message)
    if contact is not None and contact.account_id != account.pk:
        contact.account = account
        contact.save(update_fields=["account", "updated_at"])
    message.account_id = account.pk
    return account


def alias(message: Message) -> Contact:
    """Make `previous_id` another name of the contact `user_id`; re-attribute its events."""
    contact, _ = Contact.objects.get_or_create(external_id=message.user_id)
    link_anonymous_id(message.previous_id, contact)
    return contact


def link_anonymous_id(anonymous_id: str, contact: Contact) -> bool:
    """Record that `anonymous_id` belongs to `contact` (the first link wins) and, on a new link,
    give up to REATTRIBUTE_LIMIT earlier anonymous events the contact's user id and account."""
    _, created = ContactIdentity.objects.get_or_create(
        anonymous_id=anonymous_id, defaults={"contact": contact}
    )
    if not created or anonymous_id == contact.external_id:
        return False
    # The repeated "not empty" condition lets SQLite use the partial index on anonymous ids.
    earlier = Event.objects.filter(anonymous_id=anonymous_id, user_id="").exclude(anonymous_id="")
    ids = list(earlier.order_by("-timestamp").values_list("id", flat=True)[:REATTRIBUTE_LIMIT])
    for start in range(0, len(ids), 1000):
        chunk = ids[start : start + 1000]
        if contact.account_id is not None:
            Event.objects.filter(id__in=chunk, account__isnull=True).update(
                account_id=contact.account_id
            )
        Event.objects.filter(id__in=chunk).update(user_id=contact.external_id)
    return True


def attribute(messages: list[Message]) -> None:
    """Set user and account of each message from known identities, contacts and groups, and
    update the touched contacts' first/last seen and lifecycle group (set-based)."""
    _fill_user_ids_from_identities(messages)
    user_ids = {message.user_id for message in messages if message.user_id}
    if not user_ids:
        _fill_accounts_from_groups(messages, {})
        return
    contacts = {
        row[0]: row
        for row in _select_in(
            Contact,
            "external_id, id, account_id, email, lifecycle_group, first_seen_at, last_seen_at",
            "external_id",
            user_ids,
        )
    }
    _fill_accounts_from_groups(messages, {key: row[2] for key, row in contacts.items()})
    _update_contacts(messages, contacts)


def _select_in(model: type[Any], columns: str, key: str, values: Iterable[Any]) -> list[Any]:
    """Rows of `model` whose `key` is one of `values`: one raw query, cheaper to build than the
    ORM's for the hundred-value lists of a batch."""
    wanted = list(values)
    if not wanted:
        return []
    table = connection.ops.quote_name(model._meta.db_table)
    placeholders = ", ".join(["%s"] * len(wanted))
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {columns} FROM {table} WHERE {key} IN ({placeholders})", wanted)
        return cursor.fetchall()


def _aware(moment: datetime | None) -> datetime | None:
    """Raw SQLite queries return naive UTC times; the ORM would have made them aware."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def _contact_for(message: Message) -> Contact | None:
    if message.user_id:
        contact, _ = Contact.objects.get_or_create(external_id=message.user_id)
        return contact
    identity = (
        ContactIdentity.objects.select_related("contact")
        .filter(anonymous_id=message.anonymous_id)
        .first()
    )
    return identity.contact if identity is not None else None


def _merge_traits(
    entity: Contact | Account, traits: dict[str, Any], at: datetime, fill_only: bool
) -> bool:
    """Newest message wins per key; older ones only fill missing keys. Returns whether newer."""
    if not traits:
        return False
    newer = not fill_only and (entity.traits_updated_at is None or at >= entity.traits_updated_at)
    if newer:
        entity.traits = {**(entity.traits or {}), **traits}
        entity.traits_updated_at = at
    else:
        entity.traits = {**traits, **(entity.traits or {})}
    if isinstance(entity, Contact):
        _copy_contact_fields(entity, traits, newer)
    return newer


def _copy_contact_fields(contact: Contact, traits: dict[str, Any], newer: bool) -> None:
    name = traits.get("name")
    if not name and (traits.get("firstName") or traits.get("lastName")):
        name = f"{traits.get('firstName') or ''} {traits.get('lastName') or ''}".strip()
    values = {
        "email": (traits.get("email"), MAX_EMAIL_LENGTH),
        "name": (name, 200),
        "title": (traits.get("title"), 120),
    }
    for field, (value, limit) in values.items():
        if isinstance(value, str) and value.strip() and (newer or not getattr(contact, field)):
            setattr(contact, field, value.strip()[:limit])


def _fill_user_ids_from_identities(messages: list[Message]) -> None:
    anonymous = {m.anonymous_id for m in messages if not m.user_id and m.anonymous_id}
    if not anonymous:
        return
    owners = dict(
        ContactIdentity.objects.filter(anonymous_id__in=anonymous).values_list(
            "anonymous_id", "contact__external_id"
        )
    )
    for message in messages:
        if not message.user_id and message.anonymous_id in owners:
            message.user_id = owners[message.anonymous_id]


def _fill_accounts_from_groups(messages: list[Message], contact_accounts: dict[str, Any]) -> None:
    group_ids = {m.group_id for m in messages if m.group_id and m.type in PRODUCT_TYPES}
    accounts = dict(_select_in(Account, "external_id, id", "external_id", group_ids))
    for message in messages:
        if message.account_id is not None:
            continue
        account_id = accounts.get(message.group_id) if message.group_id else None
        if account_id is None and message.user_id:
            account_id = contact_accounts.get(message.user_id)
        message.account_id = account_id


def _update_contacts(messages: list[Message], contacts: dict[str, tuple[Any, ...]]) -> None:
    seen: dict[str, tuple[datetime, datetime, bool]] = {}
    for message in messages:
        if message.user_id not in contacts:
            continue
        at = message.timestamp
        product = message.type in PRODUCT_TYPES
        previous = seen.get(message.user_id)
        if previous is None:
            seen[message.user_id] = (at, at, product)
        else:
            seen[message.user_id] = (
                min(previous[0], at),
                max(previous[1], at),
                previous[2] or product,
            )
    live = accounts_with_live_subscription(
        row[2]
        for row in contacts.values()
        if row[2] is not None and row[4] != LifecycleGroup.CUSTOMER
    )
    now = format_db_time(timezone.now())
    updates = []
    for user_id, (first, last, product) in seen.items():
        _, pk, account_id, email, current, first_seen, last_seen = contacts[user_id]
        first_seen, last_seen = _aware(first_seen), _aware(last_seen)
        new_first = first if first_seen is None or first < first_seen else first_seen
        new_last = last
        if last_seen is not None and last - last_seen < LAST_SEEN_GRANULARITY:
            new_last = last_seen
        implied = LifecycleGroup.VISITOR
        if account_id in live:
            implied = LifecycleGroup.CUSTOMER
        elif product:
            implied = LifecycleGroup.USER
        elif email:
            implied = LifecycleGroup.LEAD
        group_now = implied if GROUP_RANK[implied] > GROUP_RANK[current] else current
        if (new_first, new_last, group_now) != (first_seen, last_seen, current):
            updates.append(
                (format_db_time(new_first), format_db_time(new_last), group_now, now, pk)
            )
    if updates:
        table = connection.ops.quote_name(Contact._meta.db_table)
        with connection.cursor() as cursor:
            cursor.executemany(
                f"UPDATE {table} SET first_seen_at = %s, last_seen_at = %s, "
                "lifecycle_group = %s, updated_at = %s WHERE id = %s",
                updates,
            )

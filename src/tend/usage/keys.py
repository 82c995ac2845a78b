"""Sources and their write keys: created, looked up by SHA-256 digest, revoked. Only the digest
and a short prefix of a key are stored; the key itself is shown once, at creation."""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from datetime import datetime

from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from django.utils.text import slugify

from tend.core.lost_connection import connection_was_lost
from tend.usage.models import Source, WriteKey

KEY_CACHE_SECONDS = 5.0
"""How long a process trusts a key it has just checked. Revoking in this process takes effect
at once; other server processes refuse a revoked key within this many seconds."""
KEY_CACHE_SIZE = 1024
KEY_PREFIX = "wk_"
PREFIX_LENGTH = 12
SOURCE_KINDS = ("segment", "posthog", "webhook")


class WriteKeyNotFound(LookupError):
    """A write key or source that cannot be found or is ambiguous."""


class KeyNotCached(LookupError):
    """The key was not checked recently: only `authenticate`, which may query, can tell."""


@dataclass(frozen=True, slots=True)
class AuthenticatedKey:
    """What a request learns from a valid write key."""

    key_id: int
    source_id: int
    source_slug: str
    last_used_at: datetime | None


def digest_of(key: str) -> str:
    """The SHA-256 hex digest under which a write key is stored."""
    return hashlib.sha256(key.encode()).hexdigest()


def create_source(name: str, kind: str = "segment", slug: str | None = None) -> Source:
    """A new named source; its slug (stored on each event) comes from the name unless given."""
    if kind not in SOURCE_KINDS:
        raise ValueError(f"Unknown source kind {kind!r}; choose from {', '.join(SOURCE_KINDS)}.")
    source_slug = slug or slugify(name)[:60] or "source"
    if Source.objects.filter(slug=source_slug).exists():
        raise ValueError(f"A source with slug {source_slug!r} already exists.")
    return Source.objects.create(name=name, slug=source_slug, kind=kind)


def create_write_key(source: Source) -> tuple[WriteKey, str]:
    """A new write key for `source`; returns the row and the key, which is not stored."""
    key = KEY_PREFIX + secrets.token_urlsafe(30)
    row = WriteKey.objects.create(source=source, prefix=key[:PREFIX_LENGTH], digest=digest_of(key))
    return row, key


@transaction.atomic
def create_source_with_key(name: str, kind: str = "segment") -> tuple[Source, str]:
    """A source and its first write key, in one transaction."""
    source = create_source(name, kind)
    _, key = create_write_key(source)
    return source, key


def revoke_write_key(prefix: str) -> WriteKey:
    """Revoke the one active key whose prefix (or full text) is given; refuses ambiguity."""
    candidates = list(
        WriteKey.objects.filter(revoked_at__isnull=True, prefix=prefix[:PREFIX_LENGTH])
    )
    if len(prefix) > PREFIX_LENGTH:
        candidates = [key for key in candidates if key.digest == digest_of(prefix)]
    if not candidates:
        raise WriteKeyNotFound(f"No active write key starts with {prefix!r}.")
    if len(candidates) > 1:
        raise WriteKeyNotFound(
            f"{len(candidates)} active keys start with {prefix!r}; give the full key."
        )
    key = candidates[0]
    key.revoked_at = timezone.now()
    key.save(update_fields=["revoked_at"])
    _recently_checked.pop(key.digest, None)
    return key


_recently_checked: dict[str, tuple[float, AuthenticatedKey]] = {}


def authenticate(key: str) -> AuthenticatedKey | None:
    """The active key matching `key`, with its source; None when unknown or revoked. A key
    checked in the last KEY_CACHE_SECONDS is trusted without a query (the hot path)."""
    if not key:
        return None
    digest = digest_of(key)
    now = time.monotonic()
    cached = _recently_checked.get(digest)
    if cached is not None and now - cached[0] < KEY_CACHE_SECONDS:
        return cached[1]
    found = _lookup(digest)
    if found is None:
        _recently_checked.pop(digest, None)
    else:
        if len(_recently_checked) >= KEY_CACHE_SIZE:
            _recently_checked.clear()
        _recently_checked[digest] = (now, found)
    return found


def authenticate_cached(key: str) -> AuthenticatedKey | None:
    """`authenticate` without a query, for the event loop: the recently checked key, None for
    no key, or KeyNotCached."""
    if not key:
        return None
    cached = _recently_checked.get(digest_of(key))
    if cached is not None and time.monotonic() - cached[0] < KEY_CACHE_SECONDS:
        return cached[1]
    raise KeyNotCached(key[:PREFIX_LENGTH])


def _lookup(digest: str) -> AuthenticatedKey | None:
    """The key's row; a connection the server closed while idle is replaced once."""
    try:
        row = _key_row(digest)
    except DatabaseError as error:
        if not connection_was_lost(error):
            raise
        connection.close()
        row = _key_row(digest)
    if row is None:
        return None
    return AuthenticatedKey(
        key_id=row[0], source_id=row[1], source_slug=row[2], last_used_at=row[3]
    )


def _key_row(digest: str) -> tuple[int, int, str, datetime | None] | None:
    return (
        WriteKey.objects.filter(digest=digest, revoked_at__isnull=True)
        .values_list("id", "source_id", "source__slug", "last_used_at")
        .first()
    )

"""Writes of the core domain: team members, notes, the audit log, and the shared bulk insert."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from django.db import models, transaction
from django.utils import timezone

from tend.core.models import ApiToken, AuditEntry, Note, User

if TYPE_CHECKING:
    from tend.customers.models import Account

ModelT = TypeVar("ModelT", bound=models.Model)
BULK_BATCH = 2_000


def bulk_insert(objects: Sequence[ModelT], batch_size: int = BULK_BATCH) -> list[ModelT]:
    """Insert many new rows of one model in one transaction; primary keys are set on return."""
    if not objects:
        return []
    model = type(objects[0])
    with transaction.atomic():
        return model._default_manager.bulk_create(objects, batch_size=batch_size)


def audit(actor: User | None, action: str, obj: models.Model, changes: dict[str, Any]) -> None:
    """Record who did what to which object; called inside the action's transaction."""
    AuditEntry.objects.create(
        actor=actor,
        action=action,
        object_type=obj._meta.label_lower,
        object_id=str(obj.pk),
        changes=changes,
    )


def create_team_member(
    username: str,
    *,
    role: str,
    first_name: str = "",
    last_name: str = "",
    email: str = "",
    password: str | None = None,
    password_hash: str | None = None,
) -> User:
    """Add a person to the team with a role; admins also get Django admin access."""
    with transaction.atomic():
        user = User(
            username=username,
            role=role,
            first_name=first_name,
            last_name=last_name,
            email=email,
            is_staff=role == "admin",
            is_superuser=role == "admin",
        )
        if password_hash is not None:
            user.password = password_hash
        else:
            user.set_password(password)
        user.save()
        audit(None, "team.member_added", user, {"role": role})
        return user


def add_note(account: Account, author: User | None, body: str, pinned: bool = False) -> Note:
    """Keep a note on an account (the person behind the numbers); a pinned one shows first."""
    with transaction.atomic():
        note = Note.objects.create(account=account, author=author, body=body, pinned=pinned)
        audit(author, "note.added", note, {"account": str(account.pk), "pinned": pinned})
        return note


def edit_note(note: Note, by: User | None, body: str, pinned: bool) -> Note:
    """Change a note's text or pin; the audit entry keeps what it said before."""
    with transaction.atomic():
        before = {"body": note.body, "pinned": note.pinned}
        note.body = body
        note.pinned = pinned
        note.save(update_fields=["body", "pinned", "updated_at"])
        audit(by, "note.edited", note, {"account": str(note.account_id), "before": before})
        return note


def delete_note(note: Note, by: User | None) -> None:
    """Remove a note; the audit entry keeps its text."""
    with transaction.atomic():
        audit(
            by,
            "note.deleted",
            note,
            {"account": str(note.account_id), "author": note.author_id, "body": note.body},
        )
        note.delete()


def upsert_by_external_id(
    model: type[ModelT], rows: Sequence[dict[str, Any]]
) -> tuple[list[ModelT], list[ModelT]]:
    """Create or update rows of `model` keyed on `external_id` (later rows win); returns the
    created and the updated objects. Only the fields present in a row are changed."""
    latest: dict[str, dict[str, Any]] = {}
    for row in rows:
        latest[row["external_id"]] = {**latest.get(row["external_id"], {}), **row}
    with transaction.atomic():
        existing = model._default_manager.in_bulk(list(latest), field_name="external_id")
        created: list[ModelT] = []
        updated: list[ModelT] = []
        changed_fields: set[str] = set()
        for external_id, values in latest.items():
            current = existing.get(external_id)
            if current is None:
                created.append(model(**values))
                continue
            changes = {k: v for k, v in values.items() if getattr(current, k) != v}
            if changes:
                for name, value in changes.items():
                    setattr(current, name, value)
                changed_fields.update(changes)
                updated.append(current)
        model._default_manager.bulk_create(created, batch_size=BULK_BATCH)
        if updated:
            if any(field.name == "updated_at" for field in model._meta.concrete_fields):
                now = timezone.now()  # bulk_update skips auto_now: keep "last changed" true
                for changed in updated:
                    changed.updated_at = now  # type: ignore[attr-defined]
                changed_fields.add("updated_at")
            model._default_manager.bulk_update(
                updated, sorted(changed_fields), batch_size=BULK_BATCH
            )
    return created, updated


API_TOKEN_PREFIX = "tend_"


def create_api_token(
    user: User, name: str, expires_at: datetime | None = None
) -> tuple[ApiToken, str]:
    """A new personal API token for `user`; the secret is returned once and never stored."""
    secret = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user,
            name=name,
            prefix=secret[: len(API_TOKEN_PREFIX) + 6],
            digest=token_digest(secret),
            expires_at=expires_at,
        )
        audit(user, "api_token.created", token, {"name": name})
    return token, secret


def revoke_api_token(token: ApiToken, by: User | None) -> None:
    """Stop a token from working, keeping it for the record."""
    with transaction.atomic():
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit(by, "api_token.revoked", token, {"name": token.name})


def token_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def delete_by_external_id(model: type[models.Model], external_id: str, actor: User | None) -> bool:
    """Delete one row keyed on its external id, leaving an audit entry; False if absent."""
    with transaction.atomic():
        obj = model._default_manager.filter(external_id=external_id).first()
        if obj is None:
            return False
        audit(actor, f"{model._meta.model_name}.deleted", obj, {"external_id": external_id})
        obj.delete()
        return True

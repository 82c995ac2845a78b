"""Writes of accounts, contacts and lifecycle stages."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.utils import timezone

from tend.core.actions import audit, bulk_insert, upsert_by_external_id
from tend.core.models import User
from tend.customers.models import Account, Contact, StageChange


def insert_accounts(accounts: Sequence[Account]) -> list[Account]:
    """Insert new accounts in bulk (imports, demo)."""
    return bulk_insert(accounts)


def insert_contacts(contacts: Sequence[Contact]) -> list[Contact]:
    """Insert new contacts in bulk (imports, demo)."""
    return bulk_insert(contacts)


def upsert_accounts(rows: Sequence[dict[str, Any]]) -> tuple[list[Account], list[Account]]:
    """Create or update accounts by external id (imports, API); returns (created, updated)."""
    return upsert_by_external_id(Account, rows)


def upsert_contacts(rows: Sequence[dict[str, Any]]) -> tuple[list[Contact], list[Contact]]:
    """Create or update contacts by external id (imports, API); returns (created, updated)."""
    return upsert_by_external_id(Contact, rows)


def insert_stage_changes(changes: Sequence[StageChange]) -> list[StageChange]:
    """Insert past stage moves in bulk (imports, demo)."""
    return bulk_insert(changes)


def change_stage(account: Account, to_stage: str, reason: str, by: User | None) -> StageChange:
    """Move an account to a lifecycle stage, keeping the history and the audit trail."""
    with transaction.atomic():
        change = StageChange.objects.create(
            account=account,
            from_stage=account.lifecycle_stage,
            to_stage=to_stage,
            changed_at=timezone.now(),
            reason=reason,
            changed_by=by,
        )
        account.lifecycle_stage = to_stage
        account.save(update_fields=["lifecycle_stage", "updated_at"])
        audit(by, "account.stage_changed", account, {"to": to_stage, "reason": reason})
        return change

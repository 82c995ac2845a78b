"""Writes of accounts, contacts and lifecycle stages."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from tend.core.actions import audit, bulk_insert, upsert_by_external_id
from tend.core.models import User
from tend.customers.models import Account, Contact, SavedAccountView, StageChange


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


@dataclass(frozen=True)
class BillingCustomer:
    """A billing provider's customer; blank fields leave the account's values alone. A blank
    `external_id` keeps the account's own id (a new account is keyed on the customer id)."""

    customer_id: str
    external_id: str = ""
    name: str = ""
    domain: str = ""
    country: str = ""


def account_for_customer(customer_id: str) -> Account:
    """The account billed as `customer_id`; a placeholder named after it when none is known yet
    (a subscription or invoice can arrive before its customer)."""
    with transaction.atomic():
        account = Account.objects.filter(stripe_customer_id=customer_id).first()
        if account is not None:
            return account
        account, _ = Account.objects.get_or_create(
            external_id=customer_id,
            defaults={"name": customer_id, "stripe_customer_id": customer_id},
        )
        if account.stripe_customer_id != customer_id:
            account.stripe_customer_id = customer_id
            account.save(update_fields=["stripe_customer_id", "updated_at"])
        return account


def upsert_billing_customer(customer: BillingCustomer) -> Account:
    """Create or update the account behind a billing customer. A placeholder made earlier is
    renamed to the real external id, or folded into the account that already holds that id."""
    from tend.billing.actions import move_billing_records

    with transaction.atomic():
        by_customer = Account.objects.filter(stripe_customer_id=customer.customer_id).first()
        by_external = (
            Account.objects.filter(external_id=customer.external_id).first()
            if customer.external_id
            else None
        )
        if by_customer and by_external and by_customer.pk != by_external.pk:
            move_billing_records(by_customer, by_external)
            by_customer.delete()
            account = by_external
        else:
            account = by_customer or by_external or Account(external_id=customer.customer_id)
        if customer.external_id:
            account.external_id = customer.external_id
        account.stripe_customer_id = customer.customer_id
        if customer.name or account.name in ("", customer.customer_id):
            account.name = customer.name or customer.customer_id
        account.domain = customer.domain or account.domain
        account.country = customer.country or account.country
        account.save()
        return account


SAVED_VIEW_NAME_MAX = 80
SAVED_VIEW_QUERY_MAX = 1000


def save_account_view(user: User, name: str, query: str) -> SavedAccountView:
    """Keep the accounts table's filters and sort (its query string) under a name for `user`;
    saving again under a name the user already has replaces that view's query."""
    name = " ".join(name.split())
    if not name:
        raise ValueError("name: give the view a name")
    if len(name) > SAVED_VIEW_NAME_MAX:
        raise ValueError(f"name: at most {SAVED_VIEW_NAME_MAX} characters")
    if len(query) > SAVED_VIEW_QUERY_MAX:
        raise ValueError(f"query: at most {SAVED_VIEW_QUERY_MAX} characters of filters")
    with transaction.atomic():
        view, created = SavedAccountView.objects.update_or_create(
            user=user, name=name, defaults={"query": query}
        )
        audit(
            user,
            "account_view.saved" if created else "account_view.replaced",
            view,
            {"name": name, "query": query},
        )
    return view


def delete_account_view(user: User, view_id: int) -> bool:
    """Delete one of `user`'s saved views; False when they have no view with that id."""
    with transaction.atomic():
        view = SavedAccountView.objects.filter(user=user, pk=view_id).first()
        if view is None:
            return False
        audit(user, "account_view.deleted", view, {"name": view.name})
        view.delete()
    return True

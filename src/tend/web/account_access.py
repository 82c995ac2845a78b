"""Who may change an account: admins and managers any account, a CSM only the accounts in their
own book (they own), viewers none. Every role may read every account."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied

from tend.core.models import Role, User
from tend.customers.models import Account


def may_edit_account(user: object, account: Account) -> bool:
    """Whether `user` may override the score of, or otherwise change, `account`."""
    if not isinstance(user, User) or not user.is_active:
        return False
    if user.is_superuser or user.role in (Role.ADMIN, Role.MANAGER):
        return True
    return user.role == Role.CSM and account.owner_id == user.pk


def require_account_editor(user: object, account: Account) -> User:
    """The user, when they may change `account`; 403 otherwise, saying why."""
    if not may_edit_account(user, account):
        if isinstance(user, User) and user.role == Role.CSM:
            raise PermissionDenied("A CSM may change only the accounts in their own book.")
        raise PermissionDenied("Your role may read accounts but not change them.")
    assert isinstance(user, User)
    return user

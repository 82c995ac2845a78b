"""Writes of user management: an admin adds a team member, changes a role, deactivates or
reactivates someone. Each is one transaction with an audit entry naming the admin."""

from __future__ import annotations

from django.db import transaction

from tend.core.actions import audit
from tend.core.models import Role, User


class UserActionError(ValueError):
    """A change that would leave the team in a bad state (e.g. without an active admin)."""


def _grant_admin_site(user: User) -> None:
    """Admins also get the Django admin; every other role loses it."""
    user.is_staff = user.role == Role.ADMIN
    user.is_superuser = user.role == Role.ADMIN


def _other_active_admins(user: User) -> bool:
    return (
        User.objects.filter(is_active=True)
        .filter(role=Role.ADMIN)
        .exclude(pk=user.pk)
        .select_for_update()
        .exists()
    )


def add_user(
    actor: User | None,
    username: str,
    *,
    role: str,
    password: str,
    first_name: str = "",
    last_name: str = "",
    email: str = "",
) -> User:
    """A new active team member with an initial password (they can change it later)."""
    if role not in Role.values:
        raise UserActionError(f"unknown role {role!r}")
    with transaction.atomic():
        user = User(
            username=username,
            role=role,
            first_name=first_name,
            last_name=last_name,
            email=email,
        )
        _grant_admin_site(user)
        user.set_password(password)
        user.save()
        audit(actor, "user.added", user, {"username": username, "role": role})
        return user


def change_role(actor: User | None, user: User, role: str) -> User:
    """Give `user` another role; the last active admin cannot stop being one."""
    if role not in Role.values:
        raise UserActionError(f"unknown role {role!r}")
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        previous = user.role
        if previous == role:
            return user
        if previous == Role.ADMIN and user.is_active and not _other_active_admins(user):
            raise UserActionError("The team needs at least one active admin.")
        user.role = role
        _grant_admin_site(user)
        user.save(update_fields=["role", "is_staff", "is_superuser"])
        audit(actor, "user.role_changed", user, {"role": [previous, role]})
        return user


def set_active(actor: User | None, user: User, active: bool) -> User:
    """Deactivate (they can no longer sign in; their work and books stay) or reactivate a team
    member. Admins cannot deactivate themselves, nor the last active admin."""
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        if user.is_active == active:
            return user
        if not active:
            if actor is not None and actor.pk == user.pk:
                raise UserActionError("You cannot deactivate yourself.")
            if user.role == Role.ADMIN and not _other_active_admins(user):
                raise UserActionError("The team needs at least one active admin.")
        user.is_active = active
        user.save(update_fields=["is_active"])
        audit(actor, "user.activated" if active else "user.deactivated", user, {})
        return user

"""Who may write, edit and delete notes on an account (the rule of `account_access`): whoever
may change the account (its CSM for their own book, managers, admins) may add a note; a note's
author may edit and delete it while their role may write at all; managers and admins may also
delete anyone's note (to remove what should not be kept), but never rewrite another's words,
since a note shows its author's name. Viewers may do none of it."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied

from tend.core.models import Note, Role, User


def _writer(user: object) -> User | None:
    if isinstance(user, User) and user.is_active and user.can_edit():
        return user
    return None


def may_edit_note(user: object, note: Note) -> bool:
    """Only the author, and only while their role may write."""
    writer = _writer(user)
    return writer is not None and note.author_id == writer.pk


def may_delete_note(user: object, note: Note) -> bool:
    """The author, or a manager or admin."""
    writer = _writer(user)
    if writer is None:
        return False
    is_lead = writer.is_superuser or writer.role in (Role.ADMIN, Role.MANAGER)
    return is_lead or note.author_id == writer.pk


def require_note_editor(user: object, note: Note) -> User:
    """The user, when they may edit `note`; 403 otherwise, saying why."""
    if not may_edit_note(user, note):
        raise PermissionDenied(_why(user, "edit"))
    assert isinstance(user, User)
    return user


def require_note_remover(user: object, note: Note) -> User:
    """The user, when they may delete `note`; 403 otherwise, saying why."""
    if not may_delete_note(user, note):
        raise PermissionDenied(_why(user, "delete"))
    assert isinstance(user, User)
    return user


def _why(user: object, verb: str) -> str:
    if _writer(user) is None:
        return "Your role may read notes but not change them."
    if verb == "edit":
        return "Only its author may edit a note."
    return "Only its author, managers and admins may delete a note."

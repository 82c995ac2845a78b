"""The note rules in templates: `{{ note|editable_by:user }}`, `{{ note|removable_by:user }}`,
and `{% new_note_form as form %}` for the account page's empty "add a note" form."""

from __future__ import annotations

from django import template

from tend.core.models import Note
from tend.web.note_access import may_delete_note, may_edit_note
from tend.web.note_forms import NoteForm

register = template.Library()


@register.filter
def editable_by(note: Note, user: object) -> bool:
    return may_edit_note(user, note)


@register.filter
def removable_by(note: Note, user: object) -> bool:
    return may_delete_note(user, note)


@register.simple_tag
def new_note_form() -> NoteForm:
    return NoteForm()

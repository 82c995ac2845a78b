"""The note form of the account page: the text and whether it is pinned to the top."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import forms

from tend.core.models import Note

NOTE_MAX_LENGTH = 10_000
"""Longest note accepted (the column has no limit; a page must still show it)."""


class NoteForm(forms.Form):
    """A note's text and pin, for a new note or an edited one."""

    body = forms.CharField(
        label="Note",
        max_length=NOTE_MAX_LENGTH,
        strip=True,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="What the numbers do not say: people, plans, promises.",
    )
    pinned = forms.BooleanField(label="Pin to the top", required=False)

    @classmethod
    def for_note(cls, note: Note, data: Mapping[str, Any] | None = None) -> NoteForm:
        """The form filled with `note` (or bound to `data`), its fields named apart from the
        new-note form's so both can be on one page."""
        initial = {"body": note.body, "pinned": note.pinned}
        return cls(data, initial=initial, prefix=f"note-{note.pk}")

"""Notes on the account page: add one, edit or delete one's own, through `core.actions`.
Who may do what is `note_access`. Each view works as a plain form post (redirect back to the
account page, or a page with the form's errors) and, asked by htmx, answers with the notes
section re-rendered in place (errors included, with status 200: htmx swaps only 2xx)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tend.core import actions
from tend.core.models import Note
from tend.customers import queries as customers
from tend.customers.models import Account
from tend.web.account_access import may_edit_account, require_account_editor
from tend.web.note_access import require_note_editor, require_note_remover
from tend.web.note_forms import NoteForm
from tend.web.permissions import signed_in


def _account(external_id: str) -> Account:
    account = customers.account_by_external_id(external_id)
    if account is None:
        raise Http404("No account with that id.")
    return account


def _note(note_id: int) -> Note:
    return get_object_or_404(Note.objects.select_related("account", "author"), pk=note_id)


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _notes_url(account: Account) -> str:
    return reverse("web:account", args=[account.external_id]) + "#notes"


def _section(request: HttpRequest, account: Account, **extra: Any) -> HttpResponse:
    """The account page's notes section alone (the target htmx swaps)."""
    context = {
        "account": account,
        "notes": customers.account_notes(account),
        "may_edit": may_edit_account(request.user, account),
        **extra,
    }
    response = render(request, "web/account/_notes.html", context)
    patch_vary_headers(response, ["HX-Request"])
    return response


@signed_in
@require_GET
def account_notes(request: HttpRequest, external_id: str) -> HttpResponse:
    """The notes section for htmx (to cancel an edit in place); the account page otherwise."""
    account = _account(external_id)
    if not _is_htmx(request):
        return redirect(_notes_url(account))
    return _section(request, account)


@signed_in
@require_POST
def add_note(request: HttpRequest, external_id: str) -> HttpResponse:
    """Add a note to the account; the form with its errors when the input is wrong (400)."""
    account = _account(external_id)
    user = require_account_editor(request.user, account)
    form = NoteForm(request.POST)
    if form.is_valid():
        actions.add_note(account, user, form.cleaned_data["body"], form.cleaned_data["pinned"])
        if _is_htmx(request):
            return _section(request, account, added=True)
        messages.success(request, "Note added.")
        return redirect(_notes_url(account))
    if _is_htmx(request):
        return _section(request, account, note_form=form)
    context = {"account": account, "form": form}
    return render(request, "web/notes/add.html", context, status=400)


@signed_in
@require_http_methods(["GET", "POST"])
def edit_note(request: HttpRequest, note_id: int) -> HttpResponse:
    """GET: the note's form (in place for htmx, else on its own page); POST: save it."""
    note = _note(note_id)
    user = require_note_editor(request.user, note)
    form = NoteForm.for_note(note, request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        actions.edit_note(note, user, data["body"], data["pinned"])
        if _is_htmx(request):
            return _section(request, note.account)
        messages.success(request, "Note saved.")
        return redirect(_notes_url(note.account))
    if _is_htmx(request):
        return _section(request, note.account, editing=note.pk, edit_form=form)
    status = 400 if request.method == "POST" else 200
    context = {"account": note.account, "note": note, "form": form}
    return render(request, "web/notes/edit.html", context, status=status)


@signed_in
@require_POST
def delete_note(request: HttpRequest, note_id: int) -> HttpResponse:
    """Delete the note; back to the account's notes."""
    note = _note(note_id)
    user = require_note_remover(request.user, note)
    account = note.account
    actions.delete_note(note, user)
    if _is_htmx(request):
        return _section(request, account)
    messages.success(request, "Note deleted.")
    return redirect(_notes_url(account))

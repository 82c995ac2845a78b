"""Saved views of the accounts table: a team member keeps the current filters and sort under a
name, opens them from the table, and deletes them. Views are personal; every role may keep
them (they change no customer data)."""

from __future__ import annotations

from urllib.parse import parse_qs

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from tend.core.models import User
from tend.customers import actions as customer_actions
from tend.web.account_forms import SavedViewForm
from tend.web.account_table import AccountFilters
from tend.web.permissions import signed_in


def _table_url(query: str) -> str:
    return reverse("web:accounts") + (f"?{query}" if query else "")


@signed_in
@require_POST
def save_view(request: HttpRequest) -> HttpResponse:
    """Keep the posted query string (normalised to the table's own filters) under a name."""
    form = SavedViewForm(request.POST)
    user = request.user
    if not form.is_valid() or not isinstance(user, User):
        errors = "; ".join(
            f"{field}: {' '.join(str(e) for e in field_errors)}"
            for field, field_errors in form.errors.items()
        )
        messages.error(request, f"The view was not saved ({errors or 'no name'}).")
        return redirect(_table_url(form.data.get("query", "")))
    raw = form.cleaned_data["query"]
    params = QueryDict(mutable=True)
    for key, values in parse_qs(raw).items():
        params.setlist(key, values)
    query = AccountFilters.from_query(params).params()
    try:
        view = customer_actions.save_account_view(user, form.cleaned_data["name"], query)
    except ValueError as error:
        messages.error(request, f"The view was not saved ({error}).")
        return redirect(_table_url(query))
    messages.success(request, f"Saved the view “{view.name}”.")
    return redirect(_table_url(view.query))


@signed_in
@require_POST
def delete_view(request: HttpRequest, view_id: int) -> HttpResponse:
    """Delete one of the signed-in user's views (someone else's view id is simply not found)."""
    user = request.user
    if isinstance(user, User) and customer_actions.delete_account_view(user, view_id):
        messages.success(request, "Deleted the view.")
    else:
        messages.error(request, "No such view of yours.")
    return redirect(reverse("web:accounts"))

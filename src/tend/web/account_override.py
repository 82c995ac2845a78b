"""Setting and clearing a CSM's override of an account's health score (health.md
"Overrides"), through `health.actions`. Admins and managers may override any account, a CSM
only those in their own book, viewers none (403); see `account_access`."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from tend.customers import queries as customers
from tend.customers.models import Account
from tend.health import actions as health_actions
from tend.health import queries as health
from tend.health.account_queries import version_bands
from tend.web.account_access import require_account_editor
from tend.web.account_forms import OverrideForm
from tend.web.permissions import signed_in


def _account(external_id: str) -> Account:
    account = customers.account_by_external_id(external_id)
    if account is None:
        raise Http404("No account with that id.")
    return account


def _bands(account: Account) -> list[str]:
    """The band names of the account's latest scorecard version, worst first."""
    snapshot = health.latest_snapshot(account)
    return [] if snapshot is None else [name for name, _ in version_bands(snapshot.version.config)]


@signed_in
@require_http_methods(["GET", "POST"])
def account_override(request: HttpRequest, external_id: str) -> HttpResponse:
    """GET: the override form on its own page; POST: set the override (400 with the form's
    errors when the input is wrong)."""
    account = _account(external_id)
    user = require_account_editor(request.user, account)
    form = OverrideForm(request.POST or None, bands=_bands(account))
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                health_actions.set_override(
                    account,
                    user,
                    reason=data["reason"],
                    expires_at=form.expires_at,
                    score=data["score"] if data["kind"] == "score" else None,
                    band=data["band"] if data["kind"] == "band" else "",
                )
            except ValueError as error:
                form.add_error(None, str(error))
            else:
                messages.success(request, "Override set; the score shows it from today.")
                return redirect(reverse("web:account", args=[account.external_id]) + "#health")
        status = 400
    context = {"account": account, "form": form, "override": health.active_override(account)}
    return render(request, "web/account/override.html", context, status=status)


@signed_in
@require_POST
def account_override_clear(request: HttpRequest, external_id: str) -> HttpResponse:
    """End the override in force today; the computed score shows again from today on."""
    account = _account(external_id)
    user = require_account_editor(request.user, account)
    override = health.active_override(account)
    if override is None:
        messages.info(request, "No override was in force.")
    else:
        health_actions.clear_override(override, user)
        messages.success(request, "Override cleared; the computed score shows again.")
    return redirect(reverse("web:account", args=[account.external_id]) + "#health")

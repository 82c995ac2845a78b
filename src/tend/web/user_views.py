"""User management for admins: the team list, adding someone, changing a role, deactivating.
Writes go through tend.core.user_actions, which audits them."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from tend.core import user_actions
from tend.core.models import Role, User
from tend.web.forms import ActiveForm, RoleForm, UserAddForm
from tend.web.permissions import admin_required


def _page(request: HttpRequest, form: UserAddForm, status: int = 200) -> HttpResponse:
    users = User.objects.order_by("-is_active", "first_name", "last_name", "username")
    context = {"users": users, "form": form, "roles": Role.choices}
    return render(request, "web/users.html", context, status=status)


@admin_required
@require_http_methods(["GET", "POST"])
def user_list(request: HttpRequest) -> HttpResponse:
    """Everyone on the team with their role and status; POST adds a team member."""
    if request.method != "POST":
        return _page(request, UserAddForm())
    form = UserAddForm(request.POST)
    if not form.is_valid():
        return _page(request, form, status=400)
    data = form.cleaned_data
    user = user_actions.add_user(
        request.user if isinstance(request.user, User) else None,
        data["username"],
        role=data["role"],
        password=data["password"],
        first_name=data["first_name"],
        last_name=data["last_name"],
        email=data["email"],
    )
    messages.success(request, f"{user.display_name} was added as {user.get_role_display()}.")
    return redirect("web:users")


def _actor(request: HttpRequest) -> User | None:
    return request.user if isinstance(request.user, User) else None


@admin_required
@require_POST
def change_user_role(request: HttpRequest, user_id: int) -> HttpResponse:
    """Give a team member another role."""
    member = get_object_or_404(User, pk=user_id)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose one of the roles.")
        return redirect("web:users")
    try:
        member = user_actions.change_role(_actor(request), member, form.cleaned_data["role"])
    except user_actions.UserActionError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"{member.display_name} is now {member.get_role_display()}.")
    return redirect("web:users")


@admin_required
@require_POST
def set_user_active(request: HttpRequest, user_id: int) -> HttpResponse:
    """Deactivate a team member (they can no longer sign in) or reactivate them."""
    member = get_object_or_404(User, pk=user_id)
    form = ActiveForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Say whether the account should be active.")
        return redirect("web:users")
    try:
        member = user_actions.set_active(_actor(request), member, form.cleaned_data["active"])
    except user_actions.UserActionError as error:
        messages.error(request, str(error))
    else:
        state = "reactivated" if member.is_active else "deactivated"
        messages.success(request, f"{member.display_name} was {state}.")
    return redirect("web:users")

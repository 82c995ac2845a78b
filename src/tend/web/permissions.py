"""Who may open which page. Every view is wrapped in one of these: signed-out visitors go to
the sign-in page, a role that may not see or do something gets 403 (never a silent redirect).

- `signed_in`: any active team member may read (viewers included).
- `editor_required`: reading is open to every role; POST, PUT, PATCH and DELETE need a role that
  may change data (not viewers).
- `admin_required`: admins only (user management, settings).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Concatenate, ParamSpec

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from tend.core.models import Role, User

P = ParamSpec("P")
View = Callable[Concatenate[HttpRequest, P], HttpResponse]
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def signed_in(view: View[P]) -> View[P]:
    """Any signed-in team member; signed-out visitors are sent to the sign-in page."""
    return login_required(view)


def is_admin(user: object) -> bool:
    """Admins manage users and settings."""
    return (
        isinstance(user, User) and user.is_active and (user.is_superuser or user.role == Role.ADMIN)
    )


def editor_required(view: View[P]) -> View[P]:
    """Readable by every role; writes refused (403) for roles that only read."""

    @wraps(view)
    def check(request: HttpRequest, *args: P.args, **kwargs: P.kwargs) -> HttpResponse:
        user = request.user
        if request.method not in SAFE_METHODS and not (isinstance(user, User) and user.can_edit()):
            raise PermissionDenied("Your role may read but not change data.")
        return view(request, *args, **kwargs)

    return login_required(check)


def admin_required(view: View[P]) -> View[P]:
    """Admins only; any other role gets 403."""

    @wraps(view)
    def check(request: HttpRequest, *args: P.args, **kwargs: P.kwargs) -> HttpResponse:
        if not is_admin(request.user):
            raise PermissionDenied("Only admins may manage the team.")
        return view(request, *args, **kwargs)

    return login_required(check)

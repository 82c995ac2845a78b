"""API authentication: personal tokens (`Authorization: Bearer tend_…`) or the web session.

A token acts as its user with the user's role: viewers read, everyone else may also write.
"""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone
from ninja.errors import HttpError
from ninja.security import HttpBearer, django_auth

from tend.core.actions import token_digest
from tend.core.models import ApiToken, User

LAST_USED_RESOLUTION = timedelta(minutes=5)


class ApiTokenAuth(HttpBearer):
    """Bearer token checked against stored SHA-256 digests; revoked or expired tokens fail."""

    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        now = timezone.now()
        found = (
            ApiToken.objects.select_related("user")
            .filter(digest=token_digest(token), revoked_at__isnull=True, user__is_active=True)
            .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
            .first()
        )
        if found is None:
            return None
        if found.last_used_at is None or now - found.last_used_at > LAST_USED_RESOLUTION:
            ApiToken.objects.filter(pk=found.pk).update(last_used_at=now)
        request.user = found.user
        return found.user


API_AUTH = [ApiTokenAuth(), django_auth]


def require_editor(request: HttpRequest) -> User:
    """The signed-in user, if their role may change data; 403 for viewers."""
    user = request.user
    if not isinstance(user, User) or not user.can_edit():
        raise HttpError(403, "Your role (viewer) may read but not change data.")
    return user

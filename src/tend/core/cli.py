"""`tend token …`: personal API tokens."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

commands = typer.Typer(help="Personal API tokens (Authorization: Bearer …).")
console = Console()


@commands.command("create")
def create_token(
    username: str,
    name: Annotated[str, typer.Option(help="What the token is for.")] = "API token",
    expires_in_days: Annotated[int | None, typer.Option(help="Days until it expires.")] = None,
) -> None:
    """Create a token acting as USERNAME with their role; the secret is shown once."""
    from django.utils import timezone

    from tend.core.actions import create_api_token
    from tend.core.models import User

    user = User.objects.filter(username=username).first()
    if user is None:
        raise typer.BadParameter(f"no team member {username!r}", param_hint="USERNAME")
    expires = timezone.now() + timedelta(days=expires_in_days) if expires_in_days else None
    token, secret = create_api_token(user, name, expires)
    console.print(f"Token {token.prefix}… for {username} ({user.role}); keep it now, it is not")
    console.print("shown again:")
    print(secret)


@commands.command("list")
def list_tokens() -> None:
    """Every token with its owner, last use and state."""
    from tend.core.models import ApiToken

    table = Table()
    for column in ("prefix", "name", "user", "created", "last used", "state"):
        table.add_column(column)
    for token in ApiToken.objects.select_related("user").order_by("-created_at"):
        state = "revoked" if token.revoked_at else "active"
        last = f"{token.last_used_at:%Y-%m-%d %H:%M}" if token.last_used_at else "never"
        table.add_row(
            token.prefix,
            token.name,
            token.user.username,
            f"{token.created_at:%Y-%m-%d}",
            last,
            state,
        )
    console.print(table)


@commands.command("revoke")
def revoke_token(prefix: str) -> None:
    """Revoke the token whose prefix (as listed) is PREFIX."""
    from tend.core.actions import revoke_api_token
    from tend.core.models import ApiToken

    tokens = list(ApiToken.objects.filter(prefix=prefix, revoked_at__isnull=True))
    if len(tokens) != 1:
        raise typer.BadParameter(
            f"{len(tokens)} active tokens have the prefix {prefix!r}", param_hint="PREFIX"
        )
    revoke_api_token(tokens[0], None)
    console.print(f"Revoked {prefix}….")
